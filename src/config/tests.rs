use std::collections::HashMap;
use std::ffi::OsString;

use super::*;
use crate::quota::QuotaType;

fn load(toml: &str, env: &[(&str, &str)]) -> Result<Config> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, toml).unwrap();
    let env: HashMap<String, OsString> = env
        .iter()
        .map(|(k, v)| (k.to_string(), OsString::from(v)))
        .collect();
    let overrides = Overrides {
        config: Some(Located {
            path,
            origin: Origin::Flag("--config"),
        }),
        db: Some(Located {
            path: dir.path().join("q.db"),
            origin: Origin::Flag("--db"),
        }),
    };
    Config::load(&overrides, &|k| env.get(k).cloned())
}

fn error(toml: &str) -> String {
    let e = load(toml, &[]).unwrap_err();
    assert_eq!(crate::error::exit_code(&e), 2, "{e:#}");
    let msg = format!("{e:#}");
    assert!(!msg.contains('\n'), "one line: {msg}");
    assert!(msg.contains("config.toml"), "names the file: {msg}");
    msg
}

#[test]
fn an_empty_file_is_all_defaults() {
    let c = load("", &[]).unwrap();
    assert_eq!(c.api.base_url, DEFAULT_BASE_URL);
    assert_eq!(c.api.deadline, Duration::from_secs(50));
    assert_eq!(c.database.retention_days, 400);
    assert_eq!(c.discovery, Discovery::Auto);
    assert!(c.accounts.is_empty());
}

#[test]
fn accounts_inherit_defaults_per_key() {
    let c = load(
        r#"
        [defaults]
        billing_day = 15
        thresholds = [80, 95, 100]
        token_limit = 5000000000
        output_token_limit = 10

        [[accounts]]
        name = "production"
        api_key_id = "apikey_01Rj2N8SVvo6BePZj99NhmiT"
        token_limit = 7
        billing_day = 31
        thresholds = [90]

        [[accounts]]
        name = "research"
        workspace_id = "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ"
        cost_limit_usd = "2500.10"

        [[accounts]]
        name = "playground"
        workspace_id = "default"

        [[accounts]]
        name = "everything"
        organization = true
        "#,
        &[],
    )
    .unwrap();
    let p = &c.accounts[0];
    assert_eq!(
        (p.limits.tokens, p.limits.output_tokens, p.billing_day),
        (Some(7), Some(10), 31)
    );
    assert_eq!(*p.thresholds, [90]);
    let r = &c.accounts[1];
    assert_eq!(
        r.limits.get(QuotaType::CostUsd),
        Some("2500.10".parse().unwrap())
    );
    assert_eq!((r.billing_day, r.limits.tokens), (15, Some(5_000_000_000)));
    assert_eq!(c.accounts[2].selector, Selector::Workspace(None));
    assert_eq!(c.accounts[3].selector, Selector::Organization);
}

#[test]
fn unknown_keys_name_the_key_and_line() {
    let m = error("[api]\ndeadline_sec = 5\n");
    assert!(m.contains("deadline_sec") && m.contains(":2:"), "{m}");
    let m = error("[[accounts]]\nname = \"a\"\napi_key_id = \"apikey_1\"\ntoken_limt = 5\n");
    assert!(m.contains("token_limt"), "{m}");
    let m =
        error("[[accounts]]\nname = \"a\"\napi_key_id = \"apikey_1\"\ntoken_limit = \"lots\"\n");
    assert!(m.contains("token_limit"), "{m}");
}

#[test]
fn bad_values_are_named() {
    for (toml, needle) in [
        (
            "[[accounts]]\nname = \"a\"\napi_key_id = \"apikey_1\"\n[[accounts]]\nname = \"a\"\norganization = true\n",
            "duplicate account name \"a\"",
        ),
        ("[[accounts]]\nname = \"a\"\n", "no selector"),
        (
            "[[accounts]]\nname = \"a\"\napi_key_id = \"apikey_1\"\norganization = true\n",
            "more than one selector",
        ),
        (
            "[[accounts]]\nname = \"a\"\napi_key_id = \"key_abc123\"\n",
            "is not an API key id",
        ),
        (
            "[[accounts]]\nname = \"a\"\nworkspace_id = \"ws\"\n",
            "is not a workspace id",
        ),
        (
            "[[accounts]]\napi_key_id = \"apikey_1\"\n",
            "needs a non-empty name",
        ),
        (
            "[[accounts]]\nname = \"a\"\napi_key_id = \"apikey_1\"\nbilling_day = 32\n",
            "billing_day: 32 is not a day",
        ),
        ("[defaults]\nbilling_day = 0\n", "defaults.billing_day"),
        (
            "[defaults]\nthresholds = [80, 1001]\n",
            "defaults.thresholds: 1001 is outside 1–1000",
        ),
        (
            "[defaults]\nthresholds = []\n",
            "needs at least one threshold",
        ),
        (
            "[[accounts]]\nname = \"a\"\napi_key_id = \"apikey_1\"\ntoken_limit = 0\n",
            "token_limit: must be greater than 0, got 0",
        ),
        (
            "[[accounts]]\nname = \"a\"\napi_key_id = \"apikey_1\"\nrequest_limit = -3\n",
            "request_limit: must be greater than 0",
        ),
        (
            "[[accounts]]\nname = \"a\"\norganization = true\ncost_limit_usd = 25.5\n",
            "as a string",
        ),
        (
            "[[accounts]]\nname = \"a\"\norganization = true\ncost_limit_usd = \"-1\"\n",
            "greater than 0",
        ),
        (
            "[api]\nbase_url = \"http://api.example.com\"\n",
            "non-loopback",
        ),
        ("[api]\nusage_source = \"magic\"\n", "api.usage_source"),
        ("[api]\ntimeout_secs = 0\n", "api.timeout_secs"),
        (
            "[discovery]\napi_keys = \"sometimes\"\n",
            "discovery.api_keys",
        ),
        ("[[notify]]\ntype = \"slack\"\n", "needs url or url_file"),
        (
            "[[notify]]\ntype = \"sms\"\nurl = \"https://x\"\n",
            "notify[0].type",
        ),
        (
            "[[notify]]\ntype = \"slack\"\nurl = \"https://x\"\nrouting_key = \"k\"\n",
            "notify[0].routing_key: is not a key of a slack channel",
        ),
        (
            "[[notify]]\ntype = \"email\"\nto = \"ops@example.com\"\n",
            "notify[0].from",
        ),
        (
            "[[notify]]\ntype = \"webhook\"\nurl = \"ftp://x\"\nmin_severity = \"warning\"\n",
            "notify[0].url: is not an http(s) URL",
        ),
        (
            "[[notify]]\ntype = \"webhook\"\nurl = \"https://x\"\nmin_severity = \"info\"\n",
            "min_severity",
        ),
        (
            "[[notify]]\ntype = \"webhook\"\nname = \"x\"\nurl = \"https://x\"\n[[notify]]\ntype = \"slack\"\nname = \"x\"\nurl = \"https://y\"\n",
            "duplicate channel name",
        ),
        ("not toml at all", "config.toml:1:"),
    ] {
        let m = error(toml);
        assert!(m.contains(needle), "expected {needle:?} in: {m}");
    }
}

