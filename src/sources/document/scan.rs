//! The usual large document read below serde: an array of plain entries, scanned byte by
//! byte into the reader's slots.
//!
//! A 100k-series document arrives every interval, and serde_json's general machinery
//! (`deserialize_any`, a visitor call per token, the key seeds) was most of what a whole
//! process spent bridging it: measured with `benches/document.rs` and the process benchmark
//! (docs/BENCHMARKS.md), this scanner reads the usual document in well under half of the
//! time of the typed serde route, which a faster general parser (sonic-rs, tried) did not
//! reach. It knows one shape only: a root array of objects whose fields are `name`, `type`,
//! `unit`, `description` (plain strings), `value` (a number, or Python's `NaN`/`Infinity`
//! tokens) and `labels` (an object of plain strings), each given once. "Plain" is a string
//! without escapes or control characters, read as a borrowed slice.
//!
//! Exactness: an entry in that shape fills [`Held`] with the very nodes serde_json would
//! have given ([`reader`](super::reader) documents that route), and the same rules decide
//! it. Any other entry (an escape, an unknown or repeated key, a histogram, a scalar) is
//! measured out by [`Scanner::skip_value`] and read by serde_json alone, as the streaming
//! route reads it. Anything malformed, or a root that is not an array, answers `None`: the
//! caller forgets what was read and reads the document with serde_json, so its errors (line
//! and column) are serde_json's.

use std::borrow::Cow;

use serde::de::DeserializeSeed;

use super::DocumentOptions;
use super::collector::Collector;
use super::node::Node;
use super::reader::{EntrySeed, Held, LABELS, VALUE, slot_of};
use crate::limits::MAX_LABEL_VALUE_BYTES;

/// Reads `text` as an array of entries into `out`; `None` when it is not such an array,
/// or is malformed somewhere (then `out` holds a part of it: see [`Collector::restart`]).
pub fn array(text: &str, out: &mut Collector, opts: &DocumentOptions) -> Option<()> {
    let mut scan = Scanner { text, pos: 0 };
    scan.ws();
    if !scan.eat(b'[') {
        return None;
    }
    let mut held = Held::default();
    scan.ws();
    if !scan.eat(b']') {
        for i in 0.. {
            scan.ws();
            let start = scan.pos;
            if scan.entry(&mut held).is_some() {
                out.array_read(i, None, &held, opts);
            } else {
                scan.pos = start;
                scan.skip_value()?;
                let slice = text.get(start..scan.pos)?;
                let mut de = serde_json::Deserializer::from_str(slice);
                let read = EntrySeed { held: &mut held }.deserialize(&mut de).ok()?;
                de.end().ok()?;
                out.array_read(i, read, &held, opts);
            }
            scan.ws();
            if scan.eat(b']') {
                break;
            }
            if !scan.eat(b',') {
                return None;
            }
        }
    }
    scan.ws();
    (scan.pos == text.len()).then_some(())
}

