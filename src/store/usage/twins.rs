//! The stored twins of the rows a fetch is about to read: what lets a steady sync stage only
//! the rows whose numbers changed (a steady read of 100,000 keys is 200,000 rows, ~1 % of
//! them new) instead of writing every row to the staging table and comparing it there.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use anyhow::Result;
use chrono::{Datelike, NaiveDate};

use crate::store::Tx;
use crate::store::sql::vals;

use crate::quota::DayUsage;

/// Rows held at most, as two 64-bit hashes each (a few MiB with the map's slack and the
/// undo log): a steady read of 100,000 keys (yesterday and today, 200,000 rows) fits, and
/// 7 × 2^15 fills a power-of-two map to its load factor. A window with more stored rows than that (a `--full` read of a large
/// organization) holds none of them, and its rows are staged as they come: slower, never
/// wrong, and no more memory than before the twins.
pub(super) const HELD: usize = 7 << 15;

/// The identity of a usage row, (day, key, workspace), as 64 bits. A null id is `""`, as
/// the store keeps it.
pub(super) fn identity(d: NaiveDate, key: &str, workspace: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    h.write_i32(d.num_days_from_ce());
    // Each id's length first, so that no two (key, workspace) pairs write the same bytes.
    h.write_usize(key.len());
    h.write(key.as_bytes());
    h.write(workspace.as_bytes());
    h.finish()
}

pub(super) fn identity_of(row: &DayUsage) -> u64 {
    identity(
        row.day,
        row.api_key_id.as_deref().unwrap_or(""),
        row.workspace_id.as_deref().unwrap_or(""),
    )
}

/// The numbers of a row as 64 bits, in the store's column order (a count above `i64::MAX`
/// never matches a stored one: the store cannot hold it).
fn numbers(counts: [Option<u64>; 7]) -> u64 {
    // One write of 57 bytes: the counts, then which of them are known.
    let mut bytes = [0u8; 57];
    for (i, c) in counts.iter().enumerate() {
        bytes[i * 8..i * 8 + 8].copy_from_slice(&c.unwrap_or(0).to_le_bytes());
        bytes[56] |= u8::from(c.is_some()) << i;
    }
    let mut h = std::hash::DefaultHasher::new();
    h.write(&bytes);
    h.finish()
}

fn numbers_of(r: &DayUsage) -> u64 {
    numbers([
        r.uncached_input_tokens,
        r.cache_creation_5m_tokens,
        r.cache_creation_1h_tokens,
        r.cache_read_tokens,
        r.output_tokens,
        r.total_tokens,
        r.requests,
    ])
}

/// An entry is its stored numbers' hash (the high 60 bits) and four bits of what the fetch
/// did with the identity. The two lowest are the state:
const UNSEEN: u64 = 0;
/// Read with the stored numbers, and not staged.
const SKIPPED: u64 = 1;
/// Staged (new numbers, or read again).
const STAGED: u64 = 2;
/// Two stored rows share the 64-bit identity: neither is ever skipped.
const AMBIGUOUS: u64 = 3;
const STATE: u64 = 3;
/// Changed during the page being read (and in its undo log).
const DIRTY: u64 = 4;
/// The state when the page began was `SKIPPED` (else `UNSEEN`: the others never change).
const WAS_SKIPPED: u64 = 8;
const NUMBERS: u64 = !15;

/// What `Twins::see` makes of a row.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Seen {
    /// The stored row has these numbers, from this source: nothing to stage.
    Same,
    /// Stage the row.
    New,
    /// The row repeats an identity whose first row was skipped: stage the stored row
    /// (`stored`), then this one, so that the sum of the repeats is whole.
    AfterSkipped,
}

