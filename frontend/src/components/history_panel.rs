//! What the page remembers across reloads: recent connections (a click puts one back in the
//! connection fields) and sent messages (a click sends one again), the share link, and a way to
//! forget it all.

use std::rc::Rc;

use yew::{function_component, html, Callback, Html, Properties};

use crate::{
    components::icon::{Icon, IconName},
    saved::{RecentConnection, RecentMessage, Saved},
    state::Phase,
};

/// Characters of a message shown in the list; the whole of it is sent.
const SHOWN_CHARS: usize = 60;

#[derive(Properties, PartialEq)]
pub struct HistoryPanelProps {
    pub phase: Phase,
    pub saved: Rc<Saved>,
    pub on_reuse: Callback<RecentConnection>,
    pub on_resend: Callback<RecentMessage>,
    pub on_share: Callback<()>,
    pub on_forget: Callback<()>,
    /// The last share link made, shown so it can be copied by hand too.
    pub share_link: Option<String>,
    /// A line about saving or sharing (e.g. storage is off, or the link was copied).
    pub note: Option<String>,
}

fn shortened(text: &str) -> String {
    match text.char_indices().nth(SHOWN_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[function_component]
pub fn HistoryPanel(props: &HistoryPanelProps) -> Html {
    let closed = props.phase == Phase::Closed;
    let open = props.phase == Phase::Open;
    let connections = props.saved.connections.iter().map(|recent| {
        let on_reuse = props.on_reuse.clone();
        let chosen = recent.clone();
        let label = if recent.protocols.is_empty() {
            recent.url.clone()
        } else {
            format!("{} ({})", recent.url, recent.protocols)
        };
        html! {
            <li>
                <button type="button" class="recent" disabled={!closed}
                    title="Put back in the connection fields"
                    onclick={Callback::from(move |_| on_reuse.emit(chosen.clone()))}>
                    {label}
                </button>
            </li>
        }
    });
    let messages = props.saved.messages.iter().map(|recent| {
        let on_resend = props.on_resend.clone();
        let chosen = recent.clone();
        let shown = shortened(&recent.text.replace('\n', " ⏎ "));
        let kind = if recent.format == "text" {
            String::new()
        } else {
            format!(" [{}]", recent.format)
        };
        html! {
            <li>
                <button type="button" class="resend" disabled={!open}
                    aria-label={format!("Send again: {shown}")}
                    onclick={Callback::from(move |_| on_resend.emit(chosen.clone()))}>
                    <Icon name={IconName::Resend} />{shown}{kind}
                </button>
            </li>
        }
    });
    let on_share = props.on_share.reform(|_| ());
    let on_forget = props.on_forget.reform(|_| ());

    html! {
        <fieldset class="panel" id="history">
            <legend>{"History (kept in this browser)"}</legend>
            if props.saved.connections.is_empty() && props.saved.messages.is_empty() {
                <p class="hint">{"Connections you open and messages you send are kept here across reloads."}</p>
            }
            if !props.saved.connections.is_empty() {
                <p class="hint">{"Recent connections"}</p>
                <ul id="recent-connections" class="recent-list">{for connections}</ul>
            }
            if !props.saved.messages.is_empty() {
                <p class="hint">{"Sent messages (click to send again)"}</p>
                <ul id="recent-messages" class="recent-list">{for messages}</ul>
            }
            <div class="buttons">
                <button id="share" type="button" onclick={on_share}
                    title="A link that opens this page with the URL and message filled in">
                    <Icon name={IconName::Share} />{"Share link"}
                </button>
                <button id="forget" type="button" onclick={on_forget}>
                    <Icon name={IconName::Clear} />{"Clear history"}
                </button>
            </div>
            if let Some(link) = props.share_link.clone() {
                <input id="share-link" type="text" readonly=true value={link} aria-label="Share link" />
            }
            if let Some(note) = props.note.clone() {
                <p id="history-note" role="status">{note}</p>
            }
        </fieldset>
    }
}
