//! The page's parts: the controls on the left, the output log on the right.

pub mod controls;
pub mod output_log;

pub use controls::Controls;
pub use output_log::OutputLog;
