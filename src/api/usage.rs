//! The usage report (ADMIN_API.md §1): one grouped request for every key and workspace,
//! daily buckets, followed across pages. A response is taken whole or not at all.

use std::collections::HashMap;
use std::io::Read;

use anyhow::{Result, bail};
use chrono::NaiveDate;
use serde::Deserialize;

use super::Client;
use super::report::Cursor;
#[cfg(test)]
use super::report::Page;
use super::scan::Scanner;
use crate::quota::DayUsage;
use crate::records::UsageSink;
use crate::time;

pub(crate) const PATH: &str = "/v1/organizations/usage_report/messages";
/// Daily buckets per page; 31 is the API's maximum, so a whole period fits one page.
pub(crate) const PAGE_BUCKETS: u32 = 31;

/// Counts are required (a missing one is an error naming it, never a guessed zero);
/// dimensions may be null or absent.
#[derive(Deserialize)]
pub(super) struct Row {
    uncached_input_tokens: u64,
    cache_creation: CacheCreation,
    cache_read_input_tokens: u64,
    output_tokens: u64,
    #[serde(default)]
    api_key_id: Option<String>,
    #[serde(default)]
    workspace_id: Option<String>,
    /// Only when grouped by model.
    #[serde(default)]
    model: Option<String>,
}

#[derive(Deserialize)]
struct CacheCreation {
    ephemeral_5m_input_tokens: u64,
    ephemeral_1h_input_tokens: u64,
}

/// What one fetch brought back (its rows went to the sink).
#[derive(Debug, Default)]
pub(crate) struct Fetched {
    /// Rows read, before merging rows of one key, workspace and day.
    pub rows: usize,
    /// The source's own "data as of" watermark, when it gives one (analytics).
    pub data_as_of: Option<String>,
    pub pages: usize,
    /// Count fields that no row reported (analytics), for the "not measured" reasons.
    pub unreported: Vec<&'static str>,
}

/// Reads daily usage from `first_day` (00:00 UTC) up to now, grouped by API key and
/// workspace, optionally only for `api_key_ids`, into `sink` as each page streams in: a
/// whole period for every key is one page, so it is never held whole.
pub(crate) fn fetch(
    client: &mut Client,
    first_day: NaiveDate,
    api_key_ids: &[&str],
    by_model: bool,
    sink: &mut dyn UsageSink,
) -> Result<Fetched> {
    let mut query = report_query(first_day, api_key_ids);
    if by_model {
        query.push(("group_by[]", "model".into()));
    }
    let mut fetched = Fetched::default();
    let mut cursor = Cursor::default();
    loop {
        let (has_more, next_page, rows) = stream_page(client, &cursor.query(&query), sink)?;
        fetched.pages += 1;
        fetched.rows += rows;
        if !cursor.advance(PATH, has_more, next_page)? {
            break;
        }
    }
    Ok(fetched)
}

/// Hands each row of a page, parsed as it streams, to `sink`; the sink's own failure (the
/// store) is kept apart so it is not reported as a malformed response.
struct Feed<'s> {
    sink: &'s mut dyn UsageSink,
    failed: Option<anyhow::Error>,
    rows: usize,
}

impl Feed<'_> {
    fn take(&mut self, day: NaiveDate, mut r: Row) -> Result<(), String> {
        let model = r.model.take();
        let row = to_day_usage(r, day).map_err(|e| format!("{e:#}"))?;
        self.rows += 1;
        let sink = &mut *self.sink;
        let added = match &model {
            Some(m) => sink.add_model(m, &row).and_then(|()| sink.add(row)),
            None => sink.add(row),
        };
        added.map_err(|e| {
            let msg = format!("{e:#}");
            self.failed = Some(e);
            msg
        })
    }
}

/// One page, its rows into `sink` as they are parsed; a try that fails part-way takes back
/// what it added. Returns the cursor and the rows read.
fn stream_page(
    client: &mut Client,
    query: &[(&str, String)],
    sink: &mut dyn UsageSink,
) -> Result<(bool, Option<String>, usize)> {
    let mut feed = Feed {
        sink,
        failed: None,
        rows: 0,
    };
    let result = client.get_with(PATH, query, None, &mut |body| {
        feed.failed = None;
        feed.rows = 0;
        if let Err(e) = feed.sink.begin_page() {
            let msg = format!("{e:#}");
            feed.failed = Some(e);
            return Err(serde::de::Error::custom(msg));
        }
        let mut each = |day: NaiveDate, r: Row| feed.take(day, r);
        scan_page(body, &mut each)
    });
    match (result, feed.failed.take()) {
        (Ok((has_more, next)), _) => {
            feed.sink.end_page()?;
            Ok((has_more, next, feed.rows))
        }
        (Err(_), Some(store)) => Err(store),
        (Err(e), None) => Err(e),
    }
}

