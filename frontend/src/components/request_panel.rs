//! The request as the server saw it (`hello=request`): the instance that answered, the peer,
//! the request line, TLS, what was agreed, and every header in a table, so a user sees what a
//! proxy added, removed or rewrote on the way.

use std::rc::Rc;

use yew::{function_component, html, Html, Properties};

use crate::request_seen::RequestSeen;

#[derive(Properties, PartialEq)]
pub struct RequestPanelProps {
    pub seen: Rc<RequestSeen>,
}

#[function_component]
pub fn RequestPanel(props: &RequestPanelProps) -> Html {
    let seen = &props.seen;
    let facts = [
        ("Served by", &seen.instance),
        ("Request", &seen.request_line),
        ("Peer", &seen.peer),
        ("TLS", &seen.tls),
        ("Subprotocol", &seen.subprotocol),
        ("Extensions", &seen.extensions),
    ];
    html! {
        <section id="request-seen" class="panel request-seen" aria-label="The request as the server saw it">
            <h2>{"Request as the server saw it"}</h2>
            <dl>
                { for facts.iter().map(|(label, value)| html! {
                    <><dt>{*label}</dt><dd>{(*value).clone()}</dd></>
                }) }
            </dl>
            <table>
                <thead><tr><th scope="col">{"Header"}</th><th scope="col">{"Value"}</th></tr></thead>
                <tbody>
                    { for seen.headers.iter().map(|(name, value)| html! {
                        <tr><td>{name.clone()}</td><td>{value.clone()}</td></tr>
                    }) }
                </tbody>
            </table>
        </section>
    }
}
