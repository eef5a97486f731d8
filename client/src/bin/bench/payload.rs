//! Bench messages that prove themselves: each carries its sequence number and send time, and
//! the rest of it is derived from the sequence number, so an echo can be checked byte for byte.

/// Smallest message: the sequence number and the send time (as 32 hex digits in text mode).
pub const MIN_SIZE: usize = 32;

/// The message number `seq` sent `sent_nanos` after the bench started, `size` bytes long.
pub fn make(seq: u64, sent_nanos: u64, size: usize, text: bool) -> Vec<u8> {
    let size = size.max(MIN_SIZE);
    let mut bytes = if text {
        format!("{seq:016x}{sent_nanos:016x}").into_bytes()
    } else {
        let mut head = Vec::with_capacity(size);
        head.extend_from_slice(&seq.to_be_bytes());
        head.extend_from_slice(&sent_nanos.to_be_bytes());
        head.resize(MIN_SIZE, 0);
        head
    };
    bytes.reserve(size - bytes.len());
    for i in bytes.len()..size {
        let mix = seq.wrapping_add(i as u64);
        bytes.push(if text {
            b'a' + (mix % 26) as u8
        } else {
            mix as u8
        });
    }
    bytes
}

/// Checks that `echo` is exactly message `seq`; returns its send time.
pub fn verify(echo: &[u8], seq: u64, size: usize, text: bool) -> Result<u64, String> {
    let sent_nanos = if text {
        let head = std::str::from_utf8(echo.get(..MIN_SIZE).ok_or("echo too short")?)
            .map_err(|_| "echo is not the text sent")?;
        u64::from_str_radix(&head[16..32], 16).map_err(|_| "echo has no send time")?
    } else {
        let head = echo.get(8..16).ok_or("echo too short")?;
        u64::from_be_bytes(head.try_into().map_err(|_| "echo too short")?)
    };
    if echo == make(seq, sent_nanos, size, text).as_slice() {
        Ok(sent_nanos)
    } else {
        Err(format!(
            "echo {} bytes is not message {seq} as sent (lost, reordered or altered)",
            echo.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_both_kinds_and_catches_changes() {
        for text in [true, false] {
            let message = make(42, 123_456_789, 100, text);
            assert_eq!(message.len(), 100);
            assert_eq!(verify(&message, 42, 100, text), Ok(123_456_789));
            assert!(
                verify(&message, 43, 100, text).is_err(),
                "another sequence number"
            );
            let mut altered = message.clone();
            altered[70] ^= 1;
            assert!(verify(&altered, 42, 100, text).is_err(), "one bit flipped");
            assert!(verify(&message[..99], 42, 100, text).is_err(), "cut short");
        }
        assert!(
            std::str::from_utf8(&make(7, 9, 64, true)).is_ok(),
            "text mode is text"
        );
        assert_eq!(
            make(1, 2, 3, false).len(),
            MIN_SIZE,
            "never below the header"
        );
    }
}
