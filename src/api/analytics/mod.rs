//! The Usage and Cost Analytics API (ADMIN_API.md §3, beta), as published:
//! `/analytics/usage` for tokens and request counts, `/analytics/cost` for USD.
//!
//! - `limit` is the page size in **rows** (`[api] analytics_page_size`, at most 1000), and
//!   pages are followed until `has_more` is false: no page cap, since the number of pages
//!   grows with the organization. A repeating cursor is an error; the sync's deadline ends
//!   a walk that never stops.
//! - A request covers at most 31 days from `starting_at`, so every request sends `ending_at`
//!   and a longer range is read as several windows, oldest first (`windows`).
//! - Rows are flat, one per key, workspace and day: `{starting_at, group: {…}, usage: {…}}`.
//!   Every count may be absent: an absent count is `None` (never a guessed 0), and the
//!   fields no row reported are returned so the quotas that need them show as not
//!   measured, with the reason. A malformed count (wrong type, negative, past 64 bits) is an
//!   error that names the field.

use anyhow::Result;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;

mod cost;
mod rows;

pub(crate) use cost::read_cost;
pub(crate) use rows::Reported;
use rows::{UsageRow, Where, usage_row};

use super::report::Cursor;
use super::usage::{Fetched, Merged};
use super::{ApiError, Client};
use crate::quota::DayUsage;
use crate::records::UsageSink;
use crate::time;

pub(crate) const USAGE_PATH: &str = "/v1/organizations/analytics/usage";
pub(crate) const COST_PATH: &str = "/v1/organizations/analytics/cost";
/// The longest range one request may cover.
pub(crate) const MAX_WINDOW_DAYS: i64 = 31;
/// `starting_at` must lie within the last 365 days.
pub(crate) const MAX_AGE_DAYS: i64 = 365;
/// ... and be no earlier than this day (the official SDK's models say so).
const EARLIEST: (i32, u32, u32) = (2026, 1, 1);

/// Where the endpoints are and how to page them.
pub(crate) struct Endpoint<'a> {
    pub usage_path: &'a str,
    pub cost_path: &'a str,
    pub bucket_param: &'a str,
    pub beta: &'a str,
    /// Rows per page, 1–1000.
    pub page_size: u32,
}

/// `[start, end)`: at most 31 days, the unit of one paged read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    /// The first day not in the window (for a window that ends at midnight).
    pub(crate) fn end_day(&self) -> NaiveDate {
        self.end.date_naive()
    }
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} to {}", time::ts(self.start), time::ts(self.end))
    }
}

/// The windows that cover `first_day` 00:00 UTC up to `now`, oldest first: back-to-back, so
/// no day is skipped or read twice. `first_day` is moved up to the API's 365-day horizon,
/// and never before 2026-01-01, the earliest `starting_at` the API takes.
pub(crate) fn windows(first_day: NaiveDate, now: DateTime<Utc>) -> Vec<Window> {
    let earliest = NaiveDate::from_ymd_opt(EARLIEST.0, EARLIEST.1, EARLIEST.2).unwrap_or_default();
    let horizon = (now.date_naive() - Duration::days(MAX_AGE_DAYS - 1)).max(earliest);
    let mut start = crate::time::start_of(first_day.max(horizon));
    let mut out = Vec::new();
    while start < now {
        let end = (start + Duration::days(MAX_WINDOW_DAYS)).min(now);
        out.push(Window { start, end });
        start = end;
    }
    out
}

#[derive(Deserialize)]
struct Page<R> {
    data: Vec<R>,
    has_more: bool,
    #[serde(default)]
    next_page: Option<String>,
    #[serde(default)]
    data_refreshed_at: Option<String>,
}

/// The query of one window: daily buckets grouped by key and workspace, `limit` rows a page.
fn query<'a>(
    e: &'a Endpoint<'_>,
    w: Window,
    group_by: &[&'static str],
    api_key_ids: &[&str],
) -> Vec<(&'a str, String)> {
    let mut q: Vec<(&str, String)> = vec![
        ("starting_at", time::ts(w.start)),
        ("ending_at", time::ts(w.end)),
        (e.bucket_param, "1d".into()),
        ("limit", e.page_size.to_string()),
    ];
    q.extend(group_by.iter().map(|g| ("group_by[]", (*g).to_string())));
    q.extend(
        api_key_ids
            .iter()
            .map(|id| ("api_key_ids[]", (*id).to_string())),
    );
    q
}

/// What `walk` hands on: a page (its number, rows and watermark), or word that the window
/// starts over from its first page (after an expired cursor).
enum Walked<R> {
    Page(usize, Vec<R>, Option<String>),
    Restart,
}

/// Follows one window's pages, handing each page's rows to `each`. Errors say which window
/// and page; nothing of the window is kept by the caller then.
fn walk<R: serde::de::DeserializeOwned>(
    client: &mut Client,
    e: &Endpoint<'_>,
    path: &str,
    q: &[(&str, String)],
    mut each: impl FnMut(Walked<R>) -> Result<()>,
) -> Result<usize> {
    let mut cursor = Cursor::unbounded();
    let mut restarted = false;
    loop {
        let page: Page<R> = match client.get_json(path, &cursor.query(q), Some(e.beta)) {
            Ok(page) => page,
            // An expired cursor (410): the window starts over from its first page, once.
            Err(err)
                if !restarted
                    && cursor.pages() > 0
                    && matches!(err.downcast_ref::<ApiError>(), Some(ApiError::Gone(_))) =>
            {
                log::warn!(
                    "{err}: reading the window starting {} again from its first page",
                    q[0].1
                );
                restarted = true;
                cursor = Cursor::unbounded();
                each(Walked::Restart)?;
                continue;
            }
            Err(err) => {
                return Err(err.context(format!(
                    "page {} of the window starting {} (nothing of this window was stored)",
                    cursor.pages() + 1,
                    q[0].1
                )));
            }
        };
        each(Walked::Page(
            cursor.pages(),
            page.data,
            page.data_refreshed_at,
        ))?;
        if !cursor.advance(path, page.has_more, page.next_page)? {
            return Ok(cursor.pages());
        }
    }
}

