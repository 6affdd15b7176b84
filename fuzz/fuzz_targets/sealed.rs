//! A hostile sender who keeps digest and hashes right: forged manifests,
//! states and modules behind a valid seal are contained.
#![no_main]

use std::sync::OnceLock;

use shipfn_format::Package;

fn golden() -> &'static Package {
    static GOLDEN: OnceLock<Package> = OnceLock::new();
    GOLDEN.get_or_init(|| {
        let (_, bytes) = shipfn_fuzz::golden().into_iter().find(|(n, _)| n.starts_with("kitchen")).expect("golden");
        Package::from_bytes(&bytes).expect("golden loads")
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| shipfn_fuzz::sealed(golden(), data));
