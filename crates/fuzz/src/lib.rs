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
use shipfn_format::{Package, VerifiedPackage};
use shipfn_guest::Args;
use shipfn_host::{Compiler, Host, Limits};

/// A host with tight limits, shared by every input: a forged state that
/// makes the guest allocate or loop costs each run up to the limits, so
/// they are small. It compiles with Winch: mutated modules are each
/// compiled afresh, and Winch compiles several times faster than Cranelift.
/// Every golden module is compiled into it once, so that a thin package
/// (a few hundred bytes that name their module) loads and runs without
/// hashing or compiling a module per input.
pub fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        let limits = Limits::default()
            .timeout(Duration::from_millis(50))
            .max_memory(16 << 20)
            .max_result(1 << 20)
            .compile_timeout(Duration::from_secs(10));
        let host = Host::builder().limits(limits).compiler(Compiler::quick_start()).build().expect("a host starts");
        for (name, bytes) in golden() {
            // A thin golden vector names a module no golden package carries.
            if VerifiedPackage::from_bytes(&bytes).is_ok_and(|p| p.module().is_some()) {
                host.load(&bytes).unwrap_or_else(|e| panic!("the golden package {name} loads: {e}"));
            }
        }
        host
    })
}

/// The golden packages in their thin form (the module named by its hash):
/// the seeds of the `package` target's corpus, and what `sealed` edits.
pub fn golden_thin() -> Vec<(String, Vec<u8>)> {
    golden()
        .into_iter()
        .filter_map(|(name, bytes)| {
            let package = VerifiedPackage::from_bytes(&bytes).ok()?;
            let thin = match package.module() {
                Some(_) => package.into_package().encode_as(shipfn_format::Form::Thin, None),
                None => bytes,
            };
            Some((name.replace(".fnpkg", "-thin.fnpkg"), thin))
        })
        .collect()
}

/// Reads `data` as a package; if it is one, loads it and calls it with
/// arguments made from its own signature. Then the same bytes re-sealed
/// (see [`reseal`]), so that a mutation also reaches everything behind the
/// digest and the hashes: loaded and called if its module is a golden
/// one, and otherwise only screened. Compiling each mutated module would
/// spend the run in the compiler, which wasmtime fuzzes itself.
pub fn package(data: &[u8]) {
    as_is(data);
    let Some(resealed) = reseal(data) else { return };
    match VerifiedPackage::from_bytes(&resealed) {
        Ok(package) if golden_modules().contains(&package.manifest().module_sha256) => as_is(&resealed),
        Ok(package) => {
            if let Some(module) = package.module() {
                drop(shipfn_host::screen_module(module, host().limits()));
            }
        }
        Err(_) => {}
    }
}

/// The SHA-256 of each golden package's module.
fn golden_modules() -> &'static Vec<shipfn_format::Hash> {
    static MODULES: OnceLock<Vec<shipfn_format::Hash>> = OnceLock::new();
    MODULES.get_or_init(|| {
        golden()
            .iter()
            .filter_map(|(_, bytes)| VerifiedPackage::from_bytes(bytes).ok())
            .map(|p| p.manifest().module_sha256)
            .collect()
    })
}

/// Reads `data` as a package and, if it is one, loads and calls it.
fn as_is(data: &[u8]) {
    if let Ok(package) = VerifiedPackage::from_bytes(data) {
        call(data, package.manifest().signature.params.len());
    }
}

