//! The `[otlp]` section: where and how to push.
//!
//! Every key is optional: the standard `OTEL_EXPORTER_OTLP_*`, `OTEL_RESOURCE_ATTRIBUTES`
//! and `OTEL_SERVICE_NAME` variables fill what the file leaves out (the file wins where both
//! are set), exactly as they configure any OpenTelemetry SDK.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use crate::values::DurationValue;

/// OTLP transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Protocol {
    /// OTLP/gRPC (default port 4317).
    #[serde(rename = "grpc")]
    Grpc,
    /// OTLP/HTTP with protobuf bodies (default port 4318, path `/v1/metrics`).
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
}

/// Aggregation temporality of counters and histograms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Temporality {
    /// Running totals with a fixed start time: a lost export loses nothing.
    #[default]
    Cumulative,
    /// The increase since the previous successful export.
    Delta,
}

/// Body compression.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// Plain.
    #[default]
    None,
    /// gzip.
    Gzip,
}

/// Header values are secrets (API keys): they never appear in `Debug` output or logs.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Headers(pub BTreeMap<String, String>);

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "<redacted>")))
            .finish()
    }
}

/// The `[otlp]` section as written; see [`Settings`](super::Settings) for the resolved form.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpConfig {
    /// Base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/metrics` is appended for HTTP).
    /// Default: `http://localhost:4318`, or `http://localhost:4317` for gRPC.
    pub endpoint: Option<String>,
    /// Transport. Default: `"http/protobuf"`.
    pub protocol: Option<Protocol>,
    /// `cumulative`: running totals with their start time, so a lost export loses nothing;
    /// `delta`: the increase since the last accepted export (with a `state_file`, across
    /// restarts too). Default: `"cumulative"`.
    pub temporality: Option<Temporality>,
    /// Extra request headers (API keys): sent, never logged. Default: none.
    pub headers: Option<Headers>,
    /// Timeout of one export request, from `"1ms"` to `"1h"`. Default: `"10s"`.
    #[serde(default, deserialize_with = "crate::values::bounds::timeout_opt")]
    pub timeout: Option<DurationValue>,
    /// Body compression. Default: `"none"`.
    pub compression: Option<Compression>,
    /// Resource attributes, e.g. `{ "service.name" = "x" }`, over the standard ones.
    /// Default: `service.name = "snapbridge"` and the instance id.
    #[serde(default)]
    pub resource: BTreeMap<String, String>,
    /// Attempts per export (1 = no retry), for the retryable answers of the OTLP spec only;
    /// waits what the receiver asks (`Retry-After`, `RetryInfo`), else a back-off doubling
    /// from 200 ms up to 5 s with jitter, never past the next cycle. Default: `3`.
    pub max_attempts: Option<u32>,
    /// PEM file of a CA to trust for an `https` endpoint (besides the public roots), as
    /// `OTEL_EXPORTER_OTLP_CERTIFICATE`. Default: the public roots only.
    pub ca_file: Option<std::path::PathBuf>,
}
