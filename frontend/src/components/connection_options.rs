//! The connection options, which sit with the other controls: subprotocols to offer,
//! auto-reconnect and its attempts, the close code and reason. Drawn by
//! [`super::connection_panel::ConnectionPanel`], which holds the fields and reads them.

use yew::{html, Callback, Html, KeyboardEvent, NodeRef};

use crate::state::Phase;

/// The fields (uncontrolled inputs, read through their refs) and Enter to open.
pub struct Options {
    pub phase: Phase,
    pub protocols: NodeRef,
    pub reconnect: NodeRef,
    pub limit: NodeRef,
    pub code: NodeRef,
    pub reason: NodeRef,
    pub on_enter: Callback<KeyboardEvent>,
}

pub fn view(options: &Options) -> Html {
    let closed = options.phase == Phase::Closed;
    html! {
        <fieldset class="panel options">
            <legend>{"Connection options"}</legend>
            <div class="option-row">
                <label for="protocols">{"Subprotocols"}</label>
                <input id="protocols" type="text" ref={options.protocols.clone()} disabled={!closed}
                    placeholder="optional, comma-separated" onkeydown={options.on_enter.clone()} />
            </div>
            <div class="option-row">
                <input id="reconnect" type="checkbox" ref={options.reconnect.clone()} disabled={!closed} />
                <label for="reconnect">{"Auto-reconnect, up to"}</label>
                <input id="reconnect-limit" type="number" ref={options.limit.clone()} min="1" disabled={!closed}
                    aria-label="Reconnect attempts at most" />
                <span aria-hidden="true">{"tries"}</span>
            </div>
            <div class="option-row">
                <label for="close-code">{"Close with code"}</label>
                <input id="close-code" type="number" ref={options.code.clone()} min="1000" max="4999" />
                <input id="close-reason" type="text" ref={options.reason.clone()} maxlength="123" placeholder="reason"
                    aria-label="Close reason" />
            </div>
        </fieldset>
    }
}
