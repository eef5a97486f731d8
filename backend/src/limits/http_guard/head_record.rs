//! The raw bytes of a request head, kept only for a request that asks to see itself (`/request`
//! or `hello=request` on its request line), so that it is described with its headers in the
//! order they came. actix-http parses heads into a hash map that keeps no order across names.
//!
//! Every other request costs a scan of its first line as it passes, and no allocation when that
//! line arrives in one read (it nearly always does). At most [`MAX_RECORDED_BYTES`] are kept;
//! past them, or on a pipelined request, nothing is and the description falls back to the map.

/// The longest head kept.
pub const MAX_RECORDED_BYTES: usize = 32 * 1024;

/// The longest first line looked at before deciding.
const MAX_FIRST_LINE_BYTES: usize = 8 * 1024;

#[derive(Debug, Default)]
pub enum HeadRecord {
    /// At the start of a head: its first line so far (empty, and not allocated, until a read
    /// ends without a whole line).
    #[default]
    Start,
    FirstLine(Vec<u8>),
    /// A head being kept.
    Recording(Vec<u8>),
    /// A whole head, kept.
    Recorded(Vec<u8>),
    /// Nothing more is kept until the next request.
    Off,
}

/// Whether a request line asks to see its request: `/request` as the path, or `hello=request`
/// in the query.
fn wanted(first_line: &[u8]) -> bool {
    let target = first_line.split(|b| *b == b' ').nth(1).unwrap_or_default();
    let path_end = target
        .iter()
        .position(|b| *b == b'?')
        .unwrap_or(target.len());
    &target[..path_end] == b"/request"
        || target[path_end..]
            .windows(b"hello=request".len())
            .any(|w| w == b"hello=request")
}

impl HeadRecord {
    /// Bytes read from the connection while a request head may be arriving.
    pub fn observe(&mut self, bytes: &[u8]) {
        match self {
            HeadRecord::Start | HeadRecord::FirstLine(_) => {
                let seen = match self {
                    HeadRecord::FirstLine(seen) => seen.len(),
                    _ => 0,
                };
                let Some(end) = bytes.iter().position(|b| *b == b'\n') else {
                    if seen + bytes.len() > MAX_FIRST_LINE_BYTES {
                        *self = HeadRecord::Off;
                    } else if let HeadRecord::FirstLine(line) = self {
                        line.extend_from_slice(bytes);
                    } else {
                        *self = HeadRecord::FirstLine(bytes.to_vec());
                    }
                    return;
                };
                let wants = match self {
                    HeadRecord::FirstLine(line) => {
                        line.extend_from_slice(&bytes[..end]);
                        wanted(line)
                    }
                    _ => wanted(&bytes[..end]),
                };
                if !wants {
                    *self = HeadRecord::Off;
                    return;
                }
                let mut head = match std::mem::take(self) {
                    HeadRecord::FirstLine(mut line) => {
                        line.truncate(seen);
                        line
                    }
                    _ => Vec::new(),
                };
                head.extend_from_slice(bytes);
                self.recording(head, 0);
            }
            HeadRecord::Recording(head) => {
                let searched = head.len().saturating_sub(3);
                let mut head = std::mem::take(head);
                head.extend_from_slice(bytes);
                self.recording(head, searched);
            }
            HeadRecord::Recorded(_) | HeadRecord::Off => {}
        }
    }

    /// `head` so far, searched for its end from `from`.
    fn recording(&mut self, mut head: Vec<u8>, from: usize) {
        if let Some(at) = head[from..].windows(4).position(|w| w == b"\r\n\r\n") {
            head.truncate(from + at + 4);
            *self = HeadRecord::Recorded(head);
        } else if head.len() > MAX_RECORDED_BYTES {
            *self = HeadRecord::Off;
        } else {
            *self = HeadRecord::Recording(head);
        }
    }

    /// The whole head, if one was kept.
    pub fn recorded(&self) -> Option<&[u8]> {
        match self {
            HeadRecord::Recorded(head) => Some(head),
            _ => None,
        }
    }
}

/// The header lines of a raw head, in order: (name, value) with the value's surrounding
/// whitespace trimmed; `None` if it is not a head.
pub fn header_lines(head: &[u8]) -> Option<Vec<(String, String)>> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    lines.next()?;
    let mut headers = Vec::new();
    for line in lines.take_while(|line| !line.is_empty()) {
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    Some(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &[u8] = b"GET /echo?hello=request HTTP/1.1\r\nHost: h\r\nX-B: 2\r\nX-A: 1\r\n\r\n";

    #[test]
    fn a_wanted_head_is_kept_whatever_the_reads() {
        for split in 1..HEAD.len() {
            let mut record = HeadRecord::default();
            let (first, rest) = HEAD.split_at(split);
            record.observe(first);
            // A body or a pipelined request after the head is not kept.
            record.observe(&[rest, b"body"].concat());
            assert_eq!(record.recorded(), Some(HEAD), "split at {split}");
        }
        let mut one_byte_at_a_time = HeadRecord::default();
        for byte in HEAD {
            one_byte_at_a_time.observe(std::slice::from_ref(byte));
        }
        assert_eq!(one_byte_at_a_time.recorded(), Some(HEAD));
    }

    #[test]
    fn other_heads_are_not_kept_nor_allocated() {
        let mut record = HeadRecord::default();
        record.observe(b"GET /echo HTTP/1.1\r\nHost: h\r\n\r\n");
        assert!(matches!(record, HeadRecord::Off));
        let mut request = HeadRecord::default();
        request.observe(b"POST /request?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
        assert!(request.recorded().is_some());
        let mut not_quite = HeadRecord::default();
        not_quite.observe(b"GET /requests HTTP/1.1\r\n\r\n");
        assert!(not_quite.recorded().is_none());
        let mut endless = HeadRecord::default();
        endless.observe(b"GET /request HTTP/1.1\r\n");
        for _ in 0..40 {
            endless.observe(&[b'x'; 1024]);
        }
        assert!(matches!(endless, HeadRecord::Off), "capped");
    }

    #[test]
    fn header_lines_keep_the_order_they_came_in() {
        assert_eq!(
            header_lines(HEAD),
            Some(vec![
                ("host".to_owned(), "h".to_owned()),
                ("x-b".into(), "2".into()),
                ("x-a".into(), "1".into()),
            ])
        );
    }
}
