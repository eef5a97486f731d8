//! Hooks: the WebSocket connection lives here, outside the components; the connection's
//! fields, shared by the bar and the options panel; the history kept across reloads; and the
//! log's auto-scroll.

pub mod use_connection_form;
pub mod use_echo_socket;
pub mod use_follow_scroll;
pub mod use_history;

pub use use_connection_form::{use_connection_form, ConnectionFields, ConnectionForm, FormStart};
pub use use_echo_socket::{use_echo_socket, EchoSocket, OpenRequest};
pub use use_follow_scroll::{use_follow_scroll, FollowScroll};
pub use use_history::{use_history, History};
