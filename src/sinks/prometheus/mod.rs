//! The Prometheus sink: `/metrics` in text 0.0.4 / 1.0.0, OpenMetrics 1.0 or protobuf, names
//! escaped as the scraper asks (Prometheus 3's `escaping`), gzip when asked, plus
//! `/healthz`, `/-/healthy`, `/-/ready` and a status page on `/`.
//!
//! The sink owns everything it derives from a view: its [`Renderer`] is the pipeline's
//! publish hook that attaches to each view an [`Exposition`] holding the line prefixes kept
//! between cycles; the server answers scrapes from it, rendering each body (from those
//! prefixes) the first time a scrape of that view asks for it.

mod config;
mod escaped;
mod exposition;
pub mod line_prefixes;
mod negotiate;
mod numbers;
pub mod protobuf;
pub mod render;
#[cfg(feature = "tls")]
mod security;
#[cfg(not(feature = "tls"))]
#[path = "security_plain.rs"]
mod security;
mod server;
mod status_page;

pub use config::{DEFAULT_LISTEN, PrometheusConfig, TlsServerConfig};
pub use exposition::{
    Exposition, Renderer, body, body_escaped, body_escaped_ready, body_ready, render,
    render_escaped,
};
pub use negotiate::{Negotiated, accepts_gzip, negotiate};
pub use render::Format;
pub use security::Security;
pub use server::{Endpoint, ReloadFn, serve};
