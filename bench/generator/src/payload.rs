//! Bench messages that prove themselves: each carries its sequence number and send time, and
//! the rest of it is derived from the sequence number, so an echo can be checked byte for byte.
//! Written straight into a send buffer and checked where it was read: no allocation per message.

/// Smallest message: the sequence number and the send time (as 32 hex digits in text mode).
pub const MIN_SIZE: usize = 32;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Byte `i` of message `seq` after its head.
fn filler(seq: u64, i: usize, text: bool) -> u8 {
    let mix = seq.wrapping_add(i as u64);
    if text {
        b'a' + (mix % 26) as u8
    } else {
        mix as u8
    }
}

/// The head of message `seq`: in text, both numbers as 16 hex digits each; in binary, both as
/// 8 big-endian bytes, then zeros.
fn head(seq: u64, sent_nanos: u64, text: bool) -> [u8; MIN_SIZE] {
    let mut head = [0u8; MIN_SIZE];
    if text {
        for (i, byte) in head.iter_mut().enumerate() {
            let value = if i < 16 { seq } else { sent_nanos };
            *byte = HEX[((value >> (4 * (15 - i % 16))) & 0xf) as usize];
        }
    } else {
        head[..8].copy_from_slice(&seq.to_be_bytes());
        head[8..16].copy_from_slice(&sent_nanos.to_be_bytes());
    }
    head
}

/// Appends message number `seq`, sent `sent_nanos` after the bench started, `size` bytes long
/// (at least [`MIN_SIZE`]).
pub fn write(out: &mut Vec<u8>, seq: u64, sent_nanos: u64, size: usize, text: bool) {
    out.extend_from_slice(&head(seq, sent_nanos, text));
    out.extend((MIN_SIZE..size).map(|i| filler(seq, i, text)));
}

/// The message as a vector of its own.
#[cfg(test)]
pub fn make(seq: u64, sent_nanos: u64, size: usize, text: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(size.max(MIN_SIZE));
    write(&mut out, seq, sent_nanos, size, text);
    out
}

/// Checks that `echo` is exactly message `seq` as it was sent at `sent_nanos`, byte for byte.
pub fn verify(
    echo: &[u8],
    seq: u64,
    sent_nanos: u64,
    size: usize,
    text: bool,
) -> Result<(), String> {
    let body_matches = || {
        echo[MIN_SIZE..]
            .iter()
            .enumerate()
            .all(|(i, &byte)| byte == filler(seq, MIN_SIZE + i, text))
    };
    if echo.len() == size.max(MIN_SIZE)
        && echo[..MIN_SIZE] == head(seq, sent_nanos, text)
        && body_matches()
    {
        Ok(())
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
            assert_eq!(verify(&message, 42, 123_456_789, 100, text), Ok(()));
            assert!(
                verify(&message, 43, 123_456_789, 100, text).is_err(),
                "another sequence number"
            );
            for at in [3, 20, 70] {
                let mut altered = message.clone();
                altered[at] ^= 1;
                assert!(
                    verify(&altered, 42, 123_456_789, 100, text).is_err(),
                    "bit {at} flipped"
                );
            }
            assert!(
                verify(&message[..99], 42, 123_456_789, 100, text).is_err(),
                "cut short"
            );
        }
        assert!(
            std::str::from_utf8(&make(7, 9, 64, true)).is_ok(),
            "text mode is text"
        );
        assert_eq!(
            &make(0xab, 0x1f, 32, true)[..],
            b"00000000000000ab000000000000001f"
        );
        assert_eq!(
            make(1, 2, 3, false).len(),
            MIN_SIZE,
            "never below the header"
        );
    }
}
