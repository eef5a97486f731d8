//! How text a peer controls (a message, an `Origin`, a close reason, a server's header) is shown
//! to a person, in a log line or on a terminal: every character that could forge a line, drive
//! the terminal (OSC 52 to set the clipboard, a title, clearing the screen) or fool the reader
//! is made visible. The echo server's text log and the CLI's output both use it.
//!
//! - C0 controls: `\n`, `\r`, `\t` as those two characters, the rest as `\x01`…`\x1f`; DEL as
//!   `\x7f`. A newline in a message must not start a second, forged log line, and a `\r` must
//!   not hide the start of its own line on a terminal.
//! - C1 controls (U+0080–U+009F), bidirectional overrides and isolates (U+202A–U+202E,
//!   U+2066–U+2069), the marks U+200E, U+200F, U+061C and other invisible format characters
//!   (U+200B–U+200D, U+2060–U+2064, U+FEFF) as `\u{202e}`: they reorder or hide what a reader
//!   sees (a line that reads backwards, text that is not where it seems).
//! - In log lines ([`push_escaped`]), the backslash itself as `\\`, so that a peer cannot write a
//!   fake escape: what a line shows reads back to exactly one text. On a terminal
//!   ([`visible`]), where a person reads messages that are often JSON, backslashes stay as
//!   they are.
//!
//! Everything else, any script and any emoji, is copied as it came. [`push_json_string`] writes
//! a JSON string with the same characters escaped as `\uXXXX`.

use std::{borrow::Cow, fmt::Write as _};

/// Whether `c` is written escaped.
pub fn needs_escape(c: char) -> bool {
    matches!(
        c,
        '\0'..='\x1f'
            | '\\'
            | '\x7f'..='\u{9f}'
            | '\u{061c}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// Whether a text with these bytes might hold a character to escape: a quick look that lets
/// plain text (nearly every message) be copied whole.
fn may_need_escape(text: &str) -> bool {
    text.bytes().any(|b| {
        // < 0x20: C0; 0x5c: backslash; 0x7f: DEL; 0xc2: lead byte of U+0080–U+00BF (C1);
        // 0xd8: of U+061C; 0xe2: of U+2000–U+2FFF; 0xef: of U+FEFF.
        b < 0x20 || matches!(b, b'\\' | 0x7f | 0xc2 | 0xd8 | 0xe2 | 0xef)
    })
}

/// Appends `text` to `line` with [`needs_escape`] characters escaped.
pub fn push_escaped(line: &mut String, text: &str) {
    push(line, text, true);
}

/// `text` with every control and bidi character made visible, backslashes left as they are:
/// what a terminal may be shown of a peer's text.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !may_need_escape(text) {
        return Cow::Borrowed(text);
    }
    let mut line = String::with_capacity(text.len() + 16);
    push(&mut line, text, false);
    Cow::Owned(line)
}

