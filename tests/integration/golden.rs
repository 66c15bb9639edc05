//! Golden files: the exact output of the operator's tables, pinned under `tests/golden/`.
//! A change to a table fails here until the files are regenerated and the diff reviewed:
//!
//! ```sh
//! UPDATE_GENERATED=1 cargo test --test integration golden
//! ```
//!
//! Alert ids are random, so each distinct UUID is replaced, in order of appearance, by a
//! fixed one of the same length (`00000000-0000-4000-8000-000000000001`, …).

use std::path::PathBuf;

use crate::env::TestEnv;

const ACCOUNTS: &str = r#"
[[accounts]]
name = "production"
api_key_id = "apikey_prod"
token_limit = 1000
output_token_limit = 500
request_limit = 10

[[accounts]]
name = "research"
workspace_id = "wrkspc_research"
token_limit = 10000
billing_day = 15

[[accounts]]
name = "batch"
api_key_id = "apikey_batch"
token_limit = 5000000000
"#;

/// Compares `actual` with `tests/golden/{name}`, or writes it there with `UPDATE_GENERATED=1`.
#[track_caller]
pub fn assert_golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    let actual = mask_uuids(actual);
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "{} differs (regenerate with UPDATE_GENERATED=1 and review the diff):\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

fn is_uuid(s: &[u8]) -> bool {
    s.len() == 36
        && s.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn mask_uuids(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut seen: Vec<&str> = Vec::new();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if i + 36 <= bytes.len() && is_uuid(&bytes[i..i + 36]) {
            let id = &text[i..i + 36];
            let n = seen.iter().position(|s| *s == id).unwrap_or_else(|| {
                seen.push(id);
                seen.len() - 1
            }) + 1;
            out.push_str(&format!("00000000-0000-4000-8000-{n:012}"));
            i += 36;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Three accounts: production at 96 % of its tokens (critical), research at 85 % (warning),
/// batch far from its limit; one earlier alert resolved by hand.
pub fn scenario() -> TestEnv {
    let env = TestEnv::with_config(ACCOUNTS);
    env.seed(Some("apikey_prod"), None, "2026-11-02", 810, 0);
    env.seed(None, Some("wrkspc_research"), "2026-11-16", 8500, 0);
    env.seed(Some("apikey_batch"), None, "2026-11-18", 1_234_567, 89_012);
    env.run_at("2026-11-19T08:00:00Z", &["check"]).ok();
    let open = env.open_alerts();
    let production = open.iter().find(|a| a["account"] == "production").unwrap();
    let id = production["id"].as_str().unwrap().to_string();
    env.run_at(
        "2026-11-19T09:00:00Z",
        &["alerts", "resolve", &id, "--comment", "known"],
    )
    .ok();
    env.seed(Some("apikey_prod"), None, "2026-11-03", 150, 0);
    env.run(&["check"]).ok();
    env
}

#[test]
fn status_table() {
    let env = scenario();
    assert_golden("status.txt", &env.run(&["status"]).ok().stdout);
}

#[test]
fn alerts_list_tables() {
    let env = scenario();
    assert_golden("alerts-list.txt", &env.run(&["alerts", "list"]).ok().stdout);
    assert_golden(
        "alerts-list-all.txt",
        &env.run(&["alerts", "list", "--all"]).ok().stdout,
    );
}

#[test]
fn uuids_are_masked_in_order_of_appearance() {
    let a = "9f0c1d2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f";
    let b = "11111111-2222-4333-8444-555555555555";
    assert_eq!(
        mask_uuids(&format!("{a} {b} {a} x")),
        "00000000-0000-4000-8000-000000000001 00000000-0000-4000-8000-000000000002 00000000-0000-4000-8000-000000000001 x"
    );
}
