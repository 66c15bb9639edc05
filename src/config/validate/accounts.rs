//! `[defaults]`, `[claude_code_defaults]` and `[[accounts]]`: limits, thresholds,
//! billing days and selectors, validated into `account::Account`.

use std::collections::HashSet;
use std::sync::Arc;

use anyhow::Result;
use rust_decimal::Decimal;

use super::shapes::{burn_rules, check_windows, merge_windows, windows_written};
use super::{Err, in_range};
use crate::account::{Account, ModelGlob, Selector, Thresholds, UsageSource, WindowRule};
use crate::config::Defaults;
use crate::config::raw::{RawAccount, RawBurn, RawDefaults, RawLimits};
use crate::quota::Limits;

const DEFAULT_THRESHOLDS: [u32; 3] = [80, 95, 100];

/// `[defaults]` or `[claude_code_defaults]` (`table` names it in errors).
pub(super) fn defaults_of(
    d: &RawDefaults,
    table: &str,
    source: UsageSource,
    warnings: &mut Vec<String>,
    err: Err<'_>,
) -> Result<Defaults> {
    let key = |k: &str| format!("{table}.{k}");
    let limits = Arc::new(limits(&d.limits(), &|| table.to_string(), err)?);
    let thresholds: Thresholds = match &d.thresholds {
        Some(t) => thresholds(t, warnings, &|| key("thresholds"))
            .map_err(|p| err(&key("thresholds"), p))?
            .into(),
        None => DEFAULT_THRESHOLDS.into(),
    };
    let written = windows_written([&d.daily, &d.weekly], &|| table.to_string(), warnings, err)?;
    let windows = merge_windows(&[], &written, &thresholds);
    check_windows(&windows, &|| table.to_string(), err)?;
    let for_keys = |l: &Limits| for_keys(l, source);
    Ok(Defaults {
        billing_day: billing_day(d.billing_day).map_err(|p| err(&key("billing_day"), p))?,
        key_limits: Arc::new(for_keys(&limits)),
        limits,
        key_windows: windows
            .iter()
            .map(|w| WindowRule {
                limits: for_keys(&w.limits),
                ..w.clone()
            })
            .collect(),
        windows,
        windows_written: written,
        thresholds,
        forecast: d.forecast.unwrap_or(true),
        burn: match &d.burn_rate {
            None | Some(RawBurn::Switch(true)) => crate::burn::STANDARD.into(),
            Some(b) => burn_rules(b, &crate::burn::STANDARD, &|| key("burn_rate"), err)?,
        },
    })
}

/// A default's limits as they apply to key accounts: a key's cost is read only by the
/// analytics source, so with the messages source a default cost limit is for workspace and
/// organization accounts only.
fn for_keys(l: &Limits, source: UsageSource) -> Limits {
    Limits {
        cost_usd: l.cost_usd.filter(|_| source == UsageSource::Analytics),
        ..l.clone()
    }
}

/// `defaults` are `[defaults]` for key, workspace and organization accounts and
/// `[claude_code_defaults]` for developer accounts.
pub(super) fn accounts(
    raw: &[RawAccount],
    defaults: [&Defaults; 2],
    source: UsageSource,
    warnings: &mut Vec<String>,
    err: Err<'_>,
) -> Result<Vec<Account>> {
    let mut accounts = Vec::with_capacity(raw.len());
    let mut names = HashSet::new();
    for (i, a) in raw.iter().enumerate() {
        let account = account(i, a, defaults, source, warnings, err)?;
        if !names.insert(account.name.clone()) {
            return Err(err(
                &format!("{}.name", account_key(i, a)),
                format!("duplicate account name {:?}", account.name),
            ));
        }
        accounts.push(account);
    }
    Ok(accounts)
}

/// The key path of an account for messages.
fn account_key(i: usize, a: &RawAccount) -> String {
    match &a.name {
        Some(n) => format!("accounts[{i}] ({n:?})"),
        None => format!("accounts[{i}]"),
    }
}

