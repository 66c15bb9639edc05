//! Test doubles that the integration tests, the benchmark and `cargo run --example standin`
//! share: a stand-in of the Admin API (`standin`) and a notification endpoint that records
//! what reaches it (`capture`), both on 127.0.0.1 only; and a throwaway PostgreSQL cluster
//! (`pg`) on a Unix socket and 127.0.0.1; and the world the demo example shows (`demo`).

pub mod capture;
pub mod demo;
pub mod pg;
pub mod standin;
