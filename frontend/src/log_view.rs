//! What the log shows and hands out: which entries pass the direction filter and the search,
//! the plain text that Copy puts on the clipboard, the JSON lines that Export downloads, and
//! JSON messages pretty-printed.

use std::rc::Rc;

use crate::state::{Direction, Entry, Line};

/// Which entries the log shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filter {
    #[default]
    All,
    Sent,
    Received,
    /// Open, close, errors and reconnects: everything that is not a message.
    Events,
}

impl Filter {
    pub const ALL: [(Filter, &'static str, &'static str); 4] = [
        (Filter::All, "all", "everything"),
        (Filter::Sent, "sent", "sent messages"),
        (Filter::Received, "received", "received messages"),
        (Filter::Events, "events", "open, close, errors"),
    ];

    pub fn from_name(name: &str) -> Filter {
        Filter::ALL
            .iter()
            .find(|(_, n, _)| *n == name)
            .map_or(Filter::All, |(filter, _, _)| *filter)
    }
}

/// A search as typed: matched against each entry's text, ignoring case.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    pub filter: Filter,
    /// Lower case; empty matches everything.
    needle: String,
}

impl Query {
    pub fn new(filter: Filter, search: &str) -> Query {
        Query {
            filter,
            needle: to_lower_case(search.trim()),
        }
    }

    /// The search, lower-cased.
    pub fn needle(&self) -> &str {
        &self.needle
    }

    /// True when every entry passes, so the log need not look at each one.
    pub fn is_everything(&self) -> bool {
        self.filter == Filter::All && self.needle.is_empty()
    }

    pub fn matches(&self, entry: &Entry) -> bool {
        let direction = entry.data.map(|(direction, _, _)| direction);
        let passes = match self.filter {
            Filter::All => true,
            Filter::Sent => direction == Some(Direction::Out),
            Filter::Received => direction == Some(Direction::In),
            Filter::Events => direction.is_none(),
        };
        passes
            && (self.needle.is_empty() || contains_ignoring_case(&entry.line.text(), &self.needle))
    }

    /// The entries this query shows, oldest first.
    pub fn select<'a>(&self, log: impl IntoIterator<Item = &'a Rc<Entry>>) -> Vec<Rc<Entry>> {
        log.into_iter()
            .filter(|entry| self.matches(entry))
            .cloned()
            .collect()
    }
}

fn contains_ignoring_case(text: &str, lower_needle: &str) -> bool {
    if text.is_ascii() && lower_needle.is_ascii() {
        // No allocation for the common case: compare byte windows.
        let (text, needle) = (text.as_bytes(), lower_needle.as_bytes());
        return needle.len() <= text.len()
            && text
                .windows(needle.len())
                .any(|window| window.eq_ignore_ascii_case(needle));
    }
    to_lower_case(text).contains(lower_needle)
}

/// Lower case as the browser does it: the same Unicode rules as `str::to_lowercase`, without
/// carrying Rust's case tables in the bundle.
fn to_lower_case(text: &str) -> String {
    js_sys::JsString::from(text).to_lower_case().into()
}

/// `1.0 ms`-style figures would lose the sub-millisecond part; export keeps three decimals.
fn millis(ms: f64) -> String {
    format!("{ms:.3}")
}

/// An ISO 8601 time in UTC, as JavaScript's `toISOString` writes it.
pub fn iso_time(at: f64) -> String {
    String::from(js_sys::Date::new(&at.into()).to_iso_string())
}

/// `s` as a JSON string literal, quotes included.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One entry as a line of JSON: its time, kind, and what else it carries.
pub fn json_line(entry: &Entry) -> String {
    let mut fields = vec![
        ("time", json_string(&iso_time(entry.at))),
        ("kind", json_string(kind(&entry.line))),
    ];
    if let Some((_, binary, size)) = entry.data {
        fields.push(("type", json_string(if binary { "binary" } else { "text" })));
        fields.push(("size", size.to_string()));
    }
    if let Some(rtt) = entry.rtt_ms {
        fields.push(("rtt_ms", millis(rtt)));
    }
    match &entry.line {
        Line::Open => {}
        Line::Send(text) | Line::Response(text) | Line::Error(text) | Line::Reconnect(text) => {
            fields.push(("text", json_string(text)))
        }
        Line::Close {
            code,
            reason,
            was_clean,
        } => {
            fields.push(("code", code.to_string()));
            fields.push(("reason", json_string(reason)));
            fields.push(("was_clean", was_clean.to_string()));
        }
    }
    let body: Vec<String> = fields
        .into_iter()
        .map(|(name, value)| format!("\"{name}\":{value}"))
        .collect();
    format!("{{{}}}", body.join(","))
}

fn kind(line: &Line) -> &'static str {
    match line {
        Line::Open => "open",
        Line::Send(_) => "send",
        Line::Response(_) => "response",
        Line::Close { .. } => "close",
        Line::Error(_) => "error",
        Line::Reconnect(_) => "reconnect",
    }
}

/// Entries as JSON lines, one per entry, each ending in a newline.
pub fn json_lines<'a>(entries: impl IntoIterator<Item = &'a Rc<Entry>>) -> String {
    entries
        .into_iter()
        .map(|entry| json_line(entry) + "\n")
        .collect()
}

