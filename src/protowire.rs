//! The protobuf wire format, for the handful of messages the sinks write (OTLP requests,
//! the Prometheus protobuf exposition).
//!
//! Written by hand on purpose: building `opentelemetry-proto`'s prost structs costs eight
//! heap allocations per data point (every attribute key and value is an owned `String`),
//! which put the export at about 1.9 µs per series at 100k (docs/BENCHMARKS.md). Here each
//! series' attributes are encoded once, when the series is first exported, and every export
//! copies those bytes. The generated prost types remain the reference: the tests decode
//! what this module writes with them.

/// Wire types used by OTLP.
#[derive(Clone, Copy)]
pub(crate) enum WireType {
    Varint = 0,
    Fixed64 = 1,
    Len = 2,
}

/// Appends `v` as a base-128 varint.
pub(crate) fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Bytes a varint of `v` takes.
pub(crate) fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Appends a field key.
pub(crate) fn key(out: &mut Vec<u8>, field: u32, wt: WireType) {
    varint(out, (u64::from(field) << 3) | wt as u64);
}

/// Bytes a field key takes.
pub(crate) fn key_len(field: u32) -> usize {
    varint_len(u64::from(field) << 3)
}

/// Bytes of a length-delimited field holding `len` bytes.
pub(crate) fn len_field_len(field: u32, len: usize) -> usize {
    key_len(field) + varint_len(len as u64) + len
}

/// Appends the key and length of a length-delimited field whose `len` bytes follow.
pub(crate) fn len_header(out: &mut Vec<u8>, field: u32, len: usize) {
    key(out, field, WireType::Len);
    varint(out, len as u64);
}

/// Appends a length-delimited field (string, bytes or an encoded message).
pub(crate) fn bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    len_header(out, field, bytes.len());
    out.extend_from_slice(bytes);
}

/// Appends a string field, omitted when empty (the proto3 default).
pub(crate) fn string_field(out: &mut Vec<u8>, field: u32, s: &str) {
    if !s.is_empty() {
        bytes_field(out, field, s.as_bytes());
    }
}

/// Bytes of [`string_field`].
pub(crate) fn string_field_len(field: u32, s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        len_field_len(field, s.len())
    }
}

/// Appends a fixed64 field (always written).
pub(crate) fn fixed64_field(out: &mut Vec<u8>, field: u32, v: u64) {
    key(out, field, WireType::Fixed64);
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends a varint field, omitted when 0 (the proto3 default).
pub(crate) fn varint_field(out: &mut Vec<u8>, field: u32, v: u64) {
    if v != 0 {
        key(out, field, WireType::Varint);
        varint(out, v);
    }
}

/// Encodes a `KeyValue` with a string value as field `field` of its parent.
pub(crate) fn string_attribute(out: &mut Vec<u8>, field: u32, k: &str, v: &str) {
    // AnyValue { string_value = 1 }
    let any_len = len_field_len(1, v.len());
    // KeyValue { key = 1, value = 2 }
    let kv_len = len_field_len(1, k.len()) + len_field_len(2, any_len);
    len_header(out, field, kv_len);
    bytes_field(out, 1, k.as_bytes());
    len_header(out, 2, any_len);
    bytes_field(out, 1, v.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_their_lengths() {
        for v in [
            0u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "{v}");
        }
        let mut out = Vec::new();
        varint(&mut out, 300);
        assert_eq!(out, [0xAC, 0x02]);
    }
}
