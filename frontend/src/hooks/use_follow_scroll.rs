//! Auto-scroll for a growing list: after each render the element is scrolled to its end, until
//! the user scrolls up; scrolling back down (or [`FollowScroll::resume`]) follows again.
//!
//! Only a move up stops following. A scroll event can arrive after the list grew again (or the
//! panels above it changed its height) and before the next render scrolled it down: not being
//! at the end then is not the user's doing.

use web_sys::Element;
use yew::{hook, use_effect, use_mut_ref, use_state_eq, Callback, NodeRef};

/// Within this many pixels of the end counts as at the end (zoom makes positions fractional).
const AT_END_SLACK_PX: i32 = 4;

pub struct FollowScroll {
    /// Whether new entries scroll into view.
    pub following: bool,
    /// For the element's `onscroll`.
    pub on_scroll: Callback<yew::Event>,
    /// Scrolls to the end and follows again.
    pub resume: Callback<()>,
}

fn at_end(element: &Element) -> bool {
    element.scroll_height() - element.scroll_top() - element.client_height() <= AT_END_SLACK_PX
}

#[hook]
pub fn use_follow_scroll(node: NodeRef) -> FollowScroll {
    let following = use_state_eq(|| true);
    // Where the list was last scrolled to, by us or by the user.
    let last_top = use_mut_ref(|| 0);
    {
        let (node, following, last_top) = (node.clone(), *following, last_top.clone());
        use_effect(move || {
            if let Some(element) = node.cast::<Element>().filter(|_| following) {
                element.set_scroll_top(element.scroll_height());
                *last_top.borrow_mut() = element.scroll_top();
            }
        });
    }
    let on_scroll = {
        let (node, following) = (node, following.clone());
        Callback::from(move |_| {
            if let Some(element) = node.cast::<Element>() {
                let top = element.scroll_top();
                let moved_up = top + AT_END_SLACK_PX < last_top.replace(top);
                if at_end(&element) {
                    following.set(true);
                } else if moved_up {
                    following.set(false);
                }
            }
        })
    };
    let resume = {
        let following = following.clone();
        Callback::from(move |()| following.set(true))
    };
    FollowScroll {
        following: *following,
        on_scroll,
        resume,
    }
}
