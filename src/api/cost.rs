//! The cost report (ADMIN_API.md §2): daily USD cost per workspace. `amount` is a decimal
//! string in cents, kept exact end to end.

use std::collections::HashMap;

use anyhow::{Result, bail};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::Client;
use super::report::{Cursor, Page, bucket_day, cents};
use super::usage::PAGE_BUCKETS;
use crate::records::CostDay;

pub(crate) const PATH: &str = "/v1/organizations/cost_report";

#[derive(Deserialize)]
struct Row {
    amount: serde_json::Value,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    workspace_id: Option<String>,
}

/// Daily cost per workspace from `first_day`, every page of it.
pub(crate) fn fetch(client: &mut Client, first_day: NaiveDate) -> Result<Vec<CostDay>> {
    let query: Vec<(&str, String)> = vec![
        ("starting_at", crate::time::midnight(first_day)),
        ("bucket_width", "1d".into()),
        ("limit", PAGE_BUCKETS.to_string()),
        ("group_by[]", "workspace_id".into()),
    ];
    let mut sums = Sums::new();
    let mut cursor = Cursor::default();
    loop {
        let page: Page<Row> = client.get_json(PATH, &cursor.query(&query), None)?;
        let (has_more, next_page) = (page.has_more, page.next_page.clone());
        add_page(&mut sums, page)?;
        if !cursor.advance(PATH, has_more, next_page)? {
            break;
        }
    }
    Ok(days(sums))
}

type Sums = HashMap<(Option<String>, NaiveDate), Decimal>;

/// Sums a page's rows per workspace and day: rows split by description add up.
fn add_page(sums: &mut Sums, page: Page<Row>) -> Result<()> {
    for bucket in page.data {
        let day = bucket_day(PATH, &bucket.starting_at)?;
        for (i, r) in bucket.results.into_iter().enumerate() {
            if let Some(c) = r
                .currency
                .as_deref()
                .filter(|c| !c.eq_ignore_ascii_case("USD"))
            {
                bail!("GET {PATH}: cost in {c} on {day}; quota keeps USD only");
            }
            let at = format!("results[{i}] of {day}");
            *sums.entry((r.workspace_id, day)).or_default() += cents(PATH, &at, Some(&r.amount))?;
        }
    }
    Ok(())
}

fn days(sums: Sums) -> Vec<CostDay> {
    sums.into_iter()
        .map(|((workspace_id, day), cents)| CostDay {
            api_key_id: None,
            workspace_id,
            day,
            cents,
        })
        .collect()
}

/// One cost report page from bytes, through the same code as `fetch`.
pub(crate) fn parse_page(body: &[u8]) -> Result<Vec<CostDay>> {
    let page: Page<Row> = serde_json::from_slice(body)
        .map_err(|e| anyhow::anyhow!("GET {PATH}: malformed response ({e})"))?;
    let mut sums = Sums::new();
    add_page(&mut sums, page)?;
    Ok(days(sums))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The API reference's cost report example (tests/fixtures/admin_api/README.md): exact
    /// cents, rows of one workspace and day summed, the cursor taken as given.
    #[test]
    fn the_reference_example_parses_exactly() {
        let body = include_bytes!("../../tests/fixtures/admin_api/cost_report_page.json");
        let days = parse_page(body).unwrap();
        assert_eq!(days.len(), 1);
        assert_eq!(
            days[0].workspace_id.as_deref(),
            Some("wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ")
        );
        assert_eq!(days[0].day, NaiveDate::from_ymd_opt(2025, 8, 1).unwrap());
        assert_eq!(days[0].cents, "124.00000".parse::<Decimal>().unwrap());
        assert_eq!(days[0].cents.to_string(), "124.00000");
        let page: Page<Row> = serde_json::from_slice(body).unwrap();
        let mut cursor = Cursor::default();
        assert!(cursor.advance(PATH, page.has_more, page.next_page).unwrap());
        assert_eq!(
            cursor.query(&[])[0],
            ("page", "page_MjAyNS0wNS0xNFQwMDowMDowMFo=".to_string())
        );
    }
}
