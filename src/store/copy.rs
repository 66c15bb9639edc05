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

/// Every table of the schema, parents before the tables that refer to them. A table a
/// migration adds is added here, or `copy` refuses to run (the test `every_table_is_copied`
/// compares this list with the schema); its columns come from the schema itself.
const TABLES: &[&str] = &[
    "accounts",
    "sync_state",
    "api_keys",
    "cost_daily",
    "usage_daily",
    "developer_daily",
    "developer_actors",
    "alerts",
    "read_health",
    "silences",
    "outbox",
    "leases",
    "burn_series",
    "usage_reads",
    "developer_models",
    "cost_models",
    "usage_models",
];

/// A table's columns and what each holds, in PostgreSQL's catalogue: one side of a copy
/// is always PostgreSQL (SQLite to SQLite is `VACUUM INTO`), and its types are the ones
/// each backend's values are read and written as.
fn columns(pg: &Tx<'_>, table: &str) -> Result<Vec<(String, Kind)>> {
    let columns = pg.rows(
        "SELECT column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = ?1 ORDER BY ordinal_position",
        &[Val::Text(Some(table.to_string()))],
        |r| Ok((r.text(0)?, r.text(1)?)),
    )?;
    if columns.is_empty() {
        bail!("the PostgreSQL schema has no table {table}");
    }
    columns
        .into_iter()
        .map(|(name, ty)| {
            let kind = match ty.as_str() {
                "text" => Text,
                "bigint" => Int,
                "double precision" => Real,
                "timestamp with time zone" => Time,
                "date" => Day,
                "numeric" => Money,
                "boolean" => Bool,
                other => bail!("{table}.{name}: a column of type {other} cannot be copied"),
            };
            Ok((name, kind))
        })
        .collect()
}

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
    fn vals(&self, kinds: &[Kind]) -> Result<Vec<Val>> {
        kinds
            .iter()
            .enumerate()
            .map(|(i, kind)| self.val(i, *kind))
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
    for table in TABLES {
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
    for table in TABLES {
        let columns = if to.is_pg() {
            columns(to, table)?
        } else {
            columns(from, table)?
        };
        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        let kinds: Vec<Kind> = columns.iter().map(|(_, k)| *k).collect();
        let select = format!("SELECT {} FROM {table}", names.join(", "));
        let mut source = Tally::default();
        let mut batch: Vec<Val> = Vec::with_capacity(BATCH * kinds.len());
        from.each(&select, &[], |r| {
            let row = r.vals(&kinds)?;
            source.add(&row);
            batch.extend(row);
            if batch.len() >= BATCH * kinds.len() {
                insert(to, table, &names, &batch)?;
                batch.clear();
            }
            Ok(())
        })?;
        insert(to, table, &names, &batch)?;
        let mut target = Tally::default();
        to.each(&select, &[], |r| {
            target.add(&r.vals(&kinds)?);
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

    /// The list of tables to copy is the schema's.
    #[test]
    fn every_table_is_copied() {
        let (_dir, mut store) = Store::temporary();
        let mut schema = store
            .read(|tx| {
                tx.rows(
                    "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                    &[],
                    |r| r.text(0),
                )
            })
            .unwrap();
        schema.sort();
        let mut listed: Vec<&str> = TABLES.to_vec();
        listed.sort_unstable();
        assert_eq!(listed, schema);
    }
}
