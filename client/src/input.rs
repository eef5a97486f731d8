//! Where messages come from: the ticker, piped stdin, or the interactive prompt. Each feeds
//! [`Command`]s into one channel that the connection loop reads.

use std::{
    io::{BufRead, Read},
    time::{Duration, SystemTime},
};

use tokio::sync::mpsc::{Receiver, Sender};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    args::{self, Args},
    output::LineWriter,
    payload::{parse_base64, parse_hex},
};

#[derive(Debug)]
pub enum Command {
    Send(Message),
    Ping,
    Close {
        code: u16,
        reason: String,
    },
    /// No more input: wait for the outstanding echoes, then close.
    End,
    /// Bad input in piped mode: close, then exit 2 with this message.
    Fail(String),
}

/// Room for commands read ahead of the socket; a full channel makes the reader wait.
const QUEUE: usize = 64;

pub fn channel() -> (Sender<Command>, Receiver<Command>) {
    tokio::sync::mpsc::channel(QUEUE)
}

/// The original's ticker: the current time every `interval`, `count` times (or forever).
pub async fn ticker(commands: Sender<Command>, interval: Duration, count: Option<u64>) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    let mut sent = 0;
    while count.is_none_or(|count| sent < count) {
        ticks.tick().await;
        let now = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        if commands
            .send(Command::Send(Message::text(now)))
            .await
            .is_err()
        {
            return;
        }
        sent += 1;
    }
    let _ = commands.send(Command::End).await;
}

/// How one input line becomes a message.
#[derive(Debug, Clone, Copy)]
pub enum LineFormat {
    Text,
    Hex,
    Base64,
}

impl LineFormat {
    pub fn of(args: &Args) -> LineFormat {
        if args.hex {
            LineFormat::Hex
        } else if args.base64 {
            LineFormat::Base64
        } else {
            LineFormat::Text
        }
    }

    fn message(self, line: &str) -> Result<Message, String> {
        match self {
            LineFormat::Text => Ok(Message::text(line)),
            LineFormat::Hex => parse_hex(line).map(Message::binary),
            LineFormat::Base64 => parse_base64(line).map(Message::binary),
        }
    }
}

/// Piped stdin on its own thread: each line one message (lines have no length limit), or with
/// `whole_binary` all of stdin one binary message.
pub fn piped(commands: Sender<Command>, format: LineFormat, whole_binary: bool) {
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        if whole_binary {
            let mut bytes = Vec::new();
            let command = match stdin.lock().read_to_end(&mut bytes) {
                Ok(_) => Command::Send(Message::binary(bytes)),
                Err(error) => Command::Fail(format!("cannot read stdin: {error}")),
            };
            let _ = commands.blocking_send(command);
            let _ = commands.blocking_send(Command::End);
            return;
        }
        let mut reader = stdin.lock();
        let mut line = String::new();
        let mut number = 0;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(error) => {
                    let _ = commands
                        .blocking_send(Command::Fail(format!("cannot read stdin: {error}")));
                    return;
                }
            }
            number += 1;
            let text = line.strip_suffix('\n').unwrap_or(&line);
            let text = text.strip_suffix('\r').unwrap_or(text);
            let command = match format.message(text) {
                Ok(message) => Command::Send(message),
                Err(error) => Command::Fail(format!("stdin line {number}: {error}")),
            };
            let failed = matches!(command, Command::Fail(_));
            if commands.blocking_send(command).is_err() || failed {
                return;
            }
        }
        let _ = commands.blocking_send(Command::End);
    });
}

