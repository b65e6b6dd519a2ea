//! The Prometheus sink: `/metrics` in text 0.0.4 or OpenMetrics 1.0, gzip when asked, plus
//! `/healthz`, `/-/healthy`, `/-/ready` and a status page on `/`.
//!
//! The sink owns everything it derives from a view: its [`Renderer`] is the pipeline's
//! publish hook that renders the text body of each view (from line prefixes kept between
//! cycles) and attaches it as an [`Exposition`]; the server answers scrapes from it.

mod config;
mod exposition;
pub mod line_prefixes;
mod negotiate;
pub mod protobuf;
pub mod render;
mod security;
mod server;
mod status_page;

pub use config::{DEFAULT_LISTEN, PrometheusConfig, TlsServerConfig};
pub use exposition::{Exposition, Renderer, body, body_ready, render};
pub use negotiate::{accepts_gzip, negotiate};
pub use render::Format;
pub use security::Security;
pub use server::{Endpoint, ReloadFn, serve};