/// A position in the document. Every slice it takes ends and starts at an ASCII byte, so
/// it is a `str` slice of the (already UTF-8 checked) text.
struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// Skips JSON whitespace.
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.pos += 1;
        }
    }

    /// Consumes `c` when it is next.
    fn eat(&mut self, c: u8) -> bool {
        let next = self.peek() == Some(c);
        self.pos += usize::from(next);
        next
    }

    /// One entry in the usual shape into `held`; `None` when it is not in that shape (the
    /// position is then anywhere inside it).
    fn entry(&mut self, held: &mut Held<'a>) -> Option<()> {
        held.clear();
        self.object(|scan, key| {
            let slot = slot_of(key)?;
            if held.has(slot) {
                return None;
            }
            let node = match slot {
                LABELS => return scan.labels(held),
                VALUE => scan.value()?,
                _ => Node::Str(Cow::Borrowed(scan.plain_string()?)),
            };
            held.put(slot, node);
            Some(())
        })
    }

    /// A `labels` object of plain strings, streamed into `held`'s pairs.
    fn labels(&mut self, held: &mut Held<'a>) -> Option<()> {
        held.stream_labels();
        self.object(|scan, key| {
            let value = scan.plain_string()?;
            // The serde route reads a longer value as a tree, for the rules to reject.
            if value.len() > MAX_LABEL_VALUE_BYTES {
                return None;
            }
            held.put_label(key, value);
            Some(())
        })
    }

    /// An object whose keys are plain strings, each member's value read by `member` (given
    /// the key, at the value); `None` as soon as anything is not so.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        if !self.eat(b'{') {
            return None;
        }
        self.ws();
        if self.eat(b'}') {
            return Some(());
        }
        loop {
            self.ws();
            let key = self.plain_string()?;
            self.ws();
            if !self.eat(b':') {
                return None;
            }
            self.ws();
            member(self, key)?;
            self.ws();
            if self.eat(b'}') {
                return Some(());
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }

    /// A string without escapes or control characters, without its quotes.
    fn plain_string(&mut self) -> Option<&'a str> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.pos;
        let bytes = self.text.as_bytes();
        // Eight bytes at a time up to the first that ends or escapes the string (most
        // strings of a document end within their first eight), then byte by byte.
        while let Some(word) = bytes.get(self.pos..).and_then(|b| b.first_chunk::<8>()) {
            let stops = stop_bytes(u64::from_le_bytes(*word));
            if stops != 0 {
                self.pos += (stops.trailing_zeros() / 8) as usize;
                break;
            }
            self.pos += 8;
        }
        loop {
            match *bytes.get(self.pos)? {
                b'"' => break,
                b'\\' | 0..0x20 => return None,
                _ => self.pos += 1,
            }
        }
        self.pos += 1;
        self.text.get(start..self.pos - 1)
    }

    /// A `value`: a number as serde_json reads it, or one of Python's non-JSON tokens,
    /// read as the string `parse` quotes it into when it retries.
    fn value(&mut self) -> Option<Node<'a>> {
        let rest = &self.text.as_bytes()[self.pos..];
        if let Some(b'N' | b'I' | b'-') = rest.first() {
            for token in ["NaN", "Infinity", "-Infinity"] {
                if rest.starts_with(token.as_bytes()) {
                    self.pos += token.len();
                    return Some(Node::Str(Cow::Borrowed(token)));
                }
            }
        }
        let start = self.pos;
        let negative = self.eat(b'-');
        match self.peek()? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        let mut integer = true;
        if self.eat(b'.') {
            integer = false;
            self.at_least_one_digit()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            integer = false;
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.at_least_one_digit()?;
        }
        let literal = self.text.get(start..self.pos)?;
        if integer {
            // Beyond 64 bits serde_json makes a float of it, and reads `-0` its own way:
            // left to it.
            return match negative {
                false => literal.parse().ok().map(Node::U64),
                true if literal == "-0" => None,
                true => literal.parse().ok().map(Node::I64),
            };
        }
        // serde_json reads floats correctly rounded (its `float_roundtrip` feature), as
        // `str::parse` does, so both give the same f64. Beyond an f64's range, the retry
        // of `parse` would mark the literal so: its key alone is rejected.
        let f: f64 = literal.parse().ok()?;
        Some(if f.is_finite() {
            Node::F64(f)
        } else {
            Node::OutOfRange(Cow::Borrowed(literal))
        })
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }

    fn at_least_one_digit(&mut self) -> Option<()> {
        let start = self.pos;
        self.digits();
        (self.pos > start).then_some(())
    }

    /// Moves past one JSON value without judging it (serde_json judges the slice after):
    /// strings with their escapes, brackets by depth, literals by their characters.
    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.skip_string(),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.skip_string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.pos += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.pos += 1;
                }
            }
            b'-' | b'+' | b'.' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' => {
                while matches!(
                    self.peek(),
                    Some(b'-' | b'+' | b'.' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
                ) {
                    self.pos += 1;
                }
                Some(())
            }
            _ => None,
        }
    }

    fn skip_string(&mut self) -> Option<()> {
        self.pos += 1;
        loop {
            match self.peek()? {
                b'"' => break,
                b'\\' => self.pos += 2,
                _ => self.pos += 1,
            }
        }
        self.pos += 1;
        Some(())
    }
}

/// The bytes of `word` (eight bytes of a string, little-endian) that end or escape a JSON
/// string: a quote, a backslash or a control character, each flagged by its high bit. The
/// lowest flag is exact (above it, a borrow may flag more), which is all a search needs.
fn stop_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let quote = zero(word ^ (ONES * u64::from(b'"')));
    let backslash = zero(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    quote | backslash | control
}

#[cfg(test)]
mod tests {
    use super::stop_bytes;

    /// The first flagged byte is the first quote, backslash or control byte, for every
    /// position and every byte value around it (UTF-8 bytes ≥ 0x80 included).
    #[test]
    fn the_first_stop_byte_is_found_exactly() {
        for at in 0..8 {
            for stop in (0u8..0x20).chain([b'"', b'\\']) {
                for filler in [b'a', b'~', b' ', 0x80, 0xC3, 0xFF, b'!', b'#'] {
                    let mut word = [filler; 8];
                    word[at] = stop;
                    let found = stop_bytes(u64::from_le_bytes(word));
                    assert_eq!(found.trailing_zeros() / 8, at as u32, "{word:?}");
                }
            }
        }
        for filler in 0x20..=0xFFu8 {
            if filler != b'"' && filler != b'\\' {
                assert_eq!(stop_bytes(u64::from_le_bytes([filler; 8])), 0, "{filler}");
            }
        }
    }
}
