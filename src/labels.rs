//! Labels as the text formats write them: `a="1",b="2"`, values escaped, no braces.
//!
//! The view keeps each series' final labels in this form, rendered once when the series is
//! first seen: the Prometheus sink copies the bytes into every body, and the OTLP sink reads
//! the pairs back when it first encodes the series. Both need it, so it lives here rather
//! than with either of them.

use std::borrow::Cow;

/// Renders label pairs as `a="1",b="2"` with values escaped; a name outside the legacy
/// charset (`http.method`) is quoted as Prometheus' UTF-8 text format writes it
/// (`"http.method"="GET"`).
pub fn render_labels(labels: &[(String, String)]) -> Box<str> {
    let mut out = Vec::with_capacity(labels.iter().map(|(k, v)| k.len() + v.len() + 6).sum());
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_name(&mut out, k);
        out.extend_from_slice(b"=\"");
        escape_into(&mut out, v, true);
        out.push(b'"');
    }
    // Only ASCII escapes were inserted into valid UTF-8, so this cannot fail.
    String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        .into_boxed_str()
}

/// Writes a metric or label name: as it is when legacy-valid, else quoted and escaped.
pub fn write_name(out: &mut Vec<u8>, name: &str) {
    if crate::names::is_legacy_name(name) {
        out.extend_from_slice(name.as_bytes());
    } else {
        out.push(b'"');
        escape_into(out, name, true);
        out.push(b'"');
    }
}

/// Reads pairs back from [`render_labels`]' output (its exact inverse).
pub fn parse_labels(rendered: &str) -> Vec<(String, String)> {
    pairs(rendered)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The pairs of [`render_labels`]' output, borrowed from it unless a name or value holds an
/// escape (so reading the labels of a steady series allocates nothing).
pub fn pairs(rendered: &str) -> Pairs<'_> {
    Pairs { rest: rendered }
}

/// Iterator of [`pairs`].
pub struct Pairs<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (Cow<'a, str>, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest;
        if rest.is_empty() {
            return None;
        }
        let (name, after) = if let Some(quoted) = rest.strip_prefix('"') {
            let (name, len) = unquote(quoted);
            (name, quoted.get(len..)?.strip_prefix('=')?)
        } else {
            let (name, after) = rest.split_once('=')?;
            (Cow::Borrowed(name), after)
        };
        let (value, len) = unquote(after.strip_prefix('"')?);
        let after = after.get(1 + len..)?;
        self.rest = after.strip_prefix(',').unwrap_or(after);
        Some((name, value))
    }
}

/// The text of an escaped string up to its closing quote, and the length read (the quote
/// included).
fn unquote(s: &str) -> (Cow<'_, str>, usize) {
    let bytes = s.as_bytes();
    let Some(end) = bytes.iter().position(|&b| b == b'"' || b == b'\\') else {
        return (Cow::Borrowed(s), s.len());
    };
    if bytes[end] == b'"' {
        return (Cow::Borrowed(&s[..end]), end + 1);
    }
    let mut value = String::from(&s[..end]);
    let mut chars = s[end..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, other)) => value.push(other),
                None => {}
            },
            '"' => return (Cow::Owned(value), end + i + 1),
            c => value.push(c),
        }
    }
    (Cow::Owned(value), s.len())
}

/// `rendered` with every label name that is not legacy-valid written as `scheme` escapes it
/// (borrowed when none needs it).
pub fn escape_label_names(rendered: &str, scheme: crate::names::Escaping) -> Cow<'_, str> {
    if !has_quoted_name(rendered) {
        return Cow::Borrowed(rendered);
    }
    let pairs: Vec<(String, String)> = pairs(rendered)
        .map(|(k, v)| {
            (
                crate::names::escape_name(&k, scheme).into_owned(),
                v.into_owned(),
            )
        })
        .collect();
    Cow::Owned(render_labels(&pairs).into())
}

/// True when some label name in `rendered` is quoted (not legacy-valid). A value's own
/// quotes are escaped, so an unescaped `"` right after the start or a `,` opens a name.
pub fn has_quoted_name(rendered: &str) -> bool {
    rendered.starts_with('"') || rendered.contains("\",\"")
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
            ("http.method".to_string(), "G\"E,\"T".to_string()),
            ("x\"y".to_string(), "v".to_string()),
        ];
        let rendered = render_labels(&labels);
        assert!(
            rendered.contains(r#","http.method"="G\"E,\"T","#),
            "{rendered}"
        );
        assert_eq!(parse_labels(&rendered), labels);
        assert!(has_quoted_name(&rendered));
        let plain = render_labels(&labels[..3]);
        assert!(!has_quoted_name(&plain));
        assert!(matches!(
            pairs(&plain).next(),
            Some((Cow::Borrowed(_), Cow::Borrowed(_)))
        ));
        assert_eq!(
            escape_label_names(&rendered, crate::names::Escaping::Underscores),
            render_labels(&[
                labels[0].clone(),
                labels[1].clone(),
                labels[2].clone(),
                labels[3].clone(),
                ("http_method".to_string(), labels[4].1.clone()),
                ("x_y".to_string(), "v".to_string()),
            ])
            .as_ref()
        );
        assert!(parse_labels("").is_empty());
    }
}
