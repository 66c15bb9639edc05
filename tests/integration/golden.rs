//! Golden files: the exact output of the operator's tables, pinned under `tests/golden/`.
//! A change to a table fails here until the files are regenerated and the diff reviewed:
//!
//! ```sh
//! UPDATE_GENERATED=1 cargo test --test integration golden
//! ```
//!
//! Alert ids are random, so each distinct id is replaced, in order of appearance, by a fixed
//! one of the same length (`00000000-0000-4000-8000-000000000001`, or `00000001` for the
//! tables' 8-character short ids).

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
pub(crate) fn assert_golden(name: &str, actual: &str) {
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

/// A short id: 8 lowercase hex digits standing alone (the tables' ID column).
fn is_short_id(text: &[u8], i: usize) -> bool {
    let free = |j: Option<&u8>| j.is_none_or(|c| !c.is_ascii_alphanumeric() && *c != b'-');
    i + 8 <= text.len()
        && text[i..i + 8]
            .iter()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        && free(i.checked_sub(1).and_then(|p| text.get(p)))
        && free(text.get(i + 8))
}

fn mask_uuids(text: &str) -> String {
    let bytes = text.as_bytes();
    // Numbered by the first 8 characters, so a full id and its short form match.
    let number = |id: &'_ str, seen: &mut Vec<String>| -> usize {
        seen.iter().position(|s| s == id).unwrap_or_else(|| {
            seen.push(id.to_string());
            seen.len() - 1
        }) + 1
    };
    let mut ids: Vec<String> = Vec::new();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if i + 36 <= bytes.len() && is_uuid(&bytes[i..i + 36]) {
            let n = number(&text[i..i + 8], &mut ids);
            out.push_str(&format!("00000000-0000-4000-8000-{n:012}"));
            i += 36;
        } else if is_short_id(bytes, i) {
            let n = number(&text[i..i + 8], &mut ids);
            out.push_str(&format!("{n:08}"));
            i += 8;
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
pub(crate) fn scenario() -> TestEnv {
    let env = TestEnv::with_config(ACCOUNTS);
    env.seed(Some("apikey_prod"), None, "2026-11-02", 810, 0);
    env.seed(None, Some("wrkspc_research"), "2026-11-16", 8500, 0);
    env.seed(Some("apikey_batch"), None, "2026-11-18", 1_234_567, 89_012);
    env.run_at("2026-11-19T08:00:00Z", &["check"]).ok();
    env.mark_synced();
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

/// A long account name, for the tables that must shorten it.
fn with_a_long_name(env: &TestEnv) {
    let config = std::fs::read_to_string(&env.config).unwrap().replace(
        "name = \"research\"",
        "name = \"research-and-development-eu-west\"",
    );
    env.write_config(&config);
    env.run(&["check"]).ok();
    env.mark_synced();
}

#[test]
fn status_table() {
    let env = scenario();
    assert_golden("status.txt", &env.run(&["status"]).ok().stdout);
    assert_golden(
        "status-wide.txt",
        &env.run(&["status", "--wide"]).ok().stdout,
    );
    with_a_long_name(&env);
    for cols in [80, 120, 200] {
        assert_golden(
            &format!("status-{cols}.txt"),
            &env.run_in_terminal(cols, false, &["status"]),
        );
    }
    // A terminal that reports 0 columns: no limit, as in a pipe.
    assert_eq!(
        env.run_in_terminal(0, false, &["status"]),
        env.run(&["status"]).ok().stdout
    );
}

/// `status --wide` fits a terminal of 120 columns: the period without its years (this
/// year's), DATA AS OF relative, no RESETS IN beside the period's end.
#[test]
fn status_wide_fits_120_columns() {
    let env = scenario();
    let out = env.run_in_terminal(120, false, &["status", "--wide"]);
    assert!(out.lines().all(|l| l.chars().count() <= 120), "{out}");
    assert!(
        out.contains("11-01 to 12-01") && out.contains("0m ago"),
        "{out}"
    );
}

#[test]
fn alerts_list_tables() {
    let env = scenario();
    assert_golden("alerts-list.txt", &env.run(&["alerts", "list"]).ok().stdout);
    assert_golden(
        "alerts-list-all.txt",
        &env.run(&["alerts", "list", "--all"]).ok().stdout,
    );
    assert_golden(
        "alerts-list-wide.txt",
        &env.run(&["alerts", "list", "--all", "--wide"]).ok().stdout,
    );
    for cols in [80, 120, 200] {
        assert_golden(
            &format!("alerts-list-{cols}.txt"),
            &env.run_in_terminal(cols, false, &["alerts", "list", "--all"]),
        );
    }
    assert_eq!(
        env.run_in_terminal(0, false, &["alerts", "list"]),
        env.run(&["alerts", "list"]).ok().stdout
    );
}

/// `config check` in a terminal: each line wrapped to it between words, keeping its indent;
/// the same words as when piped.
#[test]
fn config_check_wraps_to_the_terminal() {
    let env = scenario();
    let piped = env.run(&["config", "check"]).ok().stdout;
    assert!(piped.lines().any(|l| l.chars().count() > 80), "{piped}");
    let shown = env.run_in_terminal(80, false, &["config", "check"]);
    for line in shown.lines() {
        assert!(line.chars().count() <= 80, "{line:?}\n{shown}");
    }
    let words = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    assert_eq!(words(&shown), words(&piped));
}

#[test]
fn tables_fit_the_terminal_and_break_no_value() {
    let env = scenario();
    with_a_long_name(&env);
    for cols in [80usize, 120] {
        for args in [&["status"][..], &["alerts", "list", "--all"][..]] {
            let out = env.run_in_terminal(u16::try_from(cols).unwrap(), false, args);
            for line in out.lines() {
                assert!(
                    line.chars().count() <= cols,
                    "{args:?} at {cols}: {line:?}\n{out}"
                );
            }
            // Whole values on every row: a date (where its column shows), a percentage.
            assert!(
                out.contains("10d 12h")
                    || out.contains("11-20 12:00")
                    || !(out.contains("RESETS IN") || out.contains("CREATED")),
                "{out}"
            );
            assert!(out.contains("96.0"), "{out}");
        }
        let status = env.run_in_terminal(u16::try_from(cols).unwrap(), false, &["status"]);
        // The name stays whole: at 80 the optional RESETS IN and ALERTS give way for it.
        assert!(
            status.contains("research-and-development-eu-west"),
            "{status}"
        );
        assert_eq!(status.contains("RESETS IN"), cols == 120, "{status}");
        assert!(
            status.contains("960 / 1,000") && status.contains("8,500 / 10,000"),
            "{status}"
        );
    }
    // Whole in --wide and --json.
    assert!(
        env.run(&["status", "--wide"])
            .ok()
            .stdout
            .contains("research-and-development-eu-west")
    );
    assert!(
        env.run(&["status", "--json"])
            .ok()
            .stdout
            .contains("research-and-development-eu-west")
    );
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let env = scenario();
    let colored = env.run_in_terminal(120, true, &["status"]);
    assert!(
        colored.contains("\x1b[38;5;1m  96.0\x1b[39m"),
        "critical in red: {colored:?}"
    );
    assert!(
        colored.contains("\x1b[38;5;3m  85.0\x1b[39m"),
        "warning in yellow: {colored:?}"
    );
    assert!(
        !env.run_in_terminal(120, false, &["status"])
            .contains('\x1b')
    );
    assert!(
        !env.run(&["status"]).ok().stdout.contains('\x1b'),
        "never when piped"
    );
    let alerts = env.run_in_terminal(120, true, &["alerts", "list"]);
    assert!(alerts.contains("critical\x1b[39m"), "{alerts:?}");
    assert!(alerts.contains("\x1b[38;5;1m"), "{alerts:?}");
}

#[test]
fn uuids_are_masked_in_order_of_appearance() {
    let a = "9f0c1d2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f";
    let b = "11111111-2222-4333-8444-555555555555";
    assert_eq!(
        mask_uuids(&format!("{a} {b} {a} x {}", &b[..8])),
        "00000000-0000-4000-8000-000000000001 00000000-0000-4000-8000-000000000002 00000000-0000-4000-8000-000000000001 x 00000002"
    );
}

/// Four kinds of alert at 80 columns, told apart by WHAT: a threshold, an exceeded limit, a
/// forecast, and quota's own failing sync (which belongs to no account). The account names
/// stay whole; the messages give way.
#[test]
fn alerts_list_at_80_columns_tells_four_types_apart() {
    let config = "[api]\ndeadline_secs = 0.5\ntimeout_secs = 0.2\n\n\
        [[accounts]]\nname = \"production-eu-west\"\napi_key_id = \"apikey_p\"\ntoken_limit = 1000\n\n\
        [[accounts]]\nname = \"batch-jobs\"\napi_key_id = \"apikey_b\"\ntoken_limit = 1000\n\n\
        [[accounts]]\nname = \"research\"\napi_key_id = \"apikey_r\"\ntoken_limit = 1000\n";
    let mut env = TestEnv::with_config(config);
    env.seed(Some("apikey_p"), None, "2026-11-19", 850, 0);
    env.seed(Some("apikey_b"), None, "2026-11-19", 1200, 0);
    for day in 13..=19 {
        env.seed(Some("apikey_r"), None, &format!("2026-11-{day}"), 100, 0);
    }
    env.run(&["check"]).ok();
    // The API unreachable for 20 minutes: quota's own alert.
    env.api_url = Some(crate::env::nothing_listens());
    env.run_at("2026-11-20T11:40:00Z", &["sync"]).code(1);
    env.run_at("2026-11-20T12:00:00Z", &["sync"]).code(1);
    let out = env.run_in_terminal(80, false, &["alerts", "list"]);
    let table: String = out
        .lines()
        .take_while(|l| !l.starts_with("no successful sync"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_golden("alerts-list-four-types-80.txt", &table);
    for name in ["production-eu-west", "batch-jobs", "research"] {
        assert!(table.contains(name), "{name} whole:\n{table}");
    }
    assert!(table.lines().all(|l| l.chars().count() <= 80), "{table}");
}

/// Every README sample marked `<!-- golden: FILE -->` is that golden file, to the byte:
/// the README shows what quota prints. `UPDATE_GENERATED=1` rewrites the samples.
#[test]
fn readme_samples_are_the_golden_files() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let readme_path = root.join("README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let mut out = String::new();
    let mut rest = readme.as_str();
    let mut checked = 0;
    while let Some(at) = rest.find("<!-- golden: ") {
        let (before, marker) = rest.split_at(at);
        out.push_str(before);
        let name = &marker["<!-- golden: ".len()..marker.find(" -->").unwrap()];
        let open = marker.find("```\n").unwrap() + 4;
        let close = open + marker[open..].find("```\n").unwrap();
        let golden = std::fs::read_to_string(root.join("tests/golden").join(name)).unwrap();
        if std::env::var_os("UPDATE_GENERATED").is_none() {
            assert_eq!(
                &marker[open..close],
                golden,
                "README sample of {name}: regenerate with UPDATE_GENERATED=1"
            );
        }
        out.push_str(&marker[..open]);
        out.push_str(&golden);
        rest = &marker[close..];
        checked += 1;
    }
    out.push_str(rest);
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::write(&readme_path, out).unwrap();
    }
    assert!(checked >= 2, "the README marks its samples");
}

/// `quota usage` on an 80-column terminal: a row a day, with a bar (the README's sample).
#[test]
fn usage_table() {
    let env = TestEnv::with_config(ACCOUNTS);
    for (day, input, output) in [
        ("2026-11-16", 2_500_000, 59_113),
        ("2026-11-17", 2_600_000, 61_576),
        ("2026-11-18", 2_750_000, 64_039),
        ("2026-11-19", 2_850_000, 66_502),
        ("2026-11-20", 2_950_000, 68_965),
    ] {
        env.seed(Some("apikey_prod"), None, day, input, output);
    }
    env.run(&["check"]).ok();
    env.mark_synced();
    assert_golden(
        "usage-80.txt",
        &env.run_in_terminal(
            80,
            false,
            &["usage", "--account", "production", "--since", "2026-11-16"],
        ),
    );
}

/// An exhausted account keeps its whole name at 80 columns: the optional ALERTS column
/// gives way first.
#[test]
fn an_exhausted_account_keeps_its_whole_name_at_80() {
    let env = TestEnv::with_config(
        "[[accounts]]\nname = \"production-eu-west-chat\"\napi_key_id = \"apikey_p\"\ntoken_limit = 1000\noutput_token_limit = 500\nrequest_limit = 10\n",
    );
    env.seed(Some("apikey_p"), None, "2026-11-19", 1075, 0);
    env.run(&["check"]).ok();
    env.mark_synced();
    let out = env.run_in_terminal(80, false, &["status"]);
    assert!(out.contains("exhausted") && out.contains("107.5"), "{out}");
    assert!(
        out.contains("production-eu-west-chat "),
        "the whole name:\n{out}"
    );
    assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");
}

/// Help wraps at the terminal's width: an operator's 80-column shell gets no line over 80.
#[test]
fn help_fits_an_80_column_terminal() {
    let env = crate::env::TestEnv::new();
    for args in [
        vec!["--help"],
        vec!["alerts", "silence", "--help"],
        vec!["db", "copy", "--help"],
    ] {
        let out = env.run_in_terminal(80, false, &args);
        assert!(out.contains("Usage: quota"), "{args:?}: {out}");
        for line in out.lines() {
            assert!(line.chars().count() <= 80, "{args:?}: {line:?}");
        }
    }
}
