//! Daily usage rows: upserted per (api key, workspace, day), summed per billing period.

use super::Tx;
use std::collections::HashMap;

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, params};

use crate::quota::DayUsage;
use crate::time::{day, ts};

mod twins;
use twins::{Seen, Twins};

/// Stores each row, replacing what was stored for its (key, workspace, day): re-reading a
/// day is idempotent and late data corrects itself. Never adds deltas; rows of one key,
/// workspace and day are summed. A day whose numbers did not change is not written again, so
/// `fetched_at` is when its numbers last changed. (The same path as a sync: through the
/// staging table and `upsert_staged`.)
pub fn upsert(tx: &Tx<'_>, rows: &[DayUsage], source: &str, now: DateTime<Utc>) -> Result<usize> {
    let conn = tx.conn();
    conn.execute_batch(STAGING)?;
    conn.execute("DELETE FROM temp.usage_staging", [])?;
    stage(conn, rows)?;
    upsert_staged(tx, Staged(()), source, now, None)?;
    Ok(rows.len())
}

/// The staging table: the connection's own temp database, so writing it locks nothing.
const STAGING: &str = "CREATE TEMP TABLE IF NOT EXISTS usage_staging (
    api_key_id TEXT NOT NULL, workspace_id TEXT NOT NULL, day TEXT NOT NULL,
    u INTEGER, c5 INTEGER, c1 INTEGER, cr INTEGER, o INTEGER, t INTEGER, r INTEGER)";

/// Adds rows to the staging table.
fn stage(conn: &Connection, rows: &[DayUsage]) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO temp.usage_staging (api_key_id, workspace_id, day, u, c5, c1, cr, o, t, r)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    let count = |v: Option<u64>| v.map(to_i64).transpose();
    // Rows come a day at a time: the day's text is formatted once, not per row.
    let mut d: Option<(NaiveDate, String)> = None;
    for r in rows {
        if d.as_ref().is_none_or(|(at, _)| *at != r.day) {
            d = Some((r.day, day(r.day)));
        }
        let d = d.as_ref().map_or("", |(_, text)| text.as_str());
        stmt.execute(params![
            r.api_key_id.as_deref().unwrap_or(""),
            r.workspace_id.as_deref().unwrap_or(""),
            d,
            count(r.uncached_input_tokens)?,
            count(r.cache_creation_5m_tokens)?,
            count(r.cache_creation_1h_tokens)?,
            count(r.cache_read_tokens)?,
            count(r.output_tokens)?,
            count(r.total_tokens)?,
            count(r.requests)?,
        ])
        .with_context(|| format!("cannot store usage for {d}"))?;
    }
    Ok(())
}

/// `N` counts from consecutive columns of `r`, from `first` on (a count is never negative:
/// the table checks it).
fn read_counts<const N: usize>(
    r: &rusqlite::Row<'_>,
    first: usize,
) -> rusqlite::Result<[Option<u64>; N]> {
    let mut counts = [None; N];
    for (i, c) in counts.iter_mut().enumerate() {
        // The value as SQLite holds it, matched here rather than through `Row::get`'s
        // generic conversion, which stood out in profiles of the twins' fill (200,000 rows,
        // 7 counts each).
        *c = match r.get_ref(first + i)? {
            ValueRef::Integer(v) => Some(
                u64::try_from(v)
                    .map_err(|_| rusqlite::Error::IntegralValueOutOfRange(first + i, v))?,
            ),
            ValueRef::Null => None,
            other => {
                return Err(rusqlite::Error::InvalidColumnType(
                    first + i,
                    format!("count {}", first + i),
                    other.data_type(),
                ));
            }
        };
    }
    Ok(counts)
}

fn to_i64(v: u64) -> Result<i64> {
    i64::try_from(v).with_context(|| format!("count {v} does not fit a 64-bit signed integer"))
}

