//! The one HTTP client setup, shared by the `http` source and the OTLP sink (HTTP/protobuf
//! and gRPC alike): hyper's client over rustls, with the ring provider named explicitly (no
//! process-wide default is assumed), the web PKI roots, and optionally a private CA.

use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// A pooled client that speaks `http://` and `https://`.
pub type HttpsClient<B> = Client<HttpsConnector<HttpConnector>, B>;

/// Extra CA certificates to trust besides the web PKI roots: PEM bytes, and what to call
/// them in errors (`ca_file /etc/ca.pem`).
#[derive(Clone, Copy, Debug)]
pub struct ExtraRoots<'a> {
    /// How errors name the certificates (the key and file they came from).
    pub what: &'a str,
    /// One or more PEM certificates.
    pub pem: &'a [u8],
}

/// The TLS settings of every client: the web PKI roots plus `extra`.
pub fn tls_config(extra: Option<ExtraRoots<'_>>) -> Result<rustls::ClientConfig, String> {
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
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
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
pub fn connector(
    tls: rustls::ClientConfig,
    version: Version,
    connect_timeout: Option<Duration>,
) -> HttpsConnector<HttpConnector> {
    let mut http = HttpConnector::new();
    // The TLS layer above handles `https://`: the TCP connector must not refuse it.
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(connect_timeout);
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http();
    match version {
        Version::Http1 => builder.enable_http1().wrap_connector(http),
        Version::Http2 => builder.enable_http2().wrap_connector(http),
    }
}

/// An HTTP/1.1 client with a small connection pool: each user has at most one request in
/// flight, so two idle connections per host are plenty; `idle` closes them between cycles
/// that are far apart.
pub fn client<B>(connector: HttpsConnector<HttpConnector>, idle: Duration) -> HttpsClient<B>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
{
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(idle)
        .pool_max_idle_per_host(2)
        .build(connector)
}
