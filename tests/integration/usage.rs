//! `quota usage`: usage by account and day from the database, as JSON, CSV or a table.

use serde_json::json;

use crate::env::TestEnv;

const CONFIG: &str = r#"
[[accounts]]
name = "production"
api_key_id = "apikey_prod"
token_limit = 1000

[[accounts]]
name = "research"
workspace_id = "wrkspc_research"
billing_day = 15
"#;

fn env() -> TestEnv {
    let env = TestEnv::with_config(CONFIG);
    env.seed(Some("apikey_prod"), None, "2026-10-31", 999, 0); // last period
    env.seed(Some("apikey_prod"), None, "2026-11-02", 500, 20);
    env.seed(Some("apikey_prod"), None, "2026-11-19", 400, 40);
    env.seed(
        Some("apikey_other"),
        Some("wrkspc_research"),
        "2026-11-16",
        7,
        3,
    );
    env
}

#[test]
fn json_has_one_object_per_account_and_day_of_the_current_period() {
    let env = env();
    let v = env.run(&["usage", "--json"]).ok().json();
    let rows = v.as_array().unwrap();
    // production: 11-01..11-20 (20 days); research: 11-15..11-20 (6 days).
    assert_eq!(rows.len(), 26);
    let day = |account: &str, day: &str| {
        rows.iter()
            .find(|r| r["account"] == account && r["day"] == day)
            .unwrap()
            .clone()
    };
    assert_eq!(
        day("production", "2026-11-02"),
        json!({"account": "production", "day": "2026-11-02", "tokens": 520, "input_tokens": 500,
               "output_tokens": 20, "requests": null, "cost_usd": null})
    );
    assert_eq!(
        day("production", "2026-11-03")["tokens"],
        0,
        "a day without usage is 0"
    );
    assert_eq!(day("research", "2026-11-16")["tokens"], 10);
    assert!(
        rows.iter().all(|r| r["day"] != "2026-10-31"),
        "the period only"
    );
}

#[test]
fn since_until_and_account_narrow_it_and_csv_uses_the_same_names() {
    let env = env();
    let v = env
        .run(&[
            "usage",
            "--account",
            "production",
            "--since",
            "2026-10-31",
            "--until",
            "2026-11-02",
            "--json",
        ])
        .ok()
        .json();
    let tokens: Vec<_> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tokens"].clone())
        .collect();
    assert_eq!(tokens, [json!(999), json!(0), json!(520)]);
    let csv = env
        .run(&[
            "usage",
            "--account",
            "production",
            "--since",
            "2026-11-02",
            "--until",
            "2026-11-02",
            "--csv",
        ])
        .ok()
        .stdout;
    assert_eq!(
        csv,
        "account,day,tokens,input_tokens,output_tokens,requests,cost_usd\nproduction,2026-11-02,520,500,20,,\n"
    );
}

#[test]
fn bad_dates_are_exit_2_with_one_line() {
    let env = env();
    for (args, needle) in [
        (
            &["usage", "--since", "2026-13-01"][..],
            "--since \"2026-13-01\" is not a day",
        ),
        (
            &["usage", "--until", "yesterday"][..],
            "--until \"yesterday\" is not a day",
        ),
        (
            &["usage", "--since", "2026-11-10", "--until", "2026-11-01"][..],
            "--since 2026-11-10 is after --until 2026-11-01",
        ),
        (&["usage", "--json", "--csv"][..], "cannot be used with"),
    ] {
        let run = env.run(args).code(2);
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn on_a_terminal_a_bar_is_scaled_to_the_largest_day_and_it_fits() {
    let env = env();
    let out = env.run_in_terminal(80, false, &["usage", "--account", "production"]);
    assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");
    let line = |d: &str| out.lines().find(|l| l.contains(d)).unwrap().to_string();
    assert!(line("2026-11-02").ends_with("██████████"), "{out}");
    assert!(
        line("2026-11-19").ends_with("████████"),
        "440 of 520: {out}"
    );
    assert!(
        !env.run(&["usage"]).ok().stdout.contains('█'),
        "no bar in a pipe"
    );
}
