//! The keys of `kind = "http"`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;

use super::HttpSource;
use crate::sources::{KeyError, KindConfig, Source, SourceConfig};
use crate::values::{BasicAuth, ByteSize, JsonPointer, Secret, SourceUrl};

/// Where and how to GET the JSON document.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// The URL to GET, `http://` or `https://`; a `user:password@` in it is sent as basic
    /// authentication.
    pub url: SourceUrl,
    /// JSON pointer to the metrics object inside the document, e.g. `"/metrics"`. Default:
    /// the whole document.
    pub pointer: Option<JsonPointer>,
    /// Extra request headers; their values are secrets (never shown). Default: none.
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// Sent as `Authorization: Bearer <token>`.
    pub bearer_token: Option<Secret>,
    /// Sent as `Authorization: Basic ...`: `{ username = "...", password = "..." }`.
    pub basic_auth: Option<BasicAuth>,
    /// A PEM file of CA certificates trusted for `https://` besides the web PKI roots (a
    /// private CA). Default: the web PKI roots only.
    pub ca_file: Option<PathBuf>,
    /// The largest body read, after gzip decoding too; a larger one fails the snapshot.
    /// Default: 16 MiB.
    pub max_bytes: Option<ByteSize>,
    /// Follow redirects to another scheme, host or port (without the credentials and
    /// headers, which stay with the configured origin). Default: `false`: redirects are
    /// followed within the same origin only, 5 at most.
    #[serde(default)]
    pub cross_origin_redirects: bool,
}

impl KindConfig for HttpConfig {
    fn example() -> &'static str {
        "url = \"http://127.0.0.1:8080/metrics\""
    }

    fn validate(&self, _: &SourceConfig) -> Result<(), KeyError> {
        if !matches!(self.url.scheme(), "http" | "https") {
            return Err(KeyError::new(
                "url",
                format!("{} is not an http:// or https:// URL", self.url),
            ));
        }
        crate::http_client::check_scheme(&self.url.to_string(), self.url.scheme())
            .map_err(|reason| KeyError::new("url", reason))?;
        if self.ca_file.is_some() && !crate::features::TLS {
            return Err(KeyError::new(
                "ca_file",
                crate::features::built_without("tls"),
            ));
        }
        for name in self.headers.keys() {
            if hyper::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(KeyError::new(
                    "headers",
                    format!("{name:?} is not a valid header name"),
                ));
            }
        }
        let ways = [
            self.headers
                .keys()
                .any(|k| k.eq_ignore_ascii_case("authorization")),
            self.url.password().is_some(),
            self.bearer_token.is_some(),
            self.basic_auth.is_some(),
        ];
        if ways.iter().filter(|set| **set).count() > 1 {
            return Err(KeyError::new(
                "bearer_token",
                "set one of bearer_token, basic_auth, a user:password in the url or an Authorization header",
            ));
        }
        Ok(())
    }

    fn build(&self, common: &SourceConfig) -> Result<Arc<dyn Source>, String> {
        Ok(Arc::new(HttpSource::new(self, common)?))
    }
}
