//! What the textfile reports, read from the store after every sync (whether it succeeded
//! or not) and handed to `metrics::render`. A database that cannot be read gives the run's
//! own series only.

use chrono::{DateTime, Utc};

use super::Roster;
use crate::alert::AccountStatus;
use crate::config::Config;
use crate::metrics::{self, Run, Snapshot};
use crate::store::{self, Fact, Store};
use crate::{apply, evaluate};

/// The textfile's text for the run that ends now.
pub(crate) fn textfile(
    store: Option<&mut Store>,
    config: &Config,
    run: Run,
    now: DateTime<Utc>,
) -> String {
    let read = store.map(|s| {
        let roster = Roster::load(config, s)?;
        let accounts = roster.all();
        let (loaded, states, open, last) = s.read(|tx| {
            Ok((
                apply::load(tx, &accounts, now)?,
                store::accounts::states(tx)?,
                store::alerts::open_by_severity(tx)?,
                store::get_time(tx, Fact::LastSuccess)?,
            ))
        })?;
        anyhow::Ok((roster, loaded, states, open, last))
    });
    let (roster, loaded, states, open, last) = match read {
        Some(Ok(v)) => v,
        Some(Err(e)) => {
            log::error!("metrics: cannot read the database: {e:#}");
            (
                Roster::configured(config),
                Default::default(),
                Default::default(),
                Vec::new(),
                None,
            )
        }
        None => (
            Roster::configured(config),
            Default::default(),
            Default::default(),
            Vec::new(),
            None,
        ),
    };
    let accounts = roster.all();
    let views = evaluate::views(&accounts, &loaded.inputs(config.api.usage_source), now);
    let status = |name: &str| states.get(name).map_or(AccountStatus::Active, |s| s.status);
    metrics::render(&Snapshot {
        views: &views,
        status: &status,
        open_alerts: &open,
        last_success: last,
        duration: run.duration,
        success: run.success,
    })
}
