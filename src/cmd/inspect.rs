//! `shipfn inspect`: show what a package holds, like pickletools for a pickle.

use std::path::PathBuf;

use shipfn_host::{Error, Form, StateJson, VerifiedPackage, short_type_name};

use super::{HostArgs, human_size, pack::made_by, read};

/// Show what a package holds: format, hashes, sizes, signature, and the
/// captured state and globals as JSON. The state is rendered by the
/// package's own code, inside the sandbox (for a guest built without JSON,
/// by shipfn from the state's std types); nothing else runs. For a thin
/// package whose module is not in this machine's store, everything but the
/// captured values is shown.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The .fnpkg file.
    #[arg(value_name = "PACKAGE")]
    package: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    host: HostArgs,
}

pub fn main(args: Args) -> anyhow::Result<()> {
    let bytes = read(&args.package)?;
    let host = args.host.host()?;
    let file = File { size: bytes.len(), sha256: hex::encode(shipfn_format::sha256(&bytes)) };
    let (function, package);
    let (package, state) = match host.load(&bytes) {
        Ok(loaded) => {
            function = loaded;
            (function.package(), Some(function.describe()))
        }
        Err(missing @ Error::ModuleMissing { .. }) => {
            crate::out::note(&format!("note: captured values not shown: {}", missing.report()));
            package = VerifiedPackage::from_bytes(&bytes)?;
            (&package, None)
        }
        Err(e) => return Err(e.into()),
    };
    let state_json = state.as_ref().and_then(|s| s.as_ref().ok());
    if args.json {
        // Pretty JSON has line breaks only between tokens, never in strings.
        for line in serde_json::to_string_pretty(&json(package, &file, state_json))?.lines() {
            crate::out::json_line(line)?;
        }
    } else {
        for line in text(package, &args.package, &file, state_json) {
            crate::out::line(&line)?;
        }
    }
    match state {
        Some(Err(e)) => Err(anyhow::Error::new(e).context("cannot render the captured state")),
        _ => Ok(()),
    }
}

/// The file as a whole.
struct File {
    size: usize,
    sha256: String,
}

fn parse(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.into()))
}

fn fields(fields: &[shipfn_host::Field]) -> serde_json::Value {
    fields.iter().map(|f| serde_json::json!({ "name": f.name, "type": shown_type(&f.ty) })).collect()
}

/// A field's type as people read it. The SDK captures a function passed by
/// name, or a closure without captures, as its code: `Stateless<helper>`
/// shows as `fn helper`.
fn shown_type(ty: &str) -> String {
    let short = short_type_name(ty);
    match short.strip_prefix("Stateless<").and_then(|t| t.strip_suffix('>')) {
        Some(code) if code.contains("{{closure}}") => "closure without captures".to_owned(),
        Some(code) => format!("fn {code}"),
        None => short,
    }
}

fn json(package: &VerifiedPackage, file: &File, state: Option<&StateJson>) -> serde_json::Value {
    let m = package.manifest();
    let (carried, withheld) = shipfn_host::carried_globals(package).unwrap_or_default();
    let sig = &m.signature;
    serde_json::json!({
        "format_version": format_version(package),
        "created_by": m.created_by,
        "abi_version": m.abi_version,
        "made_by": made_by(m),
        "signature": m.signature_text(),
        "params": fields(&sig.params),
        "result": short_type_name(&sig.result),
        "fallible": sig.ok.as_ref().zip(sig.error.as_ref()).map(|(ok, error)| serde_json::json!({ "ok": short_type_name(ok), "error": short_type_name(error) })),
        "size": file.size,
        "sha256": file.sha256,
        "signed_by": package.signer().map(|k| k.to_string()),
        "module": { "size": package.module().map(<[u8]>::len), "carried": package.module().is_some(), "sha256": hex::encode(m.module_sha256) },
        "state": { "size": package.state().len(), "sha256": hex::encode(m.state_sha256) },
        "captures": fields(&sig.captures),
        "globals": fields(&sig.globals),
        "shipped_globals": carried.iter().map(|g| serde_json::json!({
            "type": short_type_name(&g.ty),
            "declared": g.declared,
            "read_by": if g.by_body { "body" } else { "helper" },
            "size": g.size,
        })).collect::<Vec<_>>(),
        "withheld_globals": withheld,
        "types": m.schema.as_ref().map(shipfn_host::type_declarations),
        "schema": m.schema,
        "captured_values": state.map(|s| parse(&s.captures)),
        "global_values": state.map(|s| parse(&s.globals)),
    })
}