/// Reads one window of usage, every page of it, into `sink` a page at a time (a page is at
/// most `page_size` rows, parsed whole before its rows go on).
pub(crate) fn read_usage(
    client: &mut Client,
    e: &Endpoint<'_>,
    w: Window,
    api_key_ids: &[&str],
    by_model: bool,
    sink: &mut dyn UsageSink,
) -> Result<(Fetched, Reported)> {
    let group_by: &[&str] = if by_model {
        &["api_key_id", "workspace_id", "model"]
    } else {
        &["api_key_id", "workspace_id"]
    };
    let q = query(e, w, group_by, api_key_ids);
    let mut seen = Reported::default();
    let mut as_of = None;
    let pages = walk(client, e, e.usage_path, &q, |walked: Walked<UsageRow>| {
        let (page, data, refreshed) = match walked {
            Walked::Page(page, data, refreshed) => (page, data, refreshed),
            Walked::Restart => {
                seen = Reported::default();
                return sink.restart();
            }
        };
        sink.begin_page()?;
        for (index, mut r) in data.into_iter().enumerate() {
            let at = Where {
                page: Some(page),
                index,
            };
            let model = r.group.as_mut().and_then(|g| g.model.take());
            let row = usage_row(e.usage_path, &at, r, &mut seen)?;
            if let Some(m) = &model {
                sink.add_model(m, &row)?;
            }
            sink.add(row)?;
        }
        sink.end_page()?;
        as_of = refreshed.or(as_of.take());
        Ok(())
    })?;
    log::debug!(
        "GET {}: {w}: {} rows in {pages} pages",
        e.usage_path,
        seen.rows
    );
    Ok((
        Fetched {
            rows: seen.rows,
            data_as_of: as_of,
            pages,
            unreported: Vec::new(),
        },
        seen,
    ))
}

/// One usage page from bytes, through the same code as a sync (fuzzing, the malformed-input
/// corpus): the rows, or the error a sync would report.
pub(crate) fn parse_page(path: &str, body: &[u8]) -> Result<Vec<DayUsage>> {
    let page: Page<UsageRow> = serde_json::from_slice(body)
        .map_err(|e| anyhow::anyhow!("GET {path}: malformed response ({e})"))?;
    let mut merged = Merged::default();
    let mut seen = Reported::default();
    for (index, r) in page.data.into_iter().enumerate() {
        let at = Where { page: None, index };
        merged.add(usage_row(path, &at, r, &mut seen)?);
    }
    Ok(merged.rows())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        time::parse(s).unwrap()
    }

    #[test]
    fn windows_are_back_to_back_and_at_most_31_days() {
        let now = at("2026-11-20T12:00:00Z");
        let day = |s| crate::time::parse_day(s).unwrap();
        let w = windows(day("2026-11-19"), now);
        assert_eq!(
            w,
            [Window {
                start: at("2026-11-19T00:00:00Z"),
                end: now
            }]
        );
        let w = windows(day("2026-10-11"), now);
        assert_eq!(w.len(), 2);
        assert_eq!(
            (w[0].start, w[0].end),
            (at("2026-10-11T00:00:00Z"), at("2026-11-11T00:00:00Z"))
        );
        assert_eq!((w[1].start, w[1].end), (at("2026-11-11T00:00:00Z"), now));
        // The API's horizon: nothing older than 365 days is asked for.
        let w = windows(day("2026-01-01"), at("2027-06-01T12:00:00Z"));
        assert_eq!(w[0].start, at("2026-06-02T00:00:00Z"));
        assert!(w.windows(2).all(|p| p[0].end == p[1].start));
        // Nor before 2026-01-01, whatever the horizon.
        let w = windows(day("2025-12-01"), at("2026-01-20T12:00:00Z"));
        assert_eq!(w[0].start, at("2026-01-01T00:00:00Z"));
        assert!(w.iter().all(|w| w.end - w.start <= Duration::days(31)));
    }

    #[test]
    fn absent_counts_stay_absent_and_bad_ones_are_named() {
        let page =
            br#"{"data":[{"starting_at":"2026-11-19T00:00:00Z","ending_at":"2026-11-20T00:00:00Z",
            "group":{"api_key_id":"apikey_a","workspace_id":null,"model":null},
            "usage":{"uncached_input_tokens":10,"cache_read_input_tokens":null,"total_tokens":40}}],
            "has_more":false,"next_page":null}"#;
        let rows = parse_page(USAGE_PATH, page).unwrap();
        assert_eq!(rows[0].uncached_input_tokens, Some(10));
        assert_eq!(rows[0].output_tokens, None);
        assert_eq!((rows[0].tokens(), rows[0].input_tokens()), (Some(40), None));
        for bad in ["-1", "1.5", "\"7\"", "18446744073709551615"] {
            let body = format!(
                r#"{{"data":[{{"starting_at":"2026-11-19T00:00:00Z","group":{{}},"usage":{{"output_tokens":{bad}}}}}],"has_more":false}}"#
            );
            let e = format!("{:#}", parse_page(USAGE_PATH, body.as_bytes()).unwrap_err());
            assert!(e.contains("data[0].usage.output_tokens"), "{e}");
        }
    }
}
