#![no_main]
//! Fuzzes detection and the detected parser: any bytes give Ok or Err, never a panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tollgate_parsers::detect(data);
    let _ = tollgate_parsers::parse_to_vec(data, None);
});