/// `data` read as a package's header and sections (each cut to what is
/// there), with the manifest's module and state hashes and the digest made
/// right again and any signature dropped: a forger's package. A manifest
/// that does not decode is kept as it is, for the reader to refuse. `None`
/// if `data` has no header at all.
pub fn reseal(data: &[u8]) -> Option<Vec<u8>> {
    use shipfn_format::{HEADER_LEN, Header, Manifest, sha256};
    let header = Header::decode_unchecked(data)?;
    let mut rest = &data[HEADER_LEN..];
    let mut section = |len: u64| {
        let (taken, left) = rest.split_at(usize::try_from(len).unwrap_or(usize::MAX).min(rest.len()));
        rest = left;
        taken
    };
    let (manifest, module, state) =
        (section(header.manifest_len.into()), section(header.module_len), section(header.state_len));
    let manifest = match postcard::from_bytes::<Manifest>(manifest) {
        Ok(mut m) => {
            // A thin package names its module: its hash stays as written.
            if !header.is_thin() {
                m.module_sha256 = sha256(module);
            }
            m.state_sha256 = sha256(state);
            postcard::to_allocvec(&m).ok()?
        }
        Err(_) => manifest.to_vec(),
    };
    let mut resealed = Header::new(false, manifest.len() as u32, module.len() as u64, state.len() as u64);
    resealed.version = header.version;
    let mut out = Vec::with_capacity(HEADER_LEN + manifest.len() + module.len() + state.len() + 32);
    out.extend_from_slice(&resealed.encode());
    for part in [&manifest[..], module, state] {
        out.extend_from_slice(part);
    }
    let digest = sha256(&out);
    out.extend_from_slice(&digest);
    Some(out)
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
/// part of `golden` (manifest or state), changes it, re-seals the package
/// and calls it. This reaches the layers behind the digest check. The
/// module is left alone: compiling each mutated module would spend the run
/// in the compiler (see [`package`]).
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
                    1 => m.trampoline = value,
                    2 => m.body = value,
                    3 => m.entry = m.trampoline,
                    4 => std::mem::swap(&mut m.trampoline, &mut m.body),
                    _ => m.signature.params.truncate(value as usize % 3),
                }
            }
        }
        // The captured state: the guest decodes hostile postcard.
        _ => mutate_bytes(&mut package.state, edits),
    }
    // Re-sealed in the thin form: the module is the golden one, which the
    // host holds compiled, so only the edited parts are hashed and checked.
    package.manifest.state_sha256 = shipfn_format::sha256(&package.state);
    let params = package.manifest.signature.params.len();
    let bytes = package.encode_as(shipfn_format::Form::Thin, None);
    if let Ok(reloaded) = VerifiedPackage::from_bytes(&bytes) {
        assert_eq!(reloaded.manifest(), &package.manifest, "a sealed package's manifest reads back as written");
        assert_eq!(reloaded.state(), &package.state[..], "a sealed package's state reads back as written");
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
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Point {
    /// x
    pub x: f64,
    /// y
    pub y: f64,
}

/// A user enum, as an argument would be.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
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
/// of a few signatures, as the guest does for `--arg`; for signatures of std
/// types, the host's conversion for guests without JSON must agree with it:
/// the same arguments accepted, decoding to the same values.
pub fn json_args(data: &[u8]) {
    let owned: Vec<String> = data.split(|&b| b == 0).map(|s| String::from_utf8_lossy(s).into_owned()).collect();
    let raw: Vec<&str> = owned.iter().map(String::as_str).collect();
    host_agrees::<(i64, String, Vec<Option<f64>>)>(&raw);
    host_agrees_by_schema::<(Point, Shape)>(&raw);
    host_agrees::<(u8, bool, BTreeMap<String, i32>)>(&raw);
    host_agrees_by_schema::<(char, (u16, i128), Option<Box<Point>>)>(&raw);
    host_agrees::<(char, (u16, i128), Option<Box<[u32; 2]>>)>(&raw);
    host_agrees_by_schema::<(Reading, Vec<Level>, List)>(&raw);
    for one in &raw {
        host_agrees_by_schema::<(Shape,)>(std::slice::from_ref(one));
        host_agrees_by_schema::<(Reading,)>(std::slice::from_ref(one));
        host_agrees_by_schema::<(List,)>(std::slice::from_ref(one));
        host_agrees::<(u32,)>(std::slice::from_ref(one));
        host_agrees::<(Vec<u8>,)>(std::slice::from_ref(one));
    }
}

/// A struct of several kinds of fields, for the schema-driven conversion.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Reading {
    /// A string.
    pub sensor: String,
    /// An optional enum: may be left out of a JSON object.
    pub level: Option<Level>,
    /// Tuples holding a newtype struct.
    pub tags: Vec<(u8, Meters)>,
    /// A unit struct.
    pub unit: Marker,
}

/// A newtype struct.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Meters(pub f64);

/// A unit struct.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Marker;

/// An enum with every kind of variant.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub enum Level {
    /// Unit.
    Low,
    /// Newtype.
    High(i32),
    /// Tuple.
    Mixed(u8, bool),
    /// Struct.
    Named {
        /// An optional field.
        by: Option<u16>,
    },
}

/// A recursive enum.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub enum List {
    /// One more.
    Cons(i8, Box<List>),
    /// The end.
    Nil,
}

/// As [`host_agrees`], for types the host knows only by the schema the
/// SDK traces (as a guest of ABI 7 without JSON records it).
fn host_agrees_by_schema<A: Args + PartialEq + std::fmt::Debug + 'static>(raw: &[&str]) {
    let guest = A::from_json(raw);
    let host = match &*prepared::<A>(By::Schema) {
        Ok(prepared) => prepared.encode(raw),
        Err(e) => Err(e.clone()),
    };
    agree(raw, guest, host);
}

/// Whether the host's JSON conversion accepts `raw` exactly when the SDK
/// does, with the same values: panics (a fuzzer's finding) if not.
fn host_agrees<A: Args + PartialEq + std::fmt::Debug + 'static>(raw: &[&str]) {
    let guest = A::from_json(raw);
    let prepared = prepared::<A>(By::Names);
    let host = (*prepared).as_ref().expect("std types have shapes").encode(raw);
    agree(raw, guest, host);
}

