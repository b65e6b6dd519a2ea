#![warn(missing_docs)]
//! snapbridge: exports metrics that live in snapshots to Prometheus and OpenTelemetry.
//!
//! The data flows one way: [`sources`] hand out snapshots, the [`pipeline`] normalises
//! them and runs each source's `DeltaTracker` (from `snapbridge-core`), publishes one
//! immutable [`view::View`] per cycle, and [`sinks`] serve or push that view. A [`Builder`]
//! puts the parts together and returns a [`Handle`]; the `snapbridge` command is one user
//! of it (`cli`), filling it from the configuration file ([`config`]).
//!
//! The modules depend one way, lowest first (checked by `tests/module_dependencies.rs`):
//!
//! - [`features`]: the Cargo features this build has;
//! - [`redact`]: what of a URL, a header or a config value may be shown;
//! - helpers that know nothing of metrics: [`blocking`], [`gzip`], [`http_client`],
//!   [`text`], [`values`] (config values); and of the model: [`labels`], [`limits`],
//!   [`names`];
//! - [`view`]: what one cycle published, sink-neutral;
//! - [`sources`]: one folder per kind, with its config and puller;
//! - [`pipeline`]: the cycle, the trackers, the self-metrics;
//! - [`sinks`]: the Prometheus endpoint and the OTLP push, each with its config;
//! - [`config`]: the file, read into the parts' configs;
//! - [`exporter`]: the [`Builder`] and [`Handle`]; then `cli` (the command).
//!
//! Cargo features choose the parts (all on by default): `prometheus` (the `/metrics`
//! endpoint), `otlp` (the push sink), `tls` (HTTPS and basic auth), `redis` (the `redis`
//! source kind) and `cli` (the `snapbridge` command). An application embedding the
//! exporter for `/metrics` alone depends on `snapbridge` with `default-features = false,
//! features = ["prometheus"]`. A config key of a left-out feature is refused with an error
//! naming it ([`features`]).

pub mod blocking;
#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
pub mod exporter;
pub mod features;
pub mod gzip;
pub mod http_client;
pub mod labels;
pub mod limits;
pub mod names;
pub mod pipeline;
#[cfg(any(feature = "prometheus", feature = "otlp"))]
// Each sink uses part of the wire helpers: with one sink left out, some go unused.
#[cfg_attr(not(all(feature = "prometheus", feature = "otlp")), allow(dead_code))]
pub(crate) mod protowire;
pub mod redact;
pub mod regular_file;
pub mod sinks;
pub mod sources;
pub mod text;
pub mod values;
pub mod view;

pub use exporter::{Builder, Error, Handle};
pub use snapbridge_core as core;
