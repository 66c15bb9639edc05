//! Daily usage rows: upserted per (api key, workspace, day), summed per billing period.

use super::Tx;
use std::collections::HashMap;

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};

use super::sql::Val;

use crate::quota::DayUsage;
use crate::time::day;

pub(crate) mod models;
mod staging;
mod twins;

use staging::stage;
pub(crate) use staging::{Staged, Staging, upsert_staged};

/// What a usage read asks for, so that the store can stage it well.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UsageRead<'a> {
    pub source: &'a str,
    /// Its first day.
    pub from: NaiveDate,
    /// Whether it reads every key, not a few that `--account` named.
    pub every_key: bool,
}

/// Stores each row, replacing what was stored for its (key, workspace, day): re-reading a
/// day is idempotent and late data corrects itself. Never adds deltas; rows of one key,
/// workspace and day are summed. A day whose numbers did not change is not written again, so
/// `fetched_at` is when its numbers last changed. (The same path as a sync: through the
/// staging table and `upsert_staged`.)
pub(crate) fn upsert(
    tx: &Tx<'_>,
    rows: &[DayUsage],
    source: &str,
    now: DateTime<Utc>,
) -> Result<usize> {
    staging::create(tx)?;
    tx.exec("DELETE FROM usage_staging", &[])?;
    stage(tx, rows)?;
    upsert_staged(tx, Staged(()), source, now, None)?;
    Ok(rows.len())
}

/// `N` counts from consecutive columns of `r`, from `first` on (a count is never negative:
/// the table checks it).
fn read_counts<const N: usize>(r: &super::sql::Row<'_>, first: usize) -> Result<[Option<u64>; N]> {
    let mut counts = [None; N];
    for (i, c) in counts.iter_mut().enumerate() {
        *c = r.opt_int(first + i)?.map(u64::try_from).transpose()?;
    }
    Ok(counts)
}

/// A stored row of `api_key_id`, `workspace_id` and `day`, its seven counts read from column
/// `first` on (uncached input, 5 m and 1 h cache creation, cache read, output, total,
/// requests).
fn stored_usage(
    r: &super::sql::Row<'_>,
    first: usize,
    (api_key_id, workspace_id, day): (Option<String>, Option<String>, NaiveDate),
) -> Result<DayUsage> {
    let count = |i: usize| -> Result<Option<u64>> {
        Ok(r.opt_int(first + i)?.map(u64::try_from).transpose()?)
    };
    Ok(DayUsage {
        api_key_id,
        workspace_id,
        day,
        uncached_input_tokens: count(0)?,
        cache_creation_5m_tokens: count(1)?,
        cache_creation_1h_tokens: count(2)?,
        cache_read_tokens: count(3)?,
        output_tokens: count(4)?,
        total_tokens: count(5)?,
        requests: count(6)?,
    })
}

