//! `kind = "http"`: GET a URL that answers with a JSON snapshot (seed 004's `/metrics`).
//!
//! Decisions:
//! - hyper's own client (hyper-util, with rustls through hyper-rustls), already in the
//!   build for OTLP/HTTP: no second HTTP stack. Connections are pooled between cycles.
//! - The whole exchange (connect, headers, body) is bounded by the source's timeout, a
//!   little shorter than the pipeline's so the error names the URL.
//! - The body is read through a size limit (`max_bytes`, 16 MiB by default); a larger body,
//!   a non-2xx status, a body cut short, or malformed JSON fails the snapshot with one line.
//! - Secrets never leave: the URL is shown redacted (`user:***@`, `?token=***`), header
//!   values are marked sensitive, and any error text is scrubbed of the password and tokens.
//!   User info in the URL is sent as basic auth, never in the `Host` header.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use snapbridge_core::SourceError;

use super::document::{self, DocumentOptions};
use super::{PullFuture, Pulled, Source, error_chain, own_deadline, scrub};
use crate::config::SourceConfig;

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// A JSON endpoint pulled with GET.
pub struct HttpSource {
    inner: Arc<Inner>,
}

struct Inner {
    client: HttpsClient,
    uri: hyper::Uri,
    shown: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    secrets: Vec<String>,
    timeout: Duration,
    max_bytes: u64,
    opts: Arc<DocumentOptions>,
}

impl HttpSource {
    /// From a `kind = "http"` entry (validated: it has a `url`).
    pub fn from_config(config: &SourceConfig) -> Result<Self, String> {
        let url = config.url.as_ref().ok_or("kind = \"http\" needs `url`")?;
        let shown = url.redacted();
        let mut secrets: Vec<String> = Vec::new();
        let mut headers = Vec::new();
        // User info moves from the URL to an Authorization header.
        let (uri_text, userinfo) = split_userinfo(url.expose());
        let uri: hyper::Uri = uri_text
            .parse()
            .map_err(|e| format!("url {shown} is not a valid URL: {e}"))?;
        let mut auth = None;
        if let Some((user, password)) = userinfo {
            secrets.push(password.clone());
            auth = Some(format!("Basic {}", base64(&format!("{user}:{password}"))));
        }
        if let Some(basic) = &config.basic_auth {
            secrets.push(basic.password.expose().to_string());
            let pair = format!("{}:{}", basic.username, basic.password.expose());
            auth = Some(format!("Basic {}", base64(&pair)));
        }
        if let Some(token) = &config.bearer_token {
            secrets.push(token.expose().to_string());
            auth = Some(format!("Bearer {}", token.expose()));
        }
        if let Some(auth) = auth {
            secrets.push(auth.clone());
            headers.push((header::AUTHORIZATION, sensitive(&auth)?));
        }
        for (name, value) in &config.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("headers: {name:?} is not a valid header name"))?;
            secrets.push(value.expose().to_string());
            headers.push((name, sensitive(value.expose())?));
        }
        if let Some(q) = url.expose().split_once('?').map(|(_, q)| q) {
            // Query values that the redacted form hides are scrubbed from errors too.
            for pair in q.split('&') {
                if let Some((_, v)) = pair.split_once('=')
                    && shown.contains(&format!("{}=***", pair.split('=').next().unwrap_or("")))
                {
                    secrets.push(v.to_string());
                }
            }
        }
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(config.ca_file.as_deref())?)
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(2)
            .build(https);
        Ok(HttpSource {
            inner: Arc::new(Inner {
                client,
                uri,
                shown,
                headers,
                secrets,
                timeout: own_deadline(config),
                max_bytes: config.max_bytes(),
                opts: Arc::new(DocumentOptions::from_config(config)),
            }),
        })
    }
}

impl Source for HttpSource {
    fn pull(&self) -> PullFuture {
        let inner = self.inner.clone();
        Box::pin(async move {
            inner.fetch().await.map_err(|e| {
                SourceError::new(format!(
                    "GET {}: {}",
                    inner.shown,
                    scrub(&e, &inner.secrets)
                ))
            })
        })
    }
}

