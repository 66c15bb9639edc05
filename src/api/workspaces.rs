//! The organization's workspaces (ADMIN_API.md §4), to learn the Default Workspace's real
//! id: the analytics source reports its usage under that id, where the legacy reports give
//! null. It is the workspace that `include_default=true` lists and the plain list does not
//! (a workspace has no "is default" flag).

use anyhow::{Result, bail};
use serde::Deserialize;

use super::Client;

pub(crate) const PATH: &str = "/v1/organizations/workspaces";
/// 100 pages of 1,000: more workspaces than any organization has.
const MAX_PAGES: usize = 100;

#[derive(Deserialize)]
struct Workspace {
    id: String,
}

/// The Default Workspace's id, and the plain list (every active workspace but the default):
/// `None` when both lists are the same (an API that does not list it, or reports it as null
/// elsewhere too).
pub(crate) fn default_id(client: &mut Client) -> Result<(Option<String>, Vec<String>)> {
    let with = ids(client, true)?;
    let without = ids(client, false)?;
    let mut extra = with.into_iter().filter(|id| !without.contains(id));
    match (extra.next(), extra.next()) {
        (Some(id), None) => Ok((Some(id), without)),
        (None, _) => Ok((None, without)),
        (Some(_), Some(_)) => bail!(
            "GET {PATH}: include_default=true lists more than one workspace the plain list does not: cannot tell the Default Workspace"
        ),
    }
}

/// Every workspace's id (the plain list: active workspaces, the Default Workspace only
/// with `include_default`).
pub(crate) fn ids(client: &mut Client, include_default: bool) -> Result<Vec<String>> {
    let query: Vec<(&str, String)> = if include_default {
        vec![("include_default", "true".to_string())]
    } else {
        Vec::new()
    };
    let mut out = Vec::new();
    super::each_listed(client, PATH, &query, MAX_PAGES, &mut |data: Vec<
        Workspace,
    >| {
        out.extend(data.into_iter().map(|w| w.id));
        Ok(())
    })?;
    Ok(out)
}
