//! Any bytes as a package: refused, or loaded and called; never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shipfn_fuzz::package(data));
