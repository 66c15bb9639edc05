//! What a quota is: the five quota types of SPEC §2, an account's limits, and the usage
//! totals they are compared with. Values are exact decimals so that token counts (u64) and
//! USD cost (a decimal string from the API) share one comparison path without floats.

use rust_decimal::Decimal;

string_enum!(QuotaType {
    Tokens => "tokens",
    InputTokens => "input_tokens",
    OutputTokens => "output_tokens",
    Requests => "requests",
    CostUsd => "cost_usd",
});

impl QuotaType {
    /// The config key that sets this quota's limit.
    pub(crate) fn limit_key(self) -> &'static str {
        match self {
            QuotaType::Tokens => "token_limit",
            QuotaType::InputTokens => "input_token_limit",
            QuotaType::OutputTokens => "output_token_limit",
            QuotaType::Requests => "request_limit",
            QuotaType::CostUsd => "cost_limit_usd",
        }
    }

    /// A value in JSON: an integer for counts, an exact decimal string for USD.
    pub(crate) fn json_value(self, v: Decimal) -> serde_json::Value {
        match self {
            QuotaType::CostUsd => serde_json::Value::String(v.to_string()),
            _ => u64::try_from(v.trunc()).map_or_else(
                |_| serde_json::Value::String(v.to_string()),
                serde_json::Value::from,
            ),
        }
    }

    /// A short form for narrow tables: counts below 100,000 whole, larger ones with a
    /// suffix (`1.3M`, `5B`); dollars with cents below $100,000, else `$123.4k`.
    pub(crate) fn compact(self, v: Decimal) -> String {
        const UNITS: [(u64, &str); 4] = [
            (1_000_000_000_000, "T"),
            (1_000_000_000, "B"),
            (1_000_000, "M"),
            (1_000, "k"),
        ];
        let whole = v.trunc();
        let short = |x: Decimal| {
            UNITS
                .iter()
                .find(|(n, _)| x >= Decimal::from(*n))
                .map(|(n, unit)| {
                    let scaled = (x / Decimal::from(*n)).round_dp(1).normalize();
                    format!("{scaled}{unit}")
                })
        };
        match self {
            QuotaType::CostUsd if v < Decimal::from(100_000) => self.display(v),
            QuotaType::CostUsd => format!("${}", short(whole).unwrap_or_default()),
            _ if whole < Decimal::from(100_000) => self.display(v),
            _ => short(whole).unwrap_or_else(|| self.display(v)),
        }
    }

    /// Formats a value of this quota type for people: thousands separators for counts,
    /// dollars and cents for cost.
    pub(crate) fn display(self, v: Decimal) -> String {
        match self {
            QuotaType::CostUsd => format!("${}", group_thousands(&format!("{:.2}", v.round_dp(2)))),
            _ => group_thousands(&v.trunc().to_string()),
        }
    }
}

fn group_thousands(s: &str) -> String {
    let (int, frac) = s.split_once('.').map_or((s, None), |(i, f)| (i, Some(f)));
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    let frac = frac.map(|f| format!(".{f:0<2}")).unwrap_or_default();
    format!("{sign}{out}{frac}")
}

/// One value per quota type: an account's limits (`None`: tracked but never alerted) or a
/// sum of its usage (`None`: not measured, because a day lacked what it needs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PerQuota {
    pub tokens: Option<u64>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub requests: Option<u64>,
    pub cost_usd: Option<Decimal>,
}

/// An account's limits.
pub(crate) type Limits = PerQuota;
/// Usage summed over a period (or any span of days).
pub(crate) type Totals = PerQuota;

impl PerQuota {
    /// The value of one quota type, or `None`.
    pub(crate) fn get(&self, q: QuotaType) -> Option<Decimal> {
        match q {
            QuotaType::Tokens => self.tokens.map(Decimal::from),
            QuotaType::InputTokens => self.input_tokens.map(Decimal::from),
            QuotaType::OutputTokens => self.output_tokens.map(Decimal::from),
            QuotaType::Requests => self.requests.map(Decimal::from),
            QuotaType::CostUsd => self.cost_usd,
        }
    }