/// Interactive: a rustyline prompt on its own thread. Returns the writer that prints above the
/// prompt, so echoes do not garble the line being typed; None on terminals that cannot (then
/// plain stdout it is).
pub fn interactive(
    commands: Sender<Command>,
    format: LineFormat,
    close_code: u16,
) -> Result<Option<LineWriter>, String> {
    let (printer_tx, printer_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut editor = match rustyline::DefaultEditor::new() {
            Ok(editor) => editor,
            Err(error) => {
                let _ = printer_tx.send(Err(format!("cannot start the line editor: {error}")));
                return;
            }
        };
        match editor.create_external_printer() {
            Ok(mut printer) => {
                use rustyline::ExternalPrinter;
                let writer: LineWriter = Box::new(move |line| {
                    let _ = printer.print(format!("{line}\n"));
                });
                let _ = printer_tx.send(Ok(Some(writer)));
            }
            Err(_) => {
                let _ = printer_tx.send(Ok(None));
            }
        }
        loop {
            let command = match editor.readline("> ") {
                Ok(line) => {
                    if !line.trim().is_empty() {
                        let _ = editor.add_history_entry(line.as_str());
                    }
                    match interactive_command(&line, format, close_code) {
                        Ok(Some(command)) => command,
                        Ok(None) => continue,
                        Err(error) => {
                            eprintln!("error: {error}");
                            continue;
                        }
                    }
                }
                Err(rustyline::error::ReadlineError::Interrupted) => Command::Close {
                    code: close_code,
                    reason: String::new(),
                },
                Err(_) => Command::End,
            };
            let last = matches!(command, Command::Close { .. } | Command::End);
            if commands.blocking_send(command).is_err() || last {
                return;
            }
        }
    });
    printer_rx
        .recv()
        .map_err(|_| "the line editor thread ended".to_owned())?
}

/// One typed line: a message, or one of `/ping`, `/close [code] [reason]`, `/binary <hex>`,
/// `/quit`. `Ok(None)` for an empty line.
pub fn interactive_command(
    line: &str,
    format: LineFormat,
    close_code: u16,
) -> Result<Option<Command>, String> {
    // `//text` sends "/text".
    if let Some(text) = line.strip_prefix("//") {
        return format
            .message(&format!("/{text}"))
            .map(|m| Some(Command::Send(m)));
    }
    let Some(rest) = line.strip_prefix('/') else {
        return if line.is_empty() {
            Ok(None)
        } else {
            format.message(line).map(|m| Some(Command::Send(m)))
        };
    };
    let (name, argument) = rest.split_once(' ').unwrap_or((rest, ""));
    match name {
        "ping" => Ok(Some(Command::Ping)),
        "quit" => Ok(Some(Command::Close {
            code: close_code,
            reason: String::new(),
        })),
        "close" => {
            let argument = argument.trim();
            let (code, reason) = argument.split_once(' ').unwrap_or((argument, ""));
            let code = if code.is_empty() {
                close_code
            } else {
                args::close_code(code)?
            };
            Ok(Some(Command::Close {
                code,
                reason: reason.trim().to_owned(),
            }))
        }
        "binary" => parse_hex(argument).map(|bytes| Some(Command::Send(Message::binary(bytes)))),
        other => Err(format!(
            "unknown command /{other}; try /ping, /close [code] [reason], /binary <hex>, /quit \
             (start a line with // to send text beginning with /)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Option<Command>, String> {
        interactive_command(line, LineFormat::Text, 1000)
    }

    #[test]
    fn commands_and_messages() {
        assert!(
            matches!(parse("hello"), Ok(Some(Command::Send(Message::Text(t)))) if t.as_str() == "hello")
        );
        assert!(matches!(parse(""), Ok(None)));
        assert!(matches!(parse("/ping"), Ok(Some(Command::Ping))));
        assert!(matches!(
            parse("/close"),
            Ok(Some(Command::Close { code: 1000, .. }))
        ));
        assert!(
            matches!(parse("/close 4001 all done"), Ok(Some(Command::Close { code: 4001, reason })) if reason == "all done")
        );
        assert!(
            matches!(parse("/binary 00 ff"), Ok(Some(Command::Send(Message::Binary(b)))) if b[..] == [0, 255])
        );
        assert!(
            matches!(parse("//etc/passwd"), Ok(Some(Command::Send(Message::Text(t)))) if t.as_str() == "/etc/passwd")
        );
    }

    #[test]
    fn bad_commands_say_what_to_type() {
        assert!(parse("/frobnicate").unwrap_err().contains("try /ping"));
        assert!(parse("/close 1005").unwrap_err().contains("cannot be sent"));
        assert!(parse("/binary zz").unwrap_err().contains("hex"));
    }
}
