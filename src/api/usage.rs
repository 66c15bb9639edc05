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
    /// Count fields that no row reported (analytics), for the "not measured" reasons.
    pub unreported: Vec<&'static str>,
}

/// Reads daily usage from `first_day` (00:00 UTC) up to now, grouped by API key and
/// workspace, optionally only for `api_key_ids`.
pub fn fetch(client: &mut Client, first_day: NaiveDate, api_key_ids: &[&str]) -> Result<Fetched> {
    let query = report_query(first_day, api_key_ids);

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
/// only for some keys.
fn report_query(first_day: NaiveDate, api_key_ids: &[&str]) -> Vec<(&'static str, String)> {
    let mut query: Vec<(&str, String)> = vec![
        ("starting_at", time::midnight(first_day)),
        ("bucket_width", "1d".into()),
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
        ..DayUsage::split(
            day,
            r.uncached_input_tokens,
            (
                r.cache_creation.ephemeral_5m_input_tokens,
                r.cache_creation.ephemeral_1h_input_tokens,
            ),
            r.cache_read_input_tokens,
            r.output_tokens,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The API reference's usage report example (tests/fixtures/admin_api/README.md): rows
    /// with dimensions that are not null, two of the same key, workspace and day that differ
    /// only in `model` (summed), and a `next_page` that looks like a timestamp (opaque).
    #[test]
    fn the_reference_example_parses_and_sums_rows_split_by_model() {
        let body = include_bytes!("../../tests/fixtures/admin_api/usage_report_page.json");
        let rows = parse_page(body).unwrap();
        assert_eq!(rows.len(), 1, "one key, workspace and day");
        let r = &rows[0];
        assert_eq!(
            r.api_key_id.as_deref(),
            Some("apikey_01Rj2N8SVvo6BePZj99NhmiT")
        );
        assert_eq!(
            r.workspace_id.as_deref(),
            Some("wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ")
        );
        assert_eq!(r.day, NaiveDate::from_ymd_opt(2025, 8, 1).unwrap());
        assert_eq!(r.uncached_input_tokens, Some(1525));
        assert_eq!(r.cache_creation_5m_tokens, Some(505));
        assert_eq!(r.cache_creation_1h_tokens, Some(1000));
        assert_eq!(r.cache_read_tokens, Some(200));
        assert_eq!(r.output_tokens, Some(570));
        assert_eq!(
            r.requests, None,
            "web_search_requests is not a request count"
        );
        assert_eq!(r.tokens(), Some(3800));
        let page: Page<Row> = serde_json::from_slice(body).unwrap();
        let mut cursor = Cursor::default();
        assert!(cursor.advance(PATH, page.has_more, page.next_page).unwrap());
        assert_eq!(
            cursor.query(&[])[0],
            ("page", "2019-12-27T18:11:19.117Z".to_string())
        );
    }
}