/// Usage summed per (key, workspace) over the segments that `bounds` (ascending days) cut:
/// one row per segment that has usage, dated at the segment's start, covering
/// `[bounds[0], bounds[last])`. The caller picks bounds so that every range it sums starts and
/// ends on one, which makes the sums exact while their number does not grow with the days
/// stored. A segment's count is `None` when any of its days lacks it. `rows` says which
/// rows are read and how they are grouped.
pub fn segment_sums(tx: &Tx<'_>, bounds: &[NaiveDate], rows: Rows<'_>) -> Result<Vec<DayUsage>> {
    let conn = tx.conn();
    let (Some(first), Some(last)) = (bounds.first(), bounds.last()) else {
        return Ok(Vec::new());
    };
    let bound_text: Vec<String> = bounds.iter().map(|d| day(*d)).collect();
    // Ids are interned: a string is allocated per distinct key, not per row.
    let mut ids: HashMap<String, u32> = HashMap::new();
    let mut names: Vec<String> = Vec::new();
    let mut intern = |s: &str| -> Result<u32> {
        if let Some(&i) = ids.get(s) {
            return Ok(i);
        }
        let i = u32::try_from(names.len()).context("more than 4 billion distinct ids")?;
        names.push(s.to_string());
        ids.insert(s.to_string(), i);
        Ok(i)
    };
    // Compact sums (80 bytes an entry with its key, where a DayUsage is ~170): on day 20 of a
    // period with 10,000 keys this map was the peak of a sync's memory.
    let mut sums: HashMap<(u32, u32, usize), Sum> = HashMap::new();
    const COLUMNS: &str = "SELECT api_key_id, workspace_id, day, uncached_input_tokens,
        cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens, output_tokens,
        requests, total_tokens FROM usage_daily";
    // Both columns of the primary key's prefix by equality (or the key by range): one seek
    // per day (and key), not a walk over every key's days.
    let days = || -> Result<String> {
        let days: Vec<String> = first
            .iter_days()
            .take_while(|d| d < last)
            .map(day)
            .collect();
        Ok(serde_json::to_string(&days)?)
    };
    let (mut stmt, args) = match rows {
        Rows::All | Rows::ByWorkspace => (
            conn.prepare_cached(&format!("{COLUMNS} WHERE day >= ?1 AND day < ?2"))?,
            vec![day(*first), day(*last)],
        ),
        Rows::Keys(keys) => (
            conn.prepare_cached(&format!(
                "{COLUMNS} WHERE day IN (SELECT value FROM json_each(?1))
                 AND api_key_id IN (SELECT value FROM json_each(?2))"
            ))?,
            vec![days()?, serde_json::to_string(keys)?],
        ),
        Rows::KeySpan(keys) => {
            let (lo, hi): (Option<String>, Option<String>) = conn.query_row(
                "SELECT min(value), max(value) FROM json_each(?1)",
                [serde_json::to_string(keys)?],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let (Some(lo), Some(hi)) = (lo, hi) else {
                return Ok(Vec::new());
            };
            (
                conn.prepare_cached(&format!(
                    "{COLUMNS} WHERE day IN (SELECT value FROM json_each(?1))
                     AND api_key_id >= ?2 AND api_key_id <= ?3"
                ))?,
                vec![days()?, lo, hi],
            )
        }
    };
    let by_workspace = matches!(rows, Rows::ByWorkspace);
    let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        let text = |i: usize| r.get_ref(i).and_then(|v| v.as_str().map_err(Into::into));
        let d = text(2)?;
        // The segment is the last bound not after the row's day.
        let seg = bound_text.partition_point(|b| b.as_str() <= d) - 1;
        let k = if by_workspace { "" } else { text(0)? };
        let key = (intern(k)?, intern(text(1)?)?, seg);
        sums.entry(key)
            .or_default()
            .add(read_counts(r, 3)?, r.get(9)?);
    }
    let id = |i: u32| {
        names
            .get(usize::try_from(i).unwrap_or(usize::MAX))
            .filter(|s| !s.is_empty())
            .cloned()
    };
    Ok(sums
        .into_iter()
        .map(|((k, w, seg), sum)| {
            let [u, c5, c1, cr, o, requests] = sum.counts();
            DayUsage {
                api_key_id: id(k),
                workspace_id: id(w),
                day: bounds[seg],
                uncached_input_tokens: u,
                cache_creation_5m_tokens: c5,
                cache_creation_1h_tokens: c1,
                cache_read_tokens: cr,
                output_tokens: o,
                total_tokens: sum.total(),
                requests,
            }
        })
        .collect())
}

