//! The config parser and validator: any text gives a config or one error line, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = quota::fuzz::config(text, "fuzz.toml") {
            assert!(!format!("{e:#}").is_empty());
        }
    }
});
