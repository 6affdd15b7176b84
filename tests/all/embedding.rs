//! The host crate as a service embeds it: one host, shared functions,
//! concurrent calls, reused instances.

use crate::harness::*;
use shipfn_host::{Function, Host, Limits};

fn load(host: &Host, maker: &str, args: &[&str]) -> Function {
    let wasm = std::fs::read(suite()).unwrap();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    host.load(&host.make(&wasm, maker, &args).unwrap().to_bytes()).unwrap()
}

#[test]
fn host_and_functions_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Host>();
    assert_send_sync::<Function>();
    fn assert_send<T: Send>() {}
    assert_send::<shipfn_host::Warm>();
}

#[test]
fn many_threads_call_one_function_concurrently() {
    let host = Host::new(Limits::default()).unwrap();
    let linear = load(&host, "linear", &["3"]);
    let greeter = load(&host, "greeter", &["hi"]);
    std::thread::scope(|s| {
        for t in 0..4i64 {
            let (linear, greeter) = (&linear, &greeter);
            s.spawn(move || {
                for i in 0..200i64 {
                    assert_eq!(linear.call::<(i64, i64, i64), i64>(&(i, t, 1)).unwrap(), 3 * i + t - 1);
                    if i % 50 == 0 {
                        assert_eq!(greeter.call_json(&[format!("\"t{t}\"")]).unwrap(), format!("\"hi, t{t}!\""));
                    }
                }
            });
        }
    });
}

#[test]
fn fresh_instances_share_nothing_though_stores_are_reused() {
    let host = Host::new(Limits::default()).unwrap();
    let tally = load(&host, "tally", &[]);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..100 {
                    assert_eq!(tally.call::<(), u64>(&()).unwrap(), 1, "a fresh instance saw an earlier call");
                }
            });
        }
    });
    let mut warm = tally.warm();
    let counts: Vec<u64> = (0..3).map(|_| warm.call(&()).unwrap()).collect();
    assert_eq!(counts, [1, 2, 3], "a warm instance keeps its statics");
    assert_eq!(tally.call_json(&[]).unwrap(), "1");
}

#[test]
fn small_allocations_use_the_initial_heap_and_large_ones_grow_memory() {
    let host = Host::new(Limits::default()).unwrap();
    let heap_user = load(&host, "heap_user", &[]);
    for len in [1, 1000, 40 << 10] {
        let (before, after) = heap_user.call::<(usize,), (usize, usize)>(&(len,)).unwrap();
        assert_eq!(before, after, "allocating {len} bytes grew memory from {before} pages");
    }
    let (before, after) = heap_user.call::<(usize,), (usize, usize)>(&(1 << 20,)).unwrap();
    assert!(after >= before + 16, "1 MiB more needs at least 16 more pages: {before} -> {after}");
    // On a warm instance memory grows for a large allocation, never
    // shrinks, and the freed space serves the next allocations.
    let mut warm = heap_user.warm();
    let (start, grown) = warm.call::<(usize,), (usize, usize)>(&(3 << 20,)).unwrap();
    assert!(grown >= start + 48, "3 MiB more needs at least 48 more pages: {start} -> {grown}");
    for len in [10, 50 << 10, 2 << 20] {
        let (before, after) = warm.call::<(usize,), (usize, usize)>(&(len,)).unwrap();
        assert_eq!((before, after), (grown, grown), "allocating {len} bytes after 3 MiB was freed");
    }
}

#[test]
fn finished_instances_never_make_the_pool_busy() {
    let host = Host::new(Limits::default().max_instances(16)).unwrap();
    let tally = load(&host, "tally", &[]);
    // After each number of fresh calls, finished instances wait in spare
    // stores (or not); every slot can still be taken by a live instance,
    // because waiting ones give theirs back.
    for calls in 1..=4 {
        assert_eq!(tally.call::<(), u64>(&()).unwrap(), 1);
        let mut warms: Vec<_> = (0..16).map(|_| tally.warm()).collect();
        for (i, warm) in warms.iter_mut().enumerate() {
            let count = warm.call::<(), u64>(&()).unwrap_or_else(|e| panic!("after {calls} calls, instance {i}: {e}"));
            assert_eq!(count, 1);
        }
        let err = tally.warm().call::<(), u64>(&()).unwrap_err();
        assert!(matches!(err, shipfn_host::Error::Busy(_)), "a 17th instance in a pool of 16: {err}");
    }
    assert_eq!(tally.call::<(), u64>(&()).unwrap(), 1);
}

