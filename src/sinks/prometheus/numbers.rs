//! Numbers as the text formats write them: sample values in the shortest exact form, and
//! bucket bounds as Go clients and OTLP receivers spell the `le` label.

use snapbridge_core::Number;

/// Formats a bucket bound as Go's `strconv.FormatFloat(v, 'g', -1, 64)` does (`1`, `0.25`,
/// `1e+06`): the form Go clients write and OTLP receivers such as VictoriaMetrics give the
/// `le` label, so a bucket series is the same whether it was scraped or pushed. Both text
/// parsers accept it.
pub fn go_float(out: &mut String, v: f64) {
    if !v.is_finite() {
        out.push_str(if v.is_nan() {
            "NaN"
        } else if v > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        });
        return;
    }
    if v == 0.0 {
        out.push('0');
        return;
    }
    if v < 0.0 {
        out.push('-');
    }
    // Shortest round-trip digits and the decimal point position, from ryu's output.
    let mut buf = ryu::Buffer::new();
    let text = buf.format_finite(v.abs());
    let (mantissa, exp10) = match text.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all: String = format!("{int_part}{frac_part}");
    let lead = all.len() - all.trim_start_matches('0').len();
    let digits = all.trim_start_matches('0').trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    // Position of the decimal point relative to the first significant digit.
    let dp = int_part.len() as i32 - lead as i32 + exp10;
    let exp = dp - 1;
    // Go uses the exponent form below 1e-4 and from 1e6 on (precision 6 for shortest).
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
    } else if dp <= 0 {
        out.push_str("0.");
        for _ in 0..(-dp) {
            out.push('0');
        }
        out.push_str(digits);
    } else if digits.len() as i32 <= dp {
        out.push_str(digits);
        for _ in 0..(dp - digits.len() as i32) {
            out.push('0');
        }
    } else {
        out.push_str(&digits[..dp as usize]);
        out.push('.');
        out.push_str(&digits[dp as usize..]);
    }
}

pub fn write_number(out: &mut Vec<u8>, n: Number) {
    match n {
        Number::Int(i) => write_u64(out, i),
        Number::Float(f) => write_f64(out, f),
        other => write_f64(out, other.as_f64()),
    }
}

pub fn write_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Floats in the shortest form that reads back exactly; NaN and infinities as both formats
/// spell them.
pub fn write_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        // Whole numbers (queue sizes, bytes, counts: most gauges) as integers: exact below
        // 2^53, the same value to every parser, and about 5x cheaper than the shortest
        // round-trip float form, which was a third of the render time.
        out.extend_from_slice(itoa::Buffer::new().format(v as i64).as_bytes());
    } else {
        out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::go_float;

    #[test]
    fn bucket_bounds_are_written_like_go() {
        let cases = [
            (1.0, "1"),
            (10.0, "10"),
            (0.005, "0.005"),
            (0.25, "0.25"),
            (2.5, "2.5"),
            (100000.0, "100000"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e21, "1e+21"),
            (-3.0, "-3"),
            (0.0, "0"),
        ];
        for (v, want) in cases {
            let mut s = String::new();
            go_float(&mut s, v);
            assert_eq!(s, want, "{v}");
        }
    }
}
