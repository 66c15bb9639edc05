//! quota's modules as a library. The `quota` binary (`main.rs`) is the product; the library
//! exists so fuzz targets and benchmarks can reach the parsers and pure logic directly.

pub mod alert;
pub mod api;
pub mod apply;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod error;
pub mod evaluate;
pub mod http;
pub mod metrics;
pub mod notify;
pub mod output;
pub mod period;
pub mod quota;
pub mod reconcile;
pub mod records;
pub mod secret;
pub mod store;
pub mod time;
pub mod window;
