//! What the user typed, as the bytes to send: text, hex or base64, with a message saying what
//! is wrong when it does not parse.

/// How the message box is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Hex,
    Base64,
}

impl Format {
    pub fn from_name(name: &str) -> Format {
        match name {
            "hex" => Format::Hex,
            "base64" => Format::Base64,
            _ => Format::Text,
        }
    }
}

/// A message ready for the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    Text(String),
    Binary(Vec<u8>),
}

impl Outgoing {
    /// Its length in bytes.
    pub fn size(&self) -> usize {
        match self {
            Outgoing::Text(text) => text.len(),
            Outgoing::Binary(bytes) => bytes.len(),
        }
    }

    /// The text of its SEND line: text as is, binary as size and hex (as RESPONSE shows it).
    pub fn display(&self) -> String {
        match self {
            Outgoing::Text(text) => text.clone(),
            Outgoing::Binary(bytes) => binary_display(bytes),
        }
    }
}

pub fn binary_display(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("<binary, {} bytes> {}", bytes.len(), hex.join(" "))
}

pub fn parse(input: &str, format: Format) -> Result<Outgoing, String> {
    match format {
        Format::Text => Ok(Outgoing::Text(input.to_owned())),
        Format::Hex => parse_hex(input).map(Outgoing::Binary),
        Format::Base64 => parse_base64(input).map(Outgoing::Binary),
    }
}

/// The most copies one Send sends: as many as the log keeps.
pub const MAX_REPEAT: u32 = 10_000;

/// How many times Send sends the message: a whole number from 1 to [`MAX_REPEAT`].
pub fn parse_repeat(input: &str) -> Result<u32, String> {
    match input.trim().parse::<u32>() {
        Ok(count @ 1..=MAX_REPEAT) => Ok(count),
        _ => Err(format!(
            "send how many times? “{}” is not a whole number from 1 to {MAX_REPEAT}",
            input.trim()
        )),
    }
}

/// Hex digits, whitespace allowed anywhere: `00 ff 1a`, `00ff1a`.
pub fn parse_hex(input: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = input.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if let Some(bad) = digits.iter().find(|b| !b.is_ascii_hexdigit()) {
        return Err(format!(
            "“{}” is not a hex digit (0-9, a-f)",
            char::from(*bad)
        ));
    }
    if digits.len() % 2 == 1 {
        return Err("hex needs two digits per byte; one digit is left over".to_owned());
    }
    Ok(digits
        .chunks(2)
        .map(|pair| (hex_value(pair[0]) << 4) | hex_value(pair[1]))
        .collect())
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

/// Standard base64 (with or without padding), whitespace ignored.
pub fn parse_base64(input: &str) -> Result<Vec<u8>, String> {
    let symbols: Vec<u8> = input.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let trimmed = symbols
        .strip_suffix(b"==")
        .or_else(|| symbols.strip_suffix(b"="))
        .unwrap_or(&symbols);
    let mut bits = 0u32;
    let mut count = 0;
    let mut bytes = Vec::with_capacity(trimmed.len() * 3 / 4);
    for &symbol in trimmed {
        let value = match symbol {
            b'A'..=b'Z' => symbol - b'A',
            b'a'..=b'z' => symbol - b'a' + 26,
            b'0'..=b'9' => symbol - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            other => return Err(format!("“{}” is not a base64 character", char::from(other))),
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
        }
    }
    if trimmed.len() % 4 == 1 {
        return Err("base64 is cut short: its length is one symbol too many or too few".to_owned());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    #[wasm_bindgen_test]
    fn hex_parses_with_spaces_and_explains_errors() {
        assert_eq!(parse_hex("00 ff 1A"), Ok(vec![0, 255, 26]));
        assert_eq!(parse_hex(""), Ok(vec![]));
        assert!(parse_hex("0g")
            .unwrap_err()
            .contains("“g” is not a hex digit"));
        assert!(parse_hex("abc")
            .unwrap_err()
            .contains("two digits per byte"));
    }

    #[wasm_bindgen_test]
    fn base64_parses_and_explains_errors() {
        assert_eq!(parse_base64("aGVsbG8="), Ok(b"hello".to_vec()));
        assert_eq!(parse_base64("aGVsbG8"), Ok(b"hello".to_vec()));
        assert_eq!(parse_base64("AP8="), Ok(vec![0, 255]));
        assert!(parse_base64("a*b=")
            .unwrap_err()
            .contains("“*” is not a base64 character"));
        assert!(parse_base64("aGVsb").unwrap_err().contains("cut short"));
    }

    #[wasm_bindgen_test]
    fn repeat_counts_are_whole_numbers_in_range() {
        assert_eq!(parse_repeat(" 3 "), Ok(3));
        assert_eq!(parse_repeat("10000"), Ok(MAX_REPEAT));
        for bad in ["0", "10001", "-1", "1.5", "", "lots"] {
            let problem = parse_repeat(bad).unwrap_err();
            assert!(problem.contains("from 1 to 10000"), "{bad}: {problem}");
        }
    }

    #[wasm_bindgen_test]
    fn binary_is_shown_as_size_and_hex() {
        assert_eq!(
            Outgoing::Binary(vec![0, 1, 255]).display(),
            "<binary, 3 bytes> 00 01 ff"
        );
        assert_eq!(parse("hi", Format::Text), Ok(Outgoing::Text("hi".into())));
    }
}
