//! Integration tests: the real `quota` binary on a real SQLite file and, for `sync`, a
//! stand-in of the Admin API on 127.0.0.1. Nothing here touches any other address.

// The reliability tests print what they measured.
#![allow(clippy::print_stdout, clippy::print_stderr)]
mod analytics;
mod backup;
mod burn;
mod developers;
mod env;
mod foundation;
mod generated;
mod golden;
mod ha;
mod health;
mod models;
mod notify;
mod operator;
mod packaging;
mod pg_store;
mod reliability;
mod sdk;
mod sources;
mod sync;
mod sync_faults;
mod usage;
mod windows;

use quota_testkit::{capture, standin};