/// The window's stored rows of one source, by identity. A row is skipped when its stored
/// twin has the same numbers: hashes of both (64 and 60 bits), so a row whose numbers
/// changed is skipped only if its numbers' hash collides with its stored twin's (about 1 in
/// 2^60 per changed row; the next change of that day's numbers writes it). Each identity
/// remembers whether its row was skipped, so a repeat of it (the upsert sums the repeats) stages the skipped one from the store. A page taken back
/// undoes what its rows did (`undo`).
pub(super) struct Twins {
    source: String,
    rows: HashMap<u64, u64, BuildHasherDefault<Spread>>,
    /// The identities changed during the page being read, once each.
    undo: Vec<u64>,
}

impl Twins {
    /// The stored rows of `source` from day `from` on: none when the window holds more
    /// than `HELD` rows (of any source; the count is a seek on the table's key).
    pub(super) fn load(tx: &Tx<'_>, source: &str, from: NaiveDate) -> Result<Twins> {
        Twins::load_at_most(tx, source, from, HELD)
    }

    pub(super) fn load_at_most(
        tx: &Tx<'_>,
        source: &str,
        from: NaiveDate,
        held: usize,
    ) -> Result<Twins> {
        let stored = tx
            .first(
                "SELECT count(*) FROM usage_daily WHERE day >= ?1",
                &vals![from],
                |r| r.count(0),
            )?
            .unwrap_or(0);
        let room = if stored > held { 0 } else { stored };
        let mut twins = Twins {
            source: source.to_owned(),
            rows: HashMap::with_capacity_and_hasher(room, BuildHasherDefault::default()),
            // A row is seen at least once a page, mostly once: room for each, once.
            undo: Vec::with_capacity(room),
        };
        if room == 0 {
            return Ok(twins);
        }
        const SQL: &str = "SELECT day, api_key_id, workspace_id, uncached_input_tokens,
                    cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens,
                    output_tokens, total_tokens, requests
             FROM usage_daily WHERE day >= ?1 AND source = ?2 LIMIT ?3";
        let mut hold = |id: u64, counts: [Option<u64>; 7]| {
            let entry = numbers(counts) & NUMBERS;
            twins
                .rows
                .entry(id)
                .and_modify(|e| *e = AMBIGUOUS)
                .or_insert(entry | UNSEEN);
        };
        tx.each(SQL, &vals![from, source, i64::try_from(room)?], |r| {
            let at = r.day(0)?;
            let id = r.with_text(1, |k| r.with_text(2, |w| Ok(identity(at, k, w))))?;
            hold(id, super::read_counts(&r, 3)?);
            Ok(())
        })?;
        log::debug!(
            "{} stored rows from {from} held to compare",
            twins.rows.len()
        );
        Ok(twins)
    }

    /// What to do with `row`, whose identity is `id`.
    pub(super) fn see(&mut self, id: u64, row: &DayUsage) -> Seen {
        let Some(entry) = self.rows.get_mut(&id) else {
            return Seen::New;
        };
        let before = *entry;
        let (seen, after) = match before & STATE {
            UNSEEN if before & NUMBERS == numbers_of(row) & NUMBERS => (Seen::Same, SKIPPED),
            UNSEEN => (Seen::New, STAGED),
            SKIPPED => (Seen::AfterSkipped, STAGED),
            _ => return Seen::New,
        };
        *entry = if before & DIRTY == 0 {
            self.undo.push(id);
            let was = if before & STATE == SKIPPED {
                WAS_SKIPPED
            } else {
                0
            };
            (before & NUMBERS) | DIRTY | was | after
        } else {
            (before & !STATE) | after
        };
        seen
    }

    /// The stored row of `row`'s identity, from this source, to stage in front of a repeat.
    pub(super) fn stored(&self, tx: &Tx<'_>, row: &DayUsage) -> Result<Option<DayUsage>> {
        tx.first(
            "SELECT uncached_input_tokens, cache_creation_5m_tokens, cache_creation_1h_tokens,
                    cache_read_tokens, output_tokens, total_tokens, requests
             FROM usage_daily
             WHERE day = ?1 AND api_key_id = ?2 AND workspace_id = ?3 AND source = ?4",
            &vals![
                row.day,
                row.api_key_id.as_deref().unwrap_or(""),
                row.workspace_id.as_deref().unwrap_or(""),
                &self.source,
            ],
            |r| {
                let at = (row.api_key_id.clone(), row.workspace_id.clone(), row.day);
                super::stored_usage(&r, 0, at)
            },
        )
    }

