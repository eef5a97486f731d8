//! Idle mode: every connection held open for the duration while, each second, one message on
//! a few of them (a stride through all) must still come back byte for byte, each read on its own
//! with a timeout ([`hold`]). Under `--ramp`/`--stages`, where connections come and go, each one
//! proves itself with one echo when it opens and is then held until told to stop ([`keep`]).

use std::time::Instant;

use tokio::sync::oneshot;

use crate::{
    dial::Opened,
    engine::READ_BUFFER_BYTES,
    link::Link,
    live::Live,
    load::{Plan, Tally, DRAIN},
    messages::Messages,
    wire::{Framing, Incoming},
};

/// Idle mode: holds every connection for the duration; each second, one message on a few of
/// them must still come back, byte for byte.
pub async fn hold(
    opened: Vec<Opened>,
    framing: Framing,
    plan: &Plan,
    started: Instant,
    live: &Live,
) -> Tally {
    const SAMPLE: usize = 10;
    let mut tally = Tally::new();
    let mut streams = Vec::with_capacity(opened.len());
    for (index, Opened { link, early, .. }) in opened.into_iter().enumerate() {
        if early.is_empty() {
            streams.push(link);
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
            live.absorb(&mut tally);
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
            live.absorb(&mut tally);
        }
    }
    tally
}

/// Idle mode under `--ramp`/`--stages`: one message must come back when the connection opens,
/// then it is held, read from (a close or a stray frame is an error), until `stop` or the
/// deadline.
pub async fn keep(
    opened: Opened,
    framing: Framing,
    plan: &Plan,
    started: Instant,
    deadline: Instant,
    stop: oneshot::Receiver<()>,
    live: &Live,
) -> Tally {
    let mut tally = Tally::new();
    let Opened {
        mut link, early, ..
    } = opened;
    if !early.is_empty() {
        tally.error(format!(
            "the server sent {} bytes before any message",
            early.len()
        ));
        return tally;
    }
    let mut messages = Messages::new(framing, plan);
    let mut incoming = vec![0u8; READ_BUFFER_BYTES.max(plan.size + 16)];
    let mut outgoing = Vec::new();
    let sent = started.elapsed().as_nanos() as u64;
    messages.write(&mut outgoing, 0, sent);
    tally.sent += 1;
    let round_trip = echo_one(&mut link, &outgoing, &mut incoming, &mut messages, 0, sent);
    match tokio::time::timeout(DRAIN, round_trip).await {
        Ok(Ok(())) => tally.record(started.elapsed().as_nanos() as u64, sent),
        Ok(Err(error)) => tally.error(error),
        Err(_) => tally.error(format!("no echo within {DRAIN:?}")),
    }
    live.absorb(&mut tally);
    if tally.errors > 0 {
        return tally;
    }
    // Control frames (a server's pings) pass; a message, a close or the end ends the hold.
    let held = read_until(&mut link, &mut incoming, framing, plan.size, |_| {
        Err("the server sent a message unasked".to_owned())
    });
    tokio::select! {
        Err(why) = held => tally.error(why),
        _ = stop => {}
        () = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => {}
    }
    live.absorb(&mut tally);
    tally
}

/// Writes one framed message and reads until its echo, which must be message `seq`.
async fn echo_one(
    stream: &mut Link,
    message: &[u8],
    incoming: &mut [u8],
    messages: &mut Messages<'_>,
    seq: u64,
    sent: u64,
) -> Result<(), String> {
    let (framing, size) = (messages.framing, messages.plan.size);
    stream
        .write_all(message)
        .await
        .map_err(|e| format!("write: {e}"))?;
    read_until(stream, incoming, framing, size, |frame| match frame {
        Incoming::Data(echo) => messages.check(echo, false, seq, sent).map(Some),
        Incoming::Compressed(echo) => messages.check(echo, true, seq, sent).map(Some),
        _ => match messages.join(&frame)? {
            Some((echo, compressed)) => messages.check(&echo, compressed, seq, sent).map(Some),
            None => Ok(None),
        },
    })
    .await
}

/// Reads frames until `on_message` says it has what it waited for (`Ok(Some)`) or fails;
/// control frames pass, a close or the end of the stream is an error. `on_message` sees data
/// frames and fragments.
async fn read_until(
    link: &mut Link,
    incoming: &mut [u8],
    framing: Framing,
    size: usize,
    mut on_message: impl FnMut(Incoming<'_>) -> Result<Option<()>, String>,
) -> Result<(), String> {
    let mut filled = 0;
    loop {
        let mut used = 0;
        while let Some((frame, len)) = framing.next(&incoming[used..filled], size)? {
            used += len;
            match frame {
                Incoming::Control => {}
                Incoming::Close(code) => return Err(format!("the server closed with {code:?}")),
                message => {
                    if on_message(message)?.is_some() {
                        return Ok(());
                    }
                }
            }
        }
        incoming.copy_within(used..filled, 0);
        filled -= used;
        match link.read(&mut incoming[filled..]).await {
            Ok(0) => return Err("the server closed the connection".into()),
            Ok(n) => filled += n,
            Err(error) => return Err(format!("read: {error}")),
        }
    }
}
