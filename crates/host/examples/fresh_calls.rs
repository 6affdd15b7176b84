//! Calls a package (the golden seed package by default) on fresh instances
//! in a loop: a target for profilers.
//!
//! `perf record target/release/examples/fresh_calls [CALLS] [PACKAGE]`; the
//! package's function must take and return one `i64`. `THREADS=2` splits the
//! calls over two threads.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let calls: u32 = args.next().map_or(Ok(200_000), |n| n.parse())?;
    let bytes = match args.next() {
        Some(path) => std::fs::read(path)?,
        None => include_bytes!("../../../tests/golden/seed-v1.fnpkg").to_vec(),
    };
    let host = shipfn_host::Host::new(shipfn_host::Limits::default())?;
    let function = host.load(&bytes)?;
    let expected: i64 = function.call(&(4i64,))?;
    let start = std::time::Instant::now();
    let threads: u32 = std::env::var("THREADS").map_or(Ok(1), |t| t.parse())?;
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..calls / threads {
                    let r: i64 = function.call(&(4i64,)).unwrap();
                    assert_eq!(r, expected);
                }
            });
        }
    });
    println!("{:.2} µs per fresh call", start.elapsed().as_secs_f64() * 1e6 / f64::from(calls));
    Ok(())
}
