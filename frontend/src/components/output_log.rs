//! The output log with its tools: show sent, received or events only, search, copy or export
//! what is shown, clear. It follows new entries until the user scrolls up.

use std::rc::Rc;

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::{
    function_component, html, use_node_ref, use_state, use_state_eq, Callback, Html, Properties,
    TargetCast, UseReducerHandle,
};

use crate::{
    browser_io::{copy_to_clipboard, download},
    components::{
        icon::{Icon, IconName},
        log_line::{clock, LogLine},
    },
    hooks::use_follow_scroll,
    log_view::{json_lines, plain_text, Filter, Query},
    state::{Entry, State, MAX_ENTRIES},
};

/// Lines drawn at once: the newest that match. All kept entries can still be searched, copied
/// and exported; drawing 10,000 would make every new message slow to show.
pub const RENDERED: usize = 500;

#[derive(Properties, PartialEq)]
pub struct OutputLogProps {
    pub state: UseReducerHandle<State>,
    pub on_clear: Callback<()>,
}

/// The newest [`RENDERED`] entries that match, oldest first, and how many match in all.
fn visible(log: &std::collections::VecDeque<Rc<Entry>>, query: &Query) -> (Vec<Rc<Entry>>, usize) {
    if query.is_everything() {
        let skip = log.len().saturating_sub(RENDERED);
        return (log.iter().skip(skip).cloned().collect(), log.len());
    }
    let matching = query.select(log);
    let total = matching.len();
    (
        matching
            .into_iter()
            .skip(total.saturating_sub(RENDERED))
            .collect(),
        total,
    )
}

fn notice(drawn: usize, total: usize, dropped: usize, query: &Query) -> Option<String> {
    let mut parts = Vec::new();
    if drawn < total {
        let what = if query.is_everything() {
            "entries"
        } else {
            "matching entries"
        };
        parts.push(format!(
            "Showing the newest {drawn} of {total} {what}; search, Copy and Export cover them all."
        ));
    } else if total == 0 && !query.is_everything() {
        parts.push("No entries match.".to_owned());
    }
    if dropped > 0 {
        parts.push(format!(
            "{dropped} older entries were dropped: the log keeps the newest {MAX_ENTRIES}."
        ));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// A file name for an export made now: `echo-log-2026-11-25T10-11-12.jsonl`.
fn export_name() -> String {
    let stamp: String = crate::log_view::iso_time(js_sys::Date::now())
        .chars()
        .take(19)
        .map(|c| if c == ':' { '-' } else { c })
        .collect();
    format!("echo-log-{stamp}.jsonl")
}

#[function_component]
pub fn OutputLog(props: &OutputLogProps) -> Html {
    let query = use_state_eq(Query::default);
    let status = use_state(String::new);
    let output = use_node_ref();
    let follow = use_follow_scroll(output.clone());
    let (drawn, total) = visible(&props.state.log, &query);

    let on_filter = {
        let query = query.clone();
        Callback::from(move |event: yew::Event| {
            let filter =
                Filter::from_name(&event.target_unchecked_into::<HtmlSelectElement>().value());
            query.set(Query::new(filter, query.needle()));
        })
    };
    let on_search = {
        let query = query.clone();
        Callback::from(move |event: yew::InputEvent| {
            let search = event.target_unchecked_into::<HtmlInputElement>().value();
            query.set(Query::new(query.filter, &search));
        })
    };
    let on_copy = {
        let (state, query, status) = (props.state.clone(), query.clone(), status.clone());
        Callback::from(move |_| {
            let shown = query.select(&state.log);
            let text = plain_text(&shown, clock);
            let status = status.clone();
            wasm_bindgen_futures::spawn_local(async move {
                status.set(match copy_to_clipboard(&text).await {
                    Ok(()) => format!("Copied {} entries.", shown.len()),
                    Err(problem) => problem,
                });
            });
        })
    };
    let on_export = {
        let (state, query, status) = (props.state.clone(), query.clone(), status.clone());
        Callback::from(move |_| {
            let shown = query.select(&state.log);
            let name = export_name();
            status.set(
                match download(&name, "application/x-ndjson", &json_lines(&shown)) {
                    Ok(()) => format!("Exported {} entries to {name}.", shown.len()),
                    Err(problem) => problem,
                },
            );
        })
    };
    let on_clear = {
        let (on_clear, status) = (props.on_clear.clone(), status.clone());
        Callback::from(move |_| {
            status.set(String::new());
            on_clear.emit(());
        })
    };

    html! {
        <section class="log">
            <div class="log-bar">
                <h2>{"Output"}</h2>
                <div class="log-tools">
                    <label for="log-filter">{"Show"}</label>
                    <select id="log-filter" onchange={on_filter}>
                        { for Filter::ALL.iter().map(|(filter, name, label)| html! {
                            <option value={*name} selected={*filter == query.filter}>{*label}</option>
                        }) }
                    </select>
                    <input id="log-search" type="search" placeholder="Search" aria-label="Search the log"
                        oninput={on_search} />
                    <button id="copy" type="button" title="Copy the shown entries as text" onclick={on_copy}>
                        <Icon name={IconName::Copy} /><span class="label">{"Copy"}</span>
                    </button>
                    <button id="export" type="button" title="Download the shown entries as JSON lines" onclick={on_export}>
                        <Icon name={IconName::Export} /><span class="label">{"Export"}</span>
                    </button>
                    <button id="clear" type="button" title="Empty the log and the stats" onclick={on_clear}>
                        <Icon name={IconName::Clear} /><span class="label">{"Clear"}</span>
                    </button>
                </div>
            </div>
            <p id="log-status" class="status" role="status">{(*status).clone()}</p>
            if let Some(text) = notice(drawn.len(), total, props.state.dropped, &query) {
                <p id="log-notice" class="notice">{text}</p>
            }
            <div id="output" class="output" role="log" aria-live="polite" aria-label="Output"
                ref={output} onscroll={follow.on_scroll}>
                { for drawn.iter().map(|entry| html! {
                    <LogLine key={entry.id} entry={entry.clone()} />
                }) }
            </div>
            if !follow.following {
                <button id="follow" type="button" class="follow" onclick={follow.resume.reform(|_| ())}>
                    <Icon name={IconName::Newest} />{"Newest (auto-scroll is paused)"}
                </button>
            }
        </section>
    }
}
