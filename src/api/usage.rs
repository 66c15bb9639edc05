//! The usage report (ADMIN_API.md §1): one grouped request for every key and workspace,
//! daily buckets, followed across pages. A response is taken whole or not at all.

use std::collections::HashMap;

use anyhow::{Result, bail};
use chrono::NaiveDate;
use serde::Deserialize;

use super::Client;
use super::report::{Cursor, Page, bucket_day};
use crate::quota::DayUsage;
use crate::time;

pub const PATH: &str = "/v1/organizations/usage_report/messages";
/// Daily buckets per page; 31 is the API's maximum, so a whole period fits one page.
pub const PAGE_BUCKETS: u32 = 31;

/// Counts are required (a missing one is an error naming it, never a guessed zero);
/// dimensions may be null or absent.
#[derive(Deserialize)]
struct Row {
    uncached_input_tokens: u64,
    cache_creation: CacheCreation,
    cache_read_input_tokens: u64,
    output_tokens: u64,
    #[serde(default)]
    api_key_id: Option<String>,
    #[serde(default)]
    workspace_id: Option<String>,
}

#[derive(Deserialize)]
struct CacheCreation {
    ephemeral_5m_input_tokens: u64,
    ephemeral_1h_input_tokens: u64,
}

/// What one fetch brought back.
#[derive(Debug, Default)]
pub struct Fetched {
    pub rows: Vec<DayUsage>,
    /// The source's own "data as of" watermark, when it gives one (analytics).
    pub data_as_of: Option<String>,
    pub pages: usize,
}

/// Reads daily usage from `first_day` (00:00 UTC) up to now, grouped by API key and
/// workspace, optionally only for `api_key_ids`.
pub fn fetch(client: &mut Client, first_day: NaiveDate, api_key_ids: &[&str]) -> Result<Fetched> {
    let query = report_query("bucket_width", first_day, api_key_ids);

    let mut merged = Merged::default();
    let mut fetched = Fetched::default();
    let mut cursor = Cursor::default();
    loop {
        let page: Page<Row> = client.get_json(PATH, &cursor.query(&query), None)?;
        fetched.pages += 1;
        let (has_more, next_page) = (page.has_more, page.next_page.clone());
        add_page(&mut merged, page)?;
        if !cursor.advance(PATH, has_more, next_page)? {
            break;
        }
    }
    fetched.rows = merged.rows();
    Ok(fetched)
}

fn add_page(merged: &mut Merged, page: Page<Row>) -> Result<()> {
    for bucket in page.data {
        let day = bucket_day(PATH, &bucket.starting_at)?;
        for r in bucket.results {
            merged.add(to_day_usage(r, day)?);
        }
    }
    Ok(())
}

/// One page of the usage report from bytes, through the same code as `fetch` (for fuzzing
/// and the malformed-input corpus): the rows, or the error a sync would report.
pub fn parse_page(body: &[u8]) -> Result<Vec<DayUsage>> {
    let page: Page<Row> = serde_json::from_slice(body)
        .map_err(|e| anyhow::anyhow!("GET {PATH}: malformed response ({e})"))?;
    let mut merged = Merged::default();
    add_page(&mut merged, page)?;
    Ok(merged.rows())
}

/// The query for a daily report grouped by key and workspace from `first_day`, optionally
/// only for some keys. `bucket_param` is `bucket_width`, or what the analytics beta calls it.
pub fn report_query<'a>(
    bucket_param: &'a str,
    first_day: NaiveDate,
    api_key_ids: &[&str],
) -> Vec<(&'a str, String)> {
    let mut query: Vec<(&str, String)> = vec![
        ("starting_at", time::midnight(first_day)),
        (bucket_param, "1d".into()),
        ("limit", PAGE_BUCKETS.to_string()),
        ("group_by[]", "api_key_id".into()),
        ("group_by[]", "workspace_id".into()),
    ];
    query.extend(
        api_key_ids
            .iter()
            .map(|id| ("api_key_ids[]", id.to_string())),
    );
    query
}

/// Rows of one fetch by (key, workspace, day): rows split by a dimension quota did not
/// group by add up to that day's numbers. The ids live once, in the key.
#[derive(Default)]
pub struct Merged(HashMap<(Option<String>, Option<String>, NaiveDate), DayUsage>);

impl Merged {
    pub fn add(&mut self, mut row: DayUsage) {
        let key = (row.api_key_id.take(), row.workspace_id.take(), row.day);
        match self.0.entry(key) {
            std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().absorb(&row),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(row);
            }
        }
    }

    pub fn rows(self) -> Vec<DayUsage> {
        self.0
            .into_iter()
            .map(|((api_key_id, workspace_id, _), row)| DayUsage {
                api_key_id,
                workspace_id,
                ..row
            })
            .collect()
    }
}

fn to_day_usage(r: Row, day: NaiveDate) -> Result<DayUsage> {
    let counts = [
        ("uncached_input_tokens", r.uncached_input_tokens),
        (
            "cache_creation.ephemeral_5m_input_tokens",
            r.cache_creation.ephemeral_5m_input_tokens,
        ),
        (
            "cache_creation.ephemeral_1h_input_tokens",
            r.cache_creation.ephemeral_1h_input_tokens,
        ),
        ("cache_read_input_tokens", r.cache_read_input_tokens),
        ("output_tokens", r.output_tokens),
    ];
    if let Some((field, v)) = counts.iter().find(|(_, v)| i64::try_from(*v).is_err()) {
        bail!(
            "GET {PATH}: malformed response: {field} = {v} on {day} does not fit a 64-bit counter; nothing was stored"
        );
    }
    Ok(DayUsage {
        api_key_id: r.api_key_id,
        workspace_id: r.workspace_id,
        day,
        uncached_input_tokens: r.uncached_input_tokens,
        cache_creation_5m_tokens: r.cache_creation.ephemeral_5m_input_tokens,
        cache_creation_1h_tokens: r.cache_creation.ephemeral_1h_input_tokens,
        cache_read_tokens: r.cache_read_input_tokens,
        output_tokens: r.output_tokens,
        requests: None,
    })
}
