//! Integration tests: the real `quota` binary on a real SQLite file and, for `sync`, a
//! stand-in of the Admin API on 127.0.0.1. Nothing here touches any other address.

// Tests may tell the person running them why something was skipped.
#![allow(clippy::print_stdout, clippy::print_stderr)]
#[path = "../support/capture.rs"]
mod capture;
mod env;
mod foundation;
mod generated;
mod notify;
mod packaging;
mod reliability;
mod sources;
#[path = "../support/standin.rs"]
mod standin;
mod sync;
mod sync_faults;
