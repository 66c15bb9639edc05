//! The stand-in checked by something this project did not write: its analytics usage and
//! cost pages and its API key pages (both shapes) are fetched here and, with
//! `QUOTA_SDK_PAGES=DIR`, written to DIR, where `.ci/sdk_check.py` validates every row
//! against the official SDK's own models (the `anthropic` package on PyPI).

use std::io::{Read, Write};
use std::net::TcpStream;

use serde_json::Value;

use crate::env::KEY;
use crate::standin::{
    ANALYTICS_BETA, ANALYTICS_COST_PATH, ANALYTICS_PATH, KEYS_PATH, StandIn, Usage,
};

/// One GET to the stand-in, its body as JSON.
fn get(api: &StandIn, path_and_query: &str, beta: bool) -> Value {
    let addr = api.url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    let beta = if beta {
        format!("anthropic-beta: {ANALYTICS_BETA}\r\n")
    } else {
        String::new()
    };
    write!(
        s,
        "GET {path_and_query} HTTP/1.1\r\nhost: {addr}\r\nx-api-key: {KEY}\r\nanthropic-version: 2023-06-01\r\n{beta}connection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}\n{body}");
    serde_json::from_str(body).unwrap()
}

#[test]
fn stand_in_pages_for_the_official_sdk() {
    let api = StandIn::start(KEY);
    api.set_now("2026-11-20T12:00:00Z");
    api.put(Usage::new(Some("apikey_prod"), Some("wrkspc_a"), "2026-11-19", 100, 10).requests(3));
    api.put(Usage::new(None, None, "2026-11-20", 5, 1));
    api.put_cost(Some("wrkspc_a"), "2026-11-19", "1234.5");
    // The GA shape only: the SDK's APIKey requires `scope`, which the deprecated shape
    // (top-level workspace_id, still read by quota and served in other tests) has not.
    api.put_ga_key("apikey_ga", "GA key", "wrkspc_a");
    api.put_ga_key("apikey_ga2", "GA key 2", "wrkspc_b");
    let range = "starting_at=2026-11-19T00:00:00Z&ending_at=2026-11-20T12:00:00Z&time_bucket_width=1d&limit=1000";
    let pages = [
        (
            "analytics_usage.json",
            get(
                &api,
                &format!("{ANALYTICS_PATH}?{range}&group_by[]=api_key_id&group_by[]=workspace_id"),
                true,
            ),
        ),
        (
            "analytics_cost.json",
            get(
                &api,
                &format!("{ANALYTICS_COST_PATH}?{range}&group_by[]=workspace_id"),
                true,
            ),
        ),
        (
            "api_keys.json",
            get(&api, &format!("{KEYS_PATH}?limit=1000"), false),
        ),
    ];
    for (name, page) in &pages {
        let rows = page["data"].as_array().unwrap();
        assert!(!rows.is_empty(), "{name}: {page}");
    }
    if let Some(dir) = std::env::var_os("QUOTA_SDK_PAGES") {
        for (name, page) in &pages {
            std::fs::write(std::path::Path::new(&dir).join(name), page.to_string()).unwrap();
        }
    }
}
