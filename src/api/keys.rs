//! Listing the organization's active API keys (ADMIN_API.md §4), for discovery.

use anyhow::{Result, bail};
use serde::Deserialize;

use super::Client;
use crate::records::ListedKey;

pub const PATH: &str = "/v1/organizations/api_keys";
const PAGE: u32 = 1000;
/// 100 pages of 1,000: more keys than any organization has.
const MAX_PAGES: usize = 100;

#[derive(Deserialize)]
struct Page {
    data: Vec<Key>,
    has_more: bool,
    #[serde(default)]
    last_id: Option<String>,
}

#[derive(Deserialize)]
struct Key {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    workspace_id: Option<String>,
}

/// Every active key, paged forward with `after_id`.
pub fn list_active(client: &mut Client) -> Result<Vec<ListedKey>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut q = vec![
            ("status", "active".to_string()),
            ("limit", PAGE.to_string()),
        ];
        if let Some(a) = &after {
            q.push(("after_id", a.clone()));
        }
        let page: Page = client.get_json(PATH, &q, None)?;
        // The filter asked for active keys; a row saying otherwise is left out all the same.
        out.extend(
            page.data
                .into_iter()
                .filter(|k| k.status.as_deref().is_none_or(|s| s == "active"))
                .map(|k| ListedKey {
                    name: k.name.unwrap_or_else(|| k.id.clone()),
                    id: k.id,
                    workspace_id: k.workspace_id,
                }),
        );
        if !page.has_more {
            return Ok(out);
        }
        match page.last_id {
            Some(last) if after.as_deref() != Some(last.as_str()) => after = Some(last),
            _ => bail!("GET {PATH}: has_more without a new last_id: cannot page on"),
        }
    }
    bail!("GET {PATH}: more than {MAX_PAGES} pages of keys")
}
