//! A trusted worker's signed result with its headers and payload edited:
//! the submitter takes it only as the worker wrote it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    shipfn_fuzz::nats_edited_result(data);
});
