//! Staging: the rows of a fetch in progress, written to a temporary table a batch at a time
//! as they stream in, and moved into `usage_daily` in the caller's transaction. What makes
//! writing fast stays here, behind `Staging` and `upsert_staged`.

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::params;

use super::twins::{self, Seen, Twins};
use super::{UsageRead, stored_counts};
use crate::quota::DayUsage;
use crate::store::Tx;
use crate::store::sql::{Val, vals};
use crate::time::day;

/// Creates the staging table if this connection has none: a temporary table, the
/// connection's own, so writing it locks nothing. `seq` is the order rows were staged in.
pub(super) fn create(tx: &Tx<'_>) -> Result<()> {
    tx.batch(if tx.is_pg() {
        "CREATE TEMP TABLE IF NOT EXISTS usage_staging (seq bigserial PRIMARY KEY,
            api_key_id text COLLATE \"C\" NOT NULL, workspace_id text COLLATE \"C\" NOT NULL,
            day date NOT NULL, u bigint, c5 bigint, c1 bigint, cr bigint, o bigint, t bigint,
            r bigint)"
    } else {
        "CREATE TEMP TABLE IF NOT EXISTS usage_staging (seq INTEGER PRIMARY KEY,
            api_key_id TEXT NOT NULL, workspace_id TEXT NOT NULL, day TEXT NOT NULL,
            u INTEGER, c5 INTEGER, c1 INTEGER, cr INTEGER, o INTEGER, t INTEGER, r INTEGER)"
    })
}

/// Adds rows to the staging table.
pub(super) fn stage(tx: &Tx<'_>, rows: &[DayUsage]) -> Result<()> {
    let Some(conn) = tx.lite() else {
        // PostgreSQL: the batch as one statement of arrays, one round trip.
        let counts = rows.iter().map(stored_counts).collect::<Result<Vec<_>>>()?;
        let column = |i: usize| Val::Ints(counts.iter().map(|c| c[i]).collect());
        let text = |f: fn(&DayUsage) -> Option<&str>| {
            Val::Texts(rows.iter().map(|r| f(r).unwrap_or("").to_owned()).collect())
        };
        tx.exec(
            "INSERT INTO usage_staging (api_key_id, workspace_id, day, u, c5, c1, cr, o, t, r)
             SELECT * FROM unnest(?1::text[], ?2::text[], ?3::date[], ?4::bigint[], ?5::bigint[],
                 ?6::bigint[], ?7::bigint[], ?8::bigint[], ?9::bigint[], ?10::bigint[])",
            &[
                text(|r| r.api_key_id.as_deref()),
                text(|r| r.workspace_id.as_deref()),
                Val::Days(rows.iter().map(|r| r.day).collect()),
                column(0),
                column(1),
                column(2),
                column(3),
                column(4),
                column(5),
                column(6),
            ],
        )
        .context("cannot stage usage rows")?;
        return Ok(());
    };
    let mut stmt = conn.prepare_cached(
        "INSERT INTO temp.usage_staging (api_key_id, workspace_id, day, u, c5, c1, cr, o, t, r)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    // Rows come a day at a time: the day's text is formatted once, not per row.
    let mut d: Option<(NaiveDate, String)> = None;
    for r in rows {
        if d.as_ref().is_none_or(|(at, _)| *at != r.day) {
            d = Some((r.day, day(r.day)));
        }
        let d = d.as_ref().map_or("", |(_, text)| text.as_str());
        let [u, c5, c1, cr, o, t, rq] = stored_counts(r)?;
        stmt.execute(params![
            r.api_key_id.as_deref().unwrap_or(""),
            r.workspace_id.as_deref().unwrap_or(""),
            d,
            u,
            c5,
            c1,
            cr,
            o,
            t,
            rq,
        ])
        .with_context(|| format!("cannot store usage for {d}"))?;
    }
    Ok(())
}

/// Rows a batch holds before they go to the staging table.
const BATCH: usize = 1000;

/// The rows of a fetch in progress, kept in a temporary table: the connection's own, so
/// writing it takes no lock on the store, and a fetch of any size holds one
/// batch in memory. `upsert_staged` moves them into `usage_daily`, summed per key,
/// workspace and day, inside the sync's one transaction; a fetch that fails leaves them
/// behind, never in the store.
pub(crate) struct Staging<'s> {
    pub(super) store: &'s mut crate::store::Store,
    batch: Vec<DayUsage>,
    /// The last row of the last page read whole.
    page_mark: i64,
    /// The last row staged before the current read began (`restart` goes back to it).
    read_mark: i64,
    /// Which stored rows to compare with (see `Store::staging`), and once the first row came,
    /// what is known of them, until the next `commit`.
    skip: Option<(String, NaiveDate)>,
    twins: Option<Twins>,
    /// Rows read, and of those not staged because the store holds them as they are.
    read: usize,
    skipped: usize,
}

