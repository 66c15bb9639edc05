//! Test doubles that the integration tests, the benchmark and `cargo run --example standin`
//! share: a stand-in of the Admin API (`standin`) and a notification endpoint that records
//! what reaches it (`capture`), both on 127.0.0.1 only; and a throwaway PostgreSQL cluster
//! (`pg`) on a Unix socket.

pub mod capture;
pub mod pg;
pub mod standin;