/// Which usage rows `segment_sums` reads.
#[derive(Debug, Clone, Copy)]
pub enum Rows<'a> {
    /// Every row, summed per key and workspace.
    All,
    /// Every row, summed per workspace (the key left out): what workspace and organization
    /// totals need, in memory that does not grow with the number of keys.
    ByWorkspace,
    /// The rows of these keys.
    Keys(&'a [&'a str]),
    /// The rows of these keys, read as one range: from the least of them to the greatest,
    /// in the store's own order (its collation), so no key of the list is ever outside it.
    /// Rows of other keys in between come too (the caller ignores them): one seek a day
    /// instead of one a key, for lists that cover most keys. A list in the store's order
    /// makes the ranges of consecutive chunks narrow; any order is correct.
    KeySpan(&'a [&'a str]),
}

/// A segment's sums with `DayUsage::absorb`'s rules, compactly: a count is known while every
/// row has it; the total is a single row's own, or the sum of every row's tokens (its split,
/// else its total).
#[derive(Debug, Default, Clone, Copy)]
struct Sum {
    /// uncached input, cache creation 5m and 1h, cache read, output, requests.
    counts: [u64; 6],
    /// Bit i: `counts[i]` is unknown (a row lacked it).
    unknown: u8,
    tokens: u64,
    tokens_unknown: bool,
    /// The first row's stored total, for a segment of one row.
    own_total: Option<u64>,
    rows: u32,
}

impl Sum {
    fn add(&mut self, counts: [Option<u64>; 6], total: Option<u64>) {
        for (i, c) in counts.iter().enumerate() {
            match c {
                Some(v) => self.counts[i] = self.counts[i].saturating_add(*v),
                None => self.unknown |= 1 << i,
            }
        }
        let split = counts[..5]
            .iter()
            .try_fold(0u64, |acc, c| c.map(|v| acc.saturating_add(v)));
        match split.or(total) {
            Some(t) => self.tokens = self.tokens.saturating_add(t),
            None => self.tokens_unknown = true,
        }
        if self.rows == 0 {
            self.own_total = total;
        }
        self.rows = self.rows.saturating_add(1);
    }

    fn counts(&self) -> [Option<u64>; 6] {
        std::array::from_fn(|i| (self.unknown & (1 << i) == 0).then_some(self.counts[i]))
    }

    fn total(&self) -> Option<u64> {
        if self.rows == 1 {
            self.own_total
        } else {
            (!self.tokens_unknown).then_some(self.tokens)
        }
    }
}

/// Deletes rows older than `before` (retention). Returns how many went.
pub fn prune(tx: &Tx<'_>, before: NaiveDate) -> Result<usize> {
    let conn = tx.conn();
    super::prune_days(conn, "usage_daily", before)
}

/// Rows a batch holds before they go to the staging table.
const BATCH: usize = 1000;

/// The rows of a fetch in progress, kept in a temporary table: the connection's own temp
/// database, so writing it takes no lock on the store, and a fetch of any size holds one
/// batch in memory. `upsert_staged` moves them into `usage_daily`, summed per key,
/// workspace and day, inside the sync's one transaction; a fetch that fails leaves them
/// behind, never in the store.
pub struct Staging<'s> {
    store: &'s mut super::Store,
    batch: Vec<DayUsage>,
    /// The last row of the last page read whole.
    page_mark: i64,
    /// Which stored rows to compare with (`skip_stored`), and once the first row came,
    /// what is known of them, until the next `commit`.
    skip: Option<(String, NaiveDate)>,
    twins: Option<Twins>,
    /// Rows read, and of those not staged because the store holds them as they are.
    read: usize,
    skipped: usize,
}

impl super::Store {
    /// An empty staging table for a new fetch.
    pub fn staging(&mut self) -> Result<Staging<'_>> {
        // Staged rows are written once and read once: a small cache for the temp database
        // keeps a sync's memory flat; the rest spills to its file.
        self.conn.execute_batch("PRAGMA temp.cache_size = -256")?;
        self.conn.execute_batch(STAGING)?;
        self.conn.execute("DELETE FROM temp.usage_staging", [])?;
        Ok(Staging {
            store: self,
            batch: Vec::with_capacity(BATCH),
            page_mark: 0,
            skip: None,
            twins: None,
            read: 0,
            skipped: 0,
        })
    }
}

