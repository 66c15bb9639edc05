//! The cost report parser (`GET …/cost_report` pages): any bytes give days or an error,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = quota::fuzz::cost_page(data);
});
