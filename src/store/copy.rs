//! Copying every table from one store to another of either backend, row by row in each
//! backend's own types, checked by counts and sums read back from the target: a SQLite
//! store into PostgreSQL (`quota db copy --to postgres://…`), or a PostgreSQL store into a
//! new SQLite file (a backup). The target is written in one transaction and checked before
//! it commits, so a failed copy leaves it as it was (empty), and running it again is safe.

use anyhow::{Result, bail};
use rust_decimal::Decimal;

use super::sql::{Row, Val};
use super::{Store, Tx};

/// What a column holds, so that each backend reads and writes it in its own type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Int,
    Real,
    Time,
    Day,
    Money,
    Bool,
}

use Kind::{Bool, Day, Int, Money, Real, Text, Time};

/// Every table of the schema, parents before the tables that refer to them, and its
/// columns. A table added by a migration is added here, or `copy` refuses to run (the
/// test `every_table_is_copied` compares this list with the schema).
const TABLES: &[(&str, &[(&str, Kind)])] = &[
    (
        "accounts",
        &[
            ("name", Text),
            ("selector", Text),
            ("status", Text),
            ("status_since", Time),
            ("last_synced_at", Time),
            ("created_at", Time),
            ("fingerprint", Int),
            ("recheck_at", Time),
        ],
    ),
    ("sync_state", &[("key", Text), ("value", Text)]),
    (
        "api_keys",
        &[
            ("id", Text),
            ("name", Text),
            ("account", Text),
            ("workspace_id", Text),
            ("active", Bool),
            ("first_seen_at", Time),
            ("last_seen_at", Time),
        ],
    ),
    (
        "cost_daily",
        &[
            ("api_key_id", Text),
            ("workspace_id", Text),
            ("day", Day),
            ("amount_cents", Money),
            ("fetched_at", Time),
        ],
    ),
    (
        "usage_daily",
        &[
            ("day", Day),
            ("api_key_id", Text),
            ("workspace_id", Text),
            ("uncached_input_tokens", Int),
            ("cache_creation_5m_tokens", Int),
            ("cache_creation_1h_tokens", Int),
            ("cache_read_tokens", Int),
            ("output_tokens", Int),
            ("total_tokens", Int),
            ("requests", Int),
            ("source", Text),
            ("fetched_at", Time),
        ],
    ),
    (
        "developer_daily",
        &[
            ("day", Day),
            ("actor_type", Text),
            ("actor", Text),
            ("input_tokens", Int),
            ("output_tokens", Int),
            ("cache_read_tokens", Int),
            ("cache_creation_tokens", Int),
            ("cost_cents", Money),
            ("fetched_at", Time),
        ],
    ),
    (
        "developer_actors",
        &[
            ("actor_type", Text),
            ("actor", Text),
            ("account", Text),
            ("first_seen_at", Time),
            ("last_seen_at", Time),
        ],
    ),
    (
        "alerts",
        &[
            ("id", Text),
            ("account", Text),
            ("type", Text),
            ("severity", Text),
            ("message", Text),
            ("current_value", Money),
            ("limit_value", Money),
            ("percentage", Real),
            ("quota_type", Text),
            ("threshold", Int),
            ("period_start", Time),
            ("period_end", Time),
            ("created_at", Time),
            ("resolved_at", Time),
            ("resolution", Text),
            ("comment", Text),
            ("resolved_by", Text),
            ("window_kind", Text),
        ],
    ),
    (
        "read_health",
        &[
            ("read", Text),
            ("last_success_at", Time),
            ("last_attempt_at", Time),
            ("failing_since", Time),
            ("failures", Int),
            ("last_error", Text),
        ],
    ),
    (
        "silences",
        &[
            ("id", Text),
            ("alert_id", Text),
            ("accounts", Text),
            ("starts_at", Time),
            ("ends_at", Time),
            ("ended_at", Time),
            ("comment", Text),
            ("created_by", Text),
        ],
    ),
    (
        "outbox",
        &[
            ("id", Int),
            ("alert_id", Text),
            ("channel", Text),
            ("event", Text),
            ("state", Text),
            ("attempts", Int),
            ("next_attempt_at", Time),
            ("last_error", Text),
            ("created_at", Time),
            ("delivered_at", Time),
            ("claimed_by", Text),
            ("claimed_until", Time),
        ],
    ),
    (
        "leases",
        &[
            ("name", Text),
            ("holder", Text),
            ("token", Int),
            ("slot", Time),
        ],
    ),
    (
        "burn_series",
        &[
            ("account", Text),
            ("window_kind", Text),
            ("quota_type", Text),
            ("window_start", Time),
            ("series", Text),
        ],
    ),
    ("usage_reads", &[("at", Time)]),
    (
        "developer_models",
        &[
            ("day", Day),
            ("actor_type", Text),
            ("actor", Text),
            ("model", Text),
            ("input_tokens", Int),
            ("output_tokens", Int),
            ("cache_read_tokens", Int),
            ("cache_creation_tokens", Int),
            ("cost_cents", Money),
            ("fetched_at", Time),
        ],
    ),
    (
        "cost_models",
        &[
            ("api_key_id", Text),
            ("workspace_id", Text),
            ("model", Text),
            ("day", Day),
            ("amount_cents", Money),
            ("fetched_at", Time),
        ],
    ),
    (
        "usage_models",
        &[
            ("api_key_id", Text),
            ("workspace_id", Text),
            ("model", Text),
            ("day", Day),
            ("uncached_input_tokens", Int),
            ("cache_creation_5m_tokens", Int),
            ("cache_creation_1h_tokens", Int),
            ("cache_read_tokens", Int),
            ("output_tokens", Int),
            ("total_tokens", Int),
            ("requests", Int),
            ("fetched_at", Time),
        ],
    ),
];