impl Staging<'_> {
    /// Rows the store already holds from `source`, from day `from` on, with the same numbers
    /// are not staged: a steady read is mostly such rows. (Up to `twins::HELD` stored rows are
    /// held, as hashes; a window with more holds none.) They are read when the first row
    /// comes, on the staging thread of a pipelined fetch, so the read overlaps the request,
    /// and hold until the next `commit`.
    ///
    /// Another writer between that read and the commit is another sync, with numbers as
    /// fresh, or a prune of days before the window: a row skipped against what it replaced
    /// is read and compared again by the next sync.
    pub fn skip_stored(&mut self, source: &str, from: NaiveDate) {
        self.skip = Some((source.to_owned(), from));
    }

    fn load_twins(&mut self) -> Result<()> {
        if self.twins.is_none()
            && let Some((source, from)) = &self.skip
        {
            let twins = Twins::load(&self.store.conn, source, *from)
                .context("cannot read the stored usage of the window")?;
            self.twins = Some(twins);
        }
        Ok(())
    }

    fn push(&mut self, row: DayUsage) -> Result<()> {
        if batched(&mut self.batch, row) {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        // A transaction that writes only the temp database: the store is not locked.
        let tx = self.store.conn.transaction()?;
        stage(&tx, &self.batch)?;
        self.batch.clear();
        tx.commit()?;
        Ok(())
    }

    /// Moves what is staged into the store in one transaction, with `also` (a resume mark,
    /// say), and starts the staging table afresh. Returns the rows written.
    pub fn commit(
        &mut self,
        source: &str,
        now: DateTime<Utc>,
        also: impl FnOnce(&super::Tx<'_>) -> Result<()>,
    ) -> Result<usize> {
        let staged = self.take_staged()?;
        let n = self.store.write(|tx| {
            let n = upsert_staged(tx, staged, source, now, None)?;
            also(tx)?;
            Ok(n)
        })?;
        self.page_mark = 0;
        // The store changed under what was known of it.
        (self.skip, self.twins) = (None, None);
        Ok(n)
    }

    /// Runs `fetch` on this thread and stages the rows it reads on another, so that parsing
    /// one batch overlaps writing the last (a steady sync of 100,000 keys reads 200,000
    /// rows). At most `PIPELINE` batches wait between them. The result is the fetch's, or the
    /// staging's error when that failed first.
    pub fn pipelined<T>(
        &mut self,
        fetch: impl FnOnce(&mut dyn crate::records::UsageSink) -> Result<T>,
    ) -> Result<T> {
        use crate::records::UsageSink;
        let (to_writer, from_reader) = std::sync::mpsc::sync_channel::<Piped>(PIPELINE);
        std::thread::scope(|scope| {
            let writer = scope.spawn(move || -> Result<()> {
                self.load_twins()?;
                for piped in from_reader {
                    match piped {
                        Piped::Rows(rows) => rows.into_iter().try_for_each(|r| self.add(r))?,
                        Piped::Begin => self.begin_page()?,
                        Piped::End => self.end_page()?,
                    }
                }
                Ok(())
            });
            let mut sink = Pipe {
                to_writer,
                batch: Vec::with_capacity(BATCH),
            };
            let fetched = fetch(&mut sink);
            drop(sink); // the writer drains what was sent, then ends
            let staged = writer
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the staging thread panicked")));
            match (fetched, staged) {
                (_, Err(e)) => Err(e),
                (fetched, Ok(())) => fetched,
            }
        })
    }

    /// What is staged, for `upsert_staged` in the caller's transaction.
    pub fn finish(mut self) -> Result<Staged> {
        self.take_staged()
    }

    /// Stages the last batch and says what the table holds; the next rows start afresh.
    fn take_staged(&mut self) -> Result<Staged> {
        self.flush()?;
        log::debug!(
            "{} usage rows read, {} of them staged ({} stored as they are)",
            self.read,
            self.read - self.skipped,
            self.skipped
        );
        (self.read, self.skipped) = (0, 0);
        Ok(Staged(()))
    }
}

/// Batches in flight between a pipelined fetch and its staging.
const PIPELINE: usize = 4;

/// What a pipelined fetch sends the staging thread, in order.
enum Piped {
    Rows(Vec<DayUsage>),
    Begin,
    End,
}

/// The fetch's end of the pipe: rows in batches, page marks in order with them.
struct Pipe {
    to_writer: std::sync::mpsc::SyncSender<Piped>,
    batch: Vec<DayUsage>,
}

impl Pipe {
    fn send(&mut self, piped: Piped) -> Result<()> {
        self.to_writer
            .send(piped)
            .map_err(|_| anyhow::anyhow!("staging stopped"))
    }

    fn send_batch(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let rows = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.send(Piped::Rows(rows))
    }
}

/// Adds `row` to `batch`: whether the batch is now full.
fn batched(batch: &mut Vec<DayUsage>, row: DayUsage) -> bool {
    batch.push(row);
    batch.len() >= BATCH
}

impl crate::records::UsageSink for Pipe {
    fn add(&mut self, row: DayUsage) -> Result<()> {
        if batched(&mut self.batch, row) {
            self.send_batch()?;
        }
        Ok(())
    }

    fn begin_page(&mut self) -> Result<()> {
        self.batch.clear();
        self.send(Piped::Begin)
    }

    fn end_page(&mut self) -> Result<()> {
        self.send_batch()?;
        self.send(Piped::End)
    }
}

/// Proof that a fetch's rows are all in the staging table, for `upsert_staged`.
#[derive(Debug)]
#[must_use]
pub struct Staged(());

impl crate::records::UsageSink for Staging<'_> {
    fn add(&mut self, row: DayUsage) -> Result<()> {
        self.read += 1;
        let id = twins::identity_of(&row);
        self.load_twins()?;
        if let Some(twins) = &mut self.twins {
            match twins.see(id, &row) {
                Seen::Same => {
                    self.skipped += 1;
                    return Ok(());
                }
                Seen::New => {}
                Seen::AfterSkipped => {
                    if let Some(stored) = twins.stored(&self.store.conn, &row)? {
                        self.push(stored)?;
                    }
                }
            }
        }
        self.push(row)
    }

    fn begin_page(&mut self) -> Result<()> {
        self.batch.clear();
        if let Some(twins) = &mut self.twins {
            twins.take_back_page();
        }
        self.store.conn.execute(
            "DELETE FROM temp.usage_staging WHERE rowid > ?1",
            [self.page_mark],
        )?;
        Ok(())
    }

    fn end_page(&mut self) -> Result<()> {
        self.flush()?;
        if let Some(twins) = &mut self.twins {
            twins.keep_page();
        }
        self.page_mark = self.store.conn.query_row(
            "SELECT coalesce(max(rowid), 0) FROM temp.usage_staging",
            [],
            |r| r.get(0),
        )?;
        Ok(())
    }
}