/// How the host knows the parameters' types.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum By {
    /// Their whole names (std types).
    Names,
    /// The schema the SDK traces.
    Schema,
}

type Prepared = std::sync::Arc<Result<shipfn_host::__fuzz::PreparedArgs, String>>;

/// The host's conversion of the parameters `A`, prepared once per type and
/// process: the shapes (and the traced schema) do not depend on the input.
fn prepared<A: Args + 'static>(by: By) -> Prepared {
    use shipfn_host::__fuzz::PreparedArgs;
    use std::any::TypeId;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    static PREPARED: Mutex<Option<HashMap<(TypeId, By), Prepared>>> = Mutex::new(None);
    let mut prepared = PREPARED.lock().unwrap_or_else(|e| e.into_inner());
    let prepared = prepared.get_or_insert_with(HashMap::new);
    prepared
        .entry((TypeId::of::<A>(), by))
        .or_insert_with(|| {
            let types = A::type_names();
            let types: Vec<&str> = types.iter().map(String::as_str).collect();
            Arc::new(match by {
                By::Names => PreparedArgs::by_names(&types).ok_or_else(|| "not std types".to_owned()),
                By::Schema => {
                    let mut builder = shipfn_schema::Builder::new();
                    let params = A::formats(&mut builder);
                    let unit = builder.trace::<()>();
                    let bytes = builder.encode(&params, &unit, &[], &[]);
                    let schema: shipfn_host::Schema = postcard::from_bytes(&bytes).expect("a traced schema decodes");
                    PreparedArgs::by_schema(&types, &schema)
                }
            })
        })
        .clone()
}

/// The SDK's decoding of `raw` and the host's postcard of it: both refused,
/// or the same value.
fn agree<A: Args + PartialEq + std::fmt::Debug, E: std::fmt::Debug>(
    raw: &[&str],
    guest: Result<A, E>,
    host: Result<Vec<u8>, String>,
) {
    match (guest, host) {
        (Ok(guest), Ok(bytes)) => {
            let decoded: A = postcard::from_bytes(&bytes).expect("the host's postcard decodes");
            assert_eq!(decoded, guest, "the host converted {raw:?} otherwise than the SDK");
        }
        (Err(_), Err(_)) => {}
        (guest, host) => {
            panic!("for {raw:?}, the SDK says {:?} and the host {:?}", guest.map(|_| ()), host.map(|_| ()))
        }
    }
}

/// A message a hostile client of the NATS server sends, read as a task by
/// a worker and as a result by a submitter; see
/// `shipfn_cluster::__fuzz::hostile_message`.
pub fn nats_message(data: &[u8]) {
    shipfn_cluster::__fuzz::hostile_message(data);
}

