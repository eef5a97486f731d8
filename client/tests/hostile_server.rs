//! The CLI tester pointed at a hostile server (tests/support/hostile.rs): a 2^62-byte frame
//! header, a 2^64-1 length, endless fragments, a compressed bomb, invalid UTF-8, endless pings
//! while never reading, an endless head, silence, escape sequences in text, close reason,
//! refusal and extension answer. For each: the documented exit status, no panic, memory bounded
//! (peak RSS from /proc), and the server's text shown with its controls visible. The load
//! generator's side is in bench/generator/tests/hostile_server.rs.

mod support {
    pub mod hostile;
}

use std::{net::SocketAddr, process::Command, sync::Arc, time::Duration};

use support::hostile::*;

fn client(addr: SocketAddr, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_client"));
    command
        .args([
            "--url",
            &format!("ws://{addr}/echo"),
            "--connect-timeout",
            "2s",
        ])
        .args(extra);
    command
}

/// Runs the CLI, plain and with `--compress`, against `behaviour`; checks the exit status, no
/// panic and the peak RSS, then `check`.
fn against(name: &str, behaviour: Behaviour, cli_code: i32, check: impl Fn(&Ended)) {
    let addr = hostile(behaviour);
    for compress in [false, true] {
        let extra: &[&str] = if compress { &["--compress"] } else { &[] };
        let ended = run(&mut client(addr, extra), Duration::from_secs(20));
        println!(
            "{name}, CLI{}: exit {:?} in {:?}, peak RSS {} MiB",
            if compress { " --compress" } else { "" },
            ended.code,
            ended.took,
            ended.peak_rss / MIB
        );
        assert_eq!(ended.code, Some(cli_code), "{name} {compress}: {ended:?}");
        assert!(
            !ended.stderr.contains("panicked"),
            "{name}: {}",
            ended.stderr
        );
        assert!(
            ended.peak_rss < RSS_BOUND,
            "{name}: {} MiB",
            ended.peak_rss / MIB
        );
        check(&ended);
    }
}

fn no_raw_controls(text: &str) {
    let raw = text
        .chars()
        .find(|&c| c.is_control() && c != '\n' || matches!(c, '\u{202e}' | '\u{9b}'));
    assert!(
        raw.is_none(),
        "a raw {raw:?} reached the terminal: {text:?}"
    );
}

#[test]
fn a_frame_header_announcing_2_to_the_62_is_refused_at_once() {
    let behaviour: Behaviour = Arc::new(|request| Script {
        first: [switching(&request, ""), announcing(0x82, 1 << 62)].concat(),
        then_forever: Some(vec![0u8; 1 << 20]),
        read: true,
    });
    against("2^62 header", behaviour, 4, |ended| {
        assert!(ended.stderr.contains("protocol error"), "{}", ended.stderr);
    });
}

#[test]
fn a_length_of_2_to_the_64_minus_1_is_refused_without_a_panic() {
    let behaviour: Behaviour = Arc::new(|request| Script {
        first: [switching(&request, ""), announcing(0x82 | 0x40, u64::MAX)].concat(),
        then_forever: None,
        read: true,
    });
    against("2^64-1 length", behaviour, 4, |_| {});
}

#[test]
fn endless_fragments_stop_at_the_message_limit() {
    let fragment = frame(0x00, &vec![b'x'; 1 << 20]);
    let behaviour: Behaviour = Arc::new(move |request| Script {
        first: [switching(&request, ""), frame(0x02, b"start")].concat(),
        then_forever: Some(fragment.clone()),
        read: true,
    });
    against("endless fragments", behaviour, 4, |_| {});
}

#[test]
fn endless_compressed_fragments_stop_at_the_message_limit() {
    // Stored deflate blocks would be valid; this is simply never-ending compressed input.
    let fragment = frame(0x00, &vec![0u8; 1 << 20]);
    let behaviour: Behaviour = Arc::new(move |request| Script {
        first: [
            switching(&request, "Sec-WebSocket-Extensions: permessage-deflate\r\n"),
            frame(0x02 | 0x40, &[0u8; 16]),
        ]
        .concat(),
        then_forever: Some(fragment.clone()),
        read: true,
    });
    let addr = hostile(behaviour);
    let ended = run(&mut client(addr, &["--compress"]), Duration::from_secs(20));
    println!(
        "endless compressed fragments, CLI --compress: exit {:?} in {:?}, peak RSS {} MiB",
        ended.code,
        ended.took,
        ended.peak_rss / MIB
    );
    assert_eq!(ended.code, Some(4), "{ended:?}");
    assert!(ended.peak_rss < RSS_BOUND, "{} MiB", ended.peak_rss / MIB);
}

#[test]
fn a_compressed_bomb_is_refused_at_the_inflate_limit() {
    // 256 MiB of zeros, deflated (raw, with the permessage-deflate tail cut).
    let mut deflater = ws_deflate::Deflater::new(15, true, 9);
    let zeros = vec![0u8; 256 << 20];
    let bomb = deflater.compress(&zeros).expect("shrinks").to_vec();
    let message = frame(0x82 | 0x40, &bomb);
    let behaviour: Behaviour = Arc::new(move |request| Script {
        first: [
            switching(&request, "Sec-WebSocket-Extensions: permessage-deflate\r\n"),
            message.clone(),
        ]
        .concat(),
        then_forever: None,
        read: true,
    });
    let addr = hostile(behaviour);
    let ended = run(&mut client(addr, &["--compress"]), Duration::from_secs(20));
    println!(
        "compressed bomb ({} KiB on the wire), CLI --compress: exit {:?}, peak RSS {} MiB",
        bomb.len() / 1024,
        ended.code,
        ended.peak_rss / MIB
    );
    assert_eq!(ended.code, Some(4), "{ended:?}");
    assert!(ended.stderr.contains("inflates past"), "{}", ended.stderr);
    assert!(ended.peak_rss < RSS_BOUND, "{} MiB", ended.peak_rss / MIB);
}

