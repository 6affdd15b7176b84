//! One module per subcommand, plus the options they share.

pub mod inspect;
pub mod keygen;
pub mod map;
pub mod module;
pub mod new;
pub mod pack;
pub mod run;
pub mod verify;
pub mod worker;

use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use crate::exit;
use shipfn_host::{Compiler, Function, Host, InstanceStrategy, Limits, PublicKey, SecretKey, VerifiedPackage};

/// Sandbox limits and the compiled-module cache, shared by every command
/// that runs guest code.
#[derive(clap::Args, Debug, Clone)]
pub struct HostArgs {
    /// Wall-clock time limit per call (e.g. 500ms, 10s, 2m).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Wall-clock time limit for compiling the package's module (e.g. 5s).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub compile_timeout: Duration,
    /// Memory limit of the guest's linear memory (e.g. 64MiB, 1GiB).
    #[arg(long, default_value = "1GiB", value_parser = parse_size)]
    pub max_memory: u64,
    /// Fuel per call (about one unit per wasm instruction); unlimited if not given.
    #[arg(long)]
    pub fuel: Option<u64>,
    /// Largest result the guest may return (e.g. 64MiB).
    #[arg(long, default_value = "64MiB", value_parser = parse_size)]
    pub max_result: u64,
    /// Where to keep compiled modules between runs [default: $SHIPFN_CACHE_DIR,
    /// else shipfn in the user's cache directory: $XDG_CACHE_HOME or ~/.cache
    /// on Linux, ~/Library/Caches on macOS].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<std::path::PathBuf>,
    /// Compile every module afresh and keep nothing on disk.
    #[arg(long, conflicts_with = "cache_dir")]
    pub no_cache: bool,
    /// Which compiler turns the module into native code: `winch` compiles
    /// several times faster (best for one run), `cranelift` makes faster code
    /// (best for long-running functions). Compiled code is cached per compiler
    /// [default: winch on x86-64, else cranelift].
    #[arg(long, value_enum)]
    pub compiler: Option<CompilerArg>,
}

/// `--compiler` values.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum CompilerArg {
    Winch,
    Cranelift,
}

impl HostArgs {
    /// A host for a process that makes a call or two: no pool to reserve.
    pub fn host(&self) -> anyhow::Result<Host> {
        self.host_with(InstanceStrategy::OnDemand)
    }

    /// A host for many calls, from several threads.
    pub fn pooled_host(&self) -> anyhow::Result<Host> {
        self.host_with(InstanceStrategy::Pooling)
    }

    /// A pooled host that keeps at most `module_bytes` of compiled modules
    /// in memory, for a long-running process.
    pub fn pooled_host_keeping(&self, module_bytes: usize) -> anyhow::Result<Host> {
        self.build(InstanceStrategy::Pooling, |b| b.max_module_bytes(module_bytes))
    }

    fn host_with(&self, instances: InstanceStrategy) -> anyhow::Result<Host> {
        self.build(instances, |b| b)
    }

    fn build(
        &self,
        instances: InstanceStrategy,
        adjust: impl FnOnce(shipfn_host::HostBuilder) -> shipfn_host::HostBuilder,
    ) -> anyhow::Result<Host> {
        let limits = Limits::default()
            .timeout(self.timeout)
            .max_memory(usize::try_from(self.max_memory).unwrap_or(usize::MAX))
            .fuel(self.fuel)
            .max_result(usize::try_from(self.max_result).unwrap_or(usize::MAX))
            .compile_timeout(self.compile_timeout);
        let compiler = match self.compiler {
            None => Compiler::quick_start(),
            Some(CompilerArg::Winch) => Compiler::Winch,
            Some(CompilerArg::Cranelift) => Compiler::Cranelift,
        };
        let builder = adjust(Host::builder().limits(limits).compiler(compiler).instances(instances));
        if self.no_cache {
            return Ok(builder.build()?);
        }
        // The cache is a convenience: if it cannot be used (or is not safe to
        // use), say so and go on without it.
        let Some(dir) = self.cache_dir.clone().or_else(shipfn_host::default_cache_dir) else {
            return Ok(builder.build()?);
        };
        match builder.clone().cache_dir(&dir).build() {
            Ok(host) => Ok(host),
            Err(e) => {
                crate::out::note(&format!("warning: not caching compiled modules: {}", e.report()));
                Ok(builder.build()?)
            }
        }
    }
}

impl HostArgs {
    /// The module store's directory, unless caching is off.
    pub fn module_dir(&self) -> Option<std::path::PathBuf> {
        if self.no_cache {
            return None;
        }
        Some(self.cache_dir.clone().or_else(shipfn_host::default_cache_dir)?.join("modules"))
    }
}

/// The longest time limit accepted: past it a limit is no limit.
const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