/// One page of the usage report from bytes, through the same code as `fetch` (for fuzzing
/// and the malformed-input corpus): the rows, or the error a sync would report.
pub(crate) fn parse_page(body: &[u8]) -> Result<Vec<DayUsage>> {
    let mut merged = Merged::default();
    let mut failed = None;
    let mut each = |day: NaiveDate, r: Row| -> Result<(), String> {
        let row = to_day_usage(r, day).map_err(|e| {
            let msg = format!("{e:#}");
            failed = Some(e);
            msg
        })?;
        merged.add(row);
        Ok(())
    };
    let parsed = scan_page(body, &mut each);
    match (parsed, failed) {
        (Ok(_), _) => Ok(merged.rows()),
        (Err(_), Some(e)) => Err(e),
        (Err(e), None) => Err(anyhow::anyhow!("GET {PATH}: malformed response ({e})")),
    }
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
pub(crate) struct Merged(HashMap<(Option<String>, Option<String>, NaiveDate), DayUsage>);

/// An in-memory sink: every row of a fetch, merged (for parsing one page from bytes).
impl UsageSink for Merged {
    fn add(&mut self, row: DayUsage) -> Result<()> {
        Merged::add(self, row);
        Ok(())
    }

    fn begin_page(&mut self) -> Result<()> {
        Ok(())
    }

    fn end_page(&mut self) -> Result<()> {
        Ok(())
    }

    fn restart(&mut self) -> Result<()> {
        self.0.clear();
        Ok(())
    }
}

impl Merged {
    pub(crate) fn add(&mut self, mut row: DayUsage) {
        let key = (row.api_key_id.take(), row.workspace_id.take(), row.day);
        match self.0.entry(key) {
            std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().absorb(&row),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(row);
            }
        }
    }

    pub(crate) fn rows(self) -> Vec<DayUsage> {
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

/// Where each row goes, with its bucket's day.
type Each<'a> = dyn FnMut(NaiveDate, Row) -> Result<(), String> + 'a;

/// One page, its rows to `each` as they are read: `(has_more, next_page)`.
fn scan_page(
    body: impl Read,
    each: &mut Each<'_>,
) -> Result<(bool, Option<String>), serde_json::Error> {
    use serde::de::Error as _;
    let mut s = Scanner::new(body);
    let (mut has_more, mut next, mut data) = (None, None, false);
    s.object("a usage report page", |key, s| {
        match key {
            "data" => {
                data = true;
                s.array("a list of daily buckets", |s| bucket(s, each))?;
            }
            "has_more" => has_more = Some(s.value::<bool>()?),
            "next_page" => next = s.value::<Option<String>>()?,
            _ => s.skip()?,
        }
        Ok(())
    })?;
    s.end()?;
    if !data {
        return Err(serde_json::Error::missing_field("data"));
    }
    let has_more = has_more.ok_or_else(|| serde_json::Error::missing_field("has_more"))?;
    Ok((has_more, next))
}

/// One daily bucket: its rows to `each` with its day.
fn bucket<R: Read>(s: &mut Scanner<R>, each: &mut Each<'_>) -> Result<(), serde_json::Error> {
    use serde::de::Error as _;
    let mut day: Option<NaiveDate> = None;
    // Results before starting_at (a JSON object has no order): held for this bucket.
    let mut early: Option<Vec<Row>> = None;
    let mut results = false;
    s.object("a daily bucket", |key, s| {
        match key {
            "starting_at" => {
                let at: String = s.value()?;
                let t = time::parse(&at).map_err(|_| {
                    serde_json::Error::custom(format!(
                        "GET {PATH}: malformed response: bucket starting_at {at:?} is not an RFC 3339 time"
                    ))
                })?;
                day = Some(t.date_naive());
            }
            "results" => match day {
                _ if results => return Err(serde_json::Error::duplicate_field("results")),
                Some(d) => {
                    results = true;
                    s.array("a list of usage rows", |s| {
                        each(d, s.value()?).map_err(serde_json::Error::custom)
                    })?;
                }
                None => {
                    results = true;
                    let rows = early.insert(Vec::new());
                    s.array("a list of usage rows", |s| {
                        rows.push(s.value()?);
                        Ok(())
                    })?;
                }
            },
            _ => s.skip()?,
        }
        Ok(())
    })?;
    let day = day.ok_or_else(|| serde_json::Error::missing_field("starting_at"))?;
    if !results {
        return Err(serde_json::Error::missing_field("results"));
    }
    let Some(rows) = early.take() else {
        return Ok(());
    };
    for r in rows {
        each(day, r).map_err(serde_json::Error::custom)?;
    }
    Ok(())
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
