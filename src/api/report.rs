//! The report envelope the usage and cost reports share (ADMIN_API.md §1–§2): daily buckets
//! of rows, oldest first, and an opaque cursor, followed until `has_more` is false. A cursor
//! that repeats, or a walk that never ends, is an error: nothing half-read is stored.

use std::collections::HashSet;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use serde::Deserialize;

use crate::time;

/// No honest window needs more pages than this; a cursor that keeps going is a fault.
const MAX_PAGES: usize = 64;

/// The report envelope (ADMIN_API.md §1), shared with the cost report: daily buckets of
/// rows, oldest first, and a cursor.
#[derive(Deserialize)]
pub struct Page<R> {
    pub data: Vec<Bucket<R>>,
    pub has_more: bool,
    #[serde(default)]
    pub next_page: Option<String>,
}

#[derive(Deserialize)]
pub struct Bucket<R> {
    pub starting_at: String,
    pub results: Vec<R>,
}

/// The UTC day a bucket starts on.
pub fn bucket_day(path: &str, starting_at: &str) -> Result<NaiveDate> {
    let t = time::parse(starting_at).with_context(|| {
        format!("GET {path}: malformed response: bucket starting_at {starting_at:?} is not an RFC 3339 time")
    })?;
    Ok(t.date_naive())
}

/// Follows `next_page` cursors, refusing one that repeats or a walk that never ends.
#[derive(Default)]
pub struct Cursor {
    next: Option<String>,
    seen: HashSet<String>,
    pages: usize,
}

impl Cursor {
    /// The query for the next page.
    pub fn query<'q>(&self, base: &[(&'q str, String)]) -> Vec<(&'q str, String)> {
        let mut q = base.to_vec();
        if let Some(c) = &self.next {
            q.push(("page", c.clone()));
        }
        q
    }

    /// Records a page; `Ok(true)` when there is another to fetch.
    pub fn advance(
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
        if self.pages >= MAX_PAGES {
            bail!("GET {path}: pagination did not end after {MAX_PAGES} pages; nothing was stored");
        }
        self.next = Some(next);
        Ok(true)
    }
}
