//! Test doubles that the integration tests, the benchmark and `cargo run --example standin`
//! share: a stand-in of the Admin API (`standin`) and a notification endpoint that records
//! what reaches it (`capture`). Both listen on 127.0.0.1 only.

pub mod capture;
pub mod standin;
