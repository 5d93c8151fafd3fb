//! `dockerfile::parse` must return a result, never panic or hang, on any
//! text. Invalid UTF-8 is replaced rather than skipped so byte-level
//! mutations still reach the parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = dockerfile::parse(&text);
});
