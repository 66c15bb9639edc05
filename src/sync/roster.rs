//! Which accounts a run knows: the configured ones and, with discovery on, one per active
//! discovered API key and one per discovered Claude Code actor that no configured account
//! already covers (the configured one wins, by selector and by name).

use std::collections::HashSet;

use anyhow::Result;

use crate::account::{Account, Selector};
use crate::config::{Config, DeveloperDiscovery};
use crate::records::ActorKind;
use crate::store::{self, Store};

/// Every account a run knows: the configured ones (borrowed from the config, not copied)
/// and the discovered ones.
pub(crate) struct Roster<'c> {
    configured: &'c [Account],
    discovered: Vec<Account>,
}

impl<'c> Roster<'c> {
    /// The configured accounts and those discovery recorded in `store`.
    pub(crate) fn load(config: &'c Config, store: &mut Store) -> Result<Roster<'c>> {
        let (keys, actors) = store.read(|tx| {
            let keys = if config.discovers_keys() {
                store::keys::active(tx)?
            } else {
                Vec::new()
            };
            let actors = if config.developer_discovery == DeveloperDiscovery::Always {
                store::developers::actors(tx)?
            } else {
                Vec::new()
            };
            Ok((keys, actors))
        })?;
        let names: HashSet<&str> = config.accounts.iter().map(|a| a.name.as_str()).collect();
        let key_ids: HashSet<&str> = config
            .accounts
            .iter()
            .filter_map(|a| a.selector.api_key_id())
            .collect();
        let covered: HashSet<(ActorKind, &str)> = config
            .accounts
            .iter()
            .filter_map(|a| a.selector.actor())
            .collect();
        let mut discovered = Vec::with_capacity(keys.len() + actors.len());
        for k in keys {
            if !key_ids.contains(k.id.as_str()) && !names.contains(k.account.as_str()) {
                discovered.push(config.defaults.account_for_key(k.account, k.id));
            }
        }
        for k in actors {
            if covered.contains(&(k.kind, k.actor.as_str())) || names.contains(k.account.as_str()) {
                continue;
            }
            let selector = match k.kind {
                ActorKind::User => Selector::ClaudeCodeUser(k.actor),
                ActorKind::ApiKey => Selector::ClaudeCodeApiKey(k.actor),
            };
            discovered.push(
                config
                    .claude_code_defaults
                    .account_for_actor(&k.account, selector),
            );
        }
        Ok(Roster {
            configured: &config.accounts,
            discovered,
        })
    }

    /// The configured accounts only (when the store cannot be read).
    pub(crate) fn configured(config: &'c Config) -> Roster<'c> {
        Roster {
            configured: &config.accounts,
            discovered: Vec::new(),
        }
    }

    pub(crate) fn all(&self) -> Vec<&Account> {
        self.configured.iter().chain(&self.discovered).collect()
    }

    /// The accounts `--account` names, or all (see `config::select`).
    pub(crate) fn select(&self, names: &[String]) -> Result<Vec<&Account>> {
        crate::account::select(&self.all(), names)
    }
}
