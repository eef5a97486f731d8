//! Hooks: the WebSocket connection lives here, outside the components.

pub mod use_echo_socket;

pub use use_echo_socket::{use_echo_socket, EchoSocket, OpenRequest};
