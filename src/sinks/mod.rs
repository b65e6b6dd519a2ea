//! Sinks: where published views go. One folder per sink.

pub mod otlp;
pub mod prometheus;
