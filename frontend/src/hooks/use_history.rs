//! What the page remembers across reloads (recent connections and messages, kept in the
//! browser's storage) and what is done with it: record an Open or a sent message, send a
//! recent message again, put a recent connection back in the fields, make a share link,
//! forget everything. A failure to keep the history is shown as a note, not fatal.

use std::rc::Rc;

use yew::{hook, use_state, Callback, UseStateHandle};

use crate::{
    browser_io::copy_to_clipboard,
    hooks::{EchoSocket, OpenRequest},
    payload::{parse, Format},
    saved::{self, RecentConnection, RecentMessage, Saved},
};

/// The history and its callbacks, for the history panel and the connection form.
pub struct History {
    pub saved: Rc<Saved>,
    /// A recent connection to put back in the fields; the number makes each request new.
    pub refill: Option<(u64, RecentConnection)>,
    /// The last share link made, shown so it can be copied by hand too.
    pub share_link: Option<String>,
    /// A line about saving or sharing (e.g. storage is off, or the link was copied).
    pub note: Option<String>,
    /// Opens the socket and records the connection.
    pub open: Callback<OpenRequest>,
    /// Records a message the message panel sent: (text, format name).
    pub sent_text: Callback<(String, String)>,
    pub resend: Callback<RecentMessage>,
    pub reuse: Callback<RecentConnection>,
    pub share: Callback<()>,
    pub forget: Callback<()>,
}

/// The value of the page's field with this id (for the share link).
fn field(id: &str) -> String {
    use wasm_bindgen::JsCast;
    let element = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id));
    let Some(element) = element else {
        return String::new();
    };
    if let Some(input) = element.dyn_ref::<web_sys::HtmlInputElement>() {
        input.value()
    } else if let Some(area) = element.dyn_ref::<web_sys::HtmlTextAreaElement>() {
        area.value()
    } else if let Some(select) = element.dyn_ref::<web_sys::HtmlSelectElement>() {
        select.value()
    } else {
        String::new()
    }
}

/// Changes the saved history and keeps it.
fn updater(
    saved: UseStateHandle<Rc<Saved>>,
    note: UseStateHandle<Option<String>>,
) -> impl Fn(&dyn Fn(&mut Saved)) + Clone {
    move |change: &dyn Fn(&mut Saved)| {
        let mut next = (**saved).clone();
        change(&mut next);
        if let Err(problem) = saved::store(&next) {
            note.set(Some(problem));
        }
        saved.set(Rc::new(next));
    }
}

#[hook]
pub fn use_history(socket: &EchoSocket) -> History {
    let saved = use_state(|| Rc::new(saved::load()));
    let refill = use_state(|| None::<(u64, RecentConnection)>);
    let share_link = use_state(|| None::<String>);
    let note = use_state(|| None::<String>);
    let update = updater(saved.clone(), note.clone());

    let open = {
        let (open, update) = (socket.open.clone(), update.clone());
        Callback::from(move |request: OpenRequest| {
            update(&|saved: &mut Saved| {
                saved.opened(
                    &request.url,
                    &request.protocols.join(", "),
                    request.reconnect,
                )
            });
            open.emit(request);
        })
    };
    let sent_text = {
        let update = update.clone();
        Callback::from(move |(text, format): (String, String)| {
            update(&|saved: &mut Saved| saved.sent(&text, &format))
        })
    };
    let resend = {
        let (send, note) = (socket.send.clone(), note.clone());
        Callback::from(move |recent: RecentMessage| {
            match parse(&recent.text, Format::from_name(&recent.format)) {
                Ok(message) => {
                    send.emit(message);
                    update(&|saved: &mut Saved| saved.sent(&recent.text, &recent.format));
                }
                Err(problem) => note.set(Some(problem)),
            }
        })
    };
    let reuse = {
        let refill = refill.clone();
        Callback::from(move |recent: RecentConnection| {
            let next = refill.as_ref().map_or(1, |(n, _)| n + 1);
            refill.set(Some((next, recent)));
        })
    };
    let share = {
        let (share_link, note) = (share_link.clone(), note.clone());
        Callback::from(move |()| {
            let link = saved::share_link(
                &saved::page_address(),
                &field("url"),
                &field("input"),
                &field("format"),
            );
            share_link.set(Some(link.clone()));
            let note = note.clone();
            wasm_bindgen_futures::spawn_local(async move {
                note.set(Some(match copy_to_clipboard(&link).await {
                    Ok(()) => "Link copied: it opens this page with the URL and message filled in.".into(),
                    Err(_) => "Copy the link below: it opens this page with the URL and message filled in.".into(),
                }));
            });
        })
    };
    let forget = {
        let (saved, note, share_link) = (saved.clone(), note.clone(), share_link.clone());
        Callback::from(move |()| {
            saved::forget();
            saved.set(Rc::new(Saved::default()));
            share_link.set(None);
            note.set(Some("History cleared from this browser.".into()));
        })
    };
    History {
        saved: (*saved).clone(),
        refill: (*refill).clone(),
        share_link: (*share_link).clone(),
        note: (*note).clone(),
        open,
        sent_text,
        resend,
        reuse,
        share,
        forget,
    }
}
