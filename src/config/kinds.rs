//! The source kinds' own keys: which kind uses which key, and what each kind requires.

use std::path::Path;

use snapbridge_core::Initial;

use super::{SourceConfig, SourceKind};

/// Which kinds use which kind-specific keys (for validation and the docs).
pub(crate) const KIND_KEYS: &[(&str, &[SourceKind])] = &[
    ("url", &[SourceKind::Http, SourceKind::Redis]),
    (
        "pointer",
        &[
            SourceKind::Http,
            SourceKind::File,
            SourceKind::Exec,
            SourceKind::Redis,
        ],
    ),
    ("headers", &[SourceKind::Http]),
    ("bearer_token", &[SourceKind::Http]),
    ("basic_auth", &[SourceKind::Http]),
    ("ca_file", &[SourceKind::Http]),
    (
        "max_bytes",
        &[
            SourceKind::Http,
            SourceKind::File,
            SourceKind::Exec,
            SourceKind::BatchDir,
        ],
    ),
    ("path", &[SourceKind::File, SourceKind::BatchDir]),
    ("path_glob", &[SourceKind::File]),
    ("checkpoint", &[SourceKind::BatchDir]),
    ("buckets", &[SourceKind::BatchDir]),
    ("metadata_labels", &[SourceKind::BatchDir]),
    ("key", &[SourceKind::Redis]),
    ("pattern", &[SourceKind::Redis]),
    ("command", &[SourceKind::Exec]),
    ("reset_every", &[SourceKind::Demo]),
];

/// The rules of each kind's own keys: what is required, what goes together.
pub(crate) fn validate_kind(s: &SourceConfig) -> Result<(), (&'static str, String)> {
    let need = |key: &'static str, example: &str| {
        Err((
            key,
            format!(
                "kind = \"{}\" needs `{key}`, e.g. {key} = {example}",
                s.kind
            ),
        ))
    };
    match s.kind {
        SourceKind::Http => {
            let Some(url) = &s.url else {
                return need("url", "\"http://127.0.0.1:8080/metrics\"");
            };
            if !matches!(url.scheme(), "http" | "https") {
                return Err(("url", format!("{url} is not an http:// or https:// URL")));
            }
            for name in s.headers.keys() {
                if hyper::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    return Err(("headers", format!("{name:?} is not a valid header name")));
                }
            }
            let sets_auth = s
                .headers
                .keys()
                .any(|k| k.eq_ignore_ascii_case("authorization"));
            let url_auth = url.password().is_some();
            if [
                sets_auth,
                url_auth,
                s.bearer_token.is_some(),
                s.basic_auth.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count()
                > 1
            {
                return Err((
                    "bearer_token",
                    "set one of bearer_token, basic_auth, a user:password in the url or an Authorization header".into(),
                ));
            }
        }
        SourceKind::File => match (&s.path, &s.path_glob) {
            (None, None) => return need("path", "\"/var/lib/app/metrics.json\" (or path_glob)"),
            (Some(_), Some(_)) => {
                return Err(("path_glob", "set `path` or `path_glob`, not both".into()));
            }
            (None, Some(glob)) => {
                let p = Path::new(glob);
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if name.is_empty() {
                    return Err(("path_glob", format!("{glob:?} has no file name pattern")));
                }
                let dir = p.parent().map(|d| d.to_string_lossy()).unwrap_or_default();
                if dir.contains(['*', '?', '[', '{']) {
                    return Err((
                        "path_glob",
                        format!(
                            "{glob:?}: only the file name may hold a pattern, not the directory"
                        ),
                    ));
                }
                if let Err(e) = globset::Glob::new(name) {
                    return Err(("path_glob", format!("invalid glob {name:?}: {e}")));
                }
            }
            (Some(_), None) => {}
        },
        SourceKind::BatchDir => {
            if s.path.is_none() {
                return need(
                    "path",
                    "\"/var/lib/app/metrics\" (the batch files' directory)",
                );
            }
            if let Some(b) = &s.buckets {
                if b.is_empty() {
                    return Err(("buckets", "must hold at least one bound".into()));
                }
                if b.iter().any(|x| !x.is_finite()) || !b.windows(2).all(|w| w[0] < w[1]) {
                    return Err((
                        "buckets",
                        "bounds must be finite and strictly increasing".into(),
                    ));
                }
            }
            let deny = s.deny_labels();
            for k in &s.metadata_labels {
                if deny.iter().any(|d| d.eq_ignore_ascii_case(k)) {
                    return Err((
                        "metadata_labels",
                        format!("{k:?} is on the label deny-list (it may carry personal data)"),
                    ));
                }
                if matches!(k.as_str(), "operation_type" | "operation_name" | "success") {
                    return Err(("metadata_labels", format!("{k:?} is already a label")));
                }
            }
            if s.initial.0 == Initial::Drop {
                return Err((
                    "initial",
                    "batch_dir totals are kept across restarts in the checkpoint: \"drop\" would hide them; use \"keep\"".into(),
                ));
            }
        }
        SourceKind::Redis => {
            let Some(url) = &s.url else {
                return need("url", "\"redis://127.0.0.1:6379\"");
            };
            if url.scheme() != "redis" {
                return Err(("url", format!("{url} is not a redis:// URL")));
            }
            match (&s.key, &s.pattern) {
                (None, None) => return need("key", "\"app:metrics\" (or pattern = \"app:*\")"),
                (Some(_), Some(_)) => {
                    return Err(("pattern", "set `key` or `pattern`, not both".into()));
                }
                (Some(k), None) if k.is_empty() => {
                    return Err(("key", "must not be empty".into()));
                }
                (None, Some(p)) if p.is_empty() => {
                    return Err(("pattern", "must not be empty".into()));
                }
                _ => {}
            }
            if s.pattern.is_some() && s.pointer.is_some() {
                return Err((
                    "pointer",
                    "with `pattern` each key is one value; pointer applies to `key` only".into(),
                ));
            }
        }
        SourceKind::Exec => match &s.command {
            None => return need("command", "[\"/usr/local/bin/app-metrics\", \"--json\"]"),
            Some(c) if c.is_empty() || c[0].trim().is_empty() => {
                return Err((
                    "command",
                    "must name a program: [\"prog\", \"arg\", ...]".into(),
                ));
            }
            Some(_) => {}
        },
        SourceKind::Demo | SourceKind::InProcess => {}
    }
    Ok(())
}