/// Rows written per statement (well under either backend's limit on parameters).
const BATCH: usize = 500;

/// What a copy holds, checked against the source.
#[derive(Debug)]
pub(crate) struct Copied {
    /// Each table and its row count, in the order copied.
    pub tables: Vec<(String, u64)>,
}

/// A table's row count and the sums of its number columns: what the copy is checked by.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    rows: u64,
    ints: Vec<i128>,
    money: Vec<Decimal>,
}

impl Tally {
    fn add(&mut self, values: &[Val]) {
        self.rows += 1;
        let (mut i, mut m) = (0, 0);
        for v in values {
            match v {
                Val::Int(n) => {
                    add_at(&mut self.ints, i, i128::from(n.unwrap_or(0)));
                    i += 1;
                }
                Val::Money(d) => {
                    add_at(&mut self.money, m, d.unwrap_or_default());
                    m += 1;
                }
                _ => {}
            }
        }
    }
}

fn add_at<T: Default + std::ops::AddAssign>(sums: &mut Vec<T>, i: usize, v: T) {
    if sums.len() <= i {
        sums.resize_with(i + 1, T::default);
    }
    sums[i] += v;
}

impl Row<'_> {
    /// The row's values, one per column of `columns`.
    fn vals(&self, columns: &[(&str, Kind)]) -> Result<Vec<Val>> {
        columns
            .iter()
            .enumerate()
            .map(|(i, (_, kind))| self.val(i, *kind))
            .collect()
    }

    fn val(&self, i: usize, kind: Kind) -> Result<Val> {
        Ok(match kind {
            Text => Val::Text(self.opt_text(i)?),
            Int => Val::Int(self.opt_int(i)?),
            Real => Val::Real(self.opt_real(i)?),
            Time => Val::Time(self.opt_time(i)?),
            Day => Val::Day(self.opt_day(i)?),
            Money => Val::Money(self.opt_money(i)?),
            Bool => Val::Bool(self.opt_bool(i)?.unwrap_or(false)),
        })
    }
}

