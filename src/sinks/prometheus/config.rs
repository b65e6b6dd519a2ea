//! The `[prometheus]` section: where `/metrics` listens and who may read it, with the keys
//! of Prometheus exporters' web config (`tls_server_config`, `basic_auth_users`).

#[cfg(feature = "tls")]
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use serde::Deserialize;

#[cfg(not(feature = "tls"))]
use crate::features::{LeftOut, Tls};

/// The address `/metrics` listens on by default: loopback, the port OpenTelemetry's
/// Prometheus exporters use.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 9464);

/// The Prometheus scrape endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusConfig {
    /// Address to listen on. Default: `"127.0.0.1:9464"` (loopback only).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Serve HTTPS, as the `tls_server_config` of Prometheus exporters' web config. Default:
    /// plain HTTP.
    #[cfg(feature = "tls")]
    pub tls_server_config: Option<TlsServerConfig>,
    /// Users allowed in, with bcrypt-hashed passwords (`alice = "$2y$10$..."`), as the
    /// `basic_auth_users` of Prometheus exporters' web config. Default: none (no
    /// authentication).
    #[cfg(feature = "tls")]
    #[serde(default)]
    pub basic_auth_users: BTreeMap<String, String>,
    // Without the `tls` feature these keys are refused with an error naming it.
    #[cfg(not(feature = "tls"))]
    #[serde(default)]
    tls_server_config: Option<LeftOut<Tls>>,
    #[cfg(not(feature = "tls"))]
    #[serde(default)]
    #[allow(dead_code)] // never `Some`: reading one fails
    basic_auth_users: Option<LeftOut<Tls>>,
}

fn default_listen() -> SocketAddr {
    DEFAULT_LISTEN
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        PrometheusConfig {
            listen: DEFAULT_LISTEN,
            tls_server_config: None,
            basic_auth_users: Default::default(),
        }
    }
}

impl PrometheusConfig {
    /// True when the endpoint serves HTTPS (`tls_server_config` is set).
    pub fn serves_https(&self) -> bool {
        // Without the `tls` feature the field exists too, and is always `None`.
        self.tls_server_config.is_some()
    }
}

/// Certificate and key of the HTTPS endpoint (PEM files).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    /// Certificate chain, PEM.
    pub cert_file: PathBuf,
    /// Private key, PEM.
    pub key_file: PathBuf,
}