/// Told the (key, workspace) of each usage day `upsert_staged` writes.
pub type Written<'f> = dyn FnMut(&str, &str) + 'f;

/// Moves the staged rows into `usage_daily` (in the caller's transaction), summed per key,
/// workspace and day like `DayUsage::absorb`: a count is known only while every row has it.
/// Replaces, never adds; a day whose numbers did not change is not written again. With
/// `changed`, it is called with the (key, workspace) of every day that was written (new or
/// different numbers; `""` is none). Returns how many (key, workspace, day) rows were written.
pub fn upsert_staged(
    tx: &Tx<'_>,
    staged: Staged,
    source: &str,
    now: DateTime<Utc>,
    changed: Option<&mut Written<'_>>,
) -> Result<usize> {
    let conn = tx.conn();
    let Staged(()) = staged;
    let mut n = 0;
    let select = SELECT_GROUPED;
    match changed {
        None => {
            n = conn
                .prepare_cached(&format!("{INSERT} {select} {ON_CONFLICT}"))?
                .execute(params![source, ts(now)])
                .context("cannot store the usage read")?;
        }
        Some(seen) => {
            let mut stmt = conn.prepare_cached(&format!(
                "{INSERT} {select} {ON_CONFLICT} RETURNING api_key_id, workspace_id"
            ))?;
            let mut rows = stmt
                .query(params![source, ts(now)])
                .context("cannot store the usage read")?;
            while let Some(r) = rows.next()? {
                let text = |i: usize| r.get_ref(i).and_then(|v| v.as_str().map_err(Into::into));
                seen(text(0)?, text(1)?);
                n += 1;
            }
        }
    }
    conn.execute("DELETE FROM temp.usage_staging", [])?;
    Ok(n)
}

