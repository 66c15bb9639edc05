//! Writing results to stdout: tables for people, JSON for programs. Logs and errors go to
//! stderr elsewhere. A closed pipe (`quota alerts list | head`) surfaces as an io error that
//! `main` treats as success.

use std::io::{self, IsTerminal, Write};

use anyhow::Result;
use chrono::{DateTime, Utc};
use comfy_table::{ContentArrangement, Table, presets};

pub fn line(text: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

pub fn json(value: &impl serde::Serialize) -> Result<()> {
    // Stdout is line-buffered: without this, pretty JSON for 10,000 accounts is ~350,000
    // write calls.
    let mut out = io::BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    // As an io::Error, so `main` recognizes a closed pipe (serde_json wraps it otherwise).
    serde_json::to_writer_pretty(&mut out, value).map_err(io::Error::from)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// A table in the house style: box drawing on a terminal, plain ASCII in a pipe.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    if io::stdout().is_terminal() {
        t.load_style(presets::UTF8_FULL_CONDENSED);
    } else {
        t.load_style(presets::ASCII_MARKDOWN).force_no_tty();
    }
    t.set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(header.to_vec());
    t
}

pub fn print_table(t: &Table) -> Result<()> {
    line(&t.to_string())
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

pub fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}