fn push(line: &mut String, text: &str, backslash: bool) {
    if !may_need_escape(text) {
        line.push_str(text);
        return;
    }
    for c in text.chars() {
        if !needs_escape(c) || (c == '\\' && !backslash) {
            line.push(c);
            continue;
        }
        match c {
            '\n' => line.push_str("\\n"),
            '\r' => line.push_str("\\r"),
            '\t' => line.push_str("\\t"),
            '\\' => line.push_str("\\\\"),
            c if u32::from(c) < 0x80 => {
                let _ = write!(line, "\\x{:02x}", u32::from(c));
            }
            c => {
                let _ = write!(line, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
}

/// `text` cut to at most `max_chars` characters, with its full size noted when cut:
/// `first 200 characters… (16777216 bytes in all)`. Not escaped.
pub fn cut(text: &str, max_chars: usize) -> Cow<'_, str> {
    // Never more characters than bytes: short text needs no walk through its characters.
    if text.len() <= max_chars {
        return Cow::Borrowed(text);
    }
    match text.char_indices().nth(max_chars) {
        None => Cow::Borrowed(text),
        Some((at, _)) => Cow::Owned(format!("{}… ({} bytes in all)", &text[..at], text.len())),
    }
}

/// `text` cut as [`cut`] does and escaped: for peer-supplied values in log lines and error
/// pages.
pub fn escaped_cut(text: &str, max_chars: usize) -> Cow<'_, str> {
    match cut(text, max_chars) {
        Cow::Borrowed(shown) if !may_need_escape(shown) => Cow::Borrowed(shown),
        shown => {
            let mut line = String::with_capacity(shown.len() + 16);
            push_escaped(&mut line, &shown);
            Cow::Owned(line)
        }
    }
}

/// `text` as a JSON string, escaped as serde_json (and so tracing-subscriber's JSON) does, and
/// also, as `\uXXXX`, DEL, the C1 controls and the bidirectional and invisible format
/// characters of [`needs_escape`]: the line decodes to the same text, and one read raw (`cat`,
/// `tail -f`) cannot drive a terminal or reorder what it shows.
pub fn push_json_string(line: &mut String, text: &str) {
    line.push('"');
    let may_escape =
        |b: u8| b < 0x20 || matches!(b, b'"' | b'\\' | 0x7f | 0xc2 | 0xd8 | 0xe2 | 0xef);
    if !text.bytes().any(may_escape) {
        line.push_str(text);
    } else {
        for c in text.chars() {
            match c {
                '"' => line.push_str("\\\""),
                '\\' => line.push_str("\\\\"),
                '\n' => line.push_str("\\n"),
                '\r' => line.push_str("\\r"),
                '\t' => line.push_str("\\t"),
                '\x08' => line.push_str("\\b"),
                '\x0c' => line.push_str("\\f"),
                c if u32::from(c) < 0x20 || needs_escape(c) => {
                    let _ = write!(line, "\\u{:04x}", u32::from(c));
                }
                c => line.push(c),
            }
        }
    }
    line.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        let mut line = String::new();
        push_escaped(&mut line, text);
        line
    }

    #[test]
    fn a_forged_line_stays_on_its_own_line() {
        let forged = "ok\n2026-12-06T03:00:00.000000Z  INFO backend::session: connection opened";
        let line = escaped(forged);
        assert!(!line.contains('\n'));
        assert_eq!(
            line,
            "ok\\n2026-12-06T03:00:00.000000Z  INFO backend::session: connection opened"
        );
    }

    #[test]
    fn every_control_and_bidi_character_is_visible_and_plain_text_is_untouched() {
        assert_eq!(escaped("a\rb\tc\0d\x1be\x7f"), "a\\rb\\tc\\x00d\\x1be\\x7f");
        assert_eq!(escaped("\u{85}\u{9b}"), "\\u{85}\\u{9b}");
        assert_eq!(escaped("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(
            escaped("\u{2066}\u{200f}\u{61c}\u{feff}"),
            "\\u{2066}\\u{200f}\\u{61c}\\u{feff}"
        );
        assert_eq!(escaped("a fake \\n"), "a fake \\\\n");
        let plain = "héllo ✓ 日本語 🙂 \u{a0} — “quoted”";
        assert_eq!(escaped(plain), plain);
        for c in (0u32..0x3000).filter_map(char::from_u32) {
            let line = escaped(&c.to_string());
            assert!(
                !line
                    .chars()
                    .any(|c| c.is_control() || needs_escape(c) && c != '\\'),
                "{c:?} shown as {line:?}"
            );
        }
    }

    #[test]
    fn for_a_terminal_backslashes_stay_and_controls_are_visible() {
        assert_eq!(visible(r#"{"a":"b\"c"}"#), r#"{"a":"b\"c"}"#);
        assert_eq!(
            visible("\x1b]52;c;cm0gLXJmIH4=\x07"),
            "\\x1b]52;c;cm0gLXJmIH4=\\x07"
        );
        assert_eq!(visible("line\rover"), "line\\rover");
        assert!(matches!(visible("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn long_values_are_cut_with_their_size() {
        let origin = "x".repeat(120_000);
        let shown = escaped_cut(&origin, 200);
        assert!(shown.len() < 260, "{} bytes", shown.len());
        assert!(shown.ends_with("… (120000 bytes in all)"), "{shown}");
        assert!(matches!(escaped_cut("short", 200), Cow::Borrowed("short")));
        assert_eq!(escaped_cut("a\nb", 200), "a\\nb");
    }
}
