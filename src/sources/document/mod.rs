//! The JSON snapshot parser every out-of-process source shares (http, file, exec, redis).
//!
//! Two forms, mixed freely (docs/SOURCES.md has examples):
//!
//! - **plain map**: `{"records_written": 120394, "queue_size": 7}`. Values are plain numbers
//!   whose kind the source's `counters`/`gauges`/`default_kind` rules decide later, in the
//!   pipeline. Nested objects that are not typed entries are flattened with `_`
//!   (`{"jobs": {"created": 5}}` is `jobs_created`); a JSON pointer selects a sub-document.
//! - **typed**: a value may be an object `{"type": "counter"|"gauge"|"histogram", "value": ...,
//!   "labels": {...}, "unit": "...", "description": "..."}` (see [`entry`]), and the whole
//!   document may be an array of such objects, each with a `"name"`.
//!
//! Errors come in two sizes, and the split is the point of this module:
//!
//! - a problem with **one key** (a string where a number belongs, a negative or NaN counter,
//!   an unknown type, a 1 MB label value) skips that key and is reported as a [`Rejection`]
//!   next to the snapshot: everything else is still exported, and the pipeline counts the
//!   rejection by reason and shows the first one on the status page;
//! - a problem with **the document** (malformed or truncated JSON, not an object, a pointer
//!   that matches nothing) fails the snapshot with one line: no value of a half-read
//!   document is trusted, and the source goes down for that cycle.
//!
//! Integers stay exact `u64`. Python writes NaN and infinities as bare `NaN`/`Infinity`
//! tokens, which are not JSON: they are accepted (see [`python_tokens_to_strings`]), so a
//! gauge can be NaN and a NaN counter is rejected by key instead of failing the document.
//! The work is linear in the document's size (serde_json into a map, then one walk).

pub mod entry;

use std::sync::Arc;

use serde_json::{Map, Value as Json};
use snapbridge_core::{Sample, Snapshot};

use super::{DEFAULT_MAX_BYTES, KindRules, Pulled, Rejection, SourceConfig};
use crate::values::{ByteSize, JsonPointer};

/// Nested plain objects deeper than this are rejected rather than flattened.
const MAX_DEPTH: usize = 16;

/// Documents larger than this are parsed on tokio's blocking pool.
const INLINE_PARSE_BYTES: usize = 64 * 1024;

/// Stable reason names of per-key rejections (the `reason` label).
pub mod reason {
    /// A string, array or object where a number belongs.
    pub const NON_NUMERIC: &str = "non_numeric";
    /// A counter below zero.
    pub const NEGATIVE: &str = "negative";
    /// A NaN counter.
    pub const NAN: &str = "nan";
    /// An infinite counter.
    pub const INFINITE: &str = "infinite";
    /// A `type` that is not counter, gauge or histogram.
    pub const UNKNOWN_TYPE: &str = "unknown_type";
    /// A histogram that breaks the shape rules.
    pub const INVALID_HISTOGRAM: &str = "invalid_histogram";
    /// A typed entry without a value, with a bad name or bad labels.
    pub const INVALID_ENTRY: &str = "invalid_entry";
    /// A label value (or a name) longer than the pipeline accepts.
    pub const TOO_LONG: &str = "label_value_too_long";
}

/// How a source reads its documents.
#[derive(Clone, Debug)]
pub struct DocumentOptions {
    /// JSON pointer to the metrics object (`/metrics`); `None` or `""` is the whole document.
    pub pointer: Option<String>,
    /// The largest document read, in bytes: a larger one fails the snapshot.
    pub max_bytes: u64,
    /// The source's plain-number rules, used to reject a plain counter that can never be
    /// exported (negative, NaN) by its key, here, where the key is known.
    pub rules: KindRules,
}

impl Default for DocumentOptions {
    fn default() -> Self {
        DocumentOptions {
            pointer: None,
            max_bytes: DEFAULT_MAX_BYTES,
            rules: KindRules::default(),
        }
    }
}

impl DocumentOptions {
    /// For a source with the kind's keys `pointer` and `max_bytes` and the `common` keys.
    pub fn new(
        pointer: Option<&JsonPointer>,
        max_bytes: Option<ByteSize>,
        common: &SourceConfig,
    ) -> Self {
        DocumentOptions {
            pointer: pointer.map(|p| p.0.clone()).filter(|p| !p.is_empty()),
            max_bytes: max_bytes.map_or(DEFAULT_MAX_BYTES, |b| b.0),
            rules: common.kind_rules(),
        }
    }
}

/// Parses a whole document (bytes of JSON) into a snapshot and its rejections.
/// `Err` is one line saying why the document as a whole is unusable.
pub fn parse(bytes: &[u8], opts: &DocumentOptions) -> Result<Pulled, String> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err("the document is empty (being written?)".into());
    }
    let doc: Json = match serde_json::from_slice(bytes) {
        Ok(doc) => doc,
        Err(first) => {
            // Python's json module writes NaN/Infinity as bare tokens: retry with them
            // quoted, only when they might be the cause.
            let retried = if first.is_syntax() && has_python_tokens(bytes) {
                serde_json::from_slice(&python_tokens_to_strings(bytes)).ok()
            } else {
                None
            };
            match retried {
                Some(doc) => doc,
                None => return Err(describe_json_error(&first)),
            }
        }
    };
    from_json(doc, opts)
}