/// A row's seven counts as the store keeps them, in `stored_usage`'s column order (uncached
/// input, 5 m and 1 h cache creation, cache read, output, total, requests).
fn stored_counts(r: &DayUsage) -> Result<[Option<i64>; 7]> {
    let c = |v: Option<u64>| v.map(to_i64).transpose();
    Ok([
        c(r.uncached_input_tokens)?,
        c(r.cache_creation_5m_tokens)?,
        c(r.cache_creation_1h_tokens)?,
        c(r.cache_read_tokens)?,
        c(r.output_tokens)?,
        c(r.total_tokens)?,
        c(r.requests)?,
    ])
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
pub(crate) fn segment_sums(
    tx: &Tx<'_>,
    bounds: &[NaiveDate],
    rows: Rows<'_>,
) -> Result<Vec<DayUsage>> {
    let (Some(first), Some(last)) = (bounds.first(), bounds.last()) else {
        return Ok(Vec::new());
    };
    let Some((sql, args)) = segment_query(tx, rows, *first, *last)? else {
        return Ok(Vec::new());
    };
    let mut ids = Interned::default();
    // Compact sums (80 bytes an entry with its key, where a DayUsage is ~170): the map a
    // large period's evaluation holds.
    let mut sums: HashMap<(u32, u32, usize), Sum> = HashMap::new();
    let by_workspace = matches!(rows, Rows::ByWorkspace);
    tx.each(&sql, &args, |r| {
        let d = r.day(2)?;
        // The segment is the last bound not after the row's day.
        let seg = bounds.partition_point(|b| *b <= d) - 1;
        let k = if by_workspace {
            ids.id("")?
        } else {
            r.with_text(0, |k| ids.id(k))?
        };
        let key = (k, r.with_text(1, |w| ids.id(w))?, seg);
        let [total] = read_counts(&r, 9)?;
        sums.entry(key).or_default().add(read_counts(&r, 3)?, total);
        Ok(())
    })?;
    Ok(sums
        .into_iter()
        .map(|((k, w, seg), sum)| {
            let [u, c5, c1, cr, o, requests] = sum.counts();
            DayUsage {
                api_key_id: ids.name(k),
                workspace_id: ids.name(w),
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

/// The query of `segment_sums` and its arguments, for days from `first` until `last`;
/// `None` when it can have no row (an empty span of keys).
fn segment_query(
    tx: &Tx<'_>,
    rows: Rows<'_>,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Option<(String, Vec<Val>)>> {
    const COLUMNS: &str = "SELECT api_key_id, workspace_id, day, uncached_input_tokens,
        cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens, output_tokens,
        requests, total_tokens FROM usage_daily";
    // Both columns of the primary key's prefix by equality (or the key by range): one seek
    // per day (and key), not a walk over every key's days.
    let days = || {
        Val::Texts(
            first
                .iter_days()
                .take_while(|d| *d < last)
                .map(day)
                .collect(),
        )
    };
    let texts = |keys: &[&str]| Val::Texts(keys.iter().map(|k| (*k).to_owned()).collect());
    Ok(Some(match rows {
        Rows::All | Rows::ByWorkspace => (
            format!("{COLUMNS} WHERE day >= ?1 AND day < ?2"),
            vec![Val::from(first), Val::from(last)],
        ),
        Rows::Keys(keys) => (
            format!(
                "{COLUMNS} WHERE {} AND {}",
                tx.in_days("day", 1),
                tx.in_list("api_key_id", 2)
            ),
            vec![days(), texts(keys)],
        ),
        Rows::KeySpan(keys) => {
            // The least and greatest in the column's own order (bytewise in both stores).
            let sql = if tx.is_pg() {
                "SELECT min(v COLLATE \"C\"), max(v COLLATE \"C\") FROM unnest(?1::text[]) AS v"
            } else {
                "SELECT min(value), max(value) FROM json_each(?1)"
            };
            let span = tx.first(sql, &[texts(keys)], |r| {
                Ok((r.opt_text(0)?, r.opt_text(1)?))
            })?;
            let Some((Some(lo), Some(hi))) = span else {
                return Ok(None);
            };
            (
                format!(
                    "{COLUMNS} WHERE {} AND api_key_id >= ?2 AND api_key_id <= ?3",
                    tx.in_days("day", 1)
                ),
                vec![days(), Val::from(lo), Val::from(hi)],
            )
        }
    }))
}

/// Ids as small numbers: a string is allocated per distinct id, not per row.
#[derive(Default)]
struct Interned {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interned {
    fn id(&mut self, s: &str) -> Result<u32> {
        if let Some(&i) = self.ids.get(s) {
            return Ok(i);
        }
        let i = u32::try_from(self.names.len()).context("more than 4 billion distinct ids")?;
        self.names.push(s.to_string());
        self.ids.insert(s.to_string(), i);
        Ok(i)
    }

    /// The id numbered `i`; `None` for `""` (a null id).
    fn name(&self, i: u32) -> Option<String> {
        self.names
            .get(usize::try_from(i).unwrap_or(usize::MAX))
            .filter(|s| !s.is_empty())
            .cloned()
    }
}

/// Which usage rows `segment_sums` reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rows<'a> {
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
pub(crate) fn prune(tx: &Tx<'_>, before: NaiveDate) -> Result<usize> {
    super::prune_days(tx, "usage_daily", before)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::UsageSink;

    /// A read of a few keys: every row is staged.
    fn a_few_keys() -> UsageRead<'static> {
        UsageRead {
            source: "messages",
            from: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            every_key: false,
        }
    }

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
        let mut staging = store.staging(a_few_keys()).unwrap();
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
        let mut staging = store
            .staging(UsageRead {
                source: "messages",
                from: NaiveDate::from_ymd_opt(2026, 11, 19).unwrap(),
                every_key: true,
            })
            .unwrap();
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
        let held = staging
            .store
            .read(|tx| tx.first("SELECT count(*) FROM usage_staging", &[], |r| r.count(0)))
            .unwrap()
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
                tx.first(
                    "SELECT source FROM usage_daily WHERE api_key_id = 'other'",
                    &[],
                    |r| r.text(0),
                )
            })
            .unwrap()
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
                    staging::create(tx)?;
                    stage(tx, &rows)?;
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

    /// Through `ingest`, pages are taken back and summed, and a row staging refuses fails
    /// the read.
    #[test]
    fn an_ingested_fetch_stages_in_order_and_reports_a_staging_failure() {
        let (_dir, mut store) = crate::store::Store::temporary();
        let now = crate::time::parse("2026-11-20T12:00:00Z").unwrap();
        let mut staging = store.staging(a_few_keys()).unwrap();
        let rows = staging
            .ingest(|sink| {
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

        let mut staging = store.staging(a_few_keys()).unwrap();
        let failed = staging.ingest(|sink| {
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
