//! A usage row of the analytics API, parsed strictly: every count absent, null or a
//! non-negative integer that fits 64 signed bits, else an error naming the field.

use anyhow::{Result, bail};
use serde::Deserialize;
use serde_json::Value;

use crate::api::report::bucket_day;
use crate::quota::DayUsage;
#[derive(Deserialize)]
pub(super) struct UsageRow {
    starting_at: String,
    #[serde(default)]
    pub(super) group: Option<Group>,
    #[serde(default)]
    usage: Option<Counts>,
}

/// The dimensions quota groups by; the others (null unless grouped by) are ignored.
#[derive(Deserialize, Default)]
pub(super) struct Group {
    #[serde(default)]
    pub(super) api_key_id: Option<String>,
    #[serde(default)]
    pub(super) workspace_id: Option<String>,
    /// Only when grouped by model.
    #[serde(default)]
    pub(super) model: Option<String>,
}

/// Counts as JSON values, so that a malformed one can be named.
#[derive(Deserialize, Default)]
struct Counts {
    #[serde(default)]
    uncached_input_tokens: Option<Value>,
    #[serde(default)]
    cache_creation: Option<CacheCreation>,
    #[serde(default)]
    cache_read_input_tokens: Option<Value>,
    #[serde(default)]
    output_tokens: Option<Value>,
    #[serde(default)]
    total_tokens: Option<Value>,
    #[serde(default)]
    requests: Option<Value>,
}

#[derive(Deserialize, Default)]
struct CacheCreation {
    #[serde(default)]
    ephemeral_5m_input_tokens: Option<Value>,
    #[serde(default)]
    ephemeral_1h_input_tokens: Option<Value>,
}

/// The count fields of a usage row, by the name the API gives them.
pub(crate) const COUNT_FIELDS: [&str; 7] = [
    "uncached_input_tokens",
    "cache_creation.ephemeral_5m_input_tokens",
    "cache_creation.ephemeral_1h_input_tokens",
    "cache_read_input_tokens",
    "output_tokens",
    "total_tokens",
    "requests",
];

/// Which count fields at least one row reported, over how many rows.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Reported {
    seen: [bool; COUNT_FIELDS.len()],
    pub rows: usize,
}

impl Reported {
    pub(crate) fn merge(&mut self, o: Reported) {
        for (a, b) in self.seen.iter_mut().zip(o.seen) {
            *a |= b;
        }
        self.rows += o.rows;
    }

    /// The fields no row reported; none when there were no rows (no usage is not a gap).
    pub(crate) fn missing(&self) -> Vec<&'static str> {
        if self.rows == 0 {
            return Vec::new();
        }
        COUNT_FIELDS
            .iter()
            .zip(self.seen)
            .filter(|(_, seen)| !seen)
            .map(|(f, _)| *f)
            .collect()
    }
}

/// One count: absent or null is `None`; anything but a non-negative integer that fits a
/// signed 64-bit column is an error naming the field.
pub(super) fn count(path: &str, at: &Where, field: &str, v: Option<&Value>) -> Result<Option<u64>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64().filter(|x| i64::try_from(*x).is_ok()) {
            Some(x) => Ok(Some(x)),
            None => bail!(
                "GET {path}: malformed response: {at}.usage.{field} = {v} is not a 64-bit count; nothing was stored"
            ),
        },
    }
}

/// Where a row is, for messages: built only when there is something to say.
pub(super) struct Where {
    pub(super) page: Option<usize>,
    pub(super) index: usize,
}

impl std::fmt::Display for Where {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.page {
            Some(p) => write!(f, "page {} data[{}]", p + 1, self.index),
            None => write!(f, "data[{}]", self.index),
        }
    }
}

pub(super) fn usage_row(
    path: &str,
    at: &Where,
    r: UsageRow,
    seen: &mut Reported,
) -> Result<DayUsage> {
    let day = bucket_day(path, &r.starting_at)?;
    // A row without its usage object is a shape quota does not know: never zero usage.
    let Some(c) = r.usage else {
        bail!("GET {path}: malformed response: {at}.usage is missing; nothing was stored");
    };
    let Some(group) = r.group else {
        bail!("GET {path}: malformed response: {at}.group is missing; nothing was stored");
    };
    let cache = c.cache_creation.unwrap_or_default();
    let values = [
        c.uncached_input_tokens.as_ref(),
        cache.ephemeral_5m_input_tokens.as_ref(),
        cache.ephemeral_1h_input_tokens.as_ref(),
        c.cache_read_input_tokens.as_ref(),
        c.output_tokens.as_ref(),
        c.total_tokens.as_ref(),
        c.requests.as_ref(),
    ];
    let mut counts = [None; COUNT_FIELDS.len()];
    for (i, (field, v)) in COUNT_FIELDS.iter().zip(values).enumerate() {
        counts[i] = count(path, at, field, v)?;
        seen.seen[i] |= counts[i].is_some();
    }
    seen.rows += 1;
    let [uncached, c5m, c1h, cache_read, output, total, requests] = counts;
    Ok(DayUsage {
        api_key_id: group.api_key_id,
        workspace_id: group.workspace_id,
        day,
        uncached_input_tokens: uncached,
        cache_creation_5m_tokens: c5m,
        cache_creation_1h_tokens: c1h,
        cache_read_tokens: cache_read,
        output_tokens: output,
        total_tokens: total,
        requests,
    })
}
