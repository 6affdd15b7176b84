//! What stops a whole map.

/// An error that stops a map (one input's failure is a [`Failure`](crate::Failure)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The package could not be loaded, or the host failed.
    #[error(transparent)]
    Host(#[from] shipfn_host::Error),
    /// The package could not be read.
    #[error(transparent)]
    Format(#[from] shipfn_host::FormatError),
    /// The NATS server could not be reached or refused a request.
    #[error("NATS: {context}: {message}")]
    Nats {
        /// What was being done.
        context: &'static str,
        /// The client's or server's reason.
        message: String,
    },
    /// The NATS server could not be reached (refused, timed out, no such host).
    #[error("cannot reach the NATS server at {url}: {message}")]
    Unreachable {
        /// The server's URL, without credentials.
        url: String,
        /// The client's reason.
        message: String,
    },
    /// The NATS server refused this client: credentials or TLS.
    #[error("the NATS server at {url} refused the connection: {message}")]
    Refused {
        /// The server's URL, without credentials.
        url: String,
        /// The client's or server's reason.
        message: String,
    },
    /// Starting the pool's threads or runtime failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// A NATS failure while doing `context`.
    pub(crate) fn nats(context: &'static str, error: impl std::fmt::Display) -> Error {
        Error::Nats { context, message: error.to_string() }
    }
}

/// `Result` with an [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