impl crate::store::Store {
    /// An empty staging table for a new read.
    ///
    /// A read of every key is mostly rows the store already holds from the same source with
    /// the same numbers: those are not staged. (Up to `twins::HELD` stored rows of the
    /// window are held, as hashes; a window with more holds none. A read of a few keys holds
    /// none: the whole window's rows would cost more than they save.) They are read when
    /// the read begins (`ingest`), or when its first row comes, and hold until the next
    /// `commit`. Another writer between that read and the commit is another sync, with
    /// numbers as fresh, or a prune of days before the window: a row skipped against what it
    /// replaced is read and compared again by the next sync.
    pub(crate) fn staging(&mut self, read: UsageRead<'_>) -> Result<Staging<'_>> {
        if let Some((conn, _)) = self.lite() {
            // Staged rows are written once and read once: a small cache for the temp
            // database keeps a sync's memory flat; the rest spills to its file.
            conn.execute_batch("PRAGMA temp.cache_size = -256")?;
        }
        self.scratch(|tx| {
            create(tx)?;
            tx.exec("DELETE FROM usage_staging", &[])
        })?;
        Ok(Staging {
            store: self,
            batch: Vec::with_capacity(BATCH),
            page_mark: 0,
            read_mark: 0,
            skip: read.every_key.then(|| (read.source.to_owned(), read.from)),
            twins: None,
            read: 0,
            skipped: 0,
        })
    }
}

impl Staging<'_> {
    fn load_twins(&mut self) -> Result<()> {
        if self.twins.is_none()
            && let Some((source, from)) = &self.skip
        {
            let twins = self
                .store
                .read(|tx| Twins::load(tx, source, *from))
                .context("cannot read the stored usage of the window")?;
            self.twins = Some(twins);
        }
        Ok(())
    }

    fn push(&mut self, row: DayUsage) -> Result<()> {
        self.batch.push(row);
        if self.batch.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        // A transaction that writes only the temporary table: the store is not locked.
        let batch = &self.batch;
        self.store.scratch(|tx| stage(tx, batch))?;
        self.batch.clear();
        Ok(())
    }

