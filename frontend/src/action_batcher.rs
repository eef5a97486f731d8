//! Hands socket events to the reducer at most once per frame. Every dispatch renders the page
//! again, so 10,000 echoes arriving in a burst would mean 10,000 renders of the log; batched,
//! they are a few dozen. Even the first event after a quiet spell waits for the frame: a render
//! right after a send kept the page busy for about 10 ms, and an echo arriving meanwhile fires
//! its `message` event only afterwards, so its round trip read 10 ms instead of 0.7 (the stamps
//! are taken when events fire: the thread must be free when they do).

use std::{cell::RefCell, rc::Rc};

use gloo_timers::future::TimeoutFuture;
use yew::UseReducerDispatcher;

use crate::state::{Action, State};

/// How long events gather before the next render: one frame at 60 Hz.
pub const FRAME_MS: u32 = 16;

#[derive(Clone)]
pub struct ActionBatcher {
    inner: Rc<RefCell<Inner>>,
}

struct Inner {
    dispatch: UseReducerDispatcher<State>,
    pending: Vec<Action>,
    /// A flush task runs: events wait for it.
    gathering: bool,
}

impl ActionBatcher {
    pub fn new(dispatch: UseReducerDispatcher<State>) -> ActionBatcher {
        ActionBatcher {
            inner: Rc::new(RefCell::new(Inner {
                dispatch,
                pending: Vec::new(),
                gathering: false,
            })),
        }
    }

    pub fn dispatch(&self, action: Action) {
        let mut inner = self.inner.borrow_mut();
        inner.pending.push(action);
        if !inner.gathering {
            inner.gathering = true;
            wasm_bindgen_futures::spawn_local(self.clone().flush_each_frame());
        }
    }

    /// Each frame, dispatches what gathered as one batch; after a frame with nothing, goes
    /// quiet so the next event goes through at once.
    async fn flush_each_frame(self) {
        loop {
            TimeoutFuture::new(FRAME_MS).await;
            let (batch, dispatch) = {
                let mut inner = self.inner.borrow_mut();
                if inner.pending.is_empty() {
                    inner.gathering = false;
                    return;
                }
                (std::mem::take(&mut inner.pending), inner.dispatch.clone())
            };
            dispatch.dispatch(Action::Batch(batch));
        }
    }
}
