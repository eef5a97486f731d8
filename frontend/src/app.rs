//! The page: state in one reducer, the socket in its hook, two components to show them.

use yew::{function_component, html, use_reducer, AttrValue, Callback, Html, Properties};

use crate::{
    components::{Controls, OutputLog},
    echo_url::echo_url_of_page,
    hooks::use_echo_socket,
    state::State,
};

#[derive(Properties, PartialEq, Default)]
pub struct AppProps {
    /// Where Open connects; by default the `/echo` of the server that served this page.
    #[prop_or_default]
    pub url: Option<AttrValue>,
}

#[function_component]
pub fn App(props: &AppProps) -> Html {
    let state = use_reducer(State::default);
    let socket = use_echo_socket(state.dispatcher());
    let url = props
        .url
        .as_ref()
        .map_or_else(echo_url_of_page, |url| url.to_string());

    let on_open = {
        let open = socket.open.clone();
        Callback::from(move |()| open.emit(url.clone()))
    };

    html! {
        <main class="page">
            <Controls phase={state.phase} {on_open} on_close={socket.close.clone()}
                on_send={socket.send.clone()} />
            <OutputLog lines={state.log.clone()} />
        </main>
    }
}
