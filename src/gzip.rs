//! gzip, for `/metrics` responses and OTLP/HTTP request bodies.

use std::io::Write;

/// Compresses `plain` at the fastest level.
///
/// Exposition text and OTLP protobuf both compress 6-10x even at level 1, and this runs on
/// the scrape path the first time a view is asked for gzip. flate2's zlib-rs backend
/// (Cargo.toml) rather than its default miniz_oxide: 8.8 vs 14.9 ms for a 100k-series body
/// (`cargo bench --bench pipeline -- render/gzip`), for a 7% larger output.
pub fn gzip(plain: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(plain.len() / 8),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(plain);
    enc.finish().unwrap_or_default()
}

/// Decompresses `packed`, refusing more than `limit` bytes of output: a reply from a
/// receiver is outside input, and a small gzip body can expand a thousandfold.
pub fn gunzip(packed: &[u8], limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(packed)
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("bad gzip: {e}"))?;
    if out.len() as u64 > limit {
        return Err(format!("more than {limit} bytes once decompressed"));
    }
    Ok(out)
}