#[test]
fn a_warm_instance_serves_many_calls_and_recovers_from_a_trap() {
    let host = Host::new(Limits::default()).unwrap();
    let greeter = load(&host, "greeter", &["hey"]);
    let mut warm = greeter.warm();
    for i in 0..500 {
        assert_eq!(warm.call::<(String,), String>(&(format!("n{i}"),)).unwrap(), format!("hey, n{i}!"));
    }
    // Inputs larger than the scratch buffer go through guest buffers.
    let long = "x".repeat(200_000);
    assert_eq!(warm.call::<(String,), String>(&(long.clone(),)).unwrap(), format!("hey, {long}!"));
    assert_eq!(warm.call_json(&["again".into()]).unwrap(), "\"hey, again!\"");

    let panicky = load(&host, "panicky", &[]);
    let mut warm = panicky.warm();
    assert_eq!(warm.call::<(i64,), i64>(&(-1,)).unwrap(), -1);
    let err = warm.call::<(i64,), i64>(&(5,)).unwrap_err();
    assert!(err.to_string().contains("x was 5"), "{err}");
    assert_eq!(warm.call::<(i64,), i64>(&(-2,)).unwrap(), -2, "a fresh instance replaced the trapped one");
}

#[test]
fn large_state_and_inputs_use_guest_buffers() {
    let host = Host::new(Limits::default()).unwrap();
    let big = load(&host, "big_user", &["300000"]);
    assert_eq!(big.call::<(), usize>(&()).unwrap(), 300_000);
    assert_eq!(big.warm().call::<(), usize>(&()).unwrap(), 300_000);
}

#[test]
fn a_large_maker_state_is_moved_out_in_chunks_and_hashed_on_the_way() {
    use shipfn_host::InstanceStrategy;
    // 9 MiB: two whole 4 MiB chunks, whose guest pages are given back, and a partial one.
    for instances in [InstanceStrategy::Pooling, InstanceStrategy::OnDemand] {
        let host = Host::builder().instances(instances).build().unwrap();
        // Twice, so that a pooled slot is reused after its pages were given back.
        for _ in 0..2 {
            let big = load(&host, "big_state", &["9"]); // loading checks the state's SHA-256
            assert_eq!(big.package().state().len() >> 20, 9, "{instances:?}");
            assert_eq!(big.call::<(), (usize, f64)>(&()).unwrap(), (9 << 20, 15.0), "{instances:?}");
            let greeter = load(&host, "greeter", &["hi"]);
            assert_eq!(greeter.call_json(&["\"you\"".into()]).unwrap(), "\"hi, you!\"", "{instances:?}");
        }
    }
}

#[test]
fn every_compiler_and_instance_strategy_enforces_the_limits() {
    use shipfn_host::{Compiler, ErrorKind, InstanceStrategy};
    use std::time::Duration;
    // Only `spin` gets the short time limit: on a loaded machine the others
    // must reach their own limit before any clock runs out.
    let limits = Limits::default().timeout(Duration::from_secs(20)).max_memory(64 << 20);
    for compiler in [Compiler::Cranelift, Compiler::Winch] {
        for instances in [InstanceStrategy::Pooling, InstanceStrategy::OnDemand] {
            let setup = format!("{compiler:?}, {instances:?}");
            let host = Host::builder().limits(limits.clone()).compiler(compiler).instances(instances).build().unwrap();
            let fib = load(&host, "fib_from", &["0"]);
            assert_eq!(fib.call::<(u64,), u64>(&(20,)).unwrap(), 6765, "{setup}");
            let failures = [
                ("spin", &[][..], ErrorKind::Timeout, "time limit"),
                ("memory_bomb", &[], ErrorKind::ResourceLimit, "past the limit of 67108864 bytes"),
                ("deep", &["100000000"], ErrorKind::Trap, "stack overflow"),
                ("stack_user", &["4000"], ErrorKind::Trap, "the shadow stack in the guest's memory is exhausted"),
                ("panicky", &["5"], ErrorKind::Trap, "x was 5"),
            ];
            for (maker, args, kind, needle) in failures {
                let mut function = load(&host, maker, &[]);
                if maker == "spin" {
                    function = function.with_limits(limits.clone().timeout(Duration::from_millis(300))).unwrap();
                }
                let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
                let err = function.call_json(&args).unwrap_err();
                assert_eq!(err.kind(), kind, "{maker} under {setup}: {err}");
                assert!(err.to_string().contains(needle), "{maker} under {setup}: {err}");
            }
        }
    }
}

