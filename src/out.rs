//! What the CLI prints, and how: text that a package controls (results,
//! panic messages, names and types from its manifest) reaches a terminal
//! with its control characters escaped, so that a package can neither forge
//! a line nor send the terminal escape sequences; and a closed pipe on
//! standard output ends the command quietly instead of panicking.

use std::borrow::Cow;
use std::io::Write;

use anyhow::Context;

/// Writes `text` and a newline to standard output, control characters
/// escaped as `\u{…}`.
pub fn line(text: &str) -> anyhow::Result<()> {
    raw_line(&escape(text))
}

/// Writes JSON text and a newline to standard output. The control
/// characters that JSON allows unescaped in strings (DEL and the C1
/// controls) are written as `\uXXXX` escapes, which keeps the JSON valid
/// and equal in value.
pub fn json_line(json: &str) -> anyhow::Result<()> {
    raw_line(&escape_json(json))
}

fn raw_line(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}").and_then(|()| stdout.flush()).context("cannot write to standard output")
}

/// Writes a message and a newline to standard error, control characters
/// escaped; or, after [`log_json`], one JSON object per message. A failure
/// to write is ignored: there is nowhere left to report it.
pub fn note(text: &str) {
    if JSON_LOG.load(std::sync::atomic::Ordering::Relaxed) {
        // An error's message says so itself ("error: …").
        if text.starts_with("error:") {
            tracing::error!(target: "shipfn", "{text}");
        } else if text.contains("warning:") {
            tracing::warn!(target: "shipfn", "{text}");
        } else {
            tracing::info!(target: "shipfn", "{text}");
        }
        return;
    }
    let _ = writeln!(std::io::stderr().lock(), "{}", escape(text));
}

static JSON_LOG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// From now on, messages to standard error are JSON lines
/// (`{"timestamp":…,"level":"INFO","fields":{"message":…},"target":"shipfn"}`),
/// for a log collector. JSON escapes every control character.
pub fn log_json() {
    let subscriber = tracing_subscriber::fmt().json().with_writer(std::io::stderr).with_ansi(false).finish();
    if tracing::subscriber::set_global_default(subscriber).is_ok() {
        JSON_LOG.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Whether `error` is a write to a pipe whose reader has gone (`shipfn run
/// … | head -c 10`): not a failure of the command.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| cause.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
}

/// `text` with every control character written as `\u{…}`:
/// `\u{1b}]0;title\u{7}` instead of a terminal escape sequence.
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_with(text, |c| format!("\\u{{{:x}}}", c as u32))
}

/// JSON `text` with every control character written as a JSON escape.
/// Valid JSON has control characters only inside strings, where the escape
/// means the same character.
pub fn escape_json(text: &str) -> Cow<'_, str> {
    escape_with(text, |c| format!("\\u{:04x}", c as u32))
}

fn escape_with(text: &str, escape: impl Fn(char) -> String) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if c.is_control() { out.push_str(&escape(c)) } else { out.push(c) }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("plain 10"), "plain 10");
        assert_eq!(escape("a\u{1b}]0;x\u{7}b\nc\u{9b}d"), "a\\u{1b}]0;x\\u{7}b\\u{a}c\\u{9b}d");
        assert_eq!(escape_json("\"a\u{7f}\u{9b}\""), "\"a\\u007f\\u009b\"");
        let value: String = serde_json::from_str(&escape_json("\"a\u{7f}\u{9b}\"")).unwrap();
        assert_eq!(value, "a\u{7f}\u{9b}");
    }
}
