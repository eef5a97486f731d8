//! Hooks: the WebSocket connection lives here, outside the components, and the log's
//! auto-scroll.

pub mod use_echo_socket;
pub mod use_follow_scroll;

pub use use_echo_socket::{use_echo_socket, EchoSocket, OpenRequest};
pub use use_follow_scroll::{use_follow_scroll, FollowScroll};
