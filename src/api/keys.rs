//! Listing the organization's active API keys (ADMIN_API.md §4), for discovery.

use anyhow::Result;
use serde::Deserialize;

use super::Client;
use crate::records::ListedKey;

pub(crate) const PATH: &str = "/v1/organizations/api_keys";
/// 1,000 pages of 1,000: more keys than any organization has.
const MAX_PAGES: usize = 1000;

#[derive(Deserialize)]
struct Key {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    status: Option<String>,
    /// Deprecated in the GA shape, in favour of `scope.workspace_id`: either is read.
    #[serde(default)]
    workspace_id: Option<String>,
    #[serde(default)]
    scope: Option<Scope>,
}

/// The GA shape's `scope` of a key.
#[derive(Deserialize)]
struct Scope {
    #[serde(default)]
    workspace_id: Option<String>,
}

/// Every active key, paged forward with `after_id`: each page goes to `page` as it comes
/// (nothing holds the whole list). Returns how many keys were listed.
pub(crate) fn list_active(
    client: &mut Client,
    page: &mut dyn FnMut(&[ListedKey]) -> Result<()>,
) -> Result<usize> {
    let mut listed = 0;
    let query = [("status", "active".to_string())];
    super::each_listed(client, PATH, &query, MAX_PAGES, &mut |data: Vec<Key>| {
        // The filter asked for active keys; a row saying otherwise is left out all the same.
        let keys: Vec<ListedKey> = data
            .into_iter()
            .filter(|k| k.status.as_deref().is_none_or(|s| s == "active"))
            .map(|k| ListedKey {
                name: k.name.unwrap_or_else(|| k.id.clone()),
                id: k.id,
                workspace_id: k.scope.and_then(|s| s.workspace_id).or(k.workspace_id),
            })
            .collect();
        listed += keys.len();
        page(&keys)
    })?;
    Ok(listed)
}
