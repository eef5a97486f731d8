//! The connection's fields (URL, subprotocols, auto-reconnect, close code and reason), which sit
//! in two components (the bar across the top and the options panel): their starting values,
//! a recent connection put back in them, and what Open and Close read from them.

use web_sys::HtmlInputElement;
use yew::{hook, use_effect_with, use_node_ref, use_state, Callback, NodeRef};

use crate::{hooks::OpenRequest, saved::RecentConnection};

/// The fields' elements. Their values are read only on Open and Close: a `value` attribute
/// would put the starting value back on every render, over what was typed.
#[derive(Clone, PartialEq, Default)]
pub struct ConnectionFields {
    pub url: NodeRef,
    pub protocols: NodeRef,
    pub reconnect: NodeRef,
    pub limit: NodeRef,
    pub code: NodeRef,
    pub reason: NodeRef,
}

/// What the fields start with.
pub struct FormStart {
    pub url: String,
    pub protocols: String,
    /// The reconnect option's starting state: its attempt limit if on.
    pub reconnect: Option<u32>,
}

/// The fields, and Open and Close reading them; `problem` says why the last one did nothing.
pub struct ConnectionForm {
    pub fields: ConnectionFields,
    pub open: Callback<()>,
    pub close: Callback<()>,
    pub problem: Option<String>,
}

fn input(field: &NodeRef) -> Option<HtmlInputElement> {
    field.cast::<HtmlInputElement>()
}

fn value(field: &NodeRef) -> String {
    input(field).map(|i| i.value()).unwrap_or_default()
}

/// The request Open sends, or what is wrong with the fields.
fn open_request(fields: &ConnectionFields) -> Result<OpenRequest, &'static str> {
    let reconnect = if input(&fields.reconnect).is_some_and(|b| b.checked()) {
        match value(&fields.limit).trim().parse::<u32>() {
            Ok(attempts) if attempts >= 1 => Some(attempts),
            _ => return Err("Reconnect attempts: a whole number, at least 1."),
        }
    } else {
        None
    };
    let protocols = value(&fields.protocols)
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(OpenRequest {
        url: value(&fields.url).trim().to_owned(),
        protocols,
        reconnect,
    })
}

#[hook]
pub fn use_connection_form(
    start: &FormStart,
    refill: Option<(u64, RecentConnection)>,
    on_open: Callback<OpenRequest>,
    on_close: Callback<(u16, String)>,
) -> ConnectionForm {
    let fields = ConnectionFields {
        url: use_node_ref(),
        protocols: use_node_ref(),
        reconnect: use_node_ref(),
        limit: use_node_ref(),
        code: use_node_ref(),
        reason: use_node_ref(),
    };
    let problem = use_state(|| None::<String>);
    {
        let attempts = start.reconnect.unwrap_or(5).to_string();
        let initial = [
            (fields.url.clone(), start.url.clone()),
            (fields.protocols.clone(), start.protocols.clone()),
            (fields.code.clone(), "1000".to_owned()),
            (fields.limit.clone(), attempts),
        ];
        let (reconnect, on) = (fields.reconnect.clone(), start.reconnect.is_some());
        use_effect_with((), move |()| {
            for (field, text) in initial {
                if let Some(input) = input(&field) {
                    input.set_value(&text);
                }
            }
            if let Some(checkbox) = input(&reconnect) {
                checkbox.set_checked(on);
            }
        });
    }
    {
        let (url, protocols) = (fields.url.clone(), fields.protocols.clone());
        use_effect_with(refill, move |refill| {
            if let Some((_, recent)) = refill {
                for (field, text) in [(&url, &recent.url), (&protocols, &recent.protocols)] {
                    if let Some(input) = input(field) {
                        input.set_value(text);
                    }
                }
            }
        });
    }
    let open = {
        let (fields, problem) = (fields.clone(), problem.clone());
        Callback::from(move |()| match open_request(&fields) {
            Ok(request) => {
                problem.set(None);
                on_open.emit(request);
            }
            Err(why) => problem.set(Some(why.into())),
        })
    };
    let close = {
        let (fields, problem) = (fields.clone(), problem.clone());
        Callback::from(move |()| match value(&fields.code).trim().parse::<u16>() {
            Ok(code) => {
                problem.set(None);
                on_close.emit((code, value(&fields.reason)));
            }
            Err(_) => problem.set(Some(
                "The close code must be a number, e.g. 1000 or 4000.".into(),
            )),
        })
    };
    ConnectionForm {
        fields,
        open,
        close,
        problem: (*problem).clone(),
    }
}
