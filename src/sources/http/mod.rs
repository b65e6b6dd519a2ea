//! `kind = "http"`: GET a URL that answers with a JSON snapshot, as services that keep their
//! own counters often offer (a job queue's `/metrics` returning
//! `{"jobs_created": 120, "jobs_in_progress": 3}`).
//!
//! Decisions:
//! - hyper's own client (hyper-util, with rustls through hyper-rustls), set up once for this
//!   source and the OTLP sink ([`crate::http_client`]): no second HTTP stack. Connections
//!   are pooled between cycles.
//! - The whole exchange (connect, headers, body) is bounded by the source's timeout, a
//!   little shorter than the pipeline's so the error names the URL.
//! - The body is read through a size limit (`max_bytes`, 16 MiB by default); a larger body,
//!   a non-2xx status, a body cut short, or malformed JSON fails the snapshot with one line.
//! - Answers may be gzipped (`Accept-Encoding: gzip` is sent; a body that starts with the
//!   gzip magic is inflated too); `max_bytes` bounds the inflated size as well.
//! - Redirects (301, 302, 303, 307, 308) are followed, 5 at most, within the URL's origin;
//!   another origin only with `cross_origin_redirects = true`, and then without the
//!   credentials and headers, which belong to the configured origin.
//! - Secrets never leave: the URL is shown redacted (`***@`, every query value `***`), header
//!   values are marked sensitive, and any error text is scrubbed of the password and tokens.
//!   User info in the URL is sent as basic auth, never in the `Host` header.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::header::{self, HeaderName, HeaderValue};
use snapbridge_core::{Snapshot, SourceError};

mod config;

pub use config::HttpConfig;

use super::document::{self, DocumentOptions};
use super::{PullFuture, Pulled, Source, SourceConfig, own_deadline, scrub};
use crate::http_client::{self, ExtraRoots, HttpsClient, Version};
use crate::text::{error_chain, shorten};

/// A JSON endpoint pulled with GET.
pub struct HttpSource {
    inner: Arc<Inner>,
}

struct Inner {
    client: HttpsClient<Empty<Bytes>>,
    uri: hyper::Uri,
    shown: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    secrets: Vec<String>,
    timeout: Duration,
    opts: Arc<DocumentOptions>,
    cross_origin_redirects: bool,
}

/// Redirects followed at most in one pull.
const MAX_REDIRECTS: usize = 5;

impl HttpSource {
    /// The source an `http` entry describes.
    pub fn new(config: &HttpConfig, common: &SourceConfig) -> Result<Self, String> {
        let url = &config.url;
        let shown = url.redacted();
        let mut secrets = url.secrets();
        let mut headers = Vec::new();
        // User info moves from the URL to an Authorization header, percent-decoded as the
        // URL spelled it (`p%40ss` is the password `p@ss`).
        let uri: hyper::Uri = url
            .without_credentials()
            .parse()
            .map_err(|e| format!("url {shown} is not a valid URL: {e}"))?;
        // The config check allows one way of authenticating at most.
        let auth = if let Some(token) = &config.bearer_token {
            secrets.push(token.expose().to_string());
            Some(format!("Bearer {}", token.expose()))
        } else if let Some(b) = &config.basic_auth {
            secrets.push(b.password.expose().to_string());
            Some(basic(&b.username, b.password.expose()))
        } else {
            url.credentials()
                .map(|(user, password)| basic(&user, &password))
        };
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
        let ca = match &config.ca_file {
            Some(path) => {
                let pem =
                    std::fs::read(path).map_err(|e| format!("ca_file {}: {e}", path.display()))?;
                Some((format!("ca_file {}", path.display()), pem))
            }
            None => None,
        };
        let extra = ca.as_ref().map(|(what, pem)| ExtraRoots { what, pem });
        let tls = http_client::tls_config(extra)?;
        let client = http_client::client(
            http_client::connector(tls, Version::Http1, None),
            Duration::from_secs(60),
        );
        let opts = DocumentOptions::new(config.pointer.as_ref(), config.max_bytes, common);
        Ok(HttpSource {
            inner: Arc::new(Inner {
                client,
                uri,
                shown,
                headers,
                secrets,
                opts: Arc::new(opts),
                timeout: own_deadline(common),
                cross_origin_redirects: config.cross_origin_redirects,
            }),
        })
    }
}

impl Source for HttpSource {
    fn pull(&self) -> PullFuture {
        Box::pin(self.inner.clone().pull())
    }

    fn recycle(&self, snapshot: Snapshot) {
        self.inner.opts.spare.put(snapshot.samples);
    }
}

impl Inner {
    /// One GET, its error naming the URL (redacted) and scrubbed of every secret.
    async fn pull(self: Arc<Self>) -> Result<Pulled, SourceError> {
        self.fetch().await.map_err(|e| {
            SourceError::new(format!("GET {}: {}", self.shown, scrub(&e, &self.secrets)))
        })
    }

    async fn fetch(&self) -> Result<Pulled, String> {
        let mut body = self.opts.buffer.take();
        tokio::time::timeout(self.timeout, self.get(&mut body))
            .await
            .map_err(|_| {
                format!(
                    "no complete answer within {} (timeout)",
                    humantime::format_duration(self.timeout)
                )
            })??;
        document::parse_async(body, self.opts.clone()).await
    }

