//! How a submitter or a worker proves who it is to the server, and how it
//! checks the server: the nats CLI's options (credentials file, NKey seed
//! file, user and password, token; TLS with a CA, a client certificate, or
//! TLS first). No secret is ever shown: `Debug` and errors mask them.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::{Error, Result};

/// One way to authenticate, as the nats CLI offers them.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// No credentials.
    #[default]
    None,
    /// A user and password.
    UserPassword {
        /// The user.
        user: String,
        /// The password (never shown).
        password: String,
    },
    /// A token (never shown).
    Token(String),
    /// A `.creds` file (a user JWT and its NKey seed).
    CredsFile(PathBuf),
    /// A file holding an NKey seed (`SU…`).
    NKeyFile(PathBuf),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::UserPassword { user, .. } => write!(f, "UserPassword {{ user: {user:?}, password: \"***\" }}"),
            Auth::Token(_) => f.write_str("Token(\"***\")"),
            Auth::CredsFile(path) => write!(f, "CredsFile({path:?})"),
            Auth::NKeyFile(path) => write!(f, "NKeyFile({path:?})"),
        }
    }
}

/// How to check the server, and prove this client, with TLS.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tls {
    /// A CA certificate (PEM) to trust besides the system's.
    pub ca: Option<PathBuf>,
    /// A client certificate and its key (PEM), for mutual TLS.
    pub client: Option<(PathBuf, PathBuf)>,
    /// Start TLS before the server's greeting (`--tlsfirst`).
    pub first: bool,
}

impl Tls {
    /// Whether anything asks for TLS.
    pub fn wanted(&self) -> bool {
        self.ca.is_some() || self.client.is_some() || self.first
    }
}

/// Server URLs (comma-separated) with any user information taken out of
/// them: `nats://user:pass@host` gives a user and password, `nats://token@host`
/// a token; the first URL that has some gives the credentials. The client
/// ignores user information in a URL, so it must be read here or not at all.
pub(crate) fn split_url(urls: &str) -> (String, Auth) {
    let mut auth = Auth::None;
    let mut plain = Vec::new();
    for url in urls.split(',') {
        let (url, found) = split_one(url.trim());
        if auth == Auth::None {
            auth = found;
        }
        plain.push(url);
    }
    (plain.join(","), auth)
}

fn split_one(url: &str) -> (String, Auth) {
    let Some((scheme, rest)) = url.split_once("://") else { return (url.to_owned(), Auth::None) };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else { return (url.to_owned(), Auth::None) };
    let auth = match userinfo.split_once(':') {
        Some((user, password)) => Auth::UserPassword { user: decode(user), password: decode(password) },
        None => Auth::Token(decode(userinfo)),
    };
    (format!("{scheme}://{host}{path}"), auth)
}

/// Percent-decoding of a URL's user information.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(value) = text.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(value);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The client's options for `auth` and `tls`, connecting to `url`.
pub(crate) async fn options(url: &str, auth: &Auth, tls: &Tls) -> Result<async_nats::ConnectOptions> {
    let refused = |message: String| Error::Refused { url: url.to_owned(), message };
    let mut options = async_nats::ConnectOptions::new().connection_timeout(Duration::from_secs(5));
    options = match auth {
        Auth::None => options,
        Auth::UserPassword { user, password } => options.user_and_password(user.clone(), password.clone()),
        Auth::Token(token) => options.token(token.clone()),
        Auth::CredsFile(path) => options
            .credentials_file(path)
            .await
            .map_err(|e| refused(format!("cannot use the credentials file {}: {e}", path.display())))?,
        Auth::NKeyFile(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| refused(format!("cannot read the NKey file {}: {e}", path.display())))?;
            let seed = text.lines().map(str::trim).find(|l| l.starts_with("SU")).ok_or_else(|| {
                refused(format!("{} holds no user NKey seed (a line starting with SU)", path.display()))
            })?;
            options.nkey(seed.to_owned())
        }
    };
    for path in tls.ca.iter().chain(tls.client.iter().flat_map(|(c, k)| [c, k])) {
        if !path.is_file() {
            return Err(refused(format!("the TLS file {} does not exist", path.display())));
        }
    }
    if let Some(ca) = &tls.ca {
        options = options.add_root_certificates(ca.clone());
    }
    if let Some((cert, key)) = &tls.client {
        options = options.add_client_certificate(cert.clone(), key.clone());
    }
    if tls.first {
        options = options.tls_first();
    }
    if tls.wanted() || url.split(',').any(|u| u.trim().starts_with("tls://")) {
        options = options.require_tls(true);
    }
    Ok(options)
}

/// The error for a failed connection: the server could not be reached, or
/// it refused this client (credentials, TLS).
pub(crate) fn connect_error(url: &str, error: &async_nats::ConnectError) -> Error {
    use async_nats::ConnectErrorKind as Kind;
    let message = error.to_string();
    // The client reports a certificate it does not trust, and a server's
    // TLS alert (such as a client certificate it requires), as I/O errors.
    let certificate = message.contains("invalid peer certificate");
    let alert = message.contains("received fatal alert");
    match error.kind() {
        Kind::Authentication | Kind::AuthorizationViolation | Kind::Tls => {
            Error::Refused { url: url.to_owned(), message }
        }
        Kind::Io if certificate => Error::Refused {
            url: url.to_owned(),
            message: format!("{message} (the server's TLS certificate is not trusted: give its CA with --tlsca)"),
        },
        Kind::Io if alert => Error::Refused {
            url: url.to_owned(),
            message: format!("{message} (the server's TLS refused this client: check --tlscert and --tlskey)"),
        },
        _ => Error::Unreachable { url: url.to_owned(), message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_information_leaves_the_url_and_becomes_credentials() {
        assert_eq!(
            split_url("nats://alice:s%40cret@127.0.0.1:4222"),
            (
                "nats://127.0.0.1:4222".to_owned(),
                Auth::UserPassword { user: "alice".into(), password: "s@cret".into() }
            )
        );
        assert_eq!(split_url("tls://tok@host:4443/x"), ("tls://host:4443/x".to_owned(), Auth::Token("tok".into())));
        assert_eq!(split_url("nats://host:4222"), ("nats://host:4222".to_owned(), Auth::None));
        assert_eq!(split_url("host:4222"), ("host:4222".to_owned(), Auth::None));
        assert_eq!(
            split_url("nats://a:4222, nats://bob:pw@b:4222,nats://c:4222"),
            (
                "nats://a:4222,nats://b:4222,nats://c:4222".to_owned(),
                Auth::UserPassword { user: "bob".into(), password: "pw".into() }
            )
        );
    }

    #[test]
    fn secrets_are_never_shown() {
        let shown = format!(
            "{:?} {:?}",
            Auth::UserPassword { user: "alice".into(), password: "hunter2".into() },
            Auth::Token("t0ken".into())
        );
        assert!(!shown.contains("hunter2") && !shown.contains("t0ken"), "{shown}");
        assert!(shown.contains("alice"));
    }
}