    /// Moves what is staged into the store in one transaction, with `also` (a resume mark,
    /// say), and starts the staging table afresh. Returns the rows written.
    pub(crate) fn commit(
        &mut self,
        source: &str,
        now: DateTime<Utc>,
        also: impl FnOnce(&Tx<'_>) -> Result<()>,
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

    /// Runs `fetch` with this staging as its sink: the one way a read's rows reach the store.
    /// The stored rows to compare with (see `Store::staging`) are read first.
    pub(crate) fn ingest<T>(
        &mut self,
        fetch: impl FnOnce(&mut dyn crate::records::UsageSink) -> Result<T>,
    ) -> Result<T> {
        self.read_mark = self.page_mark;
        self.load_twins()?;
        fetch(self)
    }

    /// What is staged, for `upsert_staged` in the caller's transaction.
    pub(crate) fn finish(mut self) -> Result<Staged> {
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

/// Proof that a fetch's rows are all in the staging table, for `upsert_staged`.
#[derive(Debug)]
#[must_use]
pub(crate) struct Staged(pub(super) ());

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
                    let stored = self.store.read(|tx| twins.stored(tx, &row))?;
                    if let Some(stored) = stored {
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
        let mark = self.page_mark;
        self.store
            .scratch(|tx| tx.exec("DELETE FROM usage_staging WHERE seq > ?1", &vals![mark]))?;
        Ok(())
    }

    fn end_page(&mut self) -> Result<()> {
        self.flush()?;
        if let Some(twins) = &mut self.twins {
            twins.keep_page();
        }
        self.page_mark = self
            .store
            .scratch(|tx| tx.first("SELECT max(seq) FROM usage_staging", &[], |r| r.opt_int(0)))?
            .flatten()
            .unwrap_or(0);
        Ok(())
    }

    /// Back to where the read began: its staged rows go, and what was known of the stored
    /// rows is read afresh (nothing of this read has reached the store).
    fn restart(&mut self) -> Result<()> {
        self.batch.clear();
        let mark = self.read_mark;
        self.store
            .scratch(|tx| tx.exec("DELETE FROM usage_staging WHERE seq > ?1", &vals![mark]))?;
        self.page_mark = self.read_mark;
        self.twins = None;
        Ok(())
    }
}

/// Told the (key, workspace) of each usage day `upsert_staged` writes.
pub(super) type Written<'f> = dyn FnMut(&str, &str) + 'f;

/// Moves the staged rows into `usage_daily` (in the caller's transaction), summed per key,
/// workspace and day like `DayUsage::absorb`: a count is known only while every row has it.
/// Replaces, never adds; a day whose numbers did not change is not written again. With
/// `changed`, it is called with the (key, workspace) of every day that was written (new or
/// different numbers; `""` is none). Returns how many (key, workspace, day) rows were written.
pub(crate) fn upsert_staged(
    tx: &Tx<'_>,
    staged: Staged,
    source: &str,
    now: DateTime<Utc>,
    changed: Option<&mut Written<'_>>,
) -> Result<usize> {
    let Staged(()) = staged;
    let insert = if tx.is_pg() {
        // Only the rows that differ from the stored ones reach the upsert: PostgreSQL locks
        // every row that meets ON CONFLICT, changed or not, and a window read whole (a
        // first sync, `--full`) would lock and rewrite every stored row of it.
        format!(
            "WITH g AS ({SELECT_GROUPED}, CAST(?1 AS text) AS source,
                 CAST(?2 AS timestamptz) AS fetched_at
                 FROM usage_staging GROUP BY day, api_key_id, workspace_id)
             {INSERT} SELECT g.* FROM g LEFT JOIN usage_daily AS s
                 ON s.day = g.day AND s.api_key_id = g.api_key_id AND s.workspace_id = g.workspace_id
             WHERE s.day IS NULL OR (s.uncached_input_tokens, s.cache_creation_5m_tokens,
                 s.cache_creation_1h_tokens, s.cache_read_tokens, s.output_tokens, s.total_tokens,
                 s.requests, s.source)
               IS DISTINCT FROM (g.u, g.c5, g.c1, g.cr, g.o, g.t, g.r, g.source)
             {ON_CONFLICT}"
        )
    } else {
        format!(
            "{INSERT} {SELECT_GROUPED}, ?1, ?2 FROM usage_staging
             GROUP BY day, api_key_id, workspace_id {ON_CONFLICT}"
        )
    };
    let args = vals![source, now];
    let n = match changed {
        None => tx
            .exec(&insert, &args)
            .context("cannot store the usage read")?,
        Some(seen) => {
            let mut n = 0;
            tx.each(
                &format!("{insert} RETURNING api_key_id, workspace_id"),
                &args,
                |r| {
                    seen(&r.text(0)?, &r.text(1)?);
                    n += 1;
                    Ok(())
                },
            )
            .context("cannot store the usage read")?;
            n
        }
    };
    tx.exec("DELETE FROM usage_staging", &[])?;
    Ok(n)
}

const INSERT: &str =
    "INSERT INTO usage_daily (api_key_id, workspace_id, day, uncached_input_tokens,
        cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens, output_tokens,
        total_tokens, requests, source, fetched_at)";

/// Staged rows summed per (key, workspace, day), like `DayUsage::absorb`, each sum named
/// (the source and time follow).
const SELECT_GROUPED: &str = "SELECT api_key_id, workspace_id, day,
        CAST(CASE WHEN count(u) = count(*) THEN sum(u) END AS bigint) AS u,
        CAST(CASE WHEN count(c5) = count(*) THEN sum(c5) END AS bigint) AS c5,
        CAST(CASE WHEN count(c1) = count(*) THEN sum(c1) END AS bigint) AS c1,
        CAST(CASE WHEN count(cr) = count(*) THEN sum(cr) END AS bigint) AS cr,
        CAST(CASE WHEN count(o) = count(*) THEN sum(o) END AS bigint) AS o,
        CAST(CASE WHEN count(*) = 1 THEN max(t)
             WHEN count(coalesce(u + c5 + c1 + cr + o, t)) = count(*)
             THEN sum(coalesce(u + c5 + c1 + cr + o, t)) END AS bigint) AS t,
        CAST(CASE WHEN count(r) = count(*) THEN sum(r) END AS bigint) AS r";

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
    WHERE (usage_daily.uncached_input_tokens, usage_daily.cache_creation_5m_tokens,
           usage_daily.cache_creation_1h_tokens, usage_daily.cache_read_tokens,
           usage_daily.output_tokens, usage_daily.total_tokens, usage_daily.requests,
           usage_daily.source)
          IS DISTINCT FROM (excluded.uncached_input_tokens, excluded.cache_creation_5m_tokens,
                  excluded.cache_creation_1h_tokens, excluded.cache_read_tokens,
                  excluded.output_tokens, excluded.total_tokens, excluded.requests,
                  excluded.source)";
