//! `quota sync`: placeholder until the Admin API client lands.

use std::process::ExitCode;

use anyhow::{Result, bail};

use super::Ctx;
use crate::cli::SyncArgs;

pub fn run(_ctx: &Ctx, _args: &SyncArgs) -> Result<ExitCode> {
    bail!("quota sync is not available in this build yet")
}