fn account(
    i: usize,
    a: &RawAccount,
    defaults: [&Defaults; 2],
    source: UsageSource,
    warnings: &mut Vec<String>,
    err: Err<'_>,
) -> Result<Account> {
    let at = || account_key(i, a);
    let name = match a.name.as_deref().map(str::trim) {
        Some(n) if !n.is_empty() && !n.chars().any(char::is_control) => n.to_string(),
        _ => {
            return Err(err(
                &format!("{}.name", at()),
                "every account needs a non-empty name".into(),
            ));
        }
    };
    let selector = selector(a).map_err(|p| err(&at(), p))?;
    let defaults = defaults[usize::from(selector.is_developer())];
    let own = limits(&a.limits(), &at, err)?;
    let key_account = matches!(selector, Selector::ApiKey(_));
    if own.cost_usd.is_some() && key_account && source != UsageSource::Analytics {
        warnings.push(format!(
            "{}.cost_limit_usd is not measured: the \"messages\" usage source reads cost per workspace only (set [api] usage_source = \"analytics\" for cost per API key)",
            at()
        ));
    }
    let limits = merged_limits(&own, defaults, key_account);
    let key = || format!("{}.thresholds", at());
    let thresholds: Thresholds = match &a.thresholds {
        Some(t) => thresholds(t, warnings, &key)
            .map_err(|p| err(&key(), p))?
            .into(),
        None => defaults.thresholds.clone(),
    };
    let own_windows = windows_written([&a.daily, &a.weekly], &at, warnings, err)?;
    if key_account
        && source != UsageSource::Analytics
        && own_windows.iter().any(|w| w.limits.cost_usd.is_some())
    {
        warnings.push(format!(
            "{}: a window's cost_limit_usd is not measured: the \"messages\" usage source reads cost per workspace only",
            at()
        ));
    }
    let windows = if own_windows.is_empty() && a.thresholds.is_none() {
        // As the defaults have them: shared, not copied.
        Arc::clone(if key_account {
            &defaults.key_windows
        } else {
            &defaults.windows
        })
    } else {
        let mut written = defaults.windows_written.clone();
        if key_account {
            for w in &mut written {
                w.limits = for_keys(&w.limits, source);
            }
        }
        merge_windows(&own_windows, &written, &thresholds)
    };
    check_windows(&windows, &at, err)?;
    let burn = match &a.burn_rate {
        None => Arc::clone(&defaults.burn),
        Some(raw) => burn_rules(raw, &defaults.burn, &|| format!("{}.burn_rate", at()), err)?,
    };
    let model = model_glob(a.model.as_deref()).map_err(|p| err(&format!("{}.model", at()), p))?;
    Ok(Account {
        name,
        selector,
        limits: Arc::new(limits),
        windows,
        burn,
        model,
        billing_day: match a.billing_day {
            Some(_) => {
                billing_day(a.billing_day).map_err(|p| err(&format!("{}.billing_day", at()), p))?
            }
            None => defaults.billing_day,
        },
        thresholds,
        forecast: a.forecast.unwrap_or(defaults.forecast),
    })
}

/// The account's own limits, each missing one from the defaults. A default cost limit
/// applies to key accounts only where their cost is read.
fn merged_limits(own: &Limits, defaults: &Defaults, key_account: bool) -> Limits {
    let d = &defaults.limits;
    Limits {
        tokens: own.tokens.or(d.tokens),
        input_tokens: own.input_tokens.or(d.input_tokens),
        output_tokens: own.output_tokens.or(d.output_tokens),
        requests: own.requests.or(d.requests),
        cost_usd: own.cost_usd.or(if key_account {
            defaults.key_limits.cost_usd
        } else {
            d.cost_usd
        }),
    }
}