impl Inner {
    async fn fetch(&self) -> Result<Pulled, String> {
        let body = tokio::time::timeout(self.timeout, self.get())
            .await
            .map_err(|_| {
                format!(
                    "no complete answer within {} (timeout)",
                    humantime::format_duration(self.timeout)
                )
            })??;
        document::parse_async(body.to_vec(), self.opts.clone()).await
    }

    async fn get(&self) -> Result<Bytes, String> {
        let mut request = hyper::Request::get(self.uri.clone())
            .header(header::ACCEPT, "application/json")
            .header(
                header::USER_AGENT,
                concat!("snapbridge/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::new())
            .map_err(|e| format!("cannot build the request: {e}"))?;
        for (name, value) in &self.headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| format!("request failed: {}", error_chain(&e)))?;
        let status = response.status();
        if !status.is_success() {
            // The start of the body says why, often: read up to 512 bytes of it.
            let mut body = response.into_body();
            let mut snippet = Vec::new();
            while snippet.len() < 512 {
                match body.frame().await {
                    Some(Ok(frame)) => {
                        if let Some(data) = frame.data_ref() {
                            snippet.extend_from_slice(data);
                        }
                    }
                    _ => break,
                }
            }
            let first = String::from_utf8_lossy(&snippet);
            let first = first.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            let mut message = format!("HTTP {status}");
            if !first.is_empty() {
                message.push_str(": ");
                message.push_str(&document::entry::shorten(first.trim(), 120));
            }
            return Err(message);
        }
        let declared = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(len) = declared
            && len > self.max_bytes
        {
            return Err(too_large(len, self.max_bytes));
        }
        let limit = usize::try_from(self.max_bytes).unwrap_or(usize::MAX);
        match Limited::new(response.into_body(), limit).collect().await {
            Ok(body) => Ok(body.to_bytes()),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(format!(
                "the body is larger than max_bytes = {} bytes",
                self.max_bytes
            )),
            Err(e) => Err(format!("the body was cut short: {}", error_chain(&*e))),
        }
    }
}

/// rustls with the ring provider named explicitly (no process-wide default is assumed),
/// the web PKI roots, and the certificates of `ca_file` (a private CA).
fn tls_config(ca_file: Option<&std::path::Path>) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let shown = path.display();
        let pem = std::fs::read(path).map_err(|e| format!("ca_file {shown}: {e}"))?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| format!("ca_file {shown}: not a PEM certificate: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("ca_file {shown}: unusable certificate: {e}"))?;
            added += 1;
        }
        if added == 0 {
            return Err(format!("ca_file {shown} holds no PEM certificate"));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn too_large(len: u64, max: u64) -> String {
    format!("the body is {len} bytes, more than max_bytes = {max}")
}

fn sensitive(value: &str) -> Result<HeaderValue, String> {
    let mut v = HeaderValue::from_str(value)
        .map_err(|_| "a header value holds characters HTTP does not allow".to_string())?;
    v.set_sensitive(true);
    Ok(v)
}

/// `http://user:pw@host/x` -> (`http://host/x`, Some((user, pw))).
fn split_userinfo(url: &str) -> (String, Option<(String, String)>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), None);
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let (user, pw) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            (
                format!("{scheme}://{host}{tail}"),
                Some((user.to_string(), pw.to_string())),
            )
        }
        None => (url.to_string(), None),
    }
}

/// Standard base64 with padding (basic auth needs nothing more).
fn base64(input: &str) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_https_source_builds_and_an_unreachable_one_fails_in_one_line() {
        let text = "[[source]]\nname = \"s\"\nkind = \"http\"\nurl = \"https://127.0.0.1:1/m\"\ntimeout = \"2s\"\n";
        let config = crate::config::Config::parse(text, "t").unwrap();
        let source = HttpSource::from_config(&config.sources[0]).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let e = rt.block_on(source.pull()).unwrap_err().to_string();
        assert!(
            e.starts_with("GET https://127.0.0.1:1/m: request failed"),
            "{e}"
        );
    }

    #[test]
    fn base64_and_userinfo() {
        assert_eq!(
            base64("Aladdin:open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(base64("ab"), "YWI=");
        let (u, info) = split_userinfo("http://bob:pw@h:1/m?x=1");
        assert_eq!(u, "http://h:1/m?x=1");
        assert_eq!(info, Some(("bob".into(), "pw".into())));
    }
}
