//! Small line icons drawn inline (paths from Feather, MIT): no icon font to load, and each
//! takes the colour of the text it sits in. They are decoration: the button's words are its name.

use yew::{function_component, html, Html, Properties};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum IconName {
    Logo,
    Open,
    Close,
    Send,
    Copy,
    Export,
    Clear,
    Ticker,
    Stop,
    Share,
    Resend,
    Newest,
}

impl IconName {
    /// The outline, on a 24 x 24 grid.
    fn path(self) -> &'static str {
        match self {
            Self::Logo => "M17 1l4 4-4 4M3 11V9a4 4 0 0 1 4-4h14M7 23l-4-4 4-4M21 13v2a4 4 0 0 1-4 4H3",
            Self::Open => "M6 3l14 9-14 9z",
            Self::Close | Self::Stop => "M6 6h12v12H6z",
            Self::Send => "M22 2 11 13M22 2l-7 20-4-9-9-4z",
            Self::Copy => "M9 9h13v13H9zM5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1",
            Self::Export => "M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4M7 10l5 5 5-5M12 15V3",
            Self::Clear => "M3 6h18M19 6v14a2 2 0 0 1-2 2H7a2 2 0 0 1-2-2V6m3 0V4a2 2 0 0 1 2-2h4a2 2 0 0 1 2 2v2",
            Self::Ticker => "M12 2a10 10 0 1 0 0 20 10 10 0 1 0 0-20zM12 6v6l4 2",
            Self::Share => "M10 13a5 5 0 0 0 7.54.54l3-3a5 5 0 0 0-7.07-7.07l-1.72 1.71M14 11a5 5 0 0 0-7.54-.54l-3 3a5 5 0 0 0 7.07 7.07l1.71-1.71",
            Self::Resend => "M1 4v6h6M3.51 15a9 9 0 1 0 2.13-9.36L1 10",
            Self::Newest => "M12 5v14M19 12l-7 7-7-7",
        }
    }
}

#[derive(Properties, PartialEq)]
pub struct IconProps {
    pub name: IconName,
}

#[function_component]
pub fn Icon(props: &IconProps) -> Html {
    html! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d={props.name.path()} />
        </svg>
    }
}
