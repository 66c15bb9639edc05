//! Writing results to stdout: tables for people, JSON for programs. Logs and errors go to
//! stderr elsewhere. A closed pipe (`quota alerts list | head`) surfaces as an io error that
//! `main` treats as success.

use std::io::{self, Write};

use anyhow::Result;

pub(crate) fn line(text: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

/// Text that already ends in a newline (a rendered table), written at once.
pub(crate) fn text(text: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

pub(crate) fn json(value: &impl serde::Serialize) -> Result<()> {
    // Stdout is line-buffered: without this, pretty JSON for 10,000 accounts is ~350,000
    // write calls.
    let mut out = io::BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    // As an io::Error, so `main` recognizes a closed pipe (serde_json wraps it otherwise).
    serde_json::to_writer_pretty(&mut out, value).map_err(io::Error::from)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
