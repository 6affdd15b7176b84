//! A hostile sender who keeps digest and hashes right: forged manifests,
//! states and modules behind a valid seal are contained.
#![no_main]

use std::sync::OnceLock;

use shipfn_format::{Package, VerifiedPackage};

fn golden() -> &'static Package {
    static GOLDEN: OnceLock<Package> = OnceLock::new();
    GOLDEN.get_or_init(|| {
        let (_, bytes) = shipfn_fuzz::golden().into_iter().find(|(n, _)| n.starts_with("kitchen")).expect("golden");
        VerifiedPackage::from_bytes(&bytes).expect("golden loads").into_package()
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| shipfn_fuzz::sealed(golden(), data));
