//! Idle mode: every connection held open for the duration while, each second, one message on
//! a few of them (a stride through all) must still come back byte for byte, each read on its own
//! with a timeout.

use std::time::Instant;

use tokio::net::TcpStream;

use crate::{
    engine::READ_BUFFER_BYTES,
    load::{Opened, Plan, Tally, DRAIN},
    messages::Messages,
    wire::{Framing, Incoming},
};

/// Idle mode: holds every connection for the duration; each second, one message on a few of
/// them must still come back, byte for byte.
pub async fn hold(opened: Vec<Opened>, framing: Framing, plan: &Plan, started: Instant) -> Tally {
    const SAMPLE: usize = 10;
    let mut tally = Tally::new();
    let mut streams = Vec::with_capacity(opened.len());
    for (index, Opened { stream, early, .. }) in opened.into_iter().enumerate() {
        if early.is_empty() {
            streams.push(stream);
        } else {
            // Idle mode reads each sampled echo on its own: it cannot place unasked bytes.
            tally.error(format!(
                "connection {index}: the server sent {} bytes before any message",
                early.len()
            ));
        }
    }
    let mut turn = 0usize;
    let mut outgoing = Vec::new();
    let mut incoming = vec![0u8; READ_BUFFER_BYTES.max(plan.size + 16)];
    // One per connection: with context takeover each connection's echoes are one stream.
    let mut messages: Vec<Messages> = streams
        .iter()
        .map(|_| Messages::new(framing, plan))
        .collect();
    if plan.corpus.is_some() {
        // One message on every connection first, so that each holds whatever compression state
        // the server keeps between messages while it idles.
        for (index, (stream, messages)) in streams.iter_mut().zip(&mut messages).enumerate() {
            let (seq, sent) = (tally.sent, started.elapsed().as_nanos() as u64);
            outgoing.clear();
            messages.write(&mut outgoing, seq, sent);
            tally.sent += 1;
            let round_trip = echo_one(stream, &outgoing, &mut incoming, messages, seq, sent);
            match tokio::time::timeout(DRAIN, round_trip).await {
                Ok(Ok(())) => tally.record(started.elapsed().as_nanos() as u64, sent),
                Ok(Err(error)) => tally.error(format!("connection {index}: {error}")),
                Err(_) => tally.error(format!("connection {index} did not echo in {DRAIN:?}")),
            }
        }
    }
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(1));
    while started.elapsed() < plan.duration && !streams.is_empty() {
        ticks.tick().await;
        for _ in 0..SAMPLE.min(streams.len()) {
            turn = (turn + 7919) % streams.len();
            let sent = started.elapsed().as_nanos() as u64;
            let seq = tally.sent;
            outgoing.clear();
            messages[turn].write(&mut outgoing, seq, sent);
            tally.sent += 1;
            let round_trip = echo_one(
                &mut streams[turn],
                &outgoing,
                &mut incoming,
                &mut messages[turn],
                seq,
                sent,
            );
            match tokio::time::timeout(DRAIN, round_trip).await {
                Ok(Ok(())) => tally.record(started.elapsed().as_nanos() as u64, sent),
                Ok(Err(error)) => tally.error(format!("connection {turn}: {error}")),
                Err(_) => tally.error(format!("connection {turn} did not echo in {DRAIN:?}")),
            }
        }
    }
    tally
}

/// Writes one framed message and reads until its echo, which must be message `seq`.
async fn echo_one(
    stream: &mut TcpStream,
    message: &[u8],
    incoming: &mut [u8],
    messages: &mut Messages<'_>,
    seq: u64,
    sent: u64,
) -> Result<(), String> {
    let (framing, size) = (messages.framing, messages.plan.size);
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(message)
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut filled = 0;
    loop {
        let mut used = 0;
        while let Some((frame, len)) = framing.next(&incoming[used..filled], size)? {
            used += len;
            match frame {
                Incoming::Data(echo) => return messages.check(echo, false, seq, sent),
                Incoming::Compressed(echo) => return messages.check(echo, true, seq, sent),
                Incoming::Fragment { .. } => {
                    if let Some((echo, compressed)) = messages.join(&frame)? {
                        return messages.check(&echo, compressed, seq, sent);
                    }
                }
                Incoming::Control => {}
                Incoming::Close(code) => return Err(format!("the server closed with {code:?}")),
            }
        }
        incoming.copy_within(used..filled, 0);
        filled -= used;
        match stream.read(&mut incoming[filled..]).await {
            Ok(0) => return Err("the server closed the connection".into()),
            Ok(n) => filled += n,
            Err(error) => return Err(format!("read: {error}")),
        }
    }
}
