//! A command's stderr, read to its end so the command never blocks on a full pipe, with
//! only its beginning and its end kept for the error message.

/// Bytes kept from the beginning and from the end of stderr.
const KEEP: usize = 8 * 1024;

/// The first and the last [`KEEP`] bytes of everything written to stderr.
#[derive(Default)]
pub struct Captured {
    head: Vec<u8>,
    // A ring of the last KEEP bytes once past the head; `tail_at` is where the next byte goes.
    tail: Vec<u8>,
    tail_at: usize,
    total: u64,
}

impl Captured {
    /// Takes in the next bytes read.
    pub fn push(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let room = KEEP - self.head.len();
        let into_head = room.min(bytes.len());
        self.head.extend_from_slice(&bytes[..into_head]);
        bytes = &bytes[into_head..];
        if bytes.len() >= KEEP {
            bytes = &bytes[bytes.len() - KEEP..];
        }
        for &b in bytes {
            if self.tail.len() < KEEP {
                self.tail.push(b);
            } else {
                self.tail[self.tail_at] = b;
                self.tail_at = (self.tail_at + 1) % KEEP;
            }
        }
    }

    /// The first and the last non-empty line (the last only when it is another line): a
    /// tool's first complaint and, for a traceback, the exception at its end.
    pub fn summary(&self) -> Option<String> {
        let head = String::from_utf8_lossy(&self.head);
        let first = head.lines().map(str::trim).find(|l| !l.is_empty());
        let mut tail_bytes = self.tail[self.tail_at..].to_vec();
        tail_bytes.extend_from_slice(&self.tail[..self.tail_at]);
        let last_text = if tail_bytes.is_empty() {
            head.clone()
        } else {
            String::from_utf8_lossy(&tail_bytes)
        };
        let last = last_text.lines().map(str::trim).rfind(|l| !l.is_empty());
        let first = crate::text::shorten(first?, 200);
        let mut line = first.clone();
        if let Some(last) = last.map(|l| crate::text::shorten(l, 200))
            && last != first
        {
            line.push_str(" … ");
            line.push_str(&last);
        }
        if self.total > (2 * KEEP) as u64 {
            line.push_str(&format!(" ({} bytes on stderr)", self.total));
        }
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_and_the_last_line_of_a_long_stream() {
        let mut c = Captured::default();
        c.push(b"Traceback (most recent call last):\n");
        for _ in 0..10_000 {
            c.push(b"  File \"x.py\", line 1, in <module>\n");
        }
        c.push(b"ValueError: bad\n");
        let s = c.summary().unwrap();
        assert!(s.starts_with("Traceback (most recent call last): … ValueError: bad ("), "{s}");
        let mut one = Captured::default();
        one.push(b"boom\n");
        assert_eq!(one.summary().unwrap(), "boom");
        assert_eq!(Captured::default().summary(), None);
    }
}
