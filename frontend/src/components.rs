//! The page's parts: the connection and message panels on the left, the output log on the right.

pub mod connection_panel;
pub mod message_panel;
pub mod output_log;

pub use connection_panel::ConnectionPanel;
pub use message_panel::MessagePanel;
pub use output_log::OutputLog;
