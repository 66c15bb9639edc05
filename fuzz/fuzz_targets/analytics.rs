//! The analytics parser (both row layouts): rows or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = quota::fuzz::analytics_page("/v1/organizations/analytics/usage", data);
});