#[test]
fn secrets_never_reach_error_messages() {
    let m = error(
        "[[notify]]\ntype = \"slack\"\nurl = \"https://hooks.example/T0/SECRET\"\nurl_file = \"/x\"\n",
    );
    assert!(!m.contains("SECRET"), "{m}");
}

#[test]
fn thresholds_are_sorted_with_a_warning() {
    let c = load("[defaults]\nthresholds = [100, 80, 95, 95]\n", &[]).unwrap();
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    let c = load(
        "[[accounts]]\nname = \"a\"\napi_key_id = \"apikey_1\"\nthresholds = [100, 80]\n",
        &[],
    )
    .unwrap();
    assert_eq!(*c.accounts[0].thresholds, [80, 100]);
}

#[test]
fn unmeasured_request_limits_are_warned_about() {
    let c = load(
        "[[accounts]]\nname = \"a\"\napi_key_id = \"apikey_1\"\nrequest_limit = 5\n",
        &[],
    )
    .unwrap();
    assert!(
        c.warnings[0].contains("request_limit is not measured"),
        "{:?}",
        c.warnings
    );
    let c = load("[api]\nusage_source = \"analytics\"\n[[accounts]]\nname = \"a\"\napi_key_id = \"apikey_1\"\nrequest_limit = 5\n", &[]).unwrap();
    assert!(c.warnings.is_empty());
}

#[test]
fn api_url_env_overrides_and_must_be_safe() {
    let c = load("", &[("QUOTA_API_URL", "http://127.0.0.1:8080/")]).unwrap();
    assert_eq!(
        (c.api.base_url.as_str(), &c.api.base_url_origin),
        ("http://127.0.0.1:8080", &Origin::Env("QUOTA_API_URL"))
    );
    assert!(load("", &[("QUOTA_API_URL", "http://[::1]:9/")]).is_ok());
    assert!(load("", &[("QUOTA_API_URL", "http://localhost:9")]).is_ok());
    let e = load("", &[("QUOTA_API_URL", "http://10.0.0.1")]).unwrap_err();
    assert!(format!("{e}").contains("$QUOTA_API_URL"), "{e}");
}

#[test]
fn database_path_lookup_order() {
    let env: HashMap<&str, OsString> = [
        ("STATE_DIRECTORY", OsString::from("/var/lib/quota:/other")),
        ("XDG_STATE_HOME", OsString::from("/xdg")),
        ("HOME", OsString::from("/home/op")),
    ]
    .into();
    let overrides = Overrides::default();
    let get = |keys: &[&str]| {
        let c = Config::load(&overrides, &|k| {
            if keys.contains(&k) {
                env.get(k).cloned()
            } else {
                None
            }
        })
        .unwrap();
        (
            c.database.path.path.display().to_string(),
            c.database.path.origin.to_string(),
        )
    };
    assert_eq!(
        get(&["STATE_DIRECTORY", "XDG_STATE_HOME", "HOME"]),
        ("/var/lib/quota/quota.db".into(), "$STATE_DIRECTORY".into())
    );
    assert_eq!(
        get(&["XDG_STATE_HOME", "HOME"]),
        ("/xdg/quota/quota.db".into(), "$XDG_STATE_HOME".into())
    );
    assert_eq!(
        get(&["HOME"]),
        (
            "/home/op/.local/state/quota/quota.db".into(),
            "default".into()
        )
    );
}

#[test]
fn a_parse_error_names_the_key_and_never_echoes_the_line() {
    let m = error(
        "[[notify]]\ntype = \"slack\"\nurl = [\"https://hooks.slack.com/services/SECRET\"]\n",
    );
    assert!(m.contains("notify[0].url: invalid type"), "{m}");
    assert!(!m.contains("SECRET"), "{m}");
    let m = error("[api]\nusage_source = \"magic\"\n");
    assert!(
        m.contains("api.usage_source: unknown variant `magic`"),
        "{m}"
    );
}
