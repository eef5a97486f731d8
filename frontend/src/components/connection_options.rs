//! The connection options panel: the subprotocols to offer, auto-reconnect with its attempt
//! limit, and the code and reason Close sends. The fields belong to the connection form
//! (`hooks::use_connection_form`), which reads them on Open and Close.

use yew::{function_component, html, Callback, Html, Properties};

use crate::{components::connection_bar::open_on_enter, hooks::ConnectionFields, state::Phase};

#[derive(Properties, PartialEq)]
pub struct ConnectionOptionsProps {
    pub phase: Phase,
    pub fields: ConnectionFields,
    /// Enter in the subprotocols field opens, as in the URL field.
    pub on_open: Callback<()>,
}

#[function_component]
pub fn ConnectionOptions(props: &ConnectionOptionsProps) -> Html {
    let closed = props.phase == Phase::Closed;
    let fields = &props.fields;
    html! {
        <fieldset class="panel options">
            <legend>{"Connection options"}</legend>
            <div class="option-row">
                <label for="protocols">{"Subprotocols"}</label>
                <input id="protocols" type="text" ref={fields.protocols.clone()} disabled={!closed}
                    placeholder="optional, comma-separated" onkeydown={open_on_enter(&props.on_open)} />
            </div>
            <div class="option-row">
                <input id="reconnect" type="checkbox" ref={fields.reconnect.clone()} disabled={!closed} />
                <label for="reconnect">{"Auto-reconnect, up to"}</label>
                <input id="reconnect-limit" type="number" ref={fields.limit.clone()} min="1" disabled={!closed}
                    aria-label="Reconnect attempts at most" />
                <span aria-hidden="true">{"tries"}</span>
            </div>
            <div class="option-row">
                <label for="close-code">{"Close with code"}</label>
                <input id="close-code" type="number" ref={fields.code.clone()} min="1000" max="4999" />
                <input id="close-reason" type="text" ref={fields.reason.clone()} maxlength="123" placeholder="reason"
                    aria-label="Close reason" />
            </div>
        </fieldset>
    }
}
