//! Text for people: errors and values shown on one line in logs, messages and the status
//! page, whatever the libraries or the sources handed over.

/// At most `max` bytes of `s`, cut at a character boundary and marked with `…`.
pub fn shorten(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &s[..cut])
}

/// `message` on one line: newlines, tabs and other control characters become spaces, and
/// a message longer than `max` bytes is cut (see [`shorten`]).
pub fn one_line(message: &str, max: usize) -> String {
    let flat: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    shorten(&flat, max)
}

/// An error and its causes on one line (`client error (Connect): tcp connect error: ...`).
/// A cause whose text its parent already repeats is left out.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_flattens_and_cuts() {
        assert_eq!(one_line("a\nb\tc", 100), "a b c");
        assert!(one_line(&"x".repeat(2000), 500).len() < 600);
        assert_eq!(shorten("héllo", 2), "h…");
    }

    #[derive(Debug)]
    struct Wrap(&'static str, std::io::Error);

    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Wrap {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.1)
        }
    }

    #[test]
    fn error_chains_skip_repeated_causes() {
        let refused = || std::io::Error::other("refused");
        assert_eq!(
            error_chain(&Wrap("request failed", refused())),
            "request failed: refused"
        );
        assert_eq!(
            error_chain(&Wrap("connect: refused", refused())),
            "connect: refused"
        );
    }
}
