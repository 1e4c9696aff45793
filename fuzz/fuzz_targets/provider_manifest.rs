//! Fuzzes `opp::ecosystem::fuzzing::provider_manifest`: no panic, and output bounded by the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let out = opp::ecosystem::fuzzing::provider_manifest(data);
    assert!(out <= 16 * data.len() + 4096, "{out} bytes of output from {}", data.len());
});
