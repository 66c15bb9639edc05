//! Secrets (the admin key, webhook URLs, routing keys): a wrapper that cannot be printed by
//! accident, and where each one came from.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A secret string. `Debug` and `Display` print `[redacted]`; only `expose` gives the value.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// The last four characters, the most `config check` ever shows.
    pub(crate) fn hint(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
        format!("…{tail}")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A secret given inline in the config or in a file read when needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SecretSource {
    Inline(Secret),
    File(PathBuf),
}

impl SecretSource {
    pub(crate) fn read(&self) -> Result<Secret> {
        match self {
            SecretSource::Inline(s) => Ok(s.clone()),
            SecretSource::File(path) => read_secret_file(path),
        }
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            SecretSource::Inline(_) => "inline in the config file".to_string(),
            SecretSource::File(p) => format!("file {}", p.display()),
        }
    }
}

/// Reads a secret file, trimming the trailing newline editors add.
pub(crate) fn read_secret_file(path: &Path) -> Result<Secret> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read secret file {}", path.display()))?;
    let value = text.trim();
    anyhow::ensure!(!value.is_empty(), "secret file {} is empty", path.display());
    Ok(Secret::new(value))
}

/// Whether a file can be read by users other than its owner (a secret file should not be).
#[cfg(unix)]
pub(crate) fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o044 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s = Secret::new("sk-ant-admin01-abcdefgh1234");
        assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
        assert_eq!(s.hint(), "…1234");
        assert_eq!(Secret::new("ab").hint(), "…ab");
    }
}
