//! Delivery at the end of every sync, failed or not: what is due goes out within the time
//! left, then a channel failing for long is told through the others, at once.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::notify;
use crate::store::Store;

/// Sends the notifications that are due, within `budget`; logged, never fatal.
/// `holder` names this run (`notify::deliver`).
pub(crate) fn due(
    store: &mut Store,
    config: &Config,
    holder: &str,
    now: DateTime<Utc>,
    budget: Duration,
) {
    let until = Instant::now() + budget;
    some(store, config, holder, now, budget, None);
    match super::health::channels(store, config, now) {
        Ok(ids) if !ids.is_empty() => {
            let left = until.saturating_duration_since(Instant::now());
            some(store, config, holder, now, left, Some(&ids));
        }
        Ok(_) => {}
        Err(e) => log::error!("cannot judge the channels' health: {e:#}"),
    }
}

fn some(
    store: &mut Store,
    config: &Config,
    holder: &str,
    now: DateTime<Utc>,
    budget: Duration,
    only: Option<&[String]>,
) {
    match notify::deliver(store, &config.notify, holder, now, budget, only) {
        Ok(r) if r != notify::Report::default() => log::info!(
            "notifications: {} delivered, {} to retry, {} failed, {} deferred, {} silenced",
            r.delivered,
            r.retrying,
            r.failed,
            r.deferred,
            r.silenced
        ),
        Ok(_) => {}
        Err(e) => log::error!("notifications: {e:#}"),
    }
}
