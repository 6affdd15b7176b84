//! Fuzzing logic, shared by the cargo-fuzz targets in `fuzz/` and by the
//! quick deterministic tests below, which feed it thousands of mutations of
//! the golden packages on every `cargo test`.
//!
//! Each entry point must return for every input: an `Err` is fine, a panic,
//! an abort or a hang is a bug.
#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use shipfn_format::Package;
use shipfn_guest::Args;
use shipfn_host::{Host, Limits};

/// A host with tight limits, shared by every input.
pub fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        let limits = Limits {
            timeout: Duration::from_millis(500),
            max_memory: 64 << 20,
            max_result: 1 << 20,
            ..Limits::default()
        };
        Host::new(limits).expect("a host starts")
    })
}

/// Reads `data` as a package; if it is one, loads it and calls it with
/// arguments made from its own signature.
pub fn package(data: &[u8]) {
    if let Ok(package) = Package::from_bytes(data) {
        call(data, package.manifest.signature.params.len());
    }
}

fn call(bytes: &[u8], params: usize) {
    if let Ok(function) = host().load(bytes) {
        let _ = function.describe();
        for args in
            [vec!["4".to_string(); params], vec!["\"x\"".to_string(); params], vec!["1".to_string(); params + 1]]
        {
            let _ = function.call_json(&args);
        }
    }
}

/// A hostile sender who keeps the digest and hashes right: `data` picks a
/// part of `golden` (manifest, state or module), changes it, re-seals the
/// package and calls it. This reaches the layers behind the digest check.
pub fn sealed(golden: &Package, data: &[u8]) {
    let Some((&choice, edits)) = data.split_first() else { return };
    let mut package = golden.clone();
    match choice % 8 {
        // Table indices and signature: the guest sees forged function indices.
        0..=2 => {
            let m = &mut package.manifest;
            for chunk in edits.chunks(2) {
                let value = u32::from(*chunk.last().unwrap_or(&0));
                match chunk[0] % 6 {
                    0 => m.entry = value,
                    1 => m.tramp = value,
                    2 => m.func = value,
                    3 => m.entry = m.tramp,
                    4 => std::mem::swap(&mut m.tramp, &mut m.func),
                    _ => m.signature.params.truncate(value as usize % 3),
                }
            }
        }
        // The captured state: the guest decodes hostile postcard.
        3..=6 => {
            mutate_bytes(&mut package.state, edits);
        }
        // The module: rarely, since each distinct module is compiled.
        _ => {
            if edits.len() > 24 {
                return;
            }
            mutate_bytes(&mut package.module, edits);
        }
    }
    let package = Package::new(
        package.manifest.source.clone(),
        package.manifest.entry,
        package.manifest.tramp,
        package.manifest.func,
        package.manifest.signature.clone(),
        package.module,
        package.state,
    );
    let params = package.manifest.signature.params.len();
    let bytes = package.to_bytes();
    if let Ok(reloaded) = Package::from_bytes(&bytes) {
        assert_eq!(reloaded, package, "a sealed package reads back as written");
    }
    call(&bytes, params);
}

/// Applies `edits` to `bytes`: pairs of (position, value) that overwrite,
/// insert, remove or truncate.
pub fn mutate_bytes(bytes: &mut Vec<u8>, edits: &[u8]) {
    for chunk in edits.chunks(3) {
        let [op, at, value] = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        if bytes.is_empty() {
            bytes.push(value);
            continue;
        }
        let at = (usize::from(at) * 257 + usize::from(value)) % bytes.len();
        match op % 4 {
            0 => bytes[at] = value,
            1 => bytes.insert(at, value),
            2 => {
                bytes.remove(at);
            }
            _ => bytes[at] ^= 1 << (value % 8),
        }
    }
}

/// A user type, as an argument would be.
#[derive(Serialize, Deserialize, Debug)]
pub struct Point {
    /// x
    pub x: f64,
    /// y
    pub y: f64,
}

/// A user enum, as an argument would be.
#[derive(Serialize, Deserialize, Debug)]
pub enum Shape {
    /// A circle.
    Circle {
        /// Radius.
        r: f64,
    },
    /// A rectangle.
    Rect(u32, u32),
    /// Nothing.
    Empty,
}

/// Decodes `data` (split at NUL bytes, lossily UTF-8) as the JSON arguments
/// of a few signatures, as the guest does for `--arg`.
pub fn json_args(data: &[u8]) {
    let owned: Vec<String> = data.split(|&b| b == 0).map(|s| String::from_utf8_lossy(s).into_owned()).collect();
    let raw: Vec<&str> = owned.iter().map(String::as_str).collect();
    let _ = <(i64, String, Vec<Option<f64>>)>::from_json(&raw);
    let _ = <(Point, Shape)>::from_json(&raw);
    let _ = <(u8, bool, BTreeMap<String, i32>)>::from_json(&raw);
    let _ = <(char, (u16, i128), Option<Box<Point>>)>::from_json(&raw);
    for one in &raw {
        let _ = <(Shape,)>::from_json(std::slice::from_ref(one));
        let _ = <(usize,)>::from_json(std::slice::from_ref(one));
    }
}

/// A small deterministic generator, so that the quick tests are repeatable.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next byte string of at most `max` bytes.
    pub fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = (self.next_u64() as usize) % (max + 1);
        (0..len).map(|_| self.next_u64() as u8).collect()
    }

    /// The next 64 random bits (xorshift64*).
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// The golden packages in `tests/golden`, with their file names.
pub fn golden() -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden");
    let mut found: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "fnpkg"))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).expect("readable")))
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no golden packages in {}", dir.display());
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_of_mutated_golden_packages_are_refused_or_run_never_panic() {
        let mut rng = Rng::new(1);
        for (name, bytes) in golden() {
            package(&bytes);
            for _ in 0..2000 {
                let mut input = bytes.clone();
                let edits = rng.bytes(12);
                mutate_bytes(&mut input, &edits);
                if rng.next_u64().is_multiple_of(8) {
                    input.truncate((rng.next_u64() as usize) % (input.len() + 1));
                }
                assert!(Package::from_bytes(&input).is_err() || input == bytes, "{name}: a mutation was accepted");
                package(&input);
            }
        }
    }

    #[test]
    fn resealed_hostile_manifests_states_and_modules_are_contained() {
        let mut rng = Rng::new(2);
        for (_, bytes) in golden() {
            let golden = Package::from_bytes(&bytes).expect("golden packages load");
            for _ in 0..300 {
                sealed(&golden, &rng.bytes(16));
            }
        }
        // The host still serves a good package afterwards.
        let (_, bytes) = golden().into_iter().find(|(n, _)| n.starts_with("seed")).expect("the seed vector");
        assert_eq!(host().load(&bytes).unwrap().call_json(&["4".into()]).unwrap(), "10");
    }

    #[test]
    fn random_json_arguments_never_panic() {
        let mut rng = Rng::new(3);
        let samples: [&[u8]; 6] = [
            b"{\"x\":1,\"y\":2}\0{\"Rect\":[1,2]}",
            b"1\0\"s\"\0[1,null]",
            b"\"\\ud800\"",
            b"[[[[[[[[",
            b"1e999",
            b"-0",
        ];
        for sample in samples {
            json_args(sample);
            for _ in 0..2000 {
                let mut input = sample.to_vec();
                mutate_bytes(&mut input, &rng.bytes(9));
                json_args(&input);
            }
        }
        for _ in 0..2000 {
            json_args(&rng.bytes(64));
        }
    }
}
