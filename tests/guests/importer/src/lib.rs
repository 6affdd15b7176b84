//! Test guest that imports a WASI function. shipfn gives shipped code no
//! imports, so packing or running this must fail and name the import.

use shipfn_guest::{Closure, maker, ship};

#[link(wasm_import_module = "wasi_snapshot_preview1")]
unsafe extern "C" {
    fn random_get(buf: *mut u8, len: usize) -> u16;
}

fn random_byte() -> u8 {
    let mut byte = 0u8;
    // SAFETY: one writable byte.
    unsafe { random_get(&mut byte, 1) };
    byte
}

#[maker]
pub fn lucky() -> Closure<(), u8> {
    ship!(|| random_byte())
}
