//! `shipfn`: pack a Rust closure into one `.fnpkg` file, run it anywhere.

mod cmd;
mod exit;
mod out;

use clap::{Parser, Subcommand};

const AFTER_HELP: &str = "\
Exit codes:
   0  success
   1  internal error
   2  usage error (bad command line, unusable key file)
   3  I/O error (a file could not be read or written)
   4  bad package (corrupt, newer format, forbidden import, not a shipfn guest, no such maker,
      a thin package whose module is not in the store)
   5  bad arguments (wrong count, type or syntax of --arg)
   6  the function returned an error (Err)
   7  the guest panicked or trapped
   8  the time limit or fuel ran out
   9  the memory or result-size limit was hit
  10  the guest crate did not build (or no wasm32 toolchain was found)
  11  untrusted: --trust was given and the package is unsigned or signed by another key
  12  the NATS server could not be reached (refused, timed out, unknown host)
  13  the NATS server refused this client (credentials, permissions or TLS)

Quick start:
  shipfn new mine && shipfn pack mine --make scaled --arg 3 && shipfn run scaled.fnpkg --arg 4
  shipfn pack examples/closure --make closure_maker --arg 3 -o closure.fnpkg
  shipfn run closure.fnpkg --arg 4          # prints 10
  shipfn inspect closure.fnpkg
  shipfn keygen -o me && shipfn pack … --sign me && shipfn run f.fnpkg --trust me.pub
  shipfn pack … --thin -o f.fnpkg           # names its module; the receiver needs
  shipfn module add closure.wasm            #   the module in its store once
  shipfn map closure.fnpkg --input xs.jsonl -o ys.jsonl     # every core of this machine
  shipfn worker --nats nats://host:4222 &                   # on each machine, then:
  shipfn map closure.fnpkg --input xs.jsonl --nats nats://host:4222";

/// Ship a Rust closure to another machine: pack it with its captured state
/// into one .fnpkg file, run it anywhere in a WebAssembly sandbox.
#[derive(Parser)]
#[command(name = "shipfn", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Pack(cmd::pack::Args),
    Run(cmd::run::Args),
    Inspect(cmd::inspect::Args),
    Verify(cmd::verify::Args),
    Keygen(cmd::keygen::Args),
    Module(cmd::module::Args),
    Map(cmd::map::Args),
    Worker(cmd::worker::Args),
    New(cmd::new::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Pack(args) => cmd::pack::main(args),
        Command::Run(args) => cmd::run::main(args),
        Command::Inspect(args) => cmd::inspect::main(args),
        Command::Verify(args) => cmd::verify::main(args),
        Command::Keygen(args) => cmd::keygen::main(args),
        Command::Module(args) => cmd::module::main(args),
        Command::Map(args) => cmd::map::main(args),
        Command::Worker(args) => cmd::worker::main(args),
        Command::New(args) => cmd::new::main(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // The reader of standard output has gone: nothing left to say.
        Err(error) if out::is_broken_pipe(&error) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            out::note(&format!("error: {error:#}"));
            exit::code(&error)
        }
    }
}
