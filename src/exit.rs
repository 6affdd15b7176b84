//! Exit codes, one per failure class (listed in `shipfn --help`).

use std::process::ExitCode;

use shipfn_host::{Error, ErrorKind, FormatError};

/// A mistake on the command line that clap cannot see (exit code 2).
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// Some inputs of a map failed (exit code: the first failure's, as `run`'s).
#[derive(Debug)]
pub struct Failed {
    pub kind: ErrorKind,
    pub message: String,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failed {}

/// The exit code of a failure of `kind`.
fn for_kind(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::BadPackage => 4,
        ErrorKind::BadArgs => 5,
        ErrorKind::GuestError => 6,
        ErrorKind::Trap => 7,
        ErrorKind::Timeout => 8,
        ErrorKind::ResourceLimit => 9,
        ErrorKind::Untrusted => 11,
        _ => 1,
    }
}

/// The exit code for `error`: the class of the first typed error in its chain.
pub fn code(error: &anyhow::Error) -> ExitCode {
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<Error>() {
            return ExitCode::from(for_kind(e.kind()));
        }
        if let Some(failed) = cause.downcast_ref::<Failed>() {
            return ExitCode::from(for_kind(failed.kind));
        }
        if let Some(shipfn_cluster::Error::Host(e)) = cause.downcast_ref::<shipfn_cluster::Error>() {
            return ExitCode::from(for_kind(e.kind()));
        }
        match cause.downcast_ref::<shipfn_cluster::Error>() {
            Some(shipfn_cluster::Error::Format(_)) => return ExitCode::from(4),
            Some(shipfn_cluster::Error::Unreachable { .. }) => return ExitCode::from(12),
            Some(shipfn_cluster::Error::Refused { .. }) => return ExitCode::from(13),
            _ => {}
        }
        match cause.downcast_ref::<FormatError>() {
            Some(FormatError::BadKey(_)) => return ExitCode::from(2),
            Some(_) => return ExitCode::from(4),
            None => {}
        }
        if cause.is::<shipfn_build::BuildError>() {
            return ExitCode::from(10);
        }
        if cause.is::<Usage>() {
            return ExitCode::from(2);
        }
        if cause.is::<std::io::Error>() {
            return ExitCode::from(3);
        }
    }
    ExitCode::from(1)
}