    /// A sum of nothing: every count known (0) until a day without it is added.
    pub(crate) fn empty() -> PerQuota {
        PerQuota {
            tokens: Some(0),
            input_tokens: Some(0),
            output_tokens: Some(0),
            requests: Some(0),
            cost_usd: None,
        }
    }

    /// Adds a day's usage into this sum.
    pub(crate) fn add(&mut self, day: &DayUsage) {
        self.tokens = plus(self.tokens, day.tokens());
        self.input_tokens = plus(self.input_tokens, day.input_tokens());
        self.output_tokens = plus(self.output_tokens, day.output_tokens);
        self.requests = plus(self.requests, day.requests);
    }

    /// Adds another sum (e.g. one day's) into this one.
    pub(crate) fn merge(&mut self, o: &PerQuota) {
        self.tokens = plus(self.tokens, o.tokens);
        self.input_tokens = plus(self.input_tokens, o.input_tokens);
        self.output_tokens = plus(self.output_tokens, o.output_tokens);
        self.requests = plus(self.requests, o.requests);
        if let Some(c) = o.cost_usd {
            self.cost_usd = Some(self.cost_usd.unwrap_or_default() + c);
        }
    }
}

/// One day's usage of one (api key, workspace) pair. `None` ids are the API's nulls: the
/// Console Playground key, the Default Workspace. A count is `None` when the source did not
/// report it: never a guessed 0, so a sum that needs it is not measured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayUsage {
    pub api_key_id: Option<String>,
    pub workspace_id: Option<String>,
    pub day: chrono::NaiveDate,
    pub uncached_input_tokens: Option<u64>,
    pub cache_creation_5m_tokens: Option<u64>,
    pub cache_creation_1h_tokens: Option<u64>,
    pub cache_read_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    /// All tokens as the source totals them: what `tokens` falls back to when the
    /// input/output split is missing.
    pub total_tokens: Option<u64>,
    /// API requests, only from a source that reports them.
    pub requests: Option<u64>,
}

/// A sum that is known only while both parts are.
fn plus(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    a.zip(b).map(|(a, b)| a.saturating_add(b))
}

impl DayUsage {
    /// A day with every token count of the split (the usage report's rows).
    pub fn split(
        day: chrono::NaiveDate,
        uncached_input: u64,
        cache_creation: (u64, u64),
        cache_read: u64,
        output: u64,
    ) -> DayUsage {
        DayUsage {
            day,
            uncached_input_tokens: Some(uncached_input),
            cache_creation_5m_tokens: Some(cache_creation.0),
            cache_creation_1h_tokens: Some(cache_creation.1),
            cache_read_tokens: Some(cache_read),
            output_tokens: Some(output),
            ..DayUsage::default()
        }
    }

    /// Adds another row's counts into this one: the same day split by a dimension, or days
    /// summed into a segment. A count stays known only while every row has it; the total
    /// stays known while every row has its split or its total.
    pub fn absorb(&mut self, o: &DayUsage) {
        let total = plus(self.tokens(), o.tokens());
        self.uncached_input_tokens = plus(self.uncached_input_tokens, o.uncached_input_tokens);
        self.cache_creation_5m_tokens =
            plus(self.cache_creation_5m_tokens, o.cache_creation_5m_tokens);
        self.cache_creation_1h_tokens =
            plus(self.cache_creation_1h_tokens, o.cache_creation_1h_tokens);
        self.cache_read_tokens = plus(self.cache_read_tokens, o.cache_read_tokens);
        self.output_tokens = plus(self.output_tokens, o.output_tokens);
        self.requests = plus(self.requests, o.requests);
        self.total_tokens = total;
    }

    /// Uncached input, cache creation and cache reads.
    pub fn input_tokens(&self) -> Option<u64> {
        plus(
            plus(self.uncached_input_tokens, self.cache_creation_5m_tokens),
            plus(self.cache_creation_1h_tokens, self.cache_read_tokens),
        )
    }

    /// Input plus output, else the source's own total.
    pub fn tokens(&self) -> Option<u64> {
        plus(self.input_tokens(), self.output_tokens).or(self.total_tokens)
    }
}

