//! One way to run a statement on either backend: values in (`Val`), rows out (`Row`), with
//! the store's SQL written once. Statements use `?1`-style placeholders (PostgreSQL gets
//! `$1`), and the few spellings that differ come from `Tx::list`. Each backend keeps its own
//! types: SQLite stores times as RFC 3339 text, days as `YYYY-MM-DD` and money as decimal
//! text, PostgreSQL as `timestamptz`, `date` and `numeric`; a `Val` or a `Row` getter says
//! which one it means, and each backend converts.

use std::cell::RefCell;
use std::collections::HashMap;

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::Tx;

/// A statement's parameter: what it means, so that each backend stores it its own way.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    Time(Option<DateTime<Utc>>),
    Day(Option<NaiveDate>),
    Money(Option<Decimal>),
    Bool(bool),
    /// A list of texts, for `Tx::list`.
    Texts(Vec<String>),
    /// Lists of days and of counts: columns of a batch (PostgreSQL's `unnest`).
    Days(Vec<NaiveDate>),
    Ints(Vec<Option<i64>>),
}

macro_rules! val_from {
    ($($t:ty => $v:ident $(, $conv:expr)?;)*) => {$(
        impl From<$t> for Val {
            fn from(x: $t) -> Val {
                Val::$v(Some(val_from!(@conv x $(, $conv)?)))
            }
        }
        impl From<Option<$t>> for Val {
            fn from(x: Option<$t>) -> Val {
                Val::$v(x.map(|x| val_from!(@conv x $(, $conv)?)))
            }
        }
    )*};
    (@conv $x:ident) => { $x };
    (@conv $x:ident, $conv:expr) => { $conv($x) };
}

val_from! {
    i64 => Int;
    f64 => Real;
    String => Text;
    &str => Text, str::to_owned;
    &String => Text, String::clone;
    DateTime<Utc> => Time;
    NaiveDate => Day;
    Decimal => Money;
}

impl From<bool> for Val {
    fn from(x: bool) -> Val {
        Val::Bool(x)
    }
}

impl From<u32> for Val {
    fn from(x: u32) -> Val {
        Val::Int(Some(i64::from(x)))
    }
}

/// `[Val; N]` from values of any type a `Val` is made from.
macro_rules! vals {
    ($($v:expr),* $(,)?) => { [$($crate::store::sql::Val::from($v)),*] };
}
pub(crate) use vals;

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value};
        let owned = |v: Option<Value>| Ok(ToSqlOutput::Owned(v.unwrap_or(Value::Null)));
        match self {
            Val::Int(v) => v.to_sql(),
            Val::Real(v) => v.to_sql(),
            Val::Text(v) => v.to_sql(),
            Val::Time(v) => owned(v.map(|t| Value::Text(crate::time::ts(t)))),
            Val::Day(v) => owned(v.map(|d| Value::Text(crate::time::day(d)))),
            Val::Money(v) => owned(v.map(|m| Value::Text(m.to_string()))),
            Val::Bool(v) => v.to_sql(),
            Val::Texts(v) => json(v),
            Val::Days(v) => json(&v.iter().map(|d| crate::time::day(*d)).collect::<Vec<_>>()),
            Val::Ints(v) => json(v),
        }
    }
}

/// A list as SQLite takes it: JSON text, for `json_each`.
fn json(v: &impl serde::Serialize) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'static>> {
    let text =
        serde_json::to_string(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
    Ok(rusqlite::types::ToSqlOutput::Owned(
        rusqlite::types::Value::Text(text),
    ))
}

impl Val {
    fn pg(&self) -> &(dyn postgres::types::ToSql + Sync) {
        match self {
            Val::Int(v) => v,
            Val::Real(v) => v,
            Val::Text(v) => v,
            Val::Time(v) => v,
            Val::Day(v) => v,
            Val::Money(v) => v,
            Val::Bool(v) => v,
            Val::Texts(v) => v,
            Val::Days(v) => v,
            Val::Ints(v) => v,
        }
    }
}

/// A row of either backend, read by what each column means.
pub(crate) enum Row<'r> {
    Lite(&'r rusqlite::Row<'r>),
    Pg(&'r postgres::Row),
}

