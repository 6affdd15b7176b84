//! Writes the seed inputs of the cargo-fuzz targets into `DIR/<target>/`:
//! the golden packages of at most 64 KiB, full and thin, for `package`; a few messages for
//! the NATS targets. `scripts/fuzz.sh` runs it before the first run.

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "fuzz/seeds".into()));
    let write = |target: &str, name: &str, bytes: &[u8]| -> std::io::Result<()> {
        std::fs::create_dir_all(dir.join(target))?;
        std::fs::write(dir.join(target).join(name), bytes)
    };
    // Thin packages, whose modules the fuzz host holds compiled, and the
    // smallest full one: large full packages make every run hash and
    // screen their module (the quick tests in crates/fuzz cover them).
    for (name, bytes) in shipfn_fuzz::golden().into_iter().chain(shipfn_fuzz::golden_thin()) {
        if bytes.len() <= 64 << 10 {
            write("package", &name, &bytes)?;
        }
    }
    let tasks: [&[u8]; 3] = [
        b"shipfn.tasks.0123456789abcdef\0Shipfn-Batch: 1\nShipfn-Package: package-00\0[1]\n[2]",
        b"shipfn.results.0123456789abcdef\0Shipfn-Batch: 0\nShipfn-Count: 1\nShipfn-Part: 0/1\nShipfn-Run: 1\0{\"ok\":1}",
        b"shipfn.tasks.x\0Shipfn-Batch: 7\0",
    ];
    for (i, task) in tasks.iter().enumerate() {
        write("nats_message", &format!("seed-{i}"), task)?;
    }
    for (i, result) in [&[0u8][..], &[0x13], &[2, 0, 0, 1, 5]].iter().enumerate() {
        write("nats_result", &format!("seed-{i}"), result)?;
    }
    for (i, edit) in [&[0u8, 0, 1][..], &[3, 0, 1, 2, 3, 4], &[1, 5]].iter().enumerate() {
        write("sealed", &format!("seed-{i}"), edit)?;
    }
    write("json_args", "seed-0", b"1\0\"s\"\0[1,null]")?;
    write(
        "json_args",
        "seed-structs",
        b"{\"sensor\":\"a\",\"tags\":[[1,2.5]],\"unit\":null}\0[\"Low\",{\"High\":3},{\"Mixed\":[1,true]},{\"Named\":{}}]\0{\"Cons\":[1,\"Nil\"]}",
    )?;
    println!("seeds written to {}", dir.display());
    Ok(())
}
