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
//!   an unknown type, a 1 MB label value) skips that key and is reported as a [`Rejection`](super::Rejection)
//!   next to the snapshot: everything else is still exported, and the pipeline counts the
//!   rejection by reason and shows the first one on the status page;
//! - a problem with **the document** (malformed or truncated JSON, not an object, a pointer
//!   that matches nothing) fails the snapshot with one line: no value of a half-read
//!   document is trusted, and the source goes down for that cycle.
//!
//! Integers stay exact `u64`. Python writes NaN and infinities as bare `NaN`/`Infinity`
//! tokens, which are not JSON: they are accepted (see [`quote_unreadable_tokens`]), so a
//! gauge can be NaN and a NaN counter is rejected by key instead of failing the document.
//! The work is linear in the document's size: the outer map or array is streamed, and each
//! entry turned into its sample at once. An array of entries is scanned below serde
//! (`scan.rs`), its plain entries straight into slots; otherwise the usual entry (known
//! fields, each once) is read by serde field by field into the same slots (`reader.rs`),
//! with no tree, and any other into a small borrowing tree ([`node`]). The same rules
//! ([`entry`]) decide all three.

mod collector;
pub mod entry;
mod fields;
mod histogram;
pub mod node;
mod reader;
mod scan;
mod walk;

use std::sync::Arc;

pub use collector::Collector;
pub use node::RawLabels;

use super::{DEFAULT_MAX_BYTES, KindRules, Pulled, SourceConfig, Spare};
use crate::values::{ByteSize, JsonPointer};
use walk::Found;

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
    /// A number beyond the range of a 64-bit float (`1e400`).
    pub const OUT_OF_RANGE: &str = "out_of_range";
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
    /// The previous document's samples, handed back by the pipeline, which the next
    /// document refills in place.
    pub spare: Spare,
    /// The bytes of the previous document, whose allocation the next read fills.
    pub buffer: ReadBuffer,
}

/// The allocation a source reads its documents into, kept between pulls. Clones share it.
///
/// A large document read into a fresh vector every interval costs its allocation and, as
/// the pages are touched for the first time, a page fault per 4 KiB: for a 12 MB document
/// every second that was a tenth of the whole process (docs/BENCHMARKS.md).
#[derive(Clone, Debug, Default)]
pub struct ReadBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl ReadBuffer {
    /// The kept allocation, empty (a read that overlaps another starts with a new one).
    pub fn take(&self) -> Vec<u8> {
        let mut bytes = self
            .0
            .lock()
            .map(|mut b| std::mem::take(&mut *b))
            .unwrap_or_default();
        bytes.clear();
        bytes
    }

    /// Keeps `bytes`' allocation for the next read, unless it is more than twice what this
    /// document needed (one large document does not pin its size for good).
    pub fn put(&self, bytes: Vec<u8>) {
        if bytes.capacity() > 2 * bytes.len().max(64 * 1024) {
            return;
        }
        if let Ok(mut b) = self.0.lock() {
            *b = bytes;
        }
    }
}

impl Default for DocumentOptions {
    fn default() -> Self {
        DocumentOptions {
            pointer: None,
            max_bytes: DEFAULT_MAX_BYTES,
            rules: KindRules::default(),
            spare: Spare::default(),
            buffer: ReadBuffer::default(),
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
            spare: Spare::default(),
            buffer: ReadBuffer::default(),
        }
    }
}

/// Parses a whole document (bytes of JSON) into a snapshot and its rejections.
/// `Err` is one line saying why the document as a whole is unusable.
pub fn parse(bytes: &[u8], opts: &DocumentOptions) -> Result<Pulled, String> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err("the document is empty (being written?)".into());
    }
    let pointer = opts.pointer.as_deref().unwrap_or("");
    let tokens = walk::pointer_tokens(pointer).unwrap_or_default();
    let mut out = Collector::reusing(opts.spare.take());
    let found = match walk::walk(bytes, &mut out, opts, &tokens) {
        Ok(found) => found,
        Err(first) => {
            // Python's json module writes NaN/Infinity as bare tokens, and a number beyond
            // an f64 (1e400) fails serde_json's whole read: retry with them quoted, only
            // when they might be the cause, so that only their keys are rejected.
            let retried = if first.is_syntax()
                && (has_python_tokens(bytes) || first.to_string().contains("out of range"))
            {
                out.restart();
                walk::walk(&quote_unreadable_tokens(bytes), &mut out, opts, &tokens).ok()
            } else {
                None
            };
            match retried {
                Some(found) => found,
                None => return Err(describe_json_error(&first)),
            }
        }
    };
    match found {
        Found::Walked => Ok(out.finish()),
        Found::Nothing => Err(format!(
            "JSON pointer {pointer:?} matches nothing in the document"
        )),
        Found::Other(what) => Err(format!(
            "the document is {what}, expected an object of metrics or an array of entries"
        )),
    }
}

/// Parses `bytes`, then keeps their allocation in [`DocumentOptions::buffer`] for the
/// source's next read.
pub fn parse_and_keep(bytes: Vec<u8>, opts: &DocumentOptions) -> Result<Pulled, String> {
    let pulled = parse(&bytes, opts);
    opts.buffer.put(bytes);
    pulled
}

/// [`parse_and_keep`] on the blocking pool when the document is large, inline otherwise.
pub async fn parse_async(bytes: Vec<u8>, opts: Arc<DocumentOptions>) -> Result<Pulled, String> {
    if bytes.len() <= INLINE_PARSE_BYTES {
        return parse_and_keep(bytes, &opts);
    }
    tokio::task::spawn_blocking(move || parse_and_keep(bytes, &opts))
        .await
        .unwrap_or_else(|e| Err(format!("the JSON parser failed: {e}")))
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

/// Rewrites what serde_json cannot read as a value: Python's non-JSON `NaN`, `Infinity`
/// and `-Infinity` tokens (outside strings) become the strings `"NaN"`, `"Infinity"`,
/// `"-Infinity"`, which [`entry`] reads as numbers; a number literal beyond an f64's range
/// (`1e400`) becomes a marked string that [`entry`] rejects by its key.
pub fn quote_unreadable_tokens(bytes: &[u8]) -> Vec<u8> {
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
        if let Some(t) = token {
            out.push(b'"');
            out.extend_from_slice(t);
            out.push(b'"');
            i += t.len();
            continue;
        }
        if b == b'-' || b.is_ascii_digit() {
            let len = rest
                .iter()
                .position(|c| !matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                .unwrap_or(rest.len());
            let literal = &rest[..len];
            let overflows = std::str::from_utf8(literal)
                .ok()
                .and_then(|t| t.parse::<f64>().ok())
                .is_some_and(f64::is_infinite);
            if overflows {
                out.push(b'"');
                out.extend_from_slice(b"\\u0000");
                out.extend_from_slice(&node::OUT_OF_RANGE_MARK.as_bytes()[1..]);
                out.extend_from_slice(literal);
                out.push(b'"');
            } else {
                out.extend_from_slice(literal);
            }
            i += len;
            continue;
        }
        if b == b'"' {
            in_string = true;
        }
        out.push(b);
        i += 1;
    }
    out
}

#[cfg(test)]
mod reader_tests;
#[cfg(test)]
mod scan_tests;
#[cfg(test)]
mod tests;