impl Row<'_> {
    /// A column both backends read as the same Rust type.
    fn get<T>(&self, i: usize) -> Result<T>
    where
        T: rusqlite::types::FromSql + for<'a> postgres::types::FromSql<'a>,
    {
        Ok(match self {
            Row::Lite(r) => r.get(i)?,
            Row::Pg(r) => r.try_get(i).map_err(pg_err)?,
        })
    }

    /// A column SQLite keeps as text that `parse` reads, and PostgreSQL as a `T`.
    fn parsed<T>(&self, i: usize, parse: impl FnOnce(&str) -> Result<T>) -> Result<Option<T>>
    where
        T: for<'a> postgres::types::FromSql<'a>,
    {
        match self {
            Row::Lite(r) => r.get_ref(i)?.as_str_or_null()?.map(parse).transpose(),
            Row::Pg(r) => r.try_get(i).map_err(pg_err),
        }
    }

    /// A text column, borrowed for `f`: no copy on either backend (the rows of a period).
    pub(crate) fn with_text<T>(&self, i: usize, f: impl FnOnce(&str) -> Result<T>) -> Result<T> {
        match self {
            Row::Lite(r) => f(r.get_ref(i)?.as_str()?),
            Row::Pg(r) => f(r.try_get(i).map_err(pg_err)?),
        }
    }

    pub(crate) fn text(&self, i: usize) -> Result<String> {
        required(self.opt_text(i)?, i, "text")
    }

    pub(crate) fn opt_text(&self, i: usize) -> Result<Option<String>> {
        self.get(i)
    }

    pub(crate) fn int(&self, i: usize) -> Result<i64> {
        required(self.opt_int(i)?, i, "a number")
    }

    pub(crate) fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        self.get(i)
    }

    /// A count: never negative.
    pub(crate) fn count(&self, i: usize) -> Result<usize> {
        let n = self.int(i)?;
        usize::try_from(n).with_context(|| format!("column {i}: {n} is not a count"))
    }

    pub(crate) fn real(&self, i: usize) -> Result<f64> {
        self.get(i)
    }

    pub(crate) fn opt_real(&self, i: usize) -> Result<Option<f64>> {
        self.get(i)
    }

    pub(crate) fn opt_bool(&self, i: usize) -> Result<Option<bool>> {
        self.get(i)
    }

    pub(crate) fn day(&self, i: usize) -> Result<NaiveDate> {
        required(self.opt_day(i)?, i, "a day")
    }

    pub(crate) fn opt_day(&self, i: usize) -> Result<Option<NaiveDate>> {
        self.parsed(i, |d| Ok(crate::time::parse_day(d)?))
    }

    pub(crate) fn money(&self, i: usize) -> Result<Decimal> {
        required(self.opt_money(i)?, i, "an amount")
    }

    pub(crate) fn opt_money(&self, i: usize) -> Result<Option<Decimal>> {
        self.parsed(i, |t| {
            t.parse()
                .with_context(|| format!("column {i}: {t:?} is not a decimal"))
        })
    }

    pub(crate) fn time(&self, i: usize) -> Result<DateTime<Utc>> {
        required(self.opt_time(i)?, i, "a time")
    }

    pub(crate) fn opt_time(&self, i: usize) -> Result<Option<DateTime<Utc>>> {
        self.parsed(i, |t| {
            crate::time::parse(t).with_context(|| format!("column {i}"))
        })
    }
}

/// A value that must not be null.
fn required<T>(v: Option<T>, i: usize, what: &str) -> Result<T> {
    v.ok_or_else(|| anyhow!("column {i} is null where {what} was expected"))
}

/// The prepared statements of a PostgreSQL session, by their text: each is parsed once per
/// process, as SQLite's `prepare_cached` does.
pub(super) type PgStatements = HashMap<String, postgres::Statement>;

/// `?N` placeholders as PostgreSQL's `$N` (a `?` not followed by a digit is left alone).
fn dollars(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        let placeholder = c == '?' && chars.peek().is_some_and(char::is_ascii_digit);
        out.push(if placeholder { '$' } else { c });
    }
    out
}

