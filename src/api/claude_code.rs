//! The Claude Code usage report (ADMIN_API.md §5): each developer's daily usage, with tokens
//! and estimated cost per model. One UTC day per request (`starting_at=YYYY-MM-DD`, no
//! `ending_at`), `limit` records a page, following `next_page`. An actor has several records
//! a day (one per terminal type and local/remote), each with several models: they are summed
//! per actor and day here.

use std::collections::HashMap;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use super::Client;
use super::report::{Cursor, cents};
use crate::records::{ActorKind, DeveloperDay};
use crate::time;

pub(crate) const PATH: &str = "/v1/organizations/usage_report/claude_code";
/// Records per page: the endpoint's maximum.
const PAGE: u32 = 1000;

#[derive(Deserialize)]
struct Page {
    data: Vec<Record>,
    has_more: bool,
    #[serde(default)]
    next_page: Option<String>,
}

#[derive(Deserialize)]
struct Record {
    actor: Actor,
    /// Required: a record without it is a shape quota does not know, never zero usage.
    model_breakdown: Vec<Model>,
}

/// The actor union; a type quota does not know yet is skipped, not an error.
#[derive(Deserialize)]
#[serde(tag = "type")]
enum Actor {
    #[serde(rename = "user_actor")]
    User { email_address: String },
    #[serde(rename = "api_actor")]
    Api { api_key_name: String },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct Model {
    /// The model id (absent: "", which no glob but `*` matches).
    #[serde(default)]
    model: Option<String>,
    tokens: Tokens,
    #[serde(default)]
    estimated_cost: Option<Cost>,
}

#[derive(Deserialize)]
struct Tokens {
    input: u64,
    output: u64,
    cache_read: u64,
    cache_creation: u64,
}

#[derive(Deserialize)]
struct Cost {
    #[serde(default)]
    amount: Option<Value>,
    #[serde(default)]
    currency: Option<String>,
}

/// One day's records summed per actor, and per actor and model.
#[derive(Default)]
struct Day(
    HashMap<(ActorKind, String), DeveloperDay>,
    HashMap<(ActorKind, String, String), DeveloperDay>,
);

/// One actor's day of one model: `(model, day)`.
pub(crate) type ModelDay = (String, DeveloperDay);

fn empty(kind: ActorKind, actor: String, day: NaiveDate) -> DeveloperDay {
    DeveloperDay {
        kind,
        actor,
        day,
        input: 0,
        output: 0,
        cache_read: 0,
        cache_creation: 0,
        cents: Decimal::ZERO,
    }
}

impl Day {
    fn add(&mut self, day: NaiveDate, r: Record, at: &str) -> Result<()> {
        let (kind, actor) = match r.actor {
            Actor::User { email_address } => (ActorKind::User, email_address.trim().to_lowercase()),
            Actor::Api { api_key_name } => (ActorKind::ApiKey, api_key_name),
            Actor::Other => {
                log::debug!("GET {PATH}: {at}: an actor type quota does not know; skipped");
                return Ok(());
            }
        };
        let sum = self
            .0
            .entry((kind, actor.clone()))
            .or_insert_with(|| empty(kind, actor.clone(), day));
        for (i, m) in r.model_breakdown.into_iter().enumerate() {
            let t = m.tokens;
            let of_model = self
                .1
                .entry((kind, actor.clone(), m.model.clone().unwrap_or_default()))
                .or_insert_with(|| empty(kind, actor.clone(), day));
            for s in [&mut *sum, &mut *of_model] {
                s.input = s.input.saturating_add(t.input);
                s.output = s.output.saturating_add(t.output);
                s.cache_read = s.cache_read.saturating_add(t.cache_read);
                s.cache_creation = s.cache_creation.saturating_add(t.cache_creation);
            }
            if let Some(c) = m.estimated_cost {
                if let Some(cur) = c
                    .currency
                    .as_deref()
                    .filter(|c| !c.eq_ignore_ascii_case("USD"))
                {
                    anyhow::bail!(
                        "GET {PATH}: estimated cost in {cur} on {day}; quota keeps USD only"
                    );
                }
                let at = format!("{at}.model_breakdown[{i}].estimated_cost");
                let c = cents(PATH, &at, c.amount.as_ref())?;
                sum.cents += c;
                of_model.cents += c;
            }
        }
        Ok(())
    }
}

/// Every actor's usage on `day`, every page of it: per actor, and per actor and model.
pub(crate) fn read_day(
    client: &mut Client,
    day: NaiveDate,
) -> Result<(Vec<DeveloperDay>, Vec<ModelDay>)> {
    let query = vec![("starting_at", time::day(day)), ("limit", PAGE.to_string())];
    let mut sums = Day::default();
    let mut cursor = Cursor::unbounded();
    loop {
        let page: Page = client
            .get_json(PATH, &cursor.query(&query), None)
            .with_context(|| format!("the Claude Code usage report for {day}"))?;
        for (i, r) in page.data.into_iter().enumerate() {
            sums.add(day, r, &format!("page {} data[{i}]", cursor.pages() + 1))?;
        }
        if !cursor.advance(PATH, page.has_more, page.next_page)? {
            break;
        }
    }
    let models = sums.1.into_iter().map(|((_, _, m), d)| (m, d)).collect();
    Ok((sums.0.into_values().collect(), models))
}

/// One page from bytes, through the same code as `read_day`.
#[cfg(test)]
pub(crate) fn parse_page(day: NaiveDate, body: &[u8]) -> Result<Vec<DeveloperDay>> {
    let page: Page = serde_json::from_slice(body)
        .map_err(|e| anyhow::anyhow!("GET {PATH}: malformed response ({e})"))?;
    let mut sums = Day::default();
    for (i, r) in page.data.into_iter().enumerate() {
        sums.add(day, r, &format!("data[{i}]"))?;
    }
    Ok(sums.0.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The API reference's example record (ADMIN_API.md §5), and a second record of the same
    /// user from another terminal with two models: summed per actor, cents exact.
    #[test]
    fn records_of_one_actor_are_summed_over_terminals_and_models() {
        let body = br#"{"data":[{"actor":{"email_address":"User@EmailDomain.com","type":"user_actor"},
 "core_metrics":{"commits_by_claude_code":8,"lines_of_code":{"added":342,"removed":128},"num_sessions":15,"pull_requests_by_claude_code":2},
 "customer_type":"api","date":"2025-08-08T00:00:00Z","is_remote":false,
 "model_breakdown":[{"estimated_cost":{"amount":186,"currency":"USD"},"model":"claude-opus-5",
   "tokens":{"cache_creation":2340,"cache_read":8790,"input":45230,"output":12450}}],
 "organization_id":"12345678-1234-5678-1234-567812345678","terminal_type":"iTerm.app",
 "tool_actions":{"edit_tool":{"accepted":25,"rejected":3},"write_tool":{"accepted":8,"rejected":0}},
 "subscription_type":"enterprise"},
 {"actor":{"email_address":"user@emaildomain.com","type":"user_actor"},"date":"2025-08-08T00:00:00Z","is_remote":true,
  "terminal_type":"vscode","model_breakdown":[
   {"estimated_cost":{"amount":14,"currency":"USD"},"model":"a","tokens":{"cache_creation":0,"cache_read":0,"input":10,"output":5}},
   {"estimated_cost":{"amount":"0.5","currency":"USD"},"model":"b","tokens":{"cache_creation":1,"cache_read":2,"input":3,"output":4}}]},
 {"actor":{"api_key_name":"ci-bot","type":"api_actor"},"date":"2025-08-08T00:00:00Z","model_breakdown":[]},
 {"actor":{"type":"robot_actor","name":"?"},"date":"2025-08-08T00:00:00Z","model_breakdown":[]}],
 "has_more":true,"next_page":"page_MjAyNS0wNS0xNFQwMDowMDowMFo="}"#;
        let day = NaiveDate::from_ymd_opt(2025, 8, 8).unwrap();
        let mut rows = parse_page(day, body).unwrap();
        rows.sort_by(|a, b| a.actor.cmp(&b.actor));
        assert_eq!(rows.len(), 2, "the unknown actor type is skipped");
        assert_eq!(
            (rows[0].kind, rows[0].actor.as_str()),
            (ActorKind::ApiKey, "ci-bot")
        );
        let u = &rows[1];
        assert_eq!(
            (u.kind, u.actor.as_str()),
            (ActorKind::User, "user@emaildomain.com")
        );
        assert_eq!(
            (u.input, u.output, u.cache_read, u.cache_creation),
            (45243, 12459, 8792, 2341)
        );
        assert_eq!(u.cents, "200.5".parse::<Decimal>().unwrap());
    }

    /// A record without its model breakdown fails the read, naming the field.
    #[test]
    fn a_record_without_its_breakdown_is_an_error() {
        let body = br#"{"data":[{"actor":{"email_address":"a@b.c","type":"user_actor"},"date":"2025-08-08T00:00:00Z"}],"has_more":false}"#;
        let day = NaiveDate::from_ymd_opt(2025, 8, 8).unwrap();
        let e = parse_page(day, body).unwrap_err().to_string();
        assert!(e.contains("missing field `model_breakdown`"), "{e}");
    }
}
