//! The usage report parser (`GET …/usage_report/messages` pages): any bytes must give rows or
//! an error, never a panic; rows that come out must fit the store's signed 64-bit columns.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(rows) = quota::fuzz::usage_page(data) {
        for r in rows {
            for count in [
                r.uncached_input_tokens,
                r.cache_creation_5m_tokens,
                r.cache_creation_1h_tokens,
                r.cache_read_tokens,
                r.output_tokens,
            ]
            .into_iter()
            .flatten()
            {
                assert!(
                    i64::try_from(count).is_ok(),
                    "a count past i64::MAX got through: {count}"
                );
            }
        }
    }
});
