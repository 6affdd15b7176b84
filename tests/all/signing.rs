//! `shipfn keygen`, `pack --sign`, `verify`, `run --trust`.

use crate::harness::*;

#[test]
fn signed_packages_run_only_for_trusted_keys() {
    let p = pack_suite("linear", &["2"]);
    let dir = p.dir.path();
    ok(&shipfn_in(dir, &["keygen", "-o", "alice"]));
    ok(&shipfn_in(dir, &["keygen", "-o", "mallory"]));
    fails(&shipfn_in(dir, &["keygen", "-o", "alice"]), 2, "alice exists; pass --force");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("alice")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the secret key is private");
    }

    let suite = suite().to_str().unwrap();
    ok(&shipfn_in(dir, &["pack", suite, "--make", "linear", "--arg", "2", "--sign", "alice", "-o", "signed.fnpkg"]));
    let args = ["--arg", "1", "--arg", "2", "--arg", "3"];
    let run = |file: &str, trust: &[&str]| {
        let mut all = vec!["run", file];
        for key in trust {
            all.extend(["--trust", key]);
        }
        all.extend(args);
        shipfn_in(dir, &all)
    };

    assert_eq!(ok(&run("signed.fnpkg", &["alice.pub"])), "1");
    assert_eq!(ok(&run("signed.fnpkg", &["mallory.pub", "alice.pub"])), "1", "any of several trusted keys");
    assert_eq!(ok(&run("signed.fnpkg", &[])), "1", "without --trust a signed package runs too");
    fails(&run("signed.fnpkg", &["mallory.pub"]), 11, "which is not a trusted key");
    fails(&run("f.fnpkg", &["alice.pub"]), 11, "the package is not signed");
    fails(&run("signed.fnpkg", &["alice"]), 2, "this is a secret key; give the .pub file");

    let verified = ok(&shipfn_in(dir, &["verify", "signed.fnpkg", "--trust", "alice.pub"]));
    assert!(verified.contains("signed by trusted key"), "{verified}");
    fails(&shipfn_in(dir, &["verify", "signed.fnpkg", "--trust", "mallory.pub"]), 11, "not a trusted key");
    let info = ok(&shipfn_in(dir, &["inspect", "signed.fnpkg"]));
    let alice = std::fs::read_to_string(dir.join("alice.pub")).unwrap();
    assert!(info.contains(alice.split_whitespace().nth(1).unwrap()), "inspect names the signer: {info}");
}

#[test]
fn every_changed_byte_of_a_signed_package_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let golden = repo().join("tests/golden");
    let bytes = std::fs::read(golden.join("checked-div-signed-v1.fnpkg")).unwrap();
    let key = std::fs::read_to_string(golden.join("test-key.pub")).unwrap();
    let key = shipfn_format::PublicKey::from_file_text(&key).unwrap();
    let host = shipfn_host::Host::new(shipfn_host::Limits::default()).unwrap();
    assert!(host.load_trusted(&bytes, &[key]).is_ok());

    // Every byte of the header, manifest, digest and signature; every 61st
    // byte of the module and state (each flip re-hashes the whole file).
    let manifest_end = 36 + u32::from_le_bytes(bytes[16..20].try_into().unwrap()) as usize;
    let tail = bytes.len() - 32 - shipfn_format::SIGNATURE_BLOCK_LEN;
    let positions = (0..manifest_end).chain((manifest_end..tail).step_by(61)).chain(tail..bytes.len());
    let mut flips = 0;
    for i in positions {
        for bit in [0x01u8, 0x80] {
            let mut b = bytes.clone();
            b[i] ^= bit;
            assert!(host.load_trusted(&b, &[key]).is_err(), "flip {bit:#x} at {i} was accepted");
            assert!(host.load(&b).is_err(), "flip {bit:#x} at {i} was accepted without --trust");
            flips += 1;
        }
    }
    assert!(flips > 5000, "{flips} flips");

    // And through the binary, for a few positions.
    for i in [0, 12, 40, manifest_end + 10, bytes.len() / 2, bytes.len() - 100, bytes.len() - 1] {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        std::fs::write(dir.path().join("x.fnpkg"), &b).unwrap();
        let trust = golden.join("test-key.pub");
        let out = shipfn_in(dir.path(), &["run", "x.fnpkg", "--arg", "2", "--trust", trust.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(4), "flip at {i}: {}", stderr(&out));
    }
}
