//! Directories and files only this user controls: the compiled-code cache
//! and the module store trust what they read from disk only if nobody else
//! could have written it.

use std::path::Path;

pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// What [`check_private`] checks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Private {
    /// A directory only its owner may write to.
    Directory,
    /// A regular file only its owner may read or write.
    File,
}

/// Refuses `path` unless it belongs to this process's user and others may
/// not change it (nor, for a file, read it).
#[cfg(unix)]
pub(crate) fn check_private(path: &Path, meta: &std::fs::Metadata, kind: Private) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let refuse = |why: String| {
        Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, format!("{}: {why}", path.display())))
    };
    let me = rustix::process::geteuid().as_raw();
    let (is_kind, what, open_bits, access) = match kind {
        Private::Directory => (meta.is_dir(), "a directory", 0o022, "change"),
        Private::File => (meta.is_file(), "a regular file", 0o077, "read or change"),
    };
    if !is_kind {
        return refuse(format!("not {what}"));
    }
    if meta.uid() != me {
        return refuse(format!("owned by user {}, not by this user ({me})", meta.uid()));
    }
    if meta.mode() & open_bits != 0 {
        return refuse(format!("mode {:o} lets other users {access} it", meta.mode() & 0o7777));
    }
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn check_private(_: &Path, _: &std::fs::Metadata, _: Private) -> std::io::Result<()> {
    Ok(())
}
