//! The analytics usage source (ADMIN_API.md §3, beta): tokens and request counts per key and
//! workspace. Its exact shape is not fully published, so rows are read in either layout:
//! dimension and count fields at the row's top level (inside the §1 bucket envelope), or
//! flat rows with `group` and `usage` objects. A response with neither is an error that says
//! what is missing: a count is never guessed.

use anyhow::{Result, bail};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::Client;
use super::report::{Cursor, bucket_day};
use super::usage::{Fetched, Merged, report_query};
use crate::quota::DayUsage;

/// Where to find the endpoint, which the beta may still rename.
pub struct Endpoint<'a> {
    pub path: &'a str,
    pub bucket_param: &'a str,
    pub beta: &'a str,
}

#[derive(Deserialize)]
struct Page {
    data: Vec<Map<String, Value>>,
    has_more: bool,
    #[serde(default)]
    next_page: Option<String>,
    #[serde(default)]
    data_refreshed_at: Option<String>,
}

pub fn fetch(
    client: &mut Client,
    e: &Endpoint<'_>,
    first_day: NaiveDate,
    api_key_ids: &[&str],
) -> Result<Fetched> {
    let query = report_query(e.bucket_param, first_day, api_key_ids);
    let mut merged = Merged::default();
    let mut fetched = Fetched::default();
    let mut cursor = Cursor::default();
    loop {
        let page: Page = client.get_json(e.path, &cursor.query(&query), Some(e.beta))?;
        fetched.pages += 1;
        if page.data_refreshed_at.is_some() {
            fetched.data_as_of = page.data_refreshed_at;
        }
        add_page(&mut merged, e.path, &page.data)?;
        if !cursor.advance(e.path, page.has_more, page.next_page)? {
            break;
        }
    }
    fetched.rows = merged.rows();
    Ok(fetched)
}

fn add_page(merged: &mut Merged, path: &str, data: &[Map<String, Value>]) -> Result<()> {
    for (i, item) in data.iter().enumerate() {
        let starting_at = item.get("starting_at").and_then(Value::as_str);
        let Some(starting_at) = starting_at else {
            bail!(
                "GET {}: malformed response: data[{i}] has no starting_at; nothing was stored",
                path
            );
        };
        let day = bucket_day(path, starting_at)?;
        match item.get("results") {
            Some(Value::Array(results)) => {
                for (j, r) in results.iter().enumerate() {
                    let Some(r) = r.as_object() else {
                        bail!(
                            "GET {}: malformed response: data[{i}].results[{j}] is not an object",
                            path
                        );
                    };
                    merged.add(row(path, &format!("data[{i}].results[{j}]"), r, day)?);
                }
            }
            _ if item.contains_key("group") || item.contains_key("usage") => {
                merged.add(row(path, &format!("data[{i}]"), item, day)?);
            }
            _ => bail!(
                "GET {}: malformed response: data[{i}] has neither results (bucket layout) nor group/usage (row layout); nothing was stored",
                path
            ),
        }
    }
    Ok(())
}

/// One page from bytes, through the same code as `fetch` (fuzzing, malformed-input corpus).
pub fn parse_page(path: &str, body: &[u8]) -> Result<Vec<DayUsage>> {
    let page: Page = serde_json::from_slice(body)
        .map_err(|e| anyhow::anyhow!("GET {path}: malformed response ({e})"))?;
    let mut merged = Merged::default();
    add_page(&mut merged, path, &page.data)?;
    Ok(merged.rows())
}

/// One row in either layout: dimensions in `group` (else the row), counts in `usage` (else
/// the row).
fn row(path: &str, at: &str, r: &Map<String, Value>, day: NaiveDate) -> Result<DayUsage> {
    let dims = r.get("group").and_then(Value::as_object).unwrap_or(r);
    let nested = r.get("usage").and_then(Value::as_object);
    let counts = nested.unwrap_or(r);
    let prefix = if nested.is_some() { "usage." } else { "" };
    let count = |names: &[&str]| -> Result<Option<u64>> {
        for n in names {
            match counts.get(*n) {
                None | Some(Value::Null) => continue,
                Some(v) => {
                    let Some(x) = v.as_u64().filter(|x| i64::try_from(*x).is_ok()) else {
                        bail!(
                            "GET {path}: malformed response: {at}.{prefix}{n} = {v} is not a 64-bit count; nothing was stored"
                        );
                    };
                    return Ok(Some(x));
                }
            }
        }
        Ok(None)
    };
    let required = |names: &[&str]| -> Result<u64> {
        count(names)?.ok_or_else(|| {
            anyhow::anyhow!(
                "GET {path}: malformed response: {at} has no {prefix}{}; nothing was stored",
                names[0]
            )
        })
    };
    let cache = counts.get("cache_creation").and_then(Value::as_object);
    let cache_field = |name: &str| -> Result<u64> {
        match cache.and_then(|c| c.get(name)) {
            None | Some(Value::Null) => Ok(0),
            Some(v) => v.as_u64().filter(|x| i64::try_from(*x).is_ok()).ok_or_else(|| {
                anyhow::anyhow!("GET {path}: malformed response: {at}.{prefix}cache_creation.{name} = {v} is not a 64-bit count")
            }),
        }
    };
    let dim = |name: &str| dims.get(name).and_then(Value::as_str).map(String::from);
    Ok(DayUsage {
        api_key_id: dim("api_key_id"),
        workspace_id: dim("workspace_id"),
        day,
        uncached_input_tokens: required(&["uncached_input_tokens", "input_tokens"])?,
        // Cache counts may be reported as one figure or split by lifetime; absent means none.
        cache_creation_5m_tokens: cache_field("ephemeral_5m_input_tokens")?
            + count(&["cache_creation_input_tokens"])?.unwrap_or(0),
        cache_creation_1h_tokens: cache_field("ephemeral_1h_input_tokens")?,
        cache_read_tokens: count(&["cache_read_input_tokens"])?.unwrap_or(0),
        output_tokens: required(&["output_tokens"])?,
        // Null or absent: not measured for this row (never a guessed zero).
        requests: count(&["requests", "request_count"])?,
    })
}
