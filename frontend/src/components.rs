//! The page's parts: the connection bar across the top, the options, message, ticker, history,
//! server behaviour and request-as-seen panels on the left, the stats and the output log on the
//! right.

pub mod connection_bar;
pub mod connection_options;
pub mod history_panel;
pub mod icon;
pub mod log_line;
pub mod message_panel;
pub mod output_log;
pub mod request_panel;
pub mod rtt_chart;
pub mod server_behaviour;
pub mod stats_panel;
pub mod ticker_panel;

pub use connection_bar::ConnectionBar;
pub use connection_options::ConnectionOptions;
pub use history_panel::HistoryPanel;
pub use message_panel::{MessagePanel, DEFAULT_MESSAGE};
pub use output_log::OutputLog;
pub use request_panel::RequestPanel;
pub use rtt_chart::RttChart;
pub use server_behaviour::ServerBehaviour;
pub use stats_panel::StatsPanel;
pub use ticker_panel::TickerPanel;
