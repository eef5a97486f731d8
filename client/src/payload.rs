//! Message bodies typed as hex or base64, and binary shown as hex.

use base64::{engine::general_purpose::STANDARD, Engine};

/// Hex digits, spaces allowed between bytes: `00 ff 1a` or `00ff1a`.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return Err(format!("odd number of hex digits in `{}`", text.trim()));
    }
    (0..digits.len())
        .step_by(2)
        .map(|at| {
            u8::from_str_radix(&digits[at..at + 2], 16)
                .map_err(|_| format!("`{}` is not a hex byte", &digits[at..at + 2]))
        })
        .collect()
}

pub fn parse_base64(text: &str) -> Result<Vec<u8>, String> {
    STANDARD
        .decode(text.trim())
        .map_err(|error| format!("not valid base64: {error}"))
}

/// Bytes as space-separated hex pairs.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, byte) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_accepts_spaces() {
        assert_eq!(parse_hex("00 ff 1A"), Ok(vec![0, 255, 26]));
        assert_eq!(parse_hex("00ff1a"), Ok(vec![0, 255, 26]));
        assert_eq!(hex(&[0, 255, 26]), "00 ff 1a");
        assert_eq!(parse_hex(""), Ok(vec![]));
    }

    #[test]
    fn bad_hex_and_base64_say_what_is_wrong() {
        assert!(parse_hex("abc").unwrap_err().contains("odd number"));
        assert!(parse_hex("zz")
            .unwrap_err()
            .contains("`zz` is not a hex byte"));
        assert_eq!(parse_base64("aGk="), Ok(b"hi".to_vec()));
        assert!(parse_base64("***").unwrap_err().contains("base64"));
    }
}
