//! The report envelope the usage and cost reports share (ADMIN_API.md §1–§2): daily buckets
//! of rows, oldest first, and an opaque cursor, followed until `has_more` is false. A cursor
//! that repeats, or a walk that never ends, is an error: nothing half-read is stored.

use std::collections::HashSet;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use crate::time;

/// No honest window needs more pages than this; a cursor that keeps going is a fault.
const MAX_PAGES: usize = 64;

/// The report envelope (ADMIN_API.md §1), shared with the cost report: daily buckets of
/// rows, oldest first, and a cursor.
#[derive(Deserialize)]
pub(crate) struct Page<R> {
    pub data: Vec<Bucket<R>>,
    pub has_more: bool,
    #[serde(default)]
    pub next_page: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct Bucket<R> {
    pub starting_at: String,
    pub results: Vec<R>,
}

/// The UTC day a bucket starts on.
pub(crate) fn bucket_day(path: &str, starting_at: &str) -> Result<NaiveDate> {
    let t = time::parse(starting_at).with_context(|| {
        format!("GET {path}: malformed response: bucket starting_at {starting_at:?} is not an RFC 3339 time")
    })?;
    Ok(t.date_naive())
}

/// Follows `next_page` cursors (opaque, whatever they look like), refusing one that repeats
/// and, for the bucketed reports, a walk longer than any honest window needs.
pub(crate) struct Cursor {
    next: Option<String>,
    seen: HashSet<String>,
    pages: usize,
    max_pages: Option<usize>,
}

impl Default for Cursor {
    fn default() -> Cursor {
        Cursor {
            next: None,
            seen: HashSet::new(),
            pages: 0,
            max_pages: Some(MAX_PAGES),
        }
    }
}

impl Cursor {
    /// A cursor with no page cap: for row-paged endpoints, where the number of pages grows
    /// with the organization. The sync's deadline bounds the walk.
    pub(crate) fn unbounded() -> Cursor {
        Cursor {
            max_pages: None,
            ..Cursor::default()
        }
    }

    /// Pages recorded so far.
    pub(crate) fn pages(&self) -> usize {
        self.pages
    }

    /// The query for the next page.
    pub(crate) fn query<'q>(&self, base: &[(&'q str, String)]) -> Vec<(&'q str, String)> {
        let mut q = base.to_vec();
        if let Some(c) = &self.next {
            q.push(("page", c.clone()));
        }
        q
    }

    /// Records a page; `Ok(true)` when there is another to fetch.
    pub(crate) fn advance(
        &mut self,
        path: &str,
        has_more: bool,
        next_page: Option<String>,
    ) -> Result<bool> {
        self.pages += 1;
        if !has_more {
            return Ok(false);
        }
        let Some(next) = next_page.filter(|c| !c.is_empty()) else {
            bail!(
                "GET {path}: malformed response: has_more is true but next_page is missing; nothing was stored"
            );
        };
        if !self.seen.insert(next.clone()) {
            bail!(
                "GET {path}: the pagination cursor repeated after {} pages; nothing was stored",
                self.pages
            );
        }
        if let Some(max) = self.max_pages.filter(|m| self.pages >= *m) {
            bail!("GET {path}: pagination did not end after {max} pages; nothing was stored");
        }
        self.next = Some(next);
        Ok(true)
    }
}

/// Cents as a decimal string, or a JSON number taken as written: exact either way.
pub(crate) fn cents(path: &str, at: &str, v: Option<&Value>) -> Result<Decimal> {
    let text = match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        None | Some(Value::Null) => {
            bail!("GET {path}: malformed response: {at} has no amount; nothing was stored")
        }
        Some(other) => {
            bail!("GET {path}: malformed response: {at}.amount = {other} is not a decimal")
        }
    };
    text.trim().parse::<Decimal>().with_context(|| {
        format!("GET {path}: malformed response: {at}.amount {text:?} is not a decimal")
    })
}
