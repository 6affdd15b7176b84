//! Any text as JSON `--arg`s for a few signatures; never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shipfn_fuzz::json_args(data));