/// `model = "claude-opus-4*"`: a model id or a glob on one.
fn model_glob(raw: Option<&str>) -> Result<Option<ModelGlob>, String> {
    match raw.map(str::trim) {
        None => Ok(None),
        Some(m)
            if !m.is_empty()
                && m.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:@/*".contains(c)) =>
        {
            Ok(Some(ModelGlob::new(m)))
        }
        Some(m) => Err(format!(
            "{m:?} is not a model id or a glob on one (like \"claude-opus-4*\": letters, digits, - _ . : @ / and *)"
        )),
    }
}

fn billing_day(v: Option<i64>) -> Result<u32, String> {
    in_range(v, 1, 1, 31)
        .map_err(|_| format!("{} is not a day of the month (1–31)", v.unwrap_or_default()))
}

pub(super) fn thresholds(
    values: &[i64],
    warnings: &mut Vec<String>,
    key: &dyn Fn() -> String,
) -> Result<Vec<u32>, String> {
    if values.is_empty() {
        return Err("needs at least one threshold (percent, 1–1000)".into());
    }
    let mut sorted = values
        .iter()
        .map(|&v| {
            in_range(Some(v), 0, 1, 1000)
                .map_err(|_| format!("{v} is outside 1–1000 (percent of the limit)"))
        })
        .collect::<Result<Vec<u32>, String>>()?;
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != values.len() || sorted.iter().zip(values).any(|(a, &b)| i64::from(*a) != b) {
        warnings.push(format!(
            "{}: {values:?} is not in ascending order without repeats; using {sorted:?}",
            key()
        ));
    }
    Ok(sorted)
}

pub(super) fn limits(raw: &RawLimits, at: &dyn Fn() -> String, err: Err<'_>) -> Result<Limits> {
    let positive = |v: Option<i64>, key: &str| -> Result<Option<u64>> {
        match v {
            None => Ok(None),
            Some(n) => u64::try_from(n)
                .ok()
                .filter(|&n| n > 0)
                .map(Some)
                .ok_or_else(|| {
                    err(
                        &format!("{}.{key}", at()),
                        format!("must be greater than 0, got {n}"),
                    )
                }),
        }
    };
    let cost = match &raw.cost_limit_usd {
        None => None,
        Some(v) => Some(dollars(v).map_err(|p| err(&format!("{}.cost_limit_usd", at()), p))?),
    };
    Ok(Limits {
        tokens: positive(raw.token_limit, "token_limit")?,
        input_tokens: positive(raw.input_token_limit, "input_token_limit")?,
        output_tokens: positive(raw.output_token_limit, "output_token_limit")?,
        requests: positive(raw.request_limit, "request_limit")?,
        cost_usd: cost,
    })
}

/// A positive dollar amount, exact: a string like "2500.00" or an integer; never a float.
fn dollars(v: &toml::Value) -> Result<Decimal, String> {
    let d = match v {
        toml::Value::String(s) => s
            .trim()
            .parse::<Decimal>()
            .map_err(|_| format!("{s:?} is not a decimal amount of dollars like \"2500.00\""))?,
        toml::Value::Integer(i) => Decimal::from(*i),
        toml::Value::Float(f) => {
            return Err(format!(
                "write the amount as a string (\"{f}\") so it stays exact"
            ));
        }
        other => {
            return Err(format!(
                "expected dollars as a string like \"2500.00\", got {}",
                other.type_str()
            ));
        }
    };
    if d <= Decimal::ZERO {
        return Err(format!("must be greater than 0, got {d}"));
    }
    Ok(d)
}

fn selector(a: &RawAccount) -> Result<Selector, String> {
    let org = a.organization == Some(true);
    let given = usize::from(a.api_key_id.is_some())
        + usize::from(a.workspace_id.is_some())
        + usize::from(org)
        + usize::from(a.claude_code_user.is_some())
        + usize::from(a.claude_code_api_key.is_some());
    if given != 1 {
        let what = if given == 0 {
            "no selector"
        } else {
            "more than one selector"
        };
        return Err(format!(
            "has {what}: set exactly one of api_key_id = \"apikey_…\", workspace_id = \"wrkspc_…\" (or \"default\"), organization = true, claude_code_user = \"alice@example.com\", claude_code_api_key = \"key name\""
        ));
    }
    if let Some(email) = &a.claude_code_user {
        let email = email.trim();
        if email.is_empty() || !email.contains('@') || email.chars().any(char::is_whitespace) {
            return Err(format!(
                "claude_code_user {email:?} is not an e-mail address (like \"alice@example.com\")"
            ));
        }
        return Ok(Selector::ClaudeCodeUser(email.to_lowercase()));
    }
    if let Some(name) = &a.claude_code_api_key {
        if name.trim().is_empty() || name.chars().any(char::is_control) {
            return Err(
                "claude_code_api_key must name an API key (its name as the report gives it)".into(),
            );
        }
        return Ok(Selector::ClaudeCodeApiKey(name.trim().to_string()));
    }
    if let Some(id) = &a.api_key_id {
        if !id.starts_with("apikey_")
            || id.len() <= "apikey_".len()
            || id.chars().any(char::is_whitespace)
        {
            return Err(format!(
                "api_key_id {id:?} is not an API key id (they look like \"apikey_01Rj2N8SVvo6BePZj99NhmiT\")"
            ));
        }
        return Ok(Selector::ApiKey(id.clone()));
    }
    if let Some(ws) = &a.workspace_id {
        if ws == "default" {
            return Ok(Selector::Workspace(None));
        }
        if !ws.starts_with("wrkspc_")
            || ws.len() <= "wrkspc_".len()
            || ws.chars().any(char::is_whitespace)
        {
            return Err(format!(
                "workspace_id {ws:?} is not a workspace id (\"wrkspc_…\", or \"default\" for the Default Workspace)"
            ));
        }
        return Ok(Selector::Workspace(Some(ws.clone())));
    }
    Ok(Selector::Organization)
}