const INSERT: &str =
    "INSERT INTO usage_daily (api_key_id, workspace_id, day, uncached_input_tokens,
        cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens, output_tokens,
        total_tokens, requests, source, fetched_at)";

/// Staged rows summed per (key, workspace, day), like `DayUsage::absorb`.
const SELECT_GROUPED: &str = "SELECT api_key_id, workspace_id, day,
        CASE WHEN count(u) = count(*) THEN sum(u) END,
        CASE WHEN count(c5) = count(*) THEN sum(c5) END,
        CASE WHEN count(c1) = count(*) THEN sum(c1) END,
        CASE WHEN count(cr) = count(*) THEN sum(cr) END,
        CASE WHEN count(o) = count(*) THEN sum(o) END,
        CASE WHEN count(*) = 1 THEN max(t)
             WHEN count(coalesce(u + c5 + c1 + cr + o, t)) = count(*)
             THEN sum(coalesce(u + c5 + c1 + cr + o, t)) END,
        CASE WHEN count(r) = count(*) THEN sum(r) END,
        ?1, ?2
    FROM temp.usage_staging WHERE true GROUP BY day, api_key_id, workspace_id";

const ON_CONFLICT: &str = "ON CONFLICT (day, api_key_id, workspace_id) DO UPDATE SET
        uncached_input_tokens = excluded.uncached_input_tokens,
        cache_creation_5m_tokens = excluded.cache_creation_5m_tokens,
        cache_creation_1h_tokens = excluded.cache_creation_1h_tokens,
        cache_read_tokens = excluded.cache_read_tokens,
        output_tokens = excluded.output_tokens,
        total_tokens = excluded.total_tokens,
        requests = excluded.requests,
        source = excluded.source,
        fetched_at = excluded.fetched_at
    WHERE (uncached_input_tokens, cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens,
           output_tokens, total_tokens, requests, source)
          IS NOT (excluded.uncached_input_tokens, excluded.cache_creation_5m_tokens, excluded.cache_creation_1h_tokens,
                  excluded.cache_read_tokens, excluded.output_tokens, excluded.total_tokens, excluded.requests,
                  excluded.source)";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::UsageSink;

    fn row(key: &str, day: u32, input: u64) -> DayUsage {
        DayUsage {
            api_key_id: Some(key.into()),
            ..DayUsage::split(
                NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
                input,
                (0, 0),
                0,
                1,
            )
        }
    }

    /// A span of keys in any order holds every key of the list (the store finds the least
    /// and the greatest), and may bring others in between; an empty list reads nothing.
    #[test]
    fn a_key_span_holds_every_key_of_its_list_in_any_order() {
        let (_dir, mut store) = crate::store::Store::temporary();
        let now = crate::time::parse("2026-11-20T12:00:00Z").unwrap();
        let rows: Vec<DayUsage> = ["b", "a", "c", "d"].iter().map(|k| row(k, 20, 1)).collect();
        store
            .write(|tx| upsert(tx, &rows, "messages", now))
            .unwrap();
        let bounds = [20, 21].map(|d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap());
        let mut keys = |rows: Rows<'_>| {
            let mut k: Vec<String> = store
                .read(|tx| segment_sums(tx, &bounds, rows))
                .unwrap()
                .into_iter()
                .filter_map(|r| r.api_key_id)
                .collect();
            k.sort();
            k
        };
        assert_eq!(keys(Rows::KeySpan(&["c", "a"])), ["a", "b", "c"]);
        assert_eq!(keys(Rows::Keys(&["c", "a"])), ["a", "c"]);
        assert!(keys(Rows::KeySpan(&[])).is_empty());
    }

    /// A page retried after a failure part-way keeps nothing of the failed try; rows of one
    /// key and day from different pages are summed; only `commit` reaches the store.
    #[test]
    fn staging_takes_back_a_failed_page_and_sums_split_rows() {
        let (_dir, mut store) = crate::store::Store::temporary();
        let now = crate::time::parse("2026-11-20T12:00:00Z").unwrap();
        let mut staging = store.staging().unwrap();
        staging.begin_page().unwrap();
        for k in 0..1500 {
            staging.add(row(&format!("apikey_{k}"), 19, 10)).unwrap();
        }
        staging.end_page().unwrap();
        staging.begin_page().unwrap();
        for k in 0..1200 {
            staging.add(row(&format!("apikey_{k}"), 20, 999)).unwrap(); // a try that fails
        }
        staging.begin_page().unwrap(); // ... and is taken again
        staging.add(row("apikey_0", 20, 5)).unwrap();
        staging.add(row("apikey_0", 20, 7)).unwrap(); // split by another dimension
        staging.end_page().unwrap();
        let n = staging.commit("messages", now, |_| Ok(())).unwrap();
        assert_eq!(n, 1501);
        let sums = store
            .read(|tx| {
                let bounds = [
                    NaiveDate::from_ymd_opt(2026, 11, 19).unwrap(),
                    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
                    NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
                ];
                segment_sums(tx, &bounds, Rows::All)
            })
            .unwrap();
        let day20: Vec<&DayUsage> = sums
            .iter()
            .filter(|r| r.day.to_string() == "2026-11-20")
            .collect();
        assert_eq!(day20.len(), 1);
        assert_eq!(day20[0].uncached_input_tokens, Some(12));
        assert_eq!(day20[0].tokens(), Some(14));
        assert_eq!(sums.len(), 1501);
    }

    /// Rows the store holds with the same numbers and source are not staged; a repeat of
    /// one that was skipped stages the stored one too, so the sum is whole; a page taken
    /// back undoes what its rows did.
    #[test]
    fn rows_the_store_holds_are_not_staged_and_repeats_still_sum_whole() {
        let (_dir, mut store) = crate::store::Store::temporary();
        let now = crate::time::parse("2026-11-20T12:00:00Z").unwrap();
        let keys: Vec<String> = (0..10).map(|k| format!("apikey_{k}")).collect();
        for (source, keys) in [
            ("messages", &keys[..]),
            ("analytics", &["other".into()][..]),
        ] {
            let rows: Vec<DayUsage> = keys.iter().map(|k| row(k, 20, 10)).collect();
            store.write(|tx| upsert(tx, &rows, source, now)).unwrap();
        }
        let mut staging = store.staging().unwrap();
        staging.skip_stored("messages", NaiveDate::from_ymd_opt(2026, 11, 19).unwrap());
        let page = |staging: &mut Staging<'_>, extra: &[DayUsage]| {
            staging.begin_page().unwrap();
            for k in keys.iter().filter(|k| *k != "apikey_4") {
                staging.add(row(k, 20, 10)).unwrap();
            }
            for r in extra {
                staging.add(r.clone()).unwrap();
            }
        };
        // A try that fails ...
        page(
            &mut staging,
            &[row("apikey_3", 20, 5), row("apikey_4", 20, 10)],
        );
        page(
            &mut staging,
            &[
                row("apikey_3", 20, 5), // ... and is taken again: split by another dimension
                row("apikey_4", 20, 11),
                row("other", 20, 10),
                row("new", 20, 1),
            ],
        );
        staging.end_page().unwrap();
        let held: usize = staging
            .store
            .conn
            .query_row("SELECT count(*) FROM temp.usage_staging", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            held, 5,
            "apikey_3 stored and read again, apikey_4, other, new"
        );
        assert_eq!(staging.commit("messages", now, |_| Ok(())).unwrap(), 4);
        let bounds = [20, 21].map(|d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap());
        let mut sums: Vec<(String, u64)> = store
            .read(|tx| segment_sums(tx, &bounds, Rows::All))
            .unwrap()
            .into_iter()
            .map(|r| (r.api_key_id.unwrap(), r.uncached_input_tokens.unwrap()))
            .collect();
        sums.sort();
        let mut expected: Vec<(String, u64)> = keys.iter().map(|k| (k.clone(), 10)).collect();
        expected[3].1 = 15;
        expected[4].1 = 11;
        expected.extend([("new".into(), 1), ("other".into(), 10)]);
        expected.sort();
        assert_eq!(sums, expected);
        let source: String = store
            .read(|tx| {
                Ok(tx.conn().query_row(
                    "SELECT source FROM usage_daily WHERE api_key_id = 'other'",
                    [],
                    |r| r.get(0),
                )?)
            })
            .unwrap();
        assert_eq!(source, "messages", "another source's row is replaced");
    }

    /// Staged rows are stored summed per (key, workspace, day), and only what changed is
    /// written again.
    #[test]
    fn staged_rows_are_summed_and_only_changes_are_written() {
        let now = crate::time::parse("2026-11-20T12:00:00Z").unwrap();
        let mut rows: Vec<DayUsage> = (0..50)
            .map(|k| row(&format!("apikey_{k:02}"), 19 + k % 2, 100 + u64::from(k)))
            .collect();
        rows.push(row("apikey_00", 19, 1)); // a repeat, split by another dimension
        let (_dir, mut store) = crate::store::Store::temporary();
        let mut written = Vec::new();
        for input in [100, 100, 7] {
            let mut rows = rows.clone();
            rows[3].uncached_input_tokens = Some(input);
            store
                .write(|tx| {
                    tx.conn().execute_batch(STAGING)?;
                    stage(tx.conn(), &rows)?;
                    written.push(upsert_staged(tx, Staged(()), "messages", now, None)?);
                    Ok(())
                })
                .unwrap();
        }
        assert_eq!(written, vec![50, 0, 1], "all, none, the one that changed");
        let bounds = [19, 20].map(|d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap());
        let sums = store
            .read(|tx| segment_sums(tx, &bounds, Rows::All))
            .unwrap();
        let first = sums
            .iter()
            .find(|r| r.api_key_id.as_deref() == Some("apikey_00"))
            .unwrap();
        assert_eq!(first.uncached_input_tokens, Some(101));
    }

    /// Through the pipe, pages are taken back and summed as when staged directly; the
    /// staging thread's failure is the result, not the fetch's "staging stopped".
    #[test]
    fn a_pipelined_fetch_stages_in_order_and_reports_the_staging_failure() {
        let (_dir, mut store) = crate::store::Store::temporary();
        let now = crate::time::parse("2026-11-20T12:00:00Z").unwrap();
        let mut staging = store.staging().unwrap();
        let rows = staging
            .pipelined(|sink| {
                sink.begin_page()?;
                for k in 0..2500 {
                    sink.add(row(&format!("apikey_{k}"), 20, 999))?; // a try that fails
                }
                sink.begin_page()?; // ... and is taken again
                for k in 0..2500 {
                    sink.add(row(&format!("apikey_{k}"), 20, 1))?;
                }
                sink.add(row("apikey_0", 20, 2))?; // split by another dimension
                sink.end_page()?;
                Ok(2501)
            })
            .unwrap();
        assert_eq!(rows, 2501);
        assert_eq!(staging.commit("messages", now, |_| Ok(())).unwrap(), 2500);
        let bounds = [20, 21].map(|d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap());
        let sums = store
            .read(|tx| segment_sums(tx, &bounds, Rows::All))
            .unwrap();
        assert_eq!(sums.len(), 2500);
        assert_eq!(
            sums.iter()
                .map(|r| r.uncached_input_tokens.unwrap())
                .sum::<u64>(),
            2502
        );

        let mut staging = store.staging().unwrap();
        let failed = staging.pipelined(|sink| {
            sink.begin_page()?;
            for k in 0..5000 {
                let input = if k == 1500 { u64::MAX } else { 1 };
                sink.add(row(&format!("apikey_{k}"), 20, input))?;
            }
            sink.end_page()?;
            Ok(())
        });
        let e = format!("{:#}", failed.unwrap_err());
        assert!(e.contains("does not fit"), "{e}");
    }
}
