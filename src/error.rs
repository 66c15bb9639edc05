//! The one typed error the command layer branches on: bad input (command line, config,
//! environment) exits with code 2; everything else is a failure and exits with 1.

use std::fmt;

/// Bad command line, configuration or environment: exit code 2.
#[derive(Debug)]
pub(crate) struct BadInput(pub String);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// `return Err(bad_input!("…"))` for exit code 2.
macro_rules! bad_input {
    ($($arg:tt)*) => { anyhow::Error::new($crate::error::BadInput(format!($($arg)*))) };
}
pub(crate) use bad_input;

/// Exit code for an error chain: 2 when bad input caused it, else 1.
pub(crate) fn exit_code(err: &anyhow::Error) -> u8 {
    if err.chain().any(|e| e.is::<BadInput>()) {
        2
    } else {
        1
    }
}