/// A trusted worker's signed result, edited by a hostile client: the
/// submitter takes it only as the worker wrote it. Whether it completed
/// its task.
pub fn nats_edited_result(data: &[u8]) -> bool {
    shipfn_cluster::__fuzz::edited_result(data)
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
        for (name, bytes) in golden().into_iter().chain(golden_thin()) {
            as_is(&bytes);
            for _ in 0..2000 {
                let mut input = bytes.clone();
                let edits = rng.bytes(12);
                mutate_bytes(&mut input, &edits);
                if rng.next_u64().is_multiple_of(8) {
                    input.truncate((rng.next_u64() as usize) % (input.len() + 1));
                }
                let read = VerifiedPackage::from_bytes(&input);
                assert!(read.is_err() || input == bytes, "{name}: a mutation was accepted");
                as_is(&input);
            }
        }
    }

    #[test]
    fn resealed_mutations_reach_past_the_digest_and_are_contained() {
        let mut rng = Rng::new(4);
        let (mut tried, mut read) = (0, 0);
        for (_, bytes) in golden() {
            // Edits to the header and manifest, or to the state: each edit of
            // the module costs a compile, which the fuzz targets pay instead.
            let golden = VerifiedPackage::from_bytes(&bytes).expect("golden packages load");
            // A thin golden package has no module to keep apart.
            let Some(golden) = golden.module() else { continue };
            let module_at = bytes.windows(golden.len()).position(|w| w == golden).expect("module");
            let (head, rest) = bytes.split_at(module_at);
            let (module, tail) = rest.split_at(golden.len());
            for _ in 0..300 {
                let (mut head, mut tail) = (head.to_vec(), tail.to_vec());
                let edits = rng.bytes(6);
                mutate_bytes(if rng.next_u64().is_multiple_of(2) { &mut head } else { &mut tail }, &edits);
                let input = [&head[..], module, &tail[..]].concat();
                tried += 1;
                if reseal(&input).is_some_and(|b| VerifiedPackage::from_bytes(&b).is_ok()) {
                    read += 1;
                }
                package(&input);
            }
        }
        // Without re-sealing, no mutation gets past the digest.
        assert!(read * 4 > tried, "only {read} of {tried} re-sealed mutations were read as packages");
    }

    #[test]
    fn resealed_hostile_manifests_states_and_modules_are_contained() {
        let mut rng = Rng::new(2);
        for (_, bytes) in golden() {
            let golden = VerifiedPackage::from_bytes(&bytes).expect("golden packages load").into_package();
            for _ in 0..300 {
                sealed(&golden, &rng.bytes(16));
            }
        }
        // The host still serves a good package afterwards.
        let (_, bytes) = golden().into_iter().find(|(n, _)| n.starts_with("seed")).expect("the seed vector");
        assert_eq!(host().load(&bytes).unwrap().call_json(&["4".into()]).unwrap(), "10");
    }

    /// Inputs a fuzz target crashed on, kept in `regressions/` as
    /// `TARGET-what`: each must now return. They run on this test's thread,
    /// whose 2 MiB stack is a spawned thread's default (a local map's calls
    /// and a worker's loads run on such threads).
    #[test]
    fn fuzz_findings_stay_fixed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
        let mut found = 0;
        for entry in std::fs::read_dir(&dir).expect("the regressions folder").flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let data = std::fs::read(entry.path()).expect("readable");
            match name.split('-').next() {
                // A manifest whose `Returned` sources nested 11 000 deep
                // overflowed the stack of any host that read it.
                Some("package") => package(&data),
                other => panic!("{name}: no target {other:?}"),
            }
            found += 1;
        }
        assert!(found > 0, "no regression inputs in {}", dir.display());
    }

    #[test]
    fn hostile_nats_messages_never_panic_and_never_pass_for_a_workers_result() {
        let mut rng = Rng::new(5);
        let samples: [&[u8]; 4] = [
            b"shipfn.tasks.0123456789abcdef\0Shipfn-Batch: 1\nShipfn-Package: package-00\0[1]\n[2]",
            b"shipfn.results.0123456789abcdef\0Shipfn-Batch: 0\nShipfn-Count: 1\nShipfn-Part: 0/1\nShipfn-Run: 1\0{\"ok\":1}",
            b"shipfn.tasks.x.y\0Shipfn-Batch: -1\0",
            b"\0Shipfn-Part: 4096/4096\nShipfn-Signer: 00\0",
        ];
        for sample in samples {
            nats_message(sample);
            for _ in 0..2000 {
                let mut input = sample.to_vec();
                mutate_bytes(&mut input, &rng.bytes(9));
                nats_message(&input);
            }
        }
        // Unedited, the worker's result completes its task, whole or in two parts.
        assert!(nats_edited_result(&[0]) && nats_edited_result(&[0x13]));
        let mut completed = 0;
        for _ in 0..5000 {
            completed += usize::from(nats_edited_result(&rng.bytes(12)));
        }
        assert!(completed > 0, "no edited result completed its task, so the check ran on nothing");
    }

    #[test]
    fn random_json_arguments_never_panic() {
        let mut rng = Rng::new(3);
        let samples: [&[u8]; 12] = [
            b"{\"x\":1,\"y\":2}\0{\"Rect\":[1,2]}",
            b"{\"sensor\":\"a\",\"tags\":[[1,2.5]],\"unit\":null,\"z\":[{}]}\0[\"Low\",{\"High\":3},{\"Mixed\":[1,true]},{\"Named\":{}}]\0{\"Cons\":[1,{\"Cons\":[2,\"Nil\"]}]}",
            b"[\"a\",{\"Named\":{\"by\":7}},[],null]\0[]\0\"Nil\"",
            b"{\"sensor\":\"a\",\"sensor\":\"b\",\"tags\":[],\"unit\":null}\0[{\"Low\":null}]\0{\"Nil\":null}",
            b"{\"Circle\":{\"r\":1}}\0{\"Empty\":null}",
            b"1\0\"s\"\0[1,null]",
            b"\"\\ud800\"",
            b"[[[[[[[[",
            b"1e999",
            b"-0",
            b"{\"a\":1,\"a\":2}\0true\0{\"1\":3}",
            b"\"\xc3\xa9\"\0[1,-2]\0[3,4]",
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
        // The samples' structs and enums are accepted: the check by schema
        // compared real values, not only two refusals.
        let accepted =
            |raw: &str| <(Reading, Vec<Level>, List)>::from_json(&raw.split('\0').collect::<Vec<_>>()).is_ok();
        assert!(accepted(std::str::from_utf8(samples[1]).unwrap()));
        assert!(accepted(std::str::from_utf8(samples[2]).unwrap()));
    }
}
