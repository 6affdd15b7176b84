//! Runs fuzz inputs through a target's logic outside libFuzzer, to
//! reproduce a finding under a debugger: `replay TARGET FILE...`, on a
//! thread with `REPLAY_STACK_KIB` KiB of stack (default 2048, a spawned
//! thread's default, on which a local map's calls run).

fn main() {
    let kib: usize = std::env::var("REPLAY_STACK_KIB").ok().and_then(|v| v.parse().ok()).unwrap_or(2048);
    std::thread::Builder::new().stack_size(kib << 10).spawn(replay).expect("a thread").join().expect("no panic");
}

fn replay() {
    let mut args = std::env::args().skip(1);
    let target = args.next().expect("usage: replay TARGET FILE...");
    for path in args {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        eprintln!("{target}: {path}");
        match target.as_str() {
            "package" => shipfn_fuzz::package(&data),
            "json_args" => shipfn_fuzz::json_args(&data),
            "nats_message" => shipfn_fuzz::nats_message(&data),
            "nats_result" => drop(shipfn_fuzz::nats_edited_result(&data)),
            other => panic!("no target {other} here (sealed needs the golden package; use cargo fuzz run)"),
        }
    }
}
