//! Labels as the text formats write them: `a="1",b="2"`, values escaped, no braces.
//!
//! The view keeps each series' final labels in this form, rendered once when the series is
//! first seen: the Prometheus sink copies the bytes into every body, and the OTLP sink reads
//! the pairs back when it first encodes the series. Both need it, so it lives here rather
//! than with either of them.

/// Renders label pairs as `a="1",b="2"` with values escaped.
pub fn render_labels(labels: &[(String, String)]) -> Box<str> {
    let mut out = Vec::with_capacity(labels.iter().map(|(k, v)| k.len() + v.len() + 4).sum());
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b"=\"");
        escape_into(&mut out, v, true);
        out.push(b'"');
    }
    // Only ASCII escapes were inserted into valid UTF-8, so this cannot fail.
    String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        .into_boxed_str()
}

/// Reads pairs back from [`render_labels`]' output (its exact inverse).
pub fn parse_labels(rendered: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = rendered;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, other)) => value.push(other),
                    None => {}
                },
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        out.push((key.to_string(), value));
        rest = after[end..].strip_prefix(',').unwrap_or(&after[end..]);
    }
    out
}

/// Escapes `\`, newline and (when `quote`) `"`, as both text formats require.
pub fn escape_into(out: &mut Vec<u8>, s: &str, quote: bool) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'"' if quote => b"\\\"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_labels_read_back_exactly() {
        let labels = vec![
            ("a".to_string(), "plain".to_string()),
            (
                "b".to_string(),
                "quote \" back \\ slash \n new=line,comma".to_string(),
            ),
            ("c".to_string(), String::new()),
            ("d".to_string(), "ünï\\".to_string()),
        ];
        assert_eq!(parse_labels(&render_labels(&labels)), labels);
        assert!(parse_labels("").is_empty());
    }
}