    /// One request to `uri`; the configured credentials and headers go along only to
    /// the configured origin.
    async fn send(
        &self,
        uri: &hyper::Uri,
        credentials: bool,
    ) -> Result<hyper::Response<hyper::body::Incoming>, String> {
        let mut request = hyper::Request::get(uri.clone())
            .header(header::ACCEPT, "application/json")
            .header(header::ACCEPT_ENCODING, "gzip")
            .header(
                header::USER_AGENT,
                concat!("snapbridge/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::new())
            .map_err(|e| format!("cannot build the request: {e}"))?;
        if credentials {
            for (name, value) in &self.headers {
                request.headers_mut().insert(name.clone(), value.clone());
            }
        }
        self.client
            .request(request)
            .await
            .map_err(|e| format!("request failed: {}", error_chain(&e)))
    }

    /// The answer at the end of the redirects, if any.
    async fn follow(&self) -> Result<hyper::Response<hyper::body::Incoming>, String> {
        let mut uri = self.uri.clone();
        let mut credentials = true;
        for _ in 0..=MAX_REDIRECTS {
            let response = self.send(&uri, credentials).await?;
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok());
            let (true, Some(location)) = (matches!(status, 301 | 302 | 303 | 307 | 308), location)
            else {
                return Ok(response);
            };
            let next = redirect_target(&uri, location)
                .map_err(|e| format!("HTTP {status}: redirected to {e}"))?;
            let same = same_origin(&self.uri, &next);
            if !same && !self.cross_origin_redirects {
                return Err(format!(
                    "HTTP {status}: redirected to another origin, {} (set cross_origin_redirects = true to follow it)",
                    crate::redact::url(&next.to_string())
                ));
            }
            credentials = same;
            uri = next;
        }
        Err(format!(
            "more than {MAX_REDIRECTS} redirects (the last to {})",
            crate::redact::url(&uri.to_string())
        ))
    }

    /// The (decoded) body at the end of the redirects, into `body`.
    async fn get(&self, body: &mut Vec<u8>) -> Result<(), String> {
        let response = self.follow().await?;
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
                message.push_str(&shorten(first.trim(), 120));
            }
            return Err(message);
        }
        let declared = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(len) = declared
            && len > self.opts.max_bytes
        {
            return Err(too_large(len, self.opts.max_bytes));
        }
        let encoding = response
            .headers()
            .get(header::CONTENT_ENCODING)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_ascii_lowercase())
            .filter(|e| !e.is_empty() && e != "identity");
        // Frame by frame into the kept buffer: one copy, into pages already touched (a
        // collected body was copied into one `Bytes`, then into the parser's vector).
        let limit = usize::try_from(self.opts.max_bytes).unwrap_or(usize::MAX);
        body.reserve(declared.map_or(0, |len| len as usize));
        let mut incoming = response.into_body();
        while let Some(frame) = incoming.frame().await {
            let frame = frame.map_err(|e| format!("the body was cut short: {}", error_chain(&e)))?;
            if let Some(data) = frame.data_ref() {
                if body.len() + data.len() > limit {
                    return Err(format!(
                        "the body is larger than max_bytes = {} bytes",
                        self.opts.max_bytes
                    ));
                }
                body.extend_from_slice(data);
            }
        }
        // A gzip body without the header is a static `.json.gz`: JSON never starts so.
        let gzipped = body.starts_with(&[0x1f, 0x8b]);
        match encoding.as_deref() {
            Some("gzip" | "x-gzip") => {}
            Some(other) => {
                return Err(format!(
                    "the answer is encoded with Content-Encoding: {}, which snapbridge does not decode (it asks for gzip)",
                    shorten(other, 40)
                ));
            }
            None if gzipped => {}
            None => return Ok(()),
        }
        *body = crate::gzip::gunzip(body, self.opts.max_bytes).map_err(|e| {
            format!("the gzip-encoded body: {e} (max_bytes = {})", self.opts.max_bytes)
        })?;
        Ok(())
    }
}

/// The URL a `Location` names, resolved against the URL that answered; only `http` and
/// `https`, user info dropped (it would go out in the `Host` header).
fn redirect_target(from: &hyper::Uri, location: &str) -> Result<hyper::Uri, String> {
    let base = url::Url::parse(&from.to_string()).map_err(|e| format!("an invalid URL: {e}"))?;
    let mut next = base
        .join(location)
        .map_err(|_| format!("{:?}, not a URL", crate::redact::url(&shorten(location, 120))))?;
    if !matches!(next.scheme(), "http" | "https") {
        return Err(format!("{}, not an http(s) URL", crate::redact::url(next.as_str())));
    }
    let _ = next.set_password(None);
    let _ = next.set_username("");
    next.as_str()
        .parse()
        .map_err(|e| format!("{}: {e}", crate::redact::url(next.as_str())))
}

/// Same scheme, host and port (the default port of the scheme when none is written).
fn same_origin(a: &hyper::Uri, b: &hyper::Uri) -> bool {
    let port = |u: &hyper::Uri| {
        u.port_u16()
            .unwrap_or(if u.scheme_str() == Some("https") { 443 } else { 80 })
    };
    a.scheme() == b.scheme()
        && a.host().map(str::to_ascii_lowercase) == b.host().map(str::to_ascii_lowercase)
        && port(a) == port(b)
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

/// The `Authorization` value of HTTP basic authentication.
fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    crate::redact::remember_basic(user, password);
    let pair = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_https_source_builds_and_an_unreachable_one_fails_in_one_line() {
        let text = "[[source]]\nname = \"s\"\nkind = \"http\"\nurl = \"https://127.0.0.1:1/m\"\ntimeout = \"2s\"\n";
        let config = crate::config::Config::parse(text, "t").unwrap();
        let source = config.sources[0].build().unwrap();
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
    fn basic_auth_is_base64_of_the_pair() {
        assert_eq!(
            basic("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }
}
