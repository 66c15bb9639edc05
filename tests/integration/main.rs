//! Integration tests: the real `quota` binary on a real SQLite file and, for `sync`, a
//! stand-in of the Admin API on 127.0.0.1. Nothing here touches any other address.

#[path = "../support/capture.rs"]
mod capture;
mod env;
mod foundation;
mod notify;
#[path = "../support/standin.rs"]
mod standin;
mod sync;
mod sync_faults;