#[test]
fn typed_calls_with_the_wrong_rust_types_are_refused() {
    let host = Host::new(Limits::default()).unwrap();
    let seed = host.load(include_bytes!("../golden/seed-v1.fnpkg")).unwrap();
    let err = seed.call::<(u64,), u64>(&(4,)).unwrap_err();
    assert_eq!(err.kind(), shipfn_host::ErrorKind::BadArgs);
    assert_eq!(err.to_string(), "called with types (u64) -> u64, but the function takes (i64) -> i64");
    let err = seed.call::<(String,), i64>(&("4".into(),)).unwrap_err();
    assert!(err.to_string().contains("called with types (String) -> i64"), "{err}");
    assert!(seed.call::<(i64, i64), i64>(&(4, 4)).is_err());
    assert_eq!(seed.call::<(i64,), i64>(&(4,)).unwrap(), 10);
    // The first good pair is remembered; others are still checked.
    assert!(seed.call::<(u64,), u64>(&(4,)).is_err());
    let mut warm = seed.warm();
    assert!(warm.call::<(i32,), i64>(&(4,)).is_err());
    assert_eq!(warm.call::<(i64,), i64>(&(4,)).unwrap(), 10);

    let greeter = load(&host, "greeter", &["hi"]);
    assert_eq!(greeter.call::<(&str,), String>(&("you",)).unwrap(), "hi, you!");
    let fallible = load(&host, "checked_div", &["7"]);
    assert_eq!(fallible.call::<(i64,), i64>(&(2,)).unwrap(), 3);
    assert!(fallible.call::<(i64,), Result<i64, String>>(&(2,)).is_err());
}

