//! Golden vectors: packages made by earlier versions keep loading and
//! running exactly as recorded in `tests/golden/vectors.json`.

use std::path::PathBuf;

use crate::harness::*;

fn golden_dir() -> PathBuf {
    repo().join("tests/golden")
}

fn vectors() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(golden_dir().join("vectors.json")).expect("vectors.json");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("vectors.json is JSON");
    doc["vectors"].as_array().expect("a list of vectors").clone()
}

#[test]
fn every_golden_vector_loads_and_runs_as_recorded() {
    let dir = golden_dir();
    let vectors = vectors();
    assert!(vectors.len() >= 3);
    for v in vectors {
        let file = v["file"].as_str().unwrap();
        let path = dir.join(file);
        let bytes = std::fs::read(&path).unwrap();
        let package = shipfn_format::VerifiedPackage::from_bytes(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        let header = shipfn_format::Header::decode(&bytes).unwrap();
        assert_eq!(u64::from(header.version), v["format"].as_u64().unwrap());
        assert_eq!(package.manifest().signature_text(), v["signature"].as_str().unwrap(), "{file}");

        if let Some(full) = v["module_from"].as_str() {
            // A thin vector: its module comes from a full one.
            ok(&shipfn_in(&dir, &["module", "add", full]));
        }

        let mut verify = vec!["verify".to_string(), path.to_str().unwrap().to_string()];
        if let Some(key) = v["signed_by"].as_str() {
            verify.extend(["--trust".into(), dir.join(key).to_str().unwrap().into()]);
        } else {
            assert!(package.signer().is_none(), "{file} is signed");
        }
        let verify: Vec<&str> = verify.iter().map(String::as_str).collect();
        ok(&shipfn_in(&dir, &verify));

        for call in v["calls"].as_array().unwrap() {
            let mut args = vec!["run", file];
            for a in call["args"].as_array().unwrap() {
                args.extend(["--arg", a.as_str().unwrap()]);
            }
            let out = shipfn_in(&dir, &args);
            match call["stdout"].as_str() {
                Some(expected) => assert_eq!(ok(&out), expected, "{file} {args:?}"),
                None => {
                    fails(&out, call["exit"].as_i64().unwrap() as i32, call["stderr"].as_str().unwrap());
                }
            }
        }
    }
}

#[test]
fn a_package_from_a_newer_format_is_refused_by_name() {
    let mut bytes = std::fs::read(golden_dir().join("seed-v1.fnpkg")).unwrap();
    let mut header = shipfn_format::Header::decode(&bytes).unwrap();
    header.version = 5;
    bytes[..shipfn_format::HEADER_LEN].copy_from_slice(&header.encode());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("future.fnpkg"), &bytes).unwrap();
    let err =
        fails(&shipfn_in(dir.path(), &["run", "future.fnpkg", "--arg", "4"]), 4, "made by a newer shipfn (format 5)");
    assert!(err.contains("this shipfn reads formats 1 to 4"), "{err}");
    fails(&shipfn_in(dir.path(), &["inspect", "future.fnpkg"]), 4, "made by a newer shipfn (format 5)");
}

#[test]
fn a_large_state_in_a_guest_from_before_validate_indices_is_still_checked_at_load() {
    // seed-v1's guest predates the VALIDATE_INDICES mode that lets a large
    // state skip its decode at load: the host falls back to a full VALIDATE.
    // postcard ignores trailing bytes, so padding the state keeps it valid.
    let golden = read_package(&std::fs::read(golden_dir().join("seed-v1.fnpkg")).unwrap());
    let m = golden.manifest;
    let repack = |state: Vec<u8>| {
        let mut p = shipfn_format::Package::new(m.source.clone(), m.closure(), golden.module.clone(), state);
        p.manifest.abi_version = m.abi_version;
        p.to_bytes()
    };
    let mut padded = golden.state.clone();
    padded.resize(shipfn_host::VALIDATE_STATE_UP_TO + 1, 0);
    let host = shipfn_host::Host::new(shipfn_host::Limits::default()).unwrap();
    let function = host.load(&repack(padded)).unwrap();
    assert_eq!(function.call::<(i64,), i64>(&(4,)).unwrap(), 10);

    // And a large state that does not decode is refused by that fallback.
    let mut broken = vec![0xff; shipfn_host::VALIDATE_STATE_UP_TO + 1];
    broken[..golden.state.len()].fill(0xff);
    let err = host.load(&repack(broken)).err().expect("a state of 0xff bytes does not decode");
    assert_eq!(err.kind(), shipfn_host::ErrorKind::BadPackage, "{err}");
    assert!(err.to_string().contains("does not decode"), "{err}");
}
