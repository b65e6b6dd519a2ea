//! The OTLP settings in force: the `[otlp]` section over the standard environment
//! variables over the defaults, resolved once at start.

use std::time::Duration;

use super::config::{Compression, OtlpConfig, Protocol, Temporality};

/// Resolved OTLP settings.
#[derive(Clone)]
pub struct Settings {
    /// Full URL: for HTTP it ends in `/v1/metrics`; for gRPC it is the server's URI. User
    /// info written in the endpoint is not in it: it is sent as basic auth instead.
    pub url: String,
    /// The URL for logs, errors and the status page (user info and query values masked).
    pub shown: String,
    /// Transport.
    pub protocol: Protocol,
    /// Cumulative or delta.
    pub temporality: Temporality,
    /// Extra request headers (secrets: never logged).
    pub headers: Vec<(String, String)>,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Body compression.
    pub compression: Compression,
    /// Resource attributes, sorted by key.
    pub resource: Vec<(String, String)>,
    /// Attempts per export.
    pub max_attempts: u32,
    /// Extra CA certificates (PEM) to trust for TLS.
    pub ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("url", &self.shown)
            .field("protocol", &self.protocol)
            .field("temporality", &self.temporality)
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("timeout", &self.timeout)
            .field("compression", &self.compression)
            .field("resource", &self.resource)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

/// Decodes `%XX` escapes, as the OpenTelemetry specification asks for header and resource
/// values.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Parses the W3C-baggage-like `k=v,k2=v2` lists of `OTEL_EXPORTER_OTLP_HEADERS` and
/// `OTEL_RESOURCE_ATTRIBUTES`; malformed members are skipped.
pub fn parse_pairs(list: &str) -> Vec<(String, String)> {
    list.split(',')
        .filter_map(|member| {
            let (k, v) = member.split_once('=')?;
            let k = percent_decode(k.trim());
            (!k.is_empty()).then(|| (k, percent_decode(v.trim())))
        })
        .collect()
}

fn set(pairs: &mut Vec<(String, String)>, key: &str, value: String) {
    match pairs.iter_mut().find(|(k, _)| k == key) {
        Some(pair) => pair.1 = value,
        None => pairs.push((key.to_string(), value)),
    }
}

impl Settings {
    /// Resolves the settings from the `[otlp]` section and the environment (`env` looks a
    /// variable up); `None` when OTLP is not configured anywhere.
    pub fn resolve(
        config: Option<&OtlpConfig>,
        env: impl Fn(&str) -> Option<String>,
        instance_id: &str,
    ) -> Result<Option<Settings>, String> {
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        // `OTEL_EXPORTER_OTLP_METRICS_<X>` first, then `OTEL_EXPORTER_OTLP_<X>`.
        let otlp_var = |x: &str| {
            var(&format!("OTEL_EXPORTER_OTLP_METRICS_{x}"))
                .or_else(|| var(&format!("OTEL_EXPORTER_OTLP_{x}")))
        };
        let signal_endpoint = var("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
        let base_endpoint = var("OTEL_EXPORTER_OTLP_ENDPOINT");
        if config.is_none() && signal_endpoint.is_none() && base_endpoint.is_none() {
            return Ok(None);
        }
        let empty = OtlpConfig::default();
        let config = config.unwrap_or(&empty);
        let protocol = match config.protocol {
            Some(p) => p,
            None => protocol_named(otlp_var("PROTOCOL").as_deref().map(str::trim))?,
        };
        let default_base = match protocol {
            Protocol::Grpc => "http://localhost:4317",
            Protocol::HttpProtobuf => "http://localhost:4318",
        };
        // The signal-specific variable is a full URL, used as it is; a base gets the path.
        let url = match (&config.endpoint, signal_endpoint, base_endpoint) {
            (Some(base), _, _) => with_path(base, protocol),
            (None, Some(full), _) => full.trim().to_string(),
            (None, None, Some(base)) => with_path(&base, protocol),
            (None, None, None) => with_path(default_base, protocol),
        };
        crate::redact::remember_url(&url);
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "OTLP endpoint {:?} must start with http:// or https://",
                crate::redact::url(&url)
            ));
        }
        let mut headers = otlp_var("HEADERS")
            .map(|h| parse_pairs(&h))
            .unwrap_or_default();
        if let Some(h) = &config.headers {
            for (k, v) in &h.0 {
                set(&mut headers, k, v.clone());
            }
        }
        for (_, v) in &headers {
            crate::redact::remember(v);
        }
        let url = move_credentials(url, &mut headers);
        let shown = crate::redact::url(&url);
        let timeout = config.timeout.map_or_else(
            || {
                otlp_var("TIMEOUT")
                    .and_then(|ms| ms.trim().parse::<u64>().ok())
                    .map_or(Duration::from_secs(10), Duration::from_millis)
            },
            |d| d.0,
        );
        let compression = config.compression.unwrap_or_else(|| {
            if otlp_var("COMPRESSION").is_some_and(|c| c.trim() == "gzip") {
                Compression::Gzip
            } else {
                Compression::None
            }
        });
        let temporality = config.temporality.unwrap_or_else(|| {
            let preference = var("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE");
            if preference.is_some_and(|t| t.trim().eq_ignore_ascii_case("delta")) {
                Temporality::Delta
            } else {
                Temporality::Cumulative
            }
        });
        let mut resource = vec![
            ("service.name".to_string(), "snapbridge".to_string()),
            ("service.instance.id".to_string(), instance_id.to_string()),
            ("telemetry.sdk.name".to_string(), "snapbridge".to_string()),
            ("telemetry.sdk.language".to_string(), "rust".to_string()),
            (
                "telemetry.sdk.version".to_string(),
                env!("CARGO_PKG_VERSION").to_string(),
            ),
        ];
        if let Some(attrs) = var("OTEL_RESOURCE_ATTRIBUTES") {
            for (k, v) in parse_pairs(&attrs) {
                set(&mut resource, &k, v);
            }
        }
        if let Some(name) = var("OTEL_SERVICE_NAME") {
            set(&mut resource, "service.name", name.trim().to_string());
        }
        for (k, v) in &config.resource {
            set(&mut resource, k, v.clone());
        }
        resource.sort();
        let ca_file = config
            .ca_file
            .clone()
            .or_else(|| otlp_var("CERTIFICATE").map(std::path::PathBuf::from));
        let ca_pem = match ca_file {
            None => None,
            Some(path) => Some(std::fs::read(&path).map_err(|e| {
                format!(
                    "cannot read the OTLP CA file {} ([otlp] ca_file): {e}",
                    path.display()
                )
            })?),
        };
        Ok(Some(Settings {
            ca_pem,
            url,
            shown,
            protocol,
            temporality,
            headers,
            timeout,
            compression,
            resource,
            max_attempts: config.max_attempts.unwrap_or(3).max(1),
        }))
    }
}

