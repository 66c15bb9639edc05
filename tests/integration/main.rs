//! Integration tests: the real `quota` binary on a real SQLite file and, for `sync`, a
//! stand-in of the Admin API on 127.0.0.1. Nothing here touches any other address.

mod env;
mod foundation;
#[path = "../support/standin.rs"]
mod standin;
mod sync;
mod sync_faults;