/// Parses on the blocking pool when the document is large, inline otherwise.
pub async fn parse_async(bytes: Vec<u8>, opts: Arc<DocumentOptions>) -> Result<Pulled, String> {
    if bytes.len() <= INLINE_PARSE_BYTES {
        return parse(&bytes, &opts);
    }
    tokio::task::spawn_blocking(move || parse(&bytes, &opts))
        .await
        .unwrap_or_else(|e| Err(format!("the JSON parser failed: {e}")))
}

/// Turns an already parsed document into a snapshot (after applying the pointer).
pub fn from_json(mut doc: Json, opts: &DocumentOptions) -> Result<Pulled, String> {
    if let Some(pointer) = opts.pointer.as_deref() {
        doc = match doc.pointer_mut(pointer) {
            Some(v) => v.take(),
            None => {
                return Err(format!(
                    "JSON pointer {pointer:?} matches nothing in the document"
                ));
            }
        };
    }
    let mut out = Collector::with_capacity(match &doc {
        Json::Object(m) => m.len(),
        Json::Array(a) => a.len(),
        _ => 0,
    });
    match doc {
        Json::Object(map) => out.map(map, None, opts, 0),
        Json::Array(items) => {
            for (i, item) in items.into_iter().enumerate() {
                match item {
                    Json::Object(obj) => match obj.get("name").and_then(Json::as_str) {
                        Some(name) => {
                            let name = name.to_string();
                            entry::typed(name, obj, opts, &mut out)
                        }
                        None => out.reject(
                            format!("[{i}]"),
                            reason::INVALID_ENTRY,
                            "an entry of the array has no \"name\" string".into(),
                        ),
                    },
                    other => out.reject(
                        format!("[{i}]"),
                        reason::INVALID_ENTRY,
                        format!(
                            "expected an object with \"name\", found {}",
                            entry::describe(&other)
                        ),
                    ),
                }
            }
        }
        other => {
            return Err(format!(
                "the document is {}, expected an object of metrics or an array of entries",
                entry::describe(&other)
            ));
        }
    }
    Ok(out.finish())
}

/// Samples and rejections gathered while walking a document.
pub struct Collector {
    samples: Vec<Sample>,
    rejected: Vec<Rejection>,
}

impl Collector {
    /// An empty collector with room for about `n` samples.
    pub fn with_capacity(n: usize) -> Self {
        Collector {
            samples: Vec::with_capacity(n),
            rejected: Vec::new(),
        }
    }

    /// Adds a sample.
    pub fn push(&mut self, sample: Sample) {
        self.samples.push(sample);
    }

    /// Number of samples so far.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when no sample was added.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Adds a label to every sample from index `start` on (the Redis key a hash came from).
    pub fn label_from(&mut self, start: usize, key: &str, value: &str) {
        for s in self.samples.iter_mut().skip(start) {
            s.key.labels.insert(key, value);
        }
    }

    /// Records a rejected key.
    pub fn reject(&mut self, key: String, reason: &'static str, detail: String) {
        self.rejected.push(Rejection {
            key: crate::text::shorten(&key, 200),
            reason,
            detail,
        });
    }

    /// The snapshot and its rejections.
    pub fn finish(self) -> Pulled {
        Pulled {
            snapshot: Snapshot {
                samples: self.samples,
            },
            rejected: self.rejected,
        }
    }

    /// Walks a plain map: numbers, typed entries, and nested plain objects (flattened).
    pub fn map(
        &mut self,
        map: Map<String, Json>,
        prefix: Option<&str>,
        opts: &DocumentOptions,
        depth: usize,
    ) {
        for (key, value) in map {
            let name = match prefix {
                Some(p) => format!("{p}_{key}"),
                None => key,
            };
            match value {
                Json::Object(obj) if entry::is_typed(&obj) => entry::typed(name, obj, opts, self),
                Json::Object(_) if depth + 1 >= MAX_DEPTH => self.reject(
                    name,
                    reason::NON_NUMERIC,
                    format!(
                        "objects nested more than {MAX_DEPTH} deep are not flattened: use `pointer`"
                    ),
                ),
                Json::Object(obj) => self.map(obj, Some(&name), opts, depth + 1),
                Json::Null => {}
                other => entry::plain(name, &other, opts, self),
            }
        }
    }
}

/// Says what serde_json found wrong, with a hint for the usual cause of each kind.
fn describe_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => format!(
            "truncated JSON ({e}): the document ends early (cut off, or still being written?)"
        ),
        Category::Syntax => format!("malformed JSON: {e}"),
        Category::Data | Category::Io => format!("unreadable JSON: {e}"),
    }
}

fn has_python_tokens(bytes: &[u8]) -> bool {
    bytes.windows(3).any(|w| w == b"NaN") || bytes.windows(8).any(|w| w == b"Infinity")
}

/// Rewrites Python's non-JSON `NaN`, `Infinity` and `-Infinity` tokens (outside strings)
/// as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`, which [`entry`] reads as numbers.
pub fn python_tokens_to_strings(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 64);
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        let rest = &bytes[i..];
        let token: Option<&[u8]> = [&b"-Infinity"[..], b"Infinity", b"NaN"]
            .into_iter()
            .find(|t| rest.starts_with(t));
        match token {
            Some(t) => {
                out.push(b'"');
                out.extend_from_slice(t);
                out.push(b'"');
                i += t.len();
            }
            None => {
                if b == b'"' {
                    in_string = true;
                }
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