#[test]
fn an_endless_response_head_is_refused() {
    let behaviour: Behaviour = Arc::new(|_| Script {
        first: b"HTTP/1.1 101 Switching Protocols\r\nX-Endless: ".to_vec(),
        then_forever: Some(vec![b'a'; 64 * 1024]),
        read: true,
    });
    against("endless head", behaviour, 1, |_| {});
}

#[test]
fn a_server_that_accepts_and_never_answers_times_out() {
    let behaviour: Behaviour = Arc::new(|_| Script {
        first: Vec::new(),
        then_forever: None,
        read: true,
    });
    against("silent server", behaviour, 1, |ended| {
        assert!(ended.took < Duration::from_secs(6), "{:?}", ended.took);
        assert!(
            ended.stderr.contains("--connect-timeout"),
            "{}",
            ended.stderr
        );
    });
}

#[test]
fn invalid_utf8_in_a_text_message_is_a_protocol_error() {
    let behaviour: Behaviour = Arc::new(|request| Script {
        first: [switching(&request, ""), frame(0x81, b"ok \xff\xfe")].concat(),
        then_forever: None,
        read: true,
    });
    against("invalid UTF-8", behaviour, 4, |_| {});
}

#[test]
fn escape_sequences_from_the_server_are_shown_visibly_everywhere() {
    // OSC 52 (set the clipboard), a title, clear screen, a carriage return, CSI as C1, bidi.
    let text =
        "\x1b]52;c;cm0gLXJmIH4gIyBwYXN0ZWQ=\x07\x1b]0;owned\x07\x1b[2Jhi\rX \u{9b}2J \u{202e}";
    let mut reason = 4000u16.to_be_bytes().to_vec();
    reason.extend_from_slice("bye\x1b[2J\r".as_bytes());
    let (text_frame, close) = (frame(0x81, text.as_bytes()), frame(0x88, &reason));
    let behaviour: Behaviour = Arc::new(move |request| Script {
        first: [switching(&request, ""), text_frame.clone(), close.clone()].concat(),
        then_forever: None,
        read: true,
    });
    let addr = hostile(behaviour);
    let ended = run(&mut client(addr, &[]), Duration::from_secs(10));
    assert_eq!(ended.code, Some(5), "{ended:?}");
    no_raw_controls(&ended.stdout);
    no_raw_controls(&ended.stderr);
    assert!(
        ended.stdout.contains(r"recv: \x1b]52;c;"),
        "{}",
        ended.stdout
    );
    assert!(
        ended.stderr.contains(r"reason: bye\x1b[2J\r"),
        "{}",
        ended.stderr
    );

    // --raw: the bytes as they came, for people who pipe them on purpose.
    let ended = run(&mut client(addr, &["--raw"]), Duration::from_secs(10));
    assert!(ended.stdout.contains(text), "{:?}", ended.stdout);

    // A refusal's body and an extension answer are the server's text too.
    let refusal: Behaviour = Arc::new(|_| Script {
        first:
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 24\r\n\r\nno\x1b]0;owned\x07 \x1b[2J\rgone"
                .to_vec(),
        then_forever: None,
        read: true,
    });
    let ended = run(&mut client(hostile(refusal), &[]), Duration::from_secs(10));
    assert_eq!(ended.code, Some(1), "{ended:?}");
    no_raw_controls(&ended.stderr);
    assert!(
        ended.stderr.contains(r"no\x1b]0;owned\x07"),
        "{}",
        ended.stderr
    );

    let extension: Behaviour = Arc::new(|request| Script {
        first: switching(
            &request,
            "Sec-WebSocket-Extensions: permessage-deflate; x=\u{9b}2J\u{202e}\r\n",
        ),
        then_forever: None,
        read: true,
    });
    let ended = run(
        &mut client(hostile(extension), &["--compress"]),
        Duration::from_secs(10),
    );
    assert_ne!(ended.code, Some(0), "{ended:?}");
    no_raw_controls(&ended.stdout);
    no_raw_controls(&ended.stderr);
}

#[test]
fn a_ping_flood_from_a_server_that_never_reads_keeps_the_client_bounded() {
    let ping = frame(0x89, &[7u8; 125]);
    let burst = ping.repeat(512);
    let behaviour: Behaviour = Arc::new(move |request| Script {
        first: switching(&request, ""),
        then_forever: Some(burst.clone()),
        read: false,
    });
    let addr = hostile(behaviour);
    // The ticker sends nothing the server reads; the client is killed after 8 s.
    let ended = run_with(
        &mut client(addr, &["--interval", "1h"]),
        Duration::from_secs(8),
        None,
    );
    println!(
        "ping flood, never read: peak RSS {} MiB after {:?}",
        ended.peak_rss / MIB,
        ended.took
    );
    assert!(ended.peak_rss < RSS_BOUND, "{} MiB", ended.peak_rss / MIB);
}
