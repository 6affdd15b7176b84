//! Calls the golden seed package on fresh instances in a loop: a target for
//! profilers (`perf record target/release/examples/fresh_calls`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let host = shipfn_host::Host::new(shipfn_host::Limits::default())?;
    let function = host.load(include_bytes!("../../../tests/golden/seed-v1.fnpkg"))?;
    let calls: u32 = std::env::args().nth(1).map_or(Ok(200_000), |n| n.parse())?;
    let start = std::time::Instant::now();
    for _ in 0..calls {
        let r: i64 = function.call(&(4i64,))?;
        assert_eq!(r, 10);
    }
    println!("{:.2} µs per fresh call", start.elapsed().as_secs_f64() * 1e6 / f64::from(calls));
    Ok(())
}