/// Entries as the log reads them: `HH:MM:SS.mmm  text`, one per line.
pub fn plain_text<'a>(
    entries: impl IntoIterator<Item = &'a Rc<Entry>>,
    clock: impl Fn(f64) -> String,
) -> String {
    entries
        .into_iter()
        .map(|entry| format!("{}  {}\n", clock(entry.at), entry.line.text()))
        .collect()
}

/// A text message that is a JSON object or array, indented by two spaces; `None` otherwise
/// (plain words, numbers and bare strings are shown as they are).
pub fn pretty_json(text: &str) -> Option<String> {
    let trimmed = text.trim_start();
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        return None;
    }
    let value = js_sys::JSON::parse(text).ok()?;
    js_sys::JSON::stringify_with_replacer_and_space(
        &value,
        &wasm_bindgen::JsValue::NULL,
        &wasm_bindgen::JsValue::from_f64(2.0),
    )
    .ok()
    .map(String::from)
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    fn entry(line: Line, data: Option<(Direction, bool, usize)>) -> Rc<Entry> {
        Rc::new(Entry {
            id: 1,
            at: 0.0,
            line,
            data,
            rtt_ms: None,
        })
    }

    fn sample() -> Vec<Rc<Entry>> {
        vec![
            entry(Line::Open, None),
            entry(
                Line::Send("Hello World".into()),
                Some((Direction::Out, false, 11)),
            ),
            entry(
                Line::Response("Hello World".into()),
                Some((Direction::In, false, 11)),
            ),
            entry(Line::Error("boom".into()), None),
        ]
    }

    fn texts(entries: &[Rc<Entry>]) -> Vec<String> {
        entries.iter().map(|e| e.line.text()).collect()
    }

    #[wasm_bindgen_test]
    fn filters_by_direction() {
        let log = sample();
        let shown = |filter| texts(&Query::new(filter, "").select(&log));
        assert_eq!(shown(Filter::Sent), ["SEND: Hello World"]);
        assert_eq!(shown(Filter::Received), ["RESPONSE: Hello World"]);
        assert_eq!(shown(Filter::Events), ["OPEN", "ERROR: boom"]);
        assert_eq!(shown(Filter::All).len(), 4);
        assert!(Query::new(Filter::All, "  ").is_everything());
    }

    #[wasm_bindgen_test]
    fn search_ignores_case_and_combines_with_the_filter() {
        let log = sample();
        assert_eq!(
            texts(&Query::new(Filter::All, "hello WORLD").select(&log)),
            ["SEND: Hello World", "RESPONSE: Hello World"]
        );
        assert_eq!(
            texts(&Query::new(Filter::Received, "hello").select(&log)),
            ["RESPONSE: Hello World"]
        );
        assert!(Query::new(Filter::All, "absent").select(&log).is_empty());
        let unicode = vec![entry(Line::Send("ÉCHO".into()), None)];
        assert_eq!(Query::new(Filter::All, "écho").select(&unicode).len(), 1);
    }

    #[wasm_bindgen_test]
    fn filter_names_round_trip() {
        for (filter, name, _) in Filter::ALL {
            assert_eq!(Filter::from_name(name), filter);
        }
        assert_eq!(Filter::from_name("nonsense"), Filter::All);
    }

    #[wasm_bindgen_test]
    fn json_strings_escape_what_json_requires() {
        assert_eq!(json_string("a\"b\\c\nd\u{1}é"), r#""a\"b\\c\nd\u0001é""#);
    }

    #[wasm_bindgen_test]
    fn each_entry_is_one_parseable_json_line() {
        let mut sent = (*sample()[1]).clone();
        sent.rtt_ms = Some(1.25);
        sent.line = Line::Send("say \"hi\"\n".into());
        assert_eq!(
            json_line(&sent),
            r#"{"time":"1970-01-01T00:00:00.000Z","kind":"send","type":"text","size":11,"rtt_ms":1.250,"text":"say \"hi\"\n"}"#
        );
        let close = Entry {
            id: 2,
            at: 1000.0,
            line: Line::Close {
                code: 4000,
                reason: "bye".into(),
                was_clean: true,
            },
            data: None,
            rtt_ms: None,
        };
        assert_eq!(
            json_line(&close),
            r#"{"time":"1970-01-01T00:00:01.000Z","kind":"close","code":4000,"reason":"bye","was_clean":true}"#
        );
        let lines = json_lines(&sample());
        assert_eq!(lines.lines().count(), 4);
        for line in lines.lines() {
            assert!(js_sys::JSON::parse(line).is_ok(), "not JSON: {line}");
        }
    }

    #[wasm_bindgen_test]
    fn plain_text_is_one_line_per_entry() {
        let text = plain_text(&sample()[..2], |_| "12:00:00.000".to_owned());
        assert_eq!(
            text,
            "12:00:00.000  OPEN\n12:00:00.000  SEND: Hello World\n"
        );
    }

    #[wasm_bindgen_test]
    fn only_json_objects_and_arrays_are_pretty_printed() {
        assert_eq!(
            pretty_json(r#"{"a":[1,2]}"#).as_deref(),
            Some("{\n  \"a\": [\n    1,\n    2\n  ]\n}")
        );
        assert_eq!(pretty_json("[]").as_deref(), Some("[]"));
        assert_eq!(pretty_json("42"), None);
        assert_eq!(pretty_json("\"text\""), None);
        assert_eq!(pretty_json("{not json"), None);
        assert_eq!(pretty_json("Hello world!"), None);
    }
}
