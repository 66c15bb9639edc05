//! Where things are: the config file, the database and the admin key, each with the origin
//! `config check` reports. The lookup orders are SPEC §3's.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::Result;

use super::{Config, Located, Origin, Overrides, Postgres};
use crate::error::bad_input;
use crate::secret::{Secret, read_secret_file};

pub(super) fn config_file(
    o: &Overrides,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Option<Located>> {
    if let Some(explicit) = &o.config {
        if !explicit.path.is_file() {
            return Err(bad_input!(
                "config file {} (from {}) does not exist or is not a file",
                explicit.path.display(),
                explicit.origin
            ));
        }
        return Ok(Some(explicit.clone()));
    }
    let xdg = match env("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => env("HOME").map(|h| PathBuf::from(h).join(".config")),
    };
    let candidates = xdg
        .map(|d| d.join("quota/config.toml"))
        .into_iter()
        .chain([PathBuf::from("/etc/quota/config.toml")]);
    Ok(candidates
        .into_iter()
        .find(|p| p.is_file())
        .map(|path| Located {
            path,
            origin: Origin::Default,
        }))
}

pub(super) fn database_path(
    o: &Overrides,
    config: &Config,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Located> {
    if let Some(db) = &o.db {
        return Ok(db.clone());
    }
    if config.database.path.path != PathBuf::new() {
        return Ok(Located {
            path: config.database.path.path.clone(),
            origin: Origin::ConfigFile,
        });
    }
    // systemd's StateDirectory= may list several folders separated by colons.
    if let Some(dirs) = env("STATE_DIRECTORY").filter(|v| !v.is_empty()) {
        let first = dirs
            .to_string_lossy()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string();
        return Ok(Located {
            path: PathBuf::from(first).join("quota.db"),
            origin: Origin::Env("STATE_DIRECTORY"),
        });
    }
    if let Some(dir) = env("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return Ok(Located {
            path: PathBuf::from(dir).join("quota/quota.db"),
            origin: Origin::Env("XDG_STATE_HOME"),
        });
    }
    match env("HOME").filter(|v| !v.is_empty()) {
        Some(home) => Ok(Located {
            path: PathBuf::from(home).join(".local/state/quota/quota.db"),
            origin: Origin::Default,
        }),
        None => Err(bad_input!(
            "no database path: set --db, $QUOTA_DB or [database] path (neither $STATE_DIRECTORY, $XDG_STATE_HOME nor $HOME is set)"
        )),
    }
}

/// The PostgreSQL store, if any: `$QUOTA_DATABASE_URL`, else `[database] url`. `--db` on
/// the command line names a SQLite file for that run, and wins over both.
pub(super) fn postgres(
    o: &Overrides,
    config: &Config,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Option<Postgres> {
    if o.db
        .as_ref()
        .is_some_and(|db| matches!(db.origin, Origin::Flag(_)))
    {
        return None;
    }
    match env("QUOTA_DATABASE_URL").filter(|v| !v.is_empty()) {
        Some(url) => Some(Postgres {
            url: Secret::new(url.to_string_lossy()),
            origin: Origin::Env("QUOTA_DATABASE_URL"),
            password_file: config
                .database
                .postgres
                .as_ref()
                .and_then(|p| p.password_file.clone()),
        }),
        None => config.database.postgres.clone(),
    }
}

/// The admin key and where it came from.
#[derive(Debug)]
pub(crate) struct AdminKey {
    pub key: Secret,
    pub origin: String,
}

/// Finds the admin key: `$ANTHROPIC_ADMIN_API_KEY`, then `[api] admin_key_file`, then
/// `$CREDENTIALS_DIRECTORY/anthropic-admin-key` (systemd's `LoadCredential=`).
pub(crate) fn admin_key(
    config: &Config,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<AdminKey> {
    if let Some(v) = env("ANTHROPIC_ADMIN_API_KEY") {
        let v = v.to_string_lossy().trim().to_string();
        if v.is_empty() {
            return Err(bad_input!("$ANTHROPIC_ADMIN_API_KEY is set but empty"));
        }
        return Ok(AdminKey {
            key: Secret::new(v),
            origin: "$ANTHROPIC_ADMIN_API_KEY".into(),
        });
    }
    if let Some(path) = &config.api.admin_key_file {
        let key = read_secret_file(path).map_err(|e| bad_input!("[api] admin_key_file: {e:#}"))?;
        return Ok(AdminKey {
            key,
            origin: format!("[api] admin_key_file {}", path.display()),
        });
    }
    if let Some(dir) = env("CREDENTIALS_DIRECTORY") {
        let path = PathBuf::from(dir).join("anthropic-admin-key");
        if path.exists() {
            let key =
                read_secret_file(&path).map_err(|e| bad_input!("systemd credential: {e:#}"))?;
            return Ok(AdminKey {
                key,
                origin: format!("systemd credential {}", path.display()),
            });
        }
    }
    Err(bad_input!(
        "no admin key: set ANTHROPIC_ADMIN_API_KEY, or [api] admin_key_file, or a systemd credential named anthropic-admin-key"
    ))
}