fn parse_duration(text: &str) -> Result<Duration, String> {
    let too_long = || format!("must be at most {}", humantime::format_duration(MAX_DURATION));
    let d = match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs >= 0.0 => Duration::try_from_secs_f64(secs).map_err(|_| too_long())?,
        Ok(_) => return Err("must be a positive duration".into()),
        Err(_) => humantime::parse_duration(text).map_err(|e| format!("{e} (try 500ms, 10s or 2m)"))?,
    };
    match d {
        d if d.is_zero() => Err("must be more than zero".into()),
        d if d > MAX_DURATION => Err(too_long()),
        d => Ok(d),
    }
}

fn parse_size(text: &str) -> Result<u64, String> {
    text.parse::<bytesize::ByteSize>().map(|b| b.as_u64()).map_err(|e| format!("{e} (try 64MiB or 1GiB)"))
}

/// Reads a file, naming it in the error.
pub fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// `1.2 KiB`-style sizes for people.
pub fn human_size(bytes: usize) -> String {
    bytesize::ByteSize(bytes as u64).display().iec().to_string()
}

/// A package to load, the keys to trust and the sandbox to load it in:
/// what `run` and `verify` share.
#[derive(clap::Args, Debug)]
pub struct LoadArgs {
    /// The .fnpkg file.
    #[arg(value_name = "PACKAGE")]
    pub package: std::path::PathBuf,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub host: HostArgs,
}

impl LoadArgs {
    /// Reads the package and loads it, enforcing the trusted keys if any.
    pub fn load(&self) -> anyhow::Result<Function> {
        let bytes = read(&self.package)?;
        let host = self.host.host()?;
        self.trust.load(&host, bytes)
    }
}

/// `--trust KEY.pub`, repeatable: run only packages signed by one of these keys.
#[derive(clap::Args, Debug, Clone)]
pub struct TrustArgs {
    /// Accept only packages signed by this public key (a .pub file from
    /// `shipfn keygen`); repeat to trust several. Without it, unsigned
    /// packages are accepted too.
    #[arg(long = "trust", value_name = "KEY.pub")]
    pub keys: Vec<std::path::PathBuf>,
}

impl TrustArgs {
    /// The trusted keys, read from their files.
    pub fn keys(&self) -> anyhow::Result<Vec<PublicKey>> {
        read_public_keys(&self.keys)
    }

    /// Loads the package in `bytes` with `host`, enforcing the trusted keys
    /// if any were given. The state stays in `bytes`' buffer.
    pub fn load(&self, host: &Host, bytes: Vec<u8>) -> anyhow::Result<Function> {
        let keys = self.keys()?;
        let package = VerifiedPackage::from_vec(bytes)?;
        if keys.is_empty() {
            return Ok(host.load_package(package)?);
        }
        Ok(host.load_trusted_package(package, &keys)?)
    }
}

/// How to authenticate to a NATS server and use TLS (the nats CLI's flags
/// and environment variables), and the namespace to work in. Secrets given
/// in the environment are not shown in `--help`.
#[derive(clap::Args, Debug, Clone)]
pub struct NatsAuthArgs {
    /// With a NATS server: the namespace of the streams, subjects, consumer
    /// and bucket (a-z, 0-9, - and _): maps and workers meet only in the
    /// same one, so deployments or teams can share a server.
    #[arg(long, value_name = "NAME", env = "SHIPFN_NAMESPACE", default_value = "shipfn", value_parser = parse_namespace)]
    namespace: shipfn_cluster::Namespace,
    /// With a NATS server: the prefix of this client's reply subjects
    /// (default `_INBOX`), for permissions that give each user its own.
    #[arg(long, value_name = "PREFIX", env = "NATS_INBOX_PREFIX")]
    inbox_prefix: Option<String>,
    /// With a JetStream cluster: how many servers keep each stream and the
    /// bucket (1 to 5), set on the ones created and brought to it on
    /// existing ones. Without it: 1 for new ones, existing ones unchanged.
    #[arg(long, value_name = "N", env = "SHIPFN_REPLICAS", value_parser = clap::value_parser!(u8).range(1..=5))]
    replicas: Option<u8>,
    /// With a NATS server: a credentials file (user JWT and NKey seed).
    #[arg(long, value_name = "FILE", env = "NATS_CREDS", group = "nats_auth")]
    creds: Option<std::path::PathBuf>,
    /// With a NATS server: a file holding a user NKey seed.
    #[arg(long, value_name = "FILE", env = "NATS_NKEY", group = "nats_auth")]
    nkey: Option<std::path::PathBuf>,
    /// With a NATS server: the user (with --password).
    #[arg(long, value_name = "USER", env = "NATS_USER", group = "nats_auth")]
    user: Option<String>,
    /// With a NATS server: the user's password.
    #[arg(long, value_name = "PASSWORD", env = "NATS_PASSWORD", hide_env_values = true, requires = "user")]
    password: Option<String>,
    /// With a NATS server: an authentication token.
    #[arg(long, value_name = "TOKEN", env = "NATS_TOKEN", hide_env_values = true, group = "nats_auth")]
    token: Option<String>,
    /// With a NATS server: a CA certificate (PEM) to trust for its TLS.
    #[arg(long, value_name = "FILE", env = "NATS_CA")]
    tlsca: Option<std::path::PathBuf>,
    /// With a NATS server: a client certificate (PEM) for mutual TLS, with --tlskey.
    #[arg(long, value_name = "FILE", env = "NATS_CERT", requires = "tlskey")]
    tlscert: Option<std::path::PathBuf>,
    /// With a NATS server: the client certificate's key (PEM).
    #[arg(long, value_name = "FILE", env = "NATS_KEY", requires = "tlscert")]
    tlskey: Option<std::path::PathBuf>,
    /// With a NATS server: start TLS before the server's greeting.
    #[arg(long)]
    tlsfirst: bool,
}

