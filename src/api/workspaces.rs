//! The organization's workspaces (ADMIN_API.md §4), to learn the Default Workspace's real
//! id: the analytics source reports its usage under that id, where the legacy reports give
//! null. It is the workspace that `include_default=true` lists and the plain list does not
//! (a workspace has no "is default" flag).

use std::collections::HashSet;

use anyhow::{Result, bail};
use serde::Deserialize;

use super::Client;

pub(crate) const PATH: &str = "/v1/organizations/workspaces";
const PAGE: u32 = 1000;
/// 100 pages of 1,000: more workspaces than any organization has.
const MAX_PAGES: usize = 100;

#[derive(Deserialize)]
struct Page {
    data: Vec<Workspace>,
    has_more: bool,
    #[serde(default)]
    last_id: Option<String>,
}

#[derive(Deserialize)]
struct Workspace {
    id: String,
}

/// The Default Workspace's id: `None` when both lists are the same (an API that does not
/// list it, or reports it as null elsewhere too).
pub(crate) fn default_id(client: &mut Client) -> Result<Option<String>> {
    let with = ids(client, true)?;
    let without: HashSet<String> = ids(client, false)?.into_iter().collect();
    let mut extra = with.into_iter().filter(|id| !without.contains(id));
    match (extra.next(), extra.next()) {
        (Some(id), None) => Ok(Some(id)),
        (None, _) => Ok(None),
        (Some(_), Some(_)) => bail!(
            "GET {PATH}: include_default=true lists more than one workspace the plain list does not: cannot tell the Default Workspace"
        ),
    }
}

/// Every workspace's id, paged forward with `after_id`.
fn ids(client: &mut Client, include_default: bool) -> Result<Vec<String>> {
    let mut after: Option<String> = None;
    let mut out = Vec::new();
    for _ in 0..MAX_PAGES {
        let mut q = vec![("limit", PAGE.to_string())];
        if include_default {
            q.push(("include_default", "true".to_string()));
        }
        if let Some(a) = &after {
            q.push(("after_id", a.clone()));
        }
        let page: Page = client.get_json(PATH, &q, None)?;
        out.extend(page.data.into_iter().map(|w| w.id));
        if !page.has_more {
            return Ok(out);
        }
        match page.last_id {
            Some(last) if after.as_deref() != Some(last.as_str()) => after = Some(last),
            _ => bail!("GET {PATH}: has_more without a new last_id: cannot page on"),
        }
    }
    bail!("GET {PATH}: more than {MAX_PAGES} pages of workspaces")
}
