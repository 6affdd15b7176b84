//! The host on its own, with the golden packages (no guest build needed).

use std::time::Duration;

use crate::{ErrorKind, Host, Limits, PublicKey, VerifiedPackage};

const SEED: &[u8] = include_bytes!("../../../tests/golden/seed-v1.fnpkg");
const SIGNED: &[u8] = include_bytes!("../../../tests/golden/checked-div-signed-v1.fnpkg");
const COMPOSE: &[u8] = include_bytes!("../../../tests/golden/compose-abi3-v1.fnpkg");
const TEST_KEY: &str = include_str!("../../../tests/golden/test-key.pub");

fn host() -> Host {
    Host::new(Limits::default().max_instances(8)).unwrap()
}

#[test]
fn golden_packages_load_and_answer_as_recorded() {
    let host = host();
    assert_eq!(host.load(SEED).unwrap().call::<(i64,), i64>(&(4,)).unwrap(), 10);
    assert_eq!(host.load(COMPOSE).unwrap().call_json(&["4".into()]).unwrap(), "13");
    let divide = host.load(SIGNED).unwrap();
    assert_eq!(divide.call_json(&["2".into()]).unwrap(), "3");
    assert_eq!(divide.call_json(&["0".into()]).unwrap_err().kind(), ErrorKind::GuestError);
}

#[test]
fn trust_comes_from_the_verified_signature() {
    let host = host();
    let key = PublicKey::from_file_text(TEST_KEY).unwrap();
    let package = VerifiedPackage::from_bytes(SIGNED).unwrap();
    assert_eq!(package.signer(), Some(&key));
    host.load_trusted(SIGNED, &[key]).unwrap();
    assert_eq!(host.load_trusted(SEED, &[key]).err().unwrap().kind(), ErrorKind::Untrusted);
    let other = crate::SecretKey::from_seed([1; 32]).public();
    assert_eq!(host.load_trusted(SIGNED, &[other]).err().unwrap().kind(), ErrorKind::Untrusted);
}

#[test]
fn clones_share_the_package_and_warm_instances_outlive_their_handle() {
    let host = host();
    let function = host.load(SEED).unwrap();
    let mut warm = {
        let clone = function.clone();
        assert!(std::ptr::eq(clone.package(), function.package()));
        clone.warm()
    };
    drop(function);
    assert_eq!(warm.call::<(i64,), i64>(&(1,)).unwrap(), 7);
}

#[test]
fn function_limits_must_fit_the_host() {
    let host = host();
    let seed = host.load(SEED).unwrap();
    let strict = seed.clone().with_limits(host.limits().clone().timeout(Duration::from_millis(10))).unwrap();
    assert_eq!(strict.limits().timeout, Duration::from_millis(10));
    assert_eq!(strict.call::<(i64,), i64>(&(4,)).unwrap(), 10);
    assert_eq!(seed.limits(), host.limits());
    let err = seed.with_limits(host.limits().clone().max_instances(9)).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::BadArgs);
}

#[test]
fn a_module_is_checked_and_prepared_once_per_host() {
    let host = host();
    let first = host.load(SEED).unwrap();
    let second = host.load(SEED).unwrap();
    assert!(first.guest_module().same_as(second.guest_module()));
}