impl NatsAuthArgs {
    /// `config` with these credentials and TLS settings. Credentials given
    /// here replace any in the URL.
    pub fn apply(&self, mut config: shipfn_cluster::NatsConfig) -> shipfn_cluster::NatsConfig {
        use shipfn_cluster::{Auth, Tls};
        let auth = if let Some(path) = &self.creds {
            Some(Auth::CredsFile(path.clone()))
        } else if let Some(path) = &self.nkey {
            Some(Auth::NKeyFile(path.clone()))
        } else if let Some(user) = &self.user {
            Some(Auth::UserPassword { user: user.clone(), password: self.password.clone().unwrap_or_default() })
        } else {
            self.token.clone().map(Auth::Token)
        };
        if let Some(auth) = auth {
            config = config.auth(auth);
        }
        let mut tls = Tls::default();
        tls.ca = self.tlsca.clone();
        tls.client = self.tlscert.clone().zip(self.tlskey.clone());
        tls.first = self.tlsfirst;
        config = config.tls(tls).namespace(self.namespace.clone());
        if let Some(replicas) = self.replicas {
            config = config.replicas(replicas.into());
        }
        match &self.inbox_prefix {
            Some(prefix) => config.inbox_prefix(prefix.clone()),
            None => config,
        }
    }
}

fn parse_namespace(name: &str) -> Result<shipfn_cluster::Namespace, String> {
    shipfn_cluster::Namespace::new(name)
}

/// Reads public key files.
pub fn read_public_keys(paths: &[std::path::PathBuf]) -> anyhow::Result<Vec<PublicKey>> {
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            PublicKey::from_file_text(&text).with_context(|| format!("{} is not a public key", path.display()))
        })
        .collect()
}

/// Reads a secret key file.
pub fn read_secret_key(path: &Path) -> anyhow::Result<SecretKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    SecretKey::from_file_text(&text).with_context(|| format!("{} is not a secret key", path.display()))
}

/// Writes through a new temporary file in the same directory, given `mode`,
/// and renames it into place: a failure never leaves a half-written file, and
/// the file never keeps an older file's mode or owner.
pub fn write_atomically(
    path: &Path,
    mode: u32,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let context = || format!("cannot write {}", path.display());
    // The temporary file starts with mode 0600. Its name is ours, not the
    // user's: errors name `path`, with the system's reason.
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(without_temp_path).with_context(context)?;
    write(file.as_file_mut()).with_context(context)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file().set_permissions(std::fs::Permissions::from_mode(mode)).with_context(context)?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    file.as_file().sync_all().with_context(context)?;
    file.persist(path).map_err(|e| without_temp_path(e.error)).with_context(context)?;
    Ok(())
}

/// The system's error without the temporary file's path, which tempfile
/// appends to it (` at path "…"`).
fn without_temp_path(error: std::io::Error) -> std::io::Error {
    let text = error.to_string();
    match text.split_once(" at path \"") {
        Some((reason, _)) => std::io::Error::new(error.kind(), reason.to_owned()),
        None => error,
    }
}

/// The JSON arguments of a call or a maker: each `--arg` as given, except
/// `@FILE` (the file's text) and `-` (standard input, once); or, with
/// `--args FILE` (`-` for standard input), the elements of the JSON array in
/// that file. An argument too long for the command line goes in a file.
pub fn json_args(args: &[String], args_file: Option<&Path>) -> anyhow::Result<Vec<String>> {
    use anyhow::bail;
    let read_text = |path: &Path| -> anyhow::Result<String> {
        if path == Path::new("-") {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).context("cannot read standard input")?;
            Ok(text)
        } else {
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
        }
    };
    if let Some(path) = args_file {
        let text = read_text(path)?;
        let values: Vec<serde_json::Value> = serde_json::from_str(&text)
            .map_err(|e| exit::Usage(format!("--args {}: not a JSON array of the arguments: {e}", path.display())))?;
        return Ok(values.iter().map(serde_json::Value::to_string).collect());
    }
    if args.iter().filter(|a| *a == "-").count() > 1 {
        bail!(exit::Usage("only one --arg can be read from standard input (`-`)".into()));
    }
    args.iter()
        .map(|arg| match arg.strip_prefix('@') {
            Some(file) => {
                let text = read_text(Path::new(file))?;
                Ok(text.strip_suffix('\n').map(str::to_owned).unwrap_or(text))
            }
            None if arg == "-" => Ok(read_text(Path::new("-"))?.trim_end_matches('\n').to_owned()),
            None => Ok(arg.clone()),
        })
        .collect()
}
