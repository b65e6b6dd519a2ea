//! The one HTTP client setup, shared by the `http` source and the OTLP sink (HTTP/protobuf
//! and gRPC alike): hyper's client over rustls, with the ring provider named explicitly (no
//! process-wide default is assumed), the web PKI roots, and optionally a private CA.
//!
//! Without the `tls` feature the same functions build a plain-HTTP client: an `https://`
//! URL or a CA file is refused by [`check_scheme`] and [`tls_config`] with an error that
//! names the feature.

use std::time::Duration;

use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

#[cfg(feature = "tls")]
use hyper_rustls::HttpsConnector;
#[cfg(feature = "tls")]
use rustls::pki_types::CertificateDer;
#[cfg(feature = "tls")]
use rustls::pki_types::pem::PemObject;

/// What a client connects through: TCP with TLS for `https://` (with the `tls` feature).
#[cfg(feature = "tls")]
pub type Connector = HttpsConnector<HttpConnector>;
/// What a client connects through: plain TCP (this build has no `tls` feature).
#[cfg(not(feature = "tls"))]
pub type Connector = HttpConnector;

/// A pooled client that speaks `http://` (and `https://` with the `tls` feature).
pub type HttpsClient<B> = Client<Connector, B>;

/// The TLS settings of a client.
#[cfg(feature = "tls")]
pub type TlsConfig = rustls::ClientConfig;
/// The TLS settings of a client: none, this build has no `tls` feature.
#[cfg(not(feature = "tls"))]
#[derive(Clone, Copy, Debug)]
pub struct TlsConfig;

/// Extra CA certificates to trust besides the web PKI roots: PEM bytes, and what to call
/// them in errors (`ca_file /etc/ca.pem`).
#[derive(Clone, Copy, Debug)]
pub struct ExtraRoots<'a> {
    /// How errors name the certificates (the key and file they came from).
    pub what: &'a str,
    /// One or more PEM certificates.
    pub pem: &'a [u8],
}

/// Refuses a URL scheme this build cannot connect to (`https` without the `tls` feature);
/// `what` names the URL in the error.
pub fn check_scheme(what: &str, scheme: &str) -> Result<(), String> {
    if scheme.eq_ignore_ascii_case("https") && !crate::features::TLS {
        return Err(format!(
            "{what}: https:// needs TLS, and {}",
            crate::features::built_without("tls")
        ));
    }
    Ok(())
}

/// The TLS settings of every client: the web PKI roots plus `extra`.
#[cfg(feature = "tls")]
pub fn tls_config(extra: Option<ExtraRoots<'_>>) -> Result<TlsConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(ExtraRoots { what, pem }) = extra {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("{what}: not a PEM certificate: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("{what}: unusable certificate: {e}"))?;
            added += 1;
        }
        if added == 0 {
            return Err(format!("{what} holds no PEM certificate"));
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// No TLS in this build: fine unless extra CA certificates were asked for.
#[cfg(not(feature = "tls"))]
pub fn tls_config(extra: Option<ExtraRoots<'_>>) -> Result<TlsConfig, String> {
    match extra {
        Some(ExtraRoots { what, .. }) => {
            Err(format!("{what}: {}", crate::features::built_without("tls")))
        }
        None => Ok(TlsConfig),
    }
}

/// Which HTTP version a connector offers over TLS (ALPN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.1: JSON endpoints, OTLP/HTTP.
    Http1,
    /// HTTP/2 only: gRPC.
    Http2,
}

/// A connector for `http://` and `https://` URIs; `connect_timeout` bounds the TCP connect.
#[cfg(feature = "tls")]
pub fn connector(tls: TlsConfig, version: Version, connect_timeout: Option<Duration>) -> Connector {
    let mut http = tcp(connect_timeout);
    // The TLS layer above handles `https://`: the TCP connector must not refuse it.
    http.enforce_http(false);
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http();
    match version {
        Version::Http1 => builder.enable_http1().wrap_connector(http),
        Version::Http2 => builder.enable_http2().wrap_connector(http),
    }
}

/// A connector for `http://` URIs; `connect_timeout` bounds the TCP connect. Without TLS
/// there is no ALPN: gRPC speaks HTTP/2 with prior knowledge over it.
#[cfg(not(feature = "tls"))]
pub fn connector(
    _tls: TlsConfig,
    _version: Version,
    connect_timeout: Option<Duration>,
) -> Connector {
    tcp(connect_timeout)
}

/// The TCP layer every connector has.
fn tcp(connect_timeout: Option<Duration>) -> HttpConnector {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.set_connect_timeout(connect_timeout);
    http
}

/// An HTTP/1.1 client with a small connection pool: each user has at most one request in
/// flight, so two idle connections per host are plenty; `idle` closes them between cycles
/// that are far apart.
pub fn client<B>(connector: Connector, idle: Duration) -> HttpsClient<B>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
{
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(idle)
        .pool_max_idle_per_host(2)
        .build(connector)
}