impl Tx<'_> {
    /// Runs a statement; how many rows it changed.
    pub(crate) fn exec(&self, sql: &str, params: &[Val]) -> Result<usize> {
        match &self.0 {
            super::TxInner::Lite(t) => Ok(t
                .prepare_cached(sql)?
                .execute(rusqlite::params_from_iter(params))?),
            super::TxInner::Pg { tx, statements } => {
                let stmt = prepared(tx, statements, sql)?;
                let n = tx
                    .borrow_mut()
                    .execute(&stmt, &pg_params(params))
                    .map_err(pg_err)?;
                usize::try_from(n).context("row count")
            }
        }
    }

    /// Runs statements without parameters (a temporary table's definition).
    pub(crate) fn batch(&self, sql: &str) -> Result<()> {
        match &self.0 {
            super::TxInner::Lite(t) => Ok(t.execute_batch(sql)?),
            super::TxInner::Pg { tx, .. } => tx.borrow_mut().batch_execute(sql).map_err(pg_err),
        }
    }

    /// Runs a query, calling `f` with each row in turn (streamed, not collected).
    pub(crate) fn each(
        &self,
        sql: &str,
        params: &[Val],
        mut f: impl FnMut(Row<'_>) -> Result<()>,
    ) -> Result<()> {
        match &self.0 {
            super::TxInner::Lite(t) => {
                let mut stmt = t.prepare_cached(sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
                while let Some(r) = rows.next()? {
                    f(Row::Lite(r))?;
                }
                Ok(())
            }
            super::TxInner::Pg { tx, statements } => {
                use postgres::fallible_iterator::FallibleIterator;
                let stmt = prepared(tx, statements, sql)?;
                let mut tx = tx.borrow_mut();
                let mut rows = tx
                    .query_raw(&stmt, params.iter().map(Val::pg))
                    .map_err(pg_err)?;
                while let Some(r) = rows.next().map_err(pg_err)? {
                    f(Row::Pg(&r))?;
                }
                Ok(())
            }
        }
    }

    /// Every row of a query, each made a `T` by `f`.
    pub(crate) fn rows<T>(
        &self,
        sql: &str,
        params: &[Val],
        mut f: impl FnMut(Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.each(sql, params, |r| {
            out.push(f(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row of a query, if any.
    pub(crate) fn first<T>(
        &self,
        sql: &str,
        params: &[Val],
        f: impl FnOnce(Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut f = Some(f);
        let mut out = None;
        self.each(sql, params, |r| {
            if let Some(f) = f.take() {
                out = Some(f(r)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// `column` is one of the texts of parameter `n` (a `Val::Texts`): SQLite reads the
    /// list as JSON, PostgreSQL as an array (`= ANY`, which an index answers).
    pub(crate) fn in_list(&self, column: &str, n: usize) -> String {
        match &self.0 {
            super::TxInner::Lite(_) => format!("{column} IN (SELECT value FROM json_each(?{n}))"),
            super::TxInner::Pg { .. } => format!("{column} = ANY(?{n}::text[])"),
        }
    }

    /// `column` (a day) is one of the days of parameter `n` (a `Val::Texts` of
    /// `YYYY-MM-DD`).
    pub(crate) fn in_days(&self, column: &str, n: usize) -> String {
        match &self.0 {
            super::TxInner::Lite(_) => self.in_list(column, n),
            super::TxInner::Pg { .. } => format!("{column} = ANY(CAST(?{n}::text[] AS date[]))"),
        }
    }

    /// What ends a `SELECT` of rows to claim: PostgreSQL locks them and skips rows another
    /// transaction holds; SQLite's one writer at a time needs nothing.
    pub(crate) fn skip_locked(&self) -> &'static str {
        match &self.0 {
            super::TxInner::Lite(_) => "",
            super::TxInner::Pg { .. } => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// Whether this is a PostgreSQL transaction.
    pub(crate) fn is_pg(&self) -> bool {
        matches!(self.0, super::TxInner::Pg { .. })
    }
}

/// A PostgreSQL error as one line (its `Display` alone says only "db error").
pub(super) fn pg_err(e: postgres::Error) -> anyhow::Error {
    anyhow!(super::pg::describe(&e))
}

fn pg_params(params: &[Val]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params.iter().map(Val::pg).collect()
}

fn prepared(
    tx: &RefCell<postgres::Transaction<'_>>,
    statements: &RefCell<&mut PgStatements>,
    sql: &str,
) -> Result<postgres::Statement> {
    if let Some(s) = statements.borrow().get(sql) {
        return Ok(s.clone());
    }
    let stmt = tx
        .borrow_mut()
        .prepare(&dollars(sql))
        .map_err(pg_err)
        .with_context(|| format!("cannot prepare: {}", first_line(sql)))?;
    statements.borrow_mut().insert(sql.to_owned(), stmt.clone());
    Ok(stmt)
}

fn first_line(sql: &str) -> &str {
    sql.lines().next().unwrap_or(sql).trim()
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_become_dollars_and_nothing_else_does() {
        assert_eq!(
            super::dollars("SELECT ?1, '?', ?12 || 'why?'"),
            "SELECT $1, '?', $12 || 'why?'"
        );
    }
}
