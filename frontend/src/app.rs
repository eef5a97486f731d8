//! The page: state in one reducer, the socket in its hook, components to show and drive them.

use yew::{function_component, html, use_reducer, AttrValue, Callback, Html, Properties};

use crate::{
    components::{ConnectionPanel, MessagePanel, OutputLog, StatsPanel, TickerPanel},
    echo_url::echo_url_of_page,
    hooks::use_echo_socket,
    state::{Action, State},
};

#[derive(Properties, PartialEq, Default)]
pub struct AppProps {
    /// What the URL field starts with; by default the `/echo` of the server that served this page.
    #[prop_or_default]
    pub url: Option<AttrValue>,
}

#[function_component]
pub fn App(props: &AppProps) -> Html {
    let state = use_reducer(State::default);
    let socket = use_echo_socket(state.dispatcher());
    let default_url = props
        .url
        .as_ref()
        .map_or_else(echo_url_of_page, |url| url.to_string());
    let on_clear = {
        let dispatch = state.dispatcher();
        Callback::from(move |()| dispatch.dispatch(Action::Cleared))
    };

    html! {
        <main class="page">
            <div class="controls">
                <ConnectionPanel phase={state.phase} protocol={state.protocol.clone()}
                    extensions={state.extensions.clone()} {default_url} on_open={socket.open.clone()}
                    on_close={socket.close.clone()} />
                <MessagePanel phase={state.phase} on_send={socket.send.clone()} />
                <TickerPanel phase={state.phase} on_send={socket.send.clone()} />
                <StatsPanel state={state.clone()} />
            </div>
            <OutputLog state={state.clone()} {on_clear} />
        </main>
    }
}