/// The globals a package ships, each with why, and how many it withholds,
/// as lines of the text report (`inspect` and `verify`).
pub(crate) fn carried_lines(package: &VerifiedPackage) -> Vec<String> {
    let (carried, withheld) = shipfn_host::carried_globals(package).unwrap_or_default();
    let mut lines = Vec::new();
    for (i, global) in carried.iter().enumerate() {
        let why = if global.by_body { "the body's code reads it" } else { "code the closure calls reads it" };
        lines.push(format!(
            "  {}Global<{}> declared at {} ({why}), {}",
            if i == 0 { "ships       " } else { "            " },
            short_type_name(&global.ty),
            global.declared,
            human_size(global.size)
        ));
    }
    if withheld > 0 {
        lines.push(format!("  withholds   {withheld} global(s) the sender set that no code of the closure reads"));
    }
    lines
}

/// The text report's lines; the caller escapes what the package controls.
fn text(package: &VerifiedPackage, path: &std::path::Path, file: &File, state: Option<&StateJson>) -> Vec<String> {
    let mut lines = Vec::new();
    let m = package.manifest();
    let sig = &m.signature;
    let form = match package.form() {
        Form::Thin => " (thin: names its module, does not carry it)",
        _ => "",
    };
    lines.push(format!("{}: shipfn package, format {}{form}", path.display(), format_version(package)));
    lines.push(format!("  created by  {} (guest ABI {})", m.created_by, m.abi_version));
    lines.push(format!("  made by     {}", made_by(m)));
    lines.push(format!("  signature   {}", m.signature_text()));
    if let (Some(ok), Some(error)) = (&sig.ok, &sig.error) {
        let (ok, error) = (short_type_name(ok), short_type_name(error));
        lines.push(format!("  fallible    Ok({ok}) is the result, Err({error}) is reported as an error"));
    }
    match package.signer() {
        Some(key) => lines.push(format!("  signed by   {key}")),
        None => lines.push("  signed by   (unsigned)".into()),
    }
    // Hash prefixes keep lines short; `--json` has them whole.
    let short = |hex: &str| format!("{}…", &hex[..16]);
    lines.push(format!("  package     {:>11}  sha256 {}", human_size(file.size), short(&file.sha256)));
    lines.push(format!(
        "  module      {:>11}  sha256 {}",
        package.module().map_or_else(|| "not carried".into(), |module| human_size(module.len())),
        short(&hex::encode(m.module_sha256))
    ));
    lines.push(format!(
        "  state       {:>11}  sha256 {}",
        human_size(package.state().len()),
        short(&hex::encode(m.state_sha256))
    ));
    let list = |fields: &[shipfn_host::Field]| {
        if fields.is_empty() {
            "(none)".to_string()
        } else {
            fields.iter().map(|f| format!("{}: {}", f.name, shown_type(&f.ty))).collect::<Vec<_>>().join(", ")
        }
    };
    lines.push(format!("  captures    {}", list(&sig.captures)));
    lines.push(format!("  globals     {}", list(&sig.globals)));
    lines.extend(carried_lines(package));
    if let Some(schema) = &m.schema {
        for (i, declaration) in shipfn_host::type_declarations(schema).into_iter().enumerate() {
            lines.push(format!("  {}{declaration}", if i == 0 { "types       " } else { "            " }));
        }
    }
    if let Some(state) = state {
        lines.push(format!("  captured    {}", state.captures));
        lines.push(format!("  snapshot    {}", state.globals));
    }
    lines
}

fn format_version(package: &VerifiedPackage) -> u32 {
    shipfn_format::Header::version_of(package.form() == Form::Thin, package.manifest().schema.is_some())
}