/// `used / limit` in percent, for display and the `percentage` column (never for decisions:
/// thresholds are compared exactly, see `crossed`).
pub(crate) fn percentage(used: Decimal, limit: Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    if limit.is_zero() {
        return 0.0;
    }
    let pct = used
        .checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|u| u.checked_div(limit));
    pct.and_then(|p| p.round_dp(2).to_f64()).unwrap_or(f64::MAX)
}

/// Whether `used` has reached `threshold` percent of `limit`, computed exactly.
pub(crate) fn crossed(used: Decimal, limit: Decimal, threshold: u32) -> bool {
    match (
        used.checked_mul(Decimal::ONE_HUNDRED),
        limit.checked_mul(threshold.into()),
    ) {
        (Some(u), Some(l)) => u >= l,
        (None, _) => true, // used is astronomically large
        (Some(_), None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_exact_at_the_boundary() {
        let limit = Decimal::from(5_000_000_000u64);
        assert!(crossed(Decimal::from(4_000_000_000u64), limit, 80));
        assert!(!crossed(Decimal::from(3_999_999_999u64), limit, 80));
        assert!(crossed(
            Decimal::from(u64::MAX),
            Decimal::from(u64::MAX),
            100
        ));
        assert!(!crossed(
            Decimal::from(u64::MAX - 1),
            Decimal::from(u64::MAX),
            100
        ));
        assert!(crossed(
            "2500.00".parse().unwrap(),
            "2500".parse().unwrap(),
            100
        ));
    }

    #[test]
    fn totals_count_requests_only_when_every_day_has_them() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let day = |requests| DayUsage {
            requests,
            ..DayUsage::split(d, 10, (1, 2), 3, 4)
        };
        let mut t = Totals::empty();
        t.add(&day(Some(5)));
        assert_eq!(t.get(QuotaType::Tokens), Some(20.into()));
        assert_eq!(t.get(QuotaType::InputTokens), Some(16.into()));
        assert_eq!(t.get(QuotaType::Requests), Some(5.into()));
        t.add(&day(None));
        assert_eq!(t.get(QuotaType::Requests), None);
    }

    #[test]
    fn a_missing_split_falls_back_to_the_total_and_is_never_zero() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let total_only = DayUsage {
            day: d,
            total_tokens: Some(100),
            ..DayUsage::default()
        };
        let mut t = Totals::empty();
        t.add(&DayUsage::split(d, 10, (1, 2), 3, 4));
        t.add(&total_only);
        assert_eq!(t.get(QuotaType::Tokens), Some(120.into()));
        assert_eq!(t.get(QuotaType::InputTokens), None);
        assert_eq!(t.get(QuotaType::OutputTokens), None);
        // Absorbing keeps the same answer: the segment's total, no split.
        let mut seg = DayUsage::split(d, 10, (1, 2), 3, 4);
        seg.absorb(&total_only);
        assert_eq!((seg.tokens(), seg.input_tokens()), (Some(120), None));
        let nothing = DayUsage::default();
        assert_eq!(nothing.tokens(), None);
    }

    #[test]
    fn display_groups_thousands() {
        assert_eq!(
            QuotaType::Tokens.display(5_000_000_000u64.into()),
            "5,000,000,000"
        );
        assert_eq!(QuotaType::Tokens.display(999.into()), "999");
        assert_eq!(
            QuotaType::CostUsd.display("2412.3".parse().unwrap()),
            "$2,412.30"
        );
        assert_eq!(percentage(Decimal::from(1), Decimal::from(3)), 33.33);
        let c = |q: QuotaType, v: &str| q.compact(v.parse().unwrap());
        assert_eq!(c(QuotaType::Tokens, "99999"), "99,999");
        assert_eq!(c(QuotaType::Tokens, "1323579"), "1.3M");
        assert_eq!(c(QuotaType::Tokens, "5000000000"), "5B");
        assert_eq!(c(QuotaType::OutputTokens, "250000"), "250k");
        assert_eq!(c(QuotaType::CostUsd, "8.5"), "$8.50");
        assert_eq!(c(QuotaType::CostUsd, "2500000"), "$2.5M");
    }
}