#[test]
fn a_function_can_run_under_tighter_limits_than_its_host() {
    use shipfn_host::ErrorKind;
    use std::time::{Duration, Instant};
    let host = Host::new(Limits::default().timeout(Duration::from_secs(5)).max_memory(256 << 20)).unwrap();
    let spin = load(&host, "spin", &[]);
    let strict = spin.clone().with_limits(host.limits().clone().timeout(Duration::from_millis(100))).unwrap();
    let started = Instant::now();
    let err = strict.call_json(&[]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.to_string().contains("100ms"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(4), "the function's limit applied, not the host's");
    // A warm instance of the strict function keeps its limits.
    assert_eq!(strict.warm().call_json(&[]).unwrap_err().kind(), ErrorKind::Timeout);

    let bomb = load(&host, "memory_bomb", &[]).with_limits(host.limits().clone().max_memory(32 << 20)).unwrap();
    let err = bomb.call_json(&[]).unwrap_err();
    assert!(err.to_string().contains("past the limit of 33554432 bytes"), "{err}");

    // Limits the host's engine and pool cannot enforce are refused.
    for limits in [
        host.limits().clone().max_memory(1 << 30),
        host.limits().clone().fuel(Some(1000)),
        host.limits().clone().max_stack(8 << 20),
    ] {
        let err = spin.clone().with_limits(limits).err().expect("refused");
        assert_eq!(err.kind(), ErrorKind::BadArgs, "{err}");
        assert!(err.to_string().starts_with("invalid limits: "), "{err}");
    }
}

#[test]
fn max_instances_bounds_on_demand_instances_too() {
    use shipfn_host::{ErrorKind, InstanceStrategy};
    let limits = Limits::default().max_instances(2);
    let host = Host::builder().limits(limits).instances(InstanceStrategy::OnDemand).build().unwrap();
    let fib = load(&host, "fib_from", &["0"]);
    let (mut first, mut second) = (fib.warm(), fib.warm());
    assert_eq!(first.call::<(u64,), u64>(&(10,)).unwrap(), 55);
    assert_eq!(second.call::<(u64,), u64>(&(11,)).unwrap(), 89);
    let err = fib.call::<(u64,), u64>(&(12,)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ResourceLimit, "{err}");
    assert!(err.to_string().contains("2 instances are alive"), "{err}");
    drop(first);
    assert_eq!(fib.call::<(u64,), u64>(&(12,)).unwrap(), 144, "a slot comes back when an instance ends");
}

#[test]
fn a_closure_validated_once_loads_without_an_instance_and_its_state_is_checked_by_the_call() {
    use shipfn_host::ErrorKind;
    let host = Host::new(Limits::default()).unwrap();
    let wasm = std::fs::read(suite()).unwrap();
    let good = host.make(&wasm, "compose", &["3".into()]).unwrap();
    assert_eq!(host.load(&good.to_bytes()).unwrap().call::<(i64,), i64>(&(4,)).unwrap(), 13);
    // Same closure, other captured values: no throwaway instance at load.
    let other = host.make(&wasm, "compose", &["5".into()]).unwrap();
    assert_eq!(host.load(&other.to_bytes()).unwrap().call::<(i64,), i64>(&(4,)).unwrap(), 21);
    // Typed calls checked for one package of the closure are known for the next; other types are not.
    let err = host.load(&other.to_bytes()).unwrap().call::<(u64,), u64>(&(4,)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadArgs, "{err}");

    // A state forged for this known closure loads, and its first call refuses it.
    let m = &good.manifest;
    let forge = |state: Vec<u8>| {
        shipfn_format::Package::new(m.source.clone(), m.closure(), good.module.clone(), state).to_bytes()
    };
    let mut longer = good.state.clone();
    longer.push(0);
    for (state, needle) in [(longer, "1 bytes are left over"), (vec![0xff; 3], "captured state does not decode")] {
        let function = host.load(&forge(state)).unwrap();
        let err = function.call::<(i64,), i64>(&(4,)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadPackage, "{err}");
        assert!(err.to_string().contains("the package does not fit its module"), "{err}");
        assert!(err.to_string().contains(needle), "{err}");
        assert_eq!(function.check_state().unwrap_err().kind(), ErrorKind::BadPackage);
    }
    // Other indices are another closure: validated at load, and refused there.
    let swapped = closure_at(m.trampoline, m.entry, m.body, m.signature.clone());
    let forged = shipfn_format::Package::new(m.source.clone(), swapped, good.module.clone(), good.state.clone());
    assert_eq!(host.load(&forged.to_bytes()).err().unwrap().kind(), ErrorKind::BadPackage);
}

#[test]
fn the_module_cache_keeps_the_most_recently_used_modules_within_its_bound() {
    let host = Host::builder().max_modules(2).build().unwrap();
    let suite = std::fs::read(suite()).unwrap();
    let seed = std::fs::read(seed_wasm()).unwrap();
    let fib = host.load(&host.make(&suite, "fib_from", &["0".into()]).unwrap().to_bytes()).unwrap();
    let seed_package = host.make(&seed, "closure_maker", &["3".into()]).unwrap().to_bytes();
    assert_eq!(host.cached_modules(), 2);
    let golden = std::fs::read(repo().join("tests/golden/seed-v1.fnpkg")).unwrap();
    for _ in 0..3 {
        // A third module, then the other two again: never more than two kept.
        assert_eq!(host.load(&golden).unwrap().call_json(&["4".into()]).unwrap(), "10");
        assert_eq!(host.load(&seed_package).unwrap().call_json(&["4".into()]).unwrap(), "10");
        assert_eq!(host.cached_modules(), 2);
    }
    // A function keeps its module alive after the cache dropped it.
    assert_eq!(fib.call::<(u64,), u64>(&(10,)).unwrap(), 55);
}

#[test]
fn the_module_cache_keeps_to_its_byte_budget() {
    let suite = std::fs::read(suite()).unwrap();
    let seed = std::fs::read(seed_wasm()).unwrap();
    // The budget of the larger module alone: the suite's image is bigger
    // than the seed's, so the two never fit together.
    let probe = Host::new(Limits::default()).unwrap();
    probe.load(&probe.make(&suite, "fib_from", &["0".into()]).unwrap().to_bytes()).unwrap();
    let suite_bytes = probe.cached_module_bytes();
    assert!(suite_bytes > 0);
    let host = Host::builder().max_module_bytes(suite_bytes).build().unwrap();
    let fib = host.load(&host.make(&suite, "fib_from", &["0".into()]).unwrap().to_bytes()).unwrap();
    assert_eq!((host.cached_modules(), host.cached_module_bytes()), (1, suite_bytes));
    let seed_package = host.make(&seed, "closure_maker", &["3".into()]).unwrap().to_bytes();
    assert_eq!(host.load(&seed_package).unwrap().call_json(&["4".into()]).unwrap(), "10");
    assert_eq!(host.cached_modules(), 1, "the suite module was dropped for the seed's");
    assert!(host.cached_module_bytes() < suite_bytes);
    // A function keeps its module alive after the cache dropped it.
    assert_eq!(fib.call::<(u64,), u64>(&(10,)).unwrap(), 55);
}

#[test]
fn a_prepared_maker_packs_what_make_packs() {
    let host = Host::new(Limits::default()).unwrap();
    let wasm = std::fs::read(suite()).unwrap();
    let maker = host.maker(&wasm).unwrap();
    assert_eq!(maker.module_sha256(), &shipfn_format::sha256(&wasm));
    for k in 0..5 {
        let made = maker.make("compose", &[k.to_string()]).unwrap();
        assert_eq!(made.to_bytes(), host.make(&wasm, "compose", &[k.to_string()]).unwrap().to_bytes());
        assert_eq!(host.load(&made.to_bytes()).unwrap().call::<(i64,), i64>(&(4,)).unwrap(), 4 * k + 1);
    }
    assert!(maker.catalog().makers.contains(&"compose".to_string()));
    let err = maker.make("nope", &[]).unwrap_err();
    assert!(err.to_string().contains("has no maker `nope`"), "{err}");
}
