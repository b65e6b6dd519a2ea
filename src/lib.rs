//! snapbridge: exports metrics that live in snapshots to Prometheus and OpenTelemetry.
//!
//! The data flows one way: [`sources`] hand out snapshots, the [`pipeline`] normalises
//! them and runs each source's `DeltaTracker` (from `snapbridge-core`), publishes one
//! immutable [`view::View`] per cycle, and [`sinks`] serve or push that view.

pub mod blocking;
pub mod cli;
pub mod config;
pub mod exporter;
pub mod gzip;
pub mod http_client;
pub mod labels;
pub mod limits;
pub mod names;
pub mod pipeline;
pub mod sinks;
pub mod sources;
pub mod text;
pub mod values;
pub mod view;

pub use exporter::{Builder, Error, Handle};
pub use snapbridge_core as core;
