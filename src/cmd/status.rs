//! `quota status`: one row per account and quota type.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::{Map, Value, json};

use super::Ctx;
use crate::alert::AccountStatus;
use crate::cli::StatusArgs;
use crate::evaluate::{self, View, unmeasured_reason};
use crate::output;
use crate::period::human_duration;
use crate::quota::{QuotaType, percentage};
use crate::store::{self, ts};

pub fn run(ctx: &Ctx, args: &StatusArgs) -> Result<ExitCode> {
    let config = &ctx.config;
    let mut store = ctx.open_store()?;
    let all = ctx.accounts(&mut store)?;
    let accounts = crate::config::select(&all, &args.filter.accounts)?;
    let earliest = evaluate::earliest_start(&accounts, ctx.now);
    let (loaded, states, open, backlog, data_as_of) = store.read(|tx| {
        Ok((
            evaluate::Loaded::read(tx, earliest)?,
            store::accounts::states(tx)?,
            store::alerts::open_counts(tx)?,
            store::outbox::backlog(tx)?,
            store::get_state(tx, store::USAGE_AS_OF)?,
        ))
    })?;
    let views = evaluate::views(&accounts, &loaded.inputs(config.api.usage_source), ctx.now);
    let source = config.api.usage_source;
    let state = |name: &str| states.get(name);
    let status_of =
        |v: &View<'_>| state(&v.account.name).map_or(AccountStatus::Active, |s| s.status);
    let synced = |v: &View<'_>| state(&v.account.name).and_then(|s| s.last_synced_at);
    let open_of = |v: &View<'_>| open.get(&v.account.name).copied().unwrap_or(0);

    if args.json {
        let items: Vec<Value> = views
            .iter()
            .map(|v| {
                let mut quotas = Map::new();
                for r in &v.readings {
                    let pct = match (r.used, r.limit) {
                        (Some(u), Some(l)) => json!(percentage(u, l)),
                        _ => Value::Null,
                    };
                    let mut q = json!({
                        "used": r.used.map_or(Value::Null, |u| r.quota_type.json_value(u)),
                        "limit": r.limit.map_or(Value::Null, |l| r.quota_type.json_value(l)),
                        "percentage": pct,
                        "measured": r.used.is_some(),
                    });
                    if r.used.is_none() {
                        q["reason"] = json!(unmeasured_reason(r.quota_type, source));
                    }
                    q["forecast"] = r.forecast.map_or(Value::Null, |f| {
                        json!({
                            "projected": r.quota_type.json_value(f.projected.round_dp(2)),
                            "exhausts_at": f.exhausts_at.map(ts),
                        })
                    });
                    quotas.insert(r.quota_type.as_str().to_string(), q);
                }
                json!({
                    "account": v.account.name,
                    "api_key_id": v.account.selector.api_key_id(),
                    "workspace_id": v.account.selector.workspace_label(),
                    "organization": matches!(v.account.selector, crate::config::Selector::Organization),
                    "status": status_of(v).as_str(),
                    "period_start": ts(v.period.start),
                    "period_end": ts(v.period.end),
                    "resets_in_seconds": v.period.remaining(ctx.now).num_seconds(),
                    "last_synced_at": synced(v).map(ts),
                    "usage_source": source.as_str(),
                    // The source's own watermark (analytics data lags by hours), else null.
                    "data_as_of": data_as_of,
                    "quotas": quotas,
                    "open_alerts": open_of(v),
                    "notifications": backlog.get(&v.account.name).map_or_else(|| json!({}), |channels| {
                        channels.iter().map(|(c, b)| (c.clone(), json!({"pending": b.pending, "failed": b.failed}))).collect::<Map<_, _>>().into()
                    }),
                })
            })
            .collect();
        output::json(&Value::Array(items))?;
        return Ok(ExitCode::SUCCESS);
    }

    if views.is_empty() {
        output::line(
            "no accounts configured: add [[accounts]] to the config file (see quota config check)",
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = output::table(&[
        "ACCOUNT",
        "QUOTA",
        "USED",
        "LIMIT",
        "%",
        "PROJECTED",
        "PERIOD",
        "RESETS IN",
        "STATUS",
        "DATA AS OF",
        "ALERTS",
    ]);
    for v in &views {
        // Tokens always (usage is tracked even without a limit), other quotas when limited.
        let shown = v
            .readings
            .iter()
            .filter(|r| r.quota_type == QuotaType::Tokens || r.limit.is_some());
        for r in shown {
            let q = r.quota_type;
            let (used, pct) = match (r.used, r.limit) {
                (None, _) => ("not measured".to_string(), "-".to_string()),
                (Some(u), Some(l)) => (q.display(u), format!("{:.1}", percentage(u, l))),
                (Some(u), None) => (q.display(u), "-".to_string()),
            };
            t.add_row(vec![
                v.account.name.clone(),
                q.to_string(),
                used,
                r.limit.map_or_else(|| "none".to_string(), |l| q.display(l)),
                pct,
                match r.forecast {
                    Some(f) => match f.exhausts_at {
                        Some(at) => format!(
                            "{} (limit {})",
                            q.display(f.projected),
                            at.format("%m-%d %H:%M")
                        ),
                        None => q.display(f.projected),
                    },
                    None => "-".to_string(),
                },
                format!(
                    "{} to {}",
                    v.period.start.format("%Y-%m-%d"),
                    v.period.end.format("%Y-%m-%d")
                ),
                human_duration(v.period.remaining(ctx.now)),
                status_of(v).to_string(),
                synced(v).map_or_else(|| "never".to_string(), output::time),
                open_of(v).to_string(),
            ]);
        }
    }
    output::print_table(&t)?;
    if let Some(as_of) = &data_as_of {
        output::line(&format!(
            "usage data as of {as_of} (the {} source's own watermark)",
            source.as_str()
        ))?;
    }
    // Deliveries not (yet) made, per channel, over all accounts shown.
    let mut per_channel: std::collections::BTreeMap<&str, (usize, usize)> =
        std::collections::BTreeMap::new();
    for v in &views {
        for (c, b) in backlog.get(&v.account.name).into_iter().flatten() {
            let e = per_channel.entry(c.as_str()).or_default();
            e.0 += b.pending;
            e.1 += b.failed;
        }
    }
    for (c, (pending, failed)) in per_channel {
        output::line(&format!(
            "notifications to {c}: {pending} pending, {failed} failed"
        ))?;
    }
    for v in &views {
        for r in v
            .readings
            .iter()
            .filter(|r| r.limit.is_some() && r.used.is_none())
        {
            let why = unmeasured_reason(r.quota_type, source).unwrap_or("no data");
            log::warn!(
                "account {:?}: {} not measured: {why}",
                v.account.name,
                r.quota_type
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
