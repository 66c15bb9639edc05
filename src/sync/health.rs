//! How each read of a run went, recorded after it whether it succeeded or not
//! (`store::health`): what `quota health`, the status footer and the textfile report.

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::store::{self, Store};

/// The usage read: a run that stops, stops on it (or on the store).
pub(crate) const USAGE: &str = crate::health::USAGE;
pub(crate) const COST: &str = "cost";
pub(crate) const CLAUDE_CODE: &str = "claude_code";
pub(crate) const DISCOVERY: &str = "discovery";

/// An error line is cut to this many characters.
const MAX_ERROR: usize = 400;

/// The reads a run attempted, each with its error line if it failed.
#[derive(Debug, Default)]
pub(crate) struct Reads(Vec<(String, Option<String>)>);

impl Reads {
    pub(crate) fn ok(&mut self, read: &str) {
        self.0.push((read.to_string(), None));
    }

    pub(crate) fn failed(&mut self, read: &str, e: &anyhow::Error) {
        let line = format!("{e:#}").replace('\n', " ");
        let line = match line.char_indices().nth(MAX_ERROR) {
            Some((i, _)) => format!("{}…", &line[..i]),
            None => line,
        };
        self.0.push((read.to_string(), Some(line)));
    }

    /// A side read (one whose failure does not stop the sync): `None` when it was not due
    /// or failed, in which case `problem` says so in `problems`.
    pub(crate) fn side<T>(
        &mut self,
        read: &str,
        result: Result<Option<T>>,
        problem: &str,
        problems: &mut Vec<String>,
    ) -> Option<T> {
        match result {
            Ok(Some(v)) => {
                self.ok(read);
                Some(v)
            }
            Ok(None) => None,
            Err(e) => {
                self.failed(read, &e);
                problems.push(format!("{problem}: {e:#}"));
                None
            }
        }
    }
}

/// Stores how each read went, in one transaction.
pub(crate) fn record(store: &mut Store, reads: &Reads, now: DateTime<Utc>) -> Result<()> {
    store.write(|tx| {
        for (read, error) in &reads.0 {
            store::health::record(tx, read, error.as_deref(), now)?;
        }
        Ok(())
    })
}

/// Records the usage read as failed by a run that could not start (no admin key): a timer
/// that fails every minute on it is failing, not silent.
pub(crate) fn failed_to_start(store: &mut Store, e: &anyhow::Error, now: DateTime<Utc>) {
    let mut reads = Reads::default();
    reads.failed(USAGE, e);
    if let Err(e) = record(store, &reads, now) {
        log::error!("cannot record how this run's reads went: {e:#}");
    }
}
