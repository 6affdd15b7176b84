//! One input's outcome, and the JSON lines that carry inputs and outcomes.

use shipfn_host::{ErrorKind, Function};

/// What one input gave: the closure's result as JSON text, or a failure.
pub type Outcome = Result<String, Failure>;

/// Why one input has no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
#[non_exhaustive]
pub struct Failure {
    /// The class of the failure, as the host reports it.
    pub kind: ErrorKind,
    /// What went wrong, for people.
    pub message: String,
}

impl Failure {
    /// A failure of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Failure {
        Failure { kind, message: message.into() }
    }
}

impl From<&shipfn_host::Error> for Failure {
    fn from(error: &shipfn_host::Error) -> Failure {
        Failure::new(error.kind(), error.report())
    }
}

impl From<shipfn_host::Error> for Failure {
    fn from(error: shipfn_host::Error) -> Failure {
        Failure::from(&error)
    }
}

/// The arguments in an input line: the texts of the elements of its JSON array.
pub(crate) fn parse_input(input: &str) -> Result<Vec<String>, Failure> {
    let bad = |why: String| Failure::new(ErrorKind::BadArgs, why);
    // The arguments' texts are taken as they are, not parsed into values:
    // the guest parses each as its parameter's type.
    match serde_json::from_str::<Vec<&serde_json::value::RawValue>>(input) {
        Ok(args) => Ok(args.iter().map(|arg| arg.get().to_owned()).collect()),
        Err(e) => match serde_json::from_str::<serde_json::Value>(input) {
            Ok(other) => Err(bad(format!("an input must be a JSON array of the arguments, like [4], not {other}"))),
            Err(_) => Err(bad(format!("the input is not JSON: {e}"))),
        },
    }
}

/// Calls `function` with one input line. A host-side panic (a bug) is that
/// input's failure, so that one input never loses the rest of a batch.
pub(crate) fn call(function: &Function, input: &str) -> Outcome {
    let call = || {
        let args = parse_input(input)?;
        let result = function.call_json(&args).map_err(|e| without_quoting_hint(Failure::from(e)))?;
        Ok(one_line(result))
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(call))
        .unwrap_or_else(|_| Err(Failure::new(ErrorKind::Internal, "the host panicked on this input")))
}

/// A failure without the hint on quoting a string `--arg` (which the guest
/// and the host add to a text that is JSON but not a string): an input line
/// is JSON already, and the shell's quotes mean nothing in it.
fn without_quoting_hint(mut failure: Failure) -> Failure {
    if let Some(at) = failure.message.rfind(" (to pass the text `") {
        failure.message.truncate(at);
    }
    failure
}

/// The JSON text on one line: a result with line breaks in it (a guest may
/// format its JSON however it likes) is re-encoded compactly.
fn one_line(json: String) -> String {
    if !json.contains(['\n', '\r']) {
        return json;
    }
    match serde_json::from_str::<serde_json::Value>(&json) {
        Ok(value) => value.to_string(),
        Err(_) => json.replace(['\n', '\r'], " "),
    }
}

/// The output line of an outcome: `{"ok":RESULT}` or
/// `{"error":{"kind":"…","message":"…"}}`.
pub fn line(outcome: &Outcome) -> String {
    match outcome {
        Ok(result) => format!("{{\"ok\":{result}}}"),
        Err(failure) => serde_json::json!({
            "error": { "kind": failure.kind.name(), "message": failure.message }
        })
        .to_string(),
    }
}

/// The outcome an output line stands for (the inverse of [`line()`]).
///
/// # Errors
///
/// A description of what is wrong with a line that [`line()`] did not write.
pub fn parse_line(text: &str) -> Result<Outcome, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let object = value.as_object().filter(|o| o.len() == 1).ok_or("not an object with one key")?;
    if let Some(result) = object.get("ok") {
        return Ok(Ok(result.to_string()));
    }
    let error = object.get("error").ok_or("neither ok nor error")?;
    let kind = error["kind"].as_str().and_then(ErrorKind::from_name).ok_or("an unknown error kind")?;
    let message = error["message"].as_str().ok_or("an error without a message")?;
    Ok(Err(Failure::new(kind, message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        for outcome in
            [Ok("[1,\"a\"]".to_owned()), Err(Failure::new(ErrorKind::Trap, "the guest panicked: \"x\"\nat line 3"))]
        {
            assert_eq!(parse_line(&line(&outcome)).unwrap(), outcome);
            assert!(!line(&outcome).contains('\n'));
        }
    }

    #[test]
    fn inputs_must_be_arrays() {
        assert_eq!(parse_input("[4, \"x\", {\"a\": [1, 2]}]").unwrap(), ["4", "\"x\"", "{\"a\": [1, 2]}"]);
        assert_eq!(parse_input("[]").unwrap(), Vec::<String>::new());
        assert!(parse_input("4").unwrap_err().message.contains("JSON array"));
        assert!(parse_input("[4").unwrap_err().message.contains("not JSON"));
        assert_eq!(one_line("[1,\n 2]".into()), "[1,2]");
    }
}