/// Whether a store holds nothing of its own yet (only what its migrations put there).
pub(super) fn is_empty(tx: &Tx<'_>) -> Result<bool> {
    for (table, _) in TABLES {
        let filter = if *table == "accounts" {
            " WHERE name <> ''"
        } else {
            ""
        };
        let any = tx.first(
            &format!("SELECT 1 FROM {table}{filter} LIMIT 1"),
            &[],
            |_| Ok(()),
        )?;
        if any.is_some() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Copies every table of `from` into `to` (which must be empty), then reads the target
/// back and compares each table's count and sums with the source's.
fn copy_tables(from: &Tx<'_>, to: &Tx<'_>) -> Result<Copied> {
    let mut copied = Vec::with_capacity(TABLES.len());
    for (table, columns) in TABLES {
        let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
        let select = format!("SELECT {} FROM {table}", names.join(", "));
        let mut source = Tally::default();
        let mut batch: Vec<Val> = Vec::with_capacity(BATCH * columns.len());
        from.each(&select, &[], |r| {
            let row = r.vals(columns)?;
            source.add(&row);
            batch.extend(row);
            if batch.len() >= BATCH * columns.len() {
                insert(to, table, &names, &batch)?;
                batch.clear();
            }
            Ok(())
        })?;
        insert(to, table, &names, &batch)?;
        let mut target = Tally::default();
        to.each(&select, &[], |r| {
            target.add(&r.vals(columns)?);
            Ok(())
        })?;
        if target != source {
            bail!(
                "the copy of {table} does not match the source ({} rows read, {} in the copy, or their sums differ): nothing was committed",
                source.rows,
                target.rows
            );
        }
        copied.push(((*table).to_string(), source.rows));
    }
    if to.is_pg() {
        // Outbox ids were copied as they were: new ones continue after them.
        to.exec(
            "SELECT setval(pg_get_serial_sequence('outbox', 'id'), coalesce(max(id), 0) + 1, false) FROM outbox",
            &[],
        )?;
    }
    Ok(Copied { tables: copied })
}

/// Writes `values` (whole rows of `names`) into `table`; a row the target has already
/// (the health account its migrations made) is left as it is.
fn insert(to: &Tx<'_>, table: &str, names: &[&str], values: &[Val]) -> Result<()> {
    if values.is_empty() {
        return Ok(());
    }
    let width = names.len();
    let rows: Vec<String> = values
        .chunks(width)
        .enumerate()
        .map(|(r, _)| {
            let marks: Vec<String> = (1..=width).map(|c| format!("?{}", r * width + c)).collect();
            format!("({})", marks.join(", "))
        })
        .collect();
    to.exec(
        &format!(
            "INSERT INTO {table} ({}) VALUES {} ON CONFLICT DO NOTHING",
            names.join(", "),
            rows.join(", ")
        ),
        values,
    )?;
    Ok(())
}

impl Store {
    /// Copies this store into `target`, which must hold nothing yet: all of it in one
    /// transaction of the target, checked before it commits.
    pub(crate) fn copy_into(&mut self, target: &mut Store) -> Result<Copied> {
        self.read(|from| {
            target.write(|to| {
                if !is_empty(to)? {
                    return Err(crate::error::bad_input!(
                        "{} is not empty: db copy fills only a new, empty store (nothing was written)",
                        to_shown(to)
                    ));
                }
                copy_tables(from, to)
            })
        })
    }
}

fn to_shown(to: &Tx<'_>) -> &'static str {
    if to.is_pg() {
        "the target database"
    } else {
        "the target file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list of tables to copy is the schema's, column for column.
    #[test]
    fn every_table_is_copied() {
        let (_dir, mut store) = Store::temporary();
        let schema = store
            .read(|tx| {
                tx.rows(
                    "SELECT m.name, group_concat(p.name, ',') FROM sqlite_schema AS m
                     JOIN pragma_table_info(m.name) AS p
                     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
                     GROUP BY m.name ORDER BY m.name",
                    &[],
                    |r| Ok((r.text(0)?, r.text(1)?)),
                )
            })
            .unwrap();
        let mut listed: Vec<(String, String)> = TABLES
            .iter()
            .map(|(t, cols)| {
                let mut names: Vec<&str> = cols.iter().map(|(n, _)| *n).collect();
                names.sort_unstable();
                ((*t).to_string(), names.join(","))
            })
            .collect();
        listed.sort();
        let schema: Vec<(String, String)> = schema
            .into_iter()
            .map(|(t, cols)| {
                let mut names: Vec<&str> = cols.split(',').collect();
                names.sort_unstable();
                (t, names.join(","))
            })
            .collect();
        assert_eq!(listed, schema);
    }
}
