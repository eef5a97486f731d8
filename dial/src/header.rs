//! `-H/--header "Name: value"`: one extra handshake header, checked as HTTP allows.

use http::{HeaderName, HeaderValue};

/// Parses `Name: value` (spaces around either part trimmed) for clap's `value_parser`; the
/// error says what is wrong in words a user can act on.
pub fn parse_header(text: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("`{text}` is not \"Name: value\""))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("`{}` is not a valid header name", name.trim()))?;
    let value = HeaderValue::from_str(value.trim())
        .map_err(|_| format!("the value of {name} has characters a header cannot carry"))?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_parses_into_a_lower_case_name_and_a_trimmed_value() {
        let (name, value) = parse_header("X-Test:  a b ").expect("parses");
        assert_eq!(name.as_str(), "x-test");
        assert_eq!(value, "a b");
    }

    #[test]
    fn malformed_headers_are_refused_with_the_reason() {
        assert!(parse_header("no colon")
            .unwrap_err()
            .contains("Name: value"));
        assert!(parse_header("bad name: v")
            .unwrap_err()
            .contains("header name"));
        assert!(parse_header("X: a\nb")
            .unwrap_err()
            .contains("cannot carry"));
    }
}
