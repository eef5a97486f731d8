//! One connection's messages: each framed (self-describing: sequence number and send time, or
//! with `--compress` the corpus's precompressed variants), and each echo checked against the one
//! expected, inflated where it came compressed and joined where it came in fragments (bounded).

use ws_deflate::Inflater;

use crate::{
    load::Plan,
    payload,
    wire::{Framing, Incoming, MAX_FRAME_BYTES},
};

/// Frames messages and checks echoes: self-describing messages (sequence number and send time),
/// or with `--compress` the corpus's precompressed variants, echoes inflated where they came
/// compressed.
pub(crate) struct Messages<'p> {
    pub(crate) framing: Framing,
    pub(crate) plan: &'p Plan,
    inflate: Option<(Inflater, Vec<u8>)>,
    /// A fragmented echo being joined, and whether it came compressed.
    joined: Vec<u8>,
    joined_compressed: bool,
}

impl<'p> Messages<'p> {
    pub(crate) fn new(framing: Framing, plan: &'p Plan) -> Self {
        let inflate = plan
            .corpus
            .as_ref()
            .map(|corpus| (corpus.inflater(), Vec::new()));
        Messages {
            framing,
            plan,
            inflate,
            joined: Vec::new(),
            joined_compressed: false,
        }
    }

    /// Adds a fragment of an echo; the whole echo (and whether it is compressed) with the last.
    /// Fragments past [`MAX_FRAME_BYTES`] in all are an error: a server sending endless
    /// fragments must not grow the bench without bound.
    pub(crate) fn join(&mut self, frame: &Incoming<'_>) -> Result<Option<(Vec<u8>, bool)>, String> {
        let Incoming::Fragment {
            body,
            first,
            last,
            compressed,
        } = *frame
        else {
            return Ok(None);
        };
        if first {
            self.joined.clear();
            self.joined_compressed = compressed;
        }
        if self.joined.len() + body.len() > MAX_FRAME_BYTES {
            return Err(format!(
                "the server's fragmented message passed {} MiB",
                MAX_FRAME_BYTES >> 20
            ));
        }
        self.joined.extend_from_slice(body);
        Ok(last.then(|| (std::mem::take(&mut self.joined), self.joined_compressed)))
    }

    /// Appends message `seq`, stamped `sent_nanos` (the corpus's carry no stamp: their send
    /// times are kept beside them and echoes come back in order).
    pub(crate) fn write(&self, out: &mut Vec<u8>, seq: u64, sent_nanos: u64) {
        match &self.plan.corpus {
            Some(corpus) => out.extend_from_slice(corpus.frame(seq)),
            None => self
                .framing
                .write(out, seq, sent_nanos, self.plan.size, self.plan.text),
        }
    }

    /// Checks that `echo` is message `seq`, sent at `sent_nanos`.
    pub(crate) fn check(
        &mut self,
        echo: &[u8],
        compressed: bool,
        seq: u64,
        sent_nanos: u64,
    ) -> Result<(), String> {
        match (&self.plan.corpus, &mut self.inflate) {
            (Some(corpus), Some((inflater, scratch))) => {
                corpus.check(echo, compressed, seq, inflater, scratch)
            }
            _ if compressed => Err("a compressed echo, though no compression was offered".into()),
            _ => payload::verify(echo, seq, sent_nanos, self.plan.size, self.plan.text),
        }
    }
}