    /// The page was read whole: what its rows did stands.
    pub(super) fn keep_page(&mut self) {
        for id in self.undo.drain(..) {
            if let Some(e) = self.rows.get_mut(&id) {
                *e &= !(DIRTY | WAS_SKIPPED);
            }
        }
    }

    /// The page is taken back: what its rows did is undone.
    pub(super) fn take_back_page(&mut self) {
        for id in self.undo.drain(..) {
            if let Some(e) = self.rows.get_mut(&id) {
                let was = if *e & WAS_SKIPPED == 0 {
                    UNSEEN
                } else {
                    SKIPPED
                };
                *e = (*e & NUMBERS) | was;
            }
        }
    }

    /// Stored rows held, for tests.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }
}

/// The map's hasher: identities are already SipHash outputs, so they are used as they are.
#[derive(Default)]
struct Spread(u64);

impl Hasher for Spread {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used (the keys are u64); anything else is folded in.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, input: u64) -> DayUsage {
        DayUsage {
            api_key_id: Some(key.into()),
            ..DayUsage::split(
                NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
                input,
                (0, 0),
                0,
                1,
            )
        }
    }

    /// More stored rows than `held` are not read at all; a row of an identity two stored rows
    /// share is always staged; a page taken back restores the states it began with.
    #[test]
    fn twins_are_bounded_and_a_shared_identity_is_never_skipped() {
        let (_dir, mut store) = crate::store::Store::temporary();
        let now = crate::time::parse("2026-11-20T12:00:00Z").unwrap();
        let rows: Vec<DayUsage> = (0..10).map(|k| row(&format!("apikey_{k}"), 10)).collect();
        store
            .write(|tx| crate::store::usage::upsert(tx, &rows, "messages", now))
            .unwrap();
        let from = NaiveDate::from_ymd_opt(2026, 11, 19).unwrap();
        let mut load = |held: usize| {
            store
                .read(|tx| Twins::load_at_most(tx, "messages", from, held))
                .unwrap()
        };
        let mut twins = load(9);
        assert_eq!(twins.len(), 0);
        assert!(
            rows.iter()
                .all(|r| twins.see(identity_of(r), r) == Seen::New)
        );
        let twins = load(10);
        assert_eq!(twins.len(), 10);

        let mut twins = load(10);
        let id = identity_of(&rows[0]);
        twins.rows.insert(id, AMBIGUOUS);
        assert_eq!(twins.see(id, &rows[0]), Seen::New);
        assert_eq!(twins.see(id, &rows[0]), Seen::New);
        assert_eq!(twins.see(identity_of(&rows[1]), &rows[1]), Seen::Same);
        twins.keep_page();
        // Skipped in a page read whole, then read again in a page taken back: skipped still.
        assert_eq!(
            twins.see(identity_of(&rows[1]), &rows[1]),
            Seen::AfterSkipped
        );
        assert_eq!(twins.see(identity_of(&rows[2]), &rows[2]), Seen::Same);
        assert_eq!(
            twins.see(identity_of(&rows[2]), &rows[2]),
            Seen::AfterSkipped
        );
        twins.take_back_page();
        assert_eq!(
            twins.see(identity_of(&rows[1]), &rows[1]),
            Seen::AfterSkipped
        );
        assert_eq!(twins.see(identity_of(&rows[2]), &rows[2]), Seen::Same);
        let changed = row("apikey_3", 11);
        assert_eq!(twins.see(identity_of(&changed), &changed), Seen::New);
    }
}