/// The protocol `OTEL_EXPORTER_OTLP_PROTOCOL` names (HTTP/protobuf when unset, as the
/// specification says).
fn protocol_named(name: Option<&str>) -> Result<Protocol, String> {
    match name {
        None | Some("http/protobuf") => Ok(Protocol::HttpProtobuf),
        Some("grpc") => Ok(Protocol::Grpc),
        Some(other) => Err(format!(
            "OTEL_EXPORTER_OTLP_PROTOCOL={other:?} is not supported: use \"grpc\" or \"http/protobuf\""
        )),
    }
}

/// User info in the endpoint (`https://user:key@host`) becomes an `Authorization: Basic`
/// header, as curl and browsers do, unless one is set already; it is taken out of the URL,
/// which would otherwise go out in the `Host` header and in every log line.
fn move_credentials(url: String, headers: &mut Vec<(String, String)>) -> String {
    let Ok(mut parsed) = url::Url::parse(&url) else {
        return url;
    };
    if parsed.username().is_empty() && parsed.password().is_none() {
        return url;
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let user = decode(parsed.username());
    let password = decode(parsed.password().unwrap_or(""));
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
    {
        use base64::Engine;
        let pair = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        headers.push(("authorization".into(), format!("Basic {pair}")));
    }
    let _ = parsed.set_password(None);
    let _ = parsed.set_username("");
    let mut out = parsed.to_string();
    // `Url` adds a `/` to an empty path; a gRPC endpoint is written without one.
    if !url.trim_end().ends_with('/') && parsed.path() == "/" && parsed.query().is_none() {
        out.pop();
    }
    out
}

fn with_path(base: &str, protocol: Protocol) -> String {
    let trimmed = base.trim().trim_end_matches('/');
    match protocol {
        Protocol::Grpc => trimmed.to_string(),
        // Appended to the path, not the text: a base with a query (`?api_key=...`) or a
        // fragment would otherwise get `/v1/metrics` after them.
        Protocol::HttpProtobuf => match url::Url::parse(base.trim()) {
            Ok(mut url) => {
                let path = format!("{}/v1/metrics", url.path().trim_end_matches('/'));
                url.set_path(&path);
                url.to_string()
            }
            // Not a URL: left for the endpoint check to name as it was written.
            Err(_) => format!("{trimmed}/v1/metrics"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn off_unless_configured_somewhere() {
        assert!(Settings::resolve(None, env(&[]), "i").unwrap().is_none());
    }

    #[test]
    fn environment_variables_work_and_the_file_wins() {
        let vars = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=s%3Dcret,x=1"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=prod,service.name=from-attrs",
            ),
            ("OTEL_SERVICE_NAME", "from-env"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ]);
        let s = Settings::resolve(None, &vars, "host:9464")
            .unwrap()
            .unwrap();
        assert_eq!(s.url, "http://collector:4318/v1/metrics");
        assert_eq!(s.protocol, Protocol::HttpProtobuf);
        assert_eq!(
            s.headers,
            vec![
                ("api-key".into(), "s=cret".into()),
                ("x".into(), "1".into())
            ]
        );
        assert_eq!(s.timeout, Duration::from_millis(2500));
        assert_eq!(s.compression, Compression::Gzip);
        let res: HashMap<_, _> = s.resource.iter().cloned().collect();
        assert_eq!(res["service.name"], "from-env");
        assert_eq!(res["deployment.environment"], "prod");
        assert_eq!(res["service.instance.id"], "host:9464");
        assert!(
            !format!("{s:?}").contains("s=cret"),
            "headers are never printed"
        );

        let file = OtlpConfig {
            endpoint: Some("http://file:4317".into()),
            protocol: Some(Protocol::Grpc),
            resource: [("service.name".to_string(), "from-file".to_string())].into(),
            ..OtlpConfig::default()
        };
        let s = Settings::resolve(Some(&file), &vars, "i").unwrap().unwrap();
        assert_eq!(s.url, "http://file:4317");
        let res: HashMap<_, _> = s.resource.iter().cloned().collect();
        assert_eq!(res["service.name"], "from-file");
    }

    #[test]
    fn the_path_goes_before_the_query() {
        let url = |base| with_path(base, Protocol::HttpProtobuf);
        assert_eq!(
            url("https://otlp.example/ingest/?api_key=k&x=1"),
            "https://otlp.example/ingest/v1/metrics?api_key=k&x=1"
        );
        assert_eq!(
            url("http://collector:4318?k=v"),
            "http://collector:4318/v1/metrics?k=v"
        );
        assert_eq!(
            url("http://collector:4318/"),
            "http://collector:4318/v1/metrics"
        );
    }

    #[test]
    fn user_info_becomes_basic_auth_and_is_never_shown() {
        let file = OtlpConfig {
            endpoint: Some("https://tok3n-user:k3y-pw@otlp.example:4318/x?api_key=qk3y".into()),
            ..OtlpConfig::default()
        };
        let s = Settings::resolve(Some(&file), env(&[]), "i")
            .unwrap()
            .unwrap();
        assert_eq!(s.url, "https://otlp.example:4318/x/v1/metrics?api_key=qk3y");
        assert_eq!(
            s.shown,
            "https://otlp.example:4318/x/v1/metrics?api_key=***"
        );
        // base64("tok3n-user:k3y-pw")
        assert_eq!(
            s.headers,
            vec![(
                "authorization".into(),
                "Basic dG9rM24tdXNlcjprM3ktcHc=".into()
            )]
        );
        let grpc = OtlpConfig {
            endpoint: Some("http://u:p@h:4317".into()),
            protocol: Some(Protocol::Grpc),
            ..OtlpConfig::default()
        };
        let s = Settings::resolve(Some(&grpc), env(&[]), "i")
            .unwrap()
            .unwrap();
        assert_eq!(s.url, "http://h:4317");
        let ftp = OtlpConfig {
            endpoint: Some("ftp://u:s3cr3t-pw@h/".into()),
            ..OtlpConfig::default()
        };
        let e = Settings::resolve(Some(&ftp), env(&[]), "i").unwrap_err();
        assert!(e.contains("ftp://***@h") && !e.contains("s3cr3t"), "{e}");
    }

    #[test]
    fn the_signal_endpoint_is_used_as_it_is() {
        let vars = env(&[(
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "http://vm:8428/opentelemetry/v1/metrics",
        )]);
        let s = Settings::resolve(None, vars, "i").unwrap().unwrap();
        assert_eq!(s.url, "http://vm:8428/opentelemetry/v1/metrics");
        let bad = env(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://x"),
        ]);
        assert!(
            Settings::resolve(None, bad, "i")
                .unwrap_err()
                .contains("http/json")
        );
    }
}
