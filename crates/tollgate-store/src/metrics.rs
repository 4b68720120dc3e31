//! Program metrics (docs/metrics.md): each one a few SQL aggregates, finished in Rust (medians,
//! quarters, rates). Time series read the finding-event log's daily aggregate (`open_daily`),
//! never the current rows, so they stay right when findings reopen. Every read takes the one
//! product it is limited to, if any: a product-limited caller's numbers cover its product only.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
pub use tollgate_policy::Date;

use crate::sql::{get_i64, get_opt_str, get_str, Arg, Sql};
use crate::{Result, Store, StoreError, Timestamp};

/// Severity ranks from the most severe, with their names in answers.
pub const SEVERITIES: [(i64, &str); 5] = [
    (4, "critical"),
    (3, "high"),
    (2, "medium"),
    (1, "low"),
    (0, "info"),
];

/// What a metric is computed over: one product or all, and the UTC days `from` to `to`
/// (both included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricWindow {
    pub product: Option<i64>,
    pub from_day: i64,
    pub to_day: i64,
}

impl MetricWindow {
    fn start(&self) -> Timestamp {
        self.from_day * 86_400
    }
    /// The first second after the window.
    fn end(&self) -> Timestamp {
        (self.to_day + 1) * 86_400
    }
    fn product_filter(&self, q: &mut Sql, column: &str) {
        if let Some(p) = self.product {
            q.push(" AND ").push(column).push(" = ").arg(p);
        }
    }
}

/// `part / whole` in percent, one decimal; None when `whole` is 0.
pub fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Days since 1970-01-01 of `d` (Howard Hinnant's days-from-civil).
pub fn day_number(d: Date) -> i64 {
    let y = i64::from(d.year) - i64::from(d.month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(d.month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d.day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2026-Q4`.
pub fn quarter_of(day: i64) -> String {
    let d = Date::from_days(day);
    format!("{}-Q{}", d.year, (d.month - 1) / 3 + 1)
}

/// The first day of the quarter holding `day`.
fn quarter_start(day: i64) -> i64 {
    let d = Date::from_days(day);
    day_number(Date {
        year: d.year,
        month: (d.month - 1) / 3 * 3 + 1,
        day: 1,
    })
}

fn next_quarter(start: i64) -> i64 {
    let d = Date::from_days(start);
    let (year, month) = if d.month >= 10 {
        (d.year + 1, 1)
    } else {
        (d.year, d.month + 3)
    };
    day_number(Date {
        year,
        month,
        day: 1,
    })
}

/// A product as the metrics name it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProductName {
    pub id: i64,
    pub name: String,
    pub tier: Option<String>,
    pub platform: Option<String>,
}

/// Whether open findings of `open_by_age` (`a`) count as mobile: their product's platform label
/// (`p`) is `android` or `ios`, or their category is `mobile`.
const MOBILE: &str = "(a.mobile = 1 OR LOWER(COALESCE(p.platform, '')) IN ('android', 'ios'))";

// ---- 1. Promotions ------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PromotionCount {
    pub promotions: i64,
    pub scanned: i64,
    pub percent: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProductPromotions {
    pub product_id: i64,
    pub product: String,
    #[serde(flatten)]
    pub count: PromotionCount,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EnvironmentPromotions {
    pub environment: String,
    #[serde(flatten)]
    pub count: PromotionCount,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PromotionCoverage {
    #[serde(flatten)]
    pub total: PromotionCount,
    pub by_product: Vec<ProductPromotions>,
    pub by_environment: Vec<EnvironmentPromotions>,
}

fn promotion_count(promotions: i64, scanned: i64) -> PromotionCount {
    PromotionCount {
        promotions,
        scanned,
        percent: percent(scanned, promotions),
    }
}

// ---- 2. Imports ---------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct ImportCount {
    pub gate_runs: i64,
    pub with_commit: i64,
    pub imported: i64,
    pub percent: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProductImports {
    pub product_id: i64,
    pub product: String,
    #[serde(flatten)]
    pub count: ImportCount,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ImportCoverage {
    #[serde(flatten)]
    pub total: ImportCount,
    pub by_product: Vec<ProductImports>,
}

// ---- 3. Critical mobile findings by tier ---------------------------------------------------

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TierCriticals {
    /// The products' `tier` label; None for products without one.
    pub tier: Option<String>,
    pub open_critical: i64,
    /// Products of this tier with at least one.
    pub products_affected: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CriticalMobileByTier {
    pub open_critical: i64,
    pub tiers: Vec<TierCriticals>,
}

// ---- 4. Age of open findings ---------------------------------------------------------------

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct AgeBuckets {
    /// Age at most half the severity's SLA days.
    pub under_half_sla: i64,
    /// Past half, up to the SLA days.
    pub over_half_sla: i64,
    /// Older than the SLA days.
    pub past_sla: i64,
    /// The severity has no SLA.
    pub no_sla: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SeverityAge {
    pub severity: &'static str,
    pub open: i64,
    pub median_age_days: Option<f64>,
    pub sla_days: Option<i64>,
    pub buckets: AgeBuckets,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AgeSet {
    pub open: i64,
    pub median_age_days: Option<f64>,
    pub by_severity: Vec<SeverityAge>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OpenAge {
    pub as_of: String,
    pub mobile: AgeSet,
    pub all: AgeSet,
}

/// The median of a multiset of ages given as (age, how many), sorted by age.
fn median(counts: &BTreeMap<i64, i64>) -> Option<f64> {
    let n: i64 = counts.values().sum();
    if n == 0 {
        return None;
    }
    // The k-th smallest (0-based).
    let nth = |k: i64| {
        let mut seen = 0;
        for (age, c) in counts {
            seen += c;
            if seen > k {
                return *age;
            }
        }
        0
    };
    Some(if n % 2 == 1 {
        nth(n / 2) as f64
    } else {
        (nth(n / 2 - 1) + nth(n / 2)) as f64 / 2.0
    })
}

// ---- 5. Blocking reasons by quarter --------------------------------------------------------

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct RuleBlocks {
    pub rule: String,
    /// Gate runs this rule blocked.
    pub blocked_runs: i64,
    /// The findings its blocking reasons named.
    pub findings: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QuarterBlocks {
    pub quarter: String,
    pub from: String,
    pub to: String,
    /// Gate runs with at least one blocking reason.
    pub blocked_runs: i64,
    /// Blocking reasons (one per rule per run).
    pub blocking_issues: i64,
    pub by_rule: Vec<RuleBlocks>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BlockingByQuarter {
    pub quarters: Vec<QuarterBlocks>,
}

// ---- 6. Remediation ------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SeverityRemediation {
    pub severity: &'static str,
    pub sla_days: Option<i64>,
    /// Remediations (a mitigation after the finding was opened) in the window.
    pub remediated: i64,
    pub mttr_days: Option<f64>,
    pub within_sla: i64,
    pub sla_compliance_percent: Option<f64>,
    /// Open now and older than the SLA days.
    pub overdue_open: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProductRemediation {
    pub product_id: i64,
    pub product: String,
    pub overall: SeverityRemediation,
    pub by_severity: Vec<SeverityRemediation>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Remediation {
    pub overall: SeverityRemediation,
    pub by_severity: Vec<SeverityRemediation>,
    pub by_product: Vec<ProductRemediation>,
}

#[derive(Default, Clone, Copy)]
struct RemediationSums {
    n: i64,
    seconds: i64,
    within: i64,
    within_known: i64,
    overdue: i64,
}

fn remediation_row(
    severity: &'static str,
    sla_days: Option<i64>,
    s: RemediationSums,
) -> SeverityRemediation {
    SeverityRemediation {
        severity,
        sla_days,
        remediated: s.n,
        mttr_days: (s.n > 0).then(|| round2(s.seconds as f64 / s.n as f64 / 86_400.0)),
        within_sla: s.within,
        sla_compliance_percent: percent(s.within, s.within_known),
        overdue_open: s.overdue,
    }
}

// ---- 7. Open findings over time -----------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Day,
    Week,
    Month,
}

impl Interval {
    pub fn parse(s: &str) -> Option<Interval> {
        match s {
            "day" => Some(Interval::Day),
            "week" => Some(Interval::Week),
            "month" => Some(Interval::Month),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Day => "day",
            Interval::Week => "week",
            Interval::Month => "month",
        }
    }
    /// The `k`-th sample after `from`: `k` days, weeks, or calendar months (the same day of
    /// the month, or the month's last day).
    fn nth(self, from: i64, k: i64) -> i64 {
        match self {
            Interval::Day => from + k,
            Interval::Week => from + 7 * k,
            Interval::Month => {
                let d = Date::from_days(from);
                let months = i64::from(d.year) * 12 + i64::from(d.month - 1) + k;
                let mut next = Date {
                    year: months.div_euclid(12) as i32,
                    month: months.rem_euclid(12) as u32 + 1,
                    day: d.day,
                };
                while next.day > 28 && Date::parse(&next.to_string()).is_none() {
                    next.day -= 1;
                }
                day_number(next)
            }
        }
    }
}

/// The dates a series is sampled at: `from`, every `interval` after it, and `to`.
pub fn sample_days(from_day: i64, to_day: i64, interval: Interval) -> Vec<i64> {
    let mut days = Vec::new();
    let mut k = 0;
    loop {
        let d = interval.nth(from_day, k);
        if d >= to_day {
            break;
        }
        days.push(d);
        k += 1;
    }
    days.push(to_day);
    days
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OpenPoint {
    pub date: String,
    pub critical: i64,
    pub high: i64,
    pub medium: i64,
    pub low: i64,
    pub info: i64,
    pub total: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OpenOverTime {
    pub interval: &'static str,
    pub points: Vec<OpenPoint>,
}

// ---- 8. Gate outcomes ----------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct OutcomeCount {
    pub runs: i64,
    pub pass: i64,
    pub warn: i64,
    pub block: i64,
    pub pass_rate: Option<f64>,
    pub warn_rate: Option<f64>,
    pub block_rate: Option<f64>,
}

impl OutcomeCount {
    fn add(&mut self, outcome: &str, n: i64) {
        self.runs += n;
        match outcome {
            "PASS" => self.pass += n,
            "WARN" => self.warn += n,
            _ => self.block += n,
        }
    }
    fn finish(mut self) -> Self {
        self.pass_rate = percent(self.pass, self.runs);
        self.warn_rate = percent(self.warn, self.runs);
        self.block_rate = percent(self.block, self.runs);
        self
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProductOutcomes {
    pub product_id: i64,
    pub product: String,
    #[serde(flatten)]
    pub count: OutcomeCount,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuleRate {
    pub rule: String,
    /// Gate runs it blocked.
    pub blocked_runs: i64,
    /// Of all gate runs in the window, in percent.
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GateOutcomes {
    #[serde(flatten)]
    pub total: OutcomeCount,
    pub by_product: Vec<ProductOutcomes>,
    pub by_rule: Vec<RuleRate>,
}

// ---- Promotions (writes) -------------------------------------------------------------------

/// A promotion to record.
#[derive(Debug, Clone)]
pub struct NewPromotion {
    pub product_name: String,
    pub artifact_sha256: String,
    pub release_tag: Option<String>,
    pub environment: String,
    pub actor: Option<String>,
    pub restrict_to_product: Option<i64>,
    pub now: Timestamp,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Promotion {
    pub id: i64,
    pub product_id: i64,
    pub artifact_sha256: String,
    pub release_tag: Option<String>,
    pub environment: String,
    pub promoted_at: Timestamp,
    /// Whether a gate run of the product named this artifact at or before the promotion.
    pub scanned: bool,
}

impl Store {
    /// Records the promotion of a release artifact (a product the caller may not see is as
    /// missing as an unknown one).
    pub async fn record_promotion(&self, p: NewPromotion) -> Result<Promotion> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let product_id = self
            .product_id_by_name(&mut tx, &p.product_name)
            .await?
            .filter(|id| p.restrict_to_product.is_none_or(|r| r == *id))
            .ok_or_else(|| {
                StoreError::NotFound(format!("product {:?} does not exist", p.product_name))
            })?;
        let row = Sql::new(
            "INSERT INTO promotions (product_id, artifact_sha256, release_tag, environment, promoted_at, actor) VALUES ",
        )
        .list::<Arg>([
            product_id.into(),
            p.artifact_sha256.as_str().into(),
            p.release_tag.clone().into(),
            p.environment.as_str().into(),
            p.now.into(),
            p.actor.clone().into(),
        ])
        .push(" RETURNING id")
        .query(self.backend)?
        .fetch_one(&mut *tx)
        .await?;
        let id = get_i64(&row, "id")?;
        let scanned = Sql::new("SELECT COUNT(*) AS n FROM gate_runs WHERE product_id = ")
            .arg(product_id)
            .push(" AND artifact_sha256 = ")
            .arg(p.artifact_sha256.as_str())
            .push(" AND created_at <= ")
            .arg(p.now)
            .query(self.backend)?
            .fetch_one(&mut *tx)
            .await?;
        let scanned = get_i64(&scanned, "n")? > 0;
        tx.commit().await?;
        Ok(Promotion {
            id,
            product_id,
            artifact_sha256: p.artifact_sha256,
            release_tag: p.release_tag,
            environment: p.environment,
            promoted_at: p.now,
            scanned,
        })
    }

    /// The product `id` when it exists and `restrict_to_product` allows it (else NotFound, the
    /// same for both).
    pub async fn metric_product(
        &self,
        id: i64,
        restrict_to_product: Option<i64>,
    ) -> Result<ProductName> {
        let names = self.product_names(Some(id)).await?;
        names
            .into_values()
            .next()
            .filter(|_| restrict_to_product.is_none_or(|r| r == id))
            .ok_or_else(|| StoreError::NotFound(format!("product {id} does not exist")))
    }

    async fn product_names(&self, product: Option<i64>) -> Result<HashMap<i64, ProductName>> {
        let mut q = Sql::new("SELECT id, name, tier, platform FROM products WHERE 1 = 1");
        if let Some(p) = product {
            q.push(" AND id = ").arg(p);
        }
        let rows = q.query(self.backend)?.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let id = get_i64(r, "id")?;
                Ok((
                    id,
                    ProductName {
                        id,
                        name: get_str(r, "name")?,
                        tier: get_opt_str(r, "tier")?,
                        platform: get_opt_str(r, "platform")?,
                    },
                ))
            })
            .collect()
    }

    fn name_of(names: &HashMap<i64, ProductName>, id: i64) -> String {
        names
            .get(&id)
            .map_or_else(|| format!("product {id}"), |p| p.name.clone())
    }

    /// Metric 1: Promotions in the window, and how many were scanned first.
    pub async fn promotion_coverage(&self, w: MetricWindow) -> Result<PromotionCoverage> {
        let mut q = Sql::new(
            "SELECT p.product_id, p.environment, COUNT(*) AS n, \
             CAST(SUM(CASE WHEN EXISTS (SELECT 1 FROM gate_runs g WHERE g.product_id = p.product_id \
             AND g.artifact_sha256 = p.artifact_sha256 AND g.created_at <= p.promoted_at) \
             THEN 1 ELSE 0 END) AS BIGINT) AS scanned FROM promotions p WHERE p.promoted_at >= ",
        );
        q.arg(w.start()).push(" AND p.promoted_at < ").arg(w.end());
        w.product_filter(&mut q, "p.product_id");
        q.push(" GROUP BY p.product_id, p.environment");
        let rows = q.query(self.backend)?.fetch_all(&self.pool).await?;
        let names = self.product_names(w.product).await?;
        let mut products: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
        let mut envs: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        let (mut n, mut s) = (0, 0);
        for r in &rows {
            let (pn, ps) = (get_i64(r, "n")?, get_i64(r, "scanned")?);
            let e = products.entry(get_i64(r, "product_id")?).or_default();
            e.0 += pn;
            e.1 += ps;
            let e = envs.entry(get_str(r, "environment")?).or_default();
            e.0 += pn;
            e.1 += ps;
            n += pn;
            s += ps;
        }
        let mut by_product: Vec<ProductPromotions> = products
            .into_iter()
            .map(|(id, (n, s))| ProductPromotions {
                product_id: id,
                product: Self::name_of(&names, id),
                count: promotion_count(n, s),
            })
            .collect();
        by_product.sort_by(|a, b| a.product.cmp(&b.product));
        Ok(PromotionCoverage {
            total: promotion_count(n, s),
            by_product,
            by_environment: envs
                .into_iter()
                .map(|(environment, (n, s))| EnvironmentPromotions {
                    environment,
                    count: promotion_count(n, s),
                })
                .collect(),
        })
    }

    /// Metric 2: Gate runs in the window, and how many had an import of the same product and commit.
    pub async fn import_coverage(&self, w: MetricWindow) -> Result<ImportCoverage> {
        let mut q = Sql::new(
            "SELECT g.product_id, COUNT(*) AS n, \
             CAST(SUM(CASE WHEN g.commit_hash IS NULL OR g.commit_hash = '' THEN 0 ELSE 1 END) AS BIGINT) AS with_commit, \
             CAST(SUM(CASE WHEN EXISTS (SELECT 1 FROM imports i JOIN tests t ON t.id = i.test_id \
             WHERE i.commit_hash = g.commit_hash AND t.product_id = g.product_id) THEN 1 ELSE 0 END) AS BIGINT) AS imported \
             FROM gate_runs g WHERE g.created_at >= ",
        );
        q.arg(w.start()).push(" AND g.created_at < ").arg(w.end());
        w.product_filter(&mut q, "g.product_id");
        q.push(" GROUP BY g.product_id");
        let rows = q.query(self.backend)?.fetch_all(&self.pool).await?;
        let names = self.product_names(w.product).await?;
        let mut total = ImportCount::default();
        let mut by_product = Vec::new();
        for r in &rows {
            let mut c = ImportCount {
                gate_runs: get_i64(r, "n")?,
                with_commit: get_i64(r, "with_commit")?,
                imported: get_i64(r, "imported")?,
                percent: None,
            };
            c.percent = percent(c.imported, c.with_commit);
            total.gate_runs += c.gate_runs;
            total.with_commit += c.with_commit;
            total.imported += c.imported;
            let id = get_i64(r, "product_id")?;
            by_product.push(ProductImports {
                product_id: id,
                product: Self::name_of(&names, id),
                count: c,
            });
        }
        total.percent = percent(total.imported, total.with_commit);
        by_product.sort_by(|a, b| a.product.cmp(&b.product));
        Ok(ImportCoverage { total, by_product })
    }

    /// Metric 3: Open critical mobile findings now, by the products' tier label.
    pub async fn critical_mobile_by_tier(
        &self,
        product: Option<i64>,
    ) -> Result<CriticalMobileByTier> {
        let mut q = Sql::new(format!(
            "SELECT a.product_id, CAST(SUM(a.n) AS BIGINT) AS n FROM open_by_age a \
             JOIN products p ON p.id = a.product_id WHERE a.severity = 4 AND {MOBILE}"
        ));
        if let Some(p) = product {
            q.push(" AND a.product_id = ").arg(p);
        }
        q.push(" GROUP BY a.product_id HAVING SUM(a.n) <> 0");
        let rows = q.query(self.backend)?.fetch_all(&self.pool).await?;
        let names = self.product_names(product).await?;
        let mut tiers: BTreeMap<Option<String>, (i64, i64)> =
            names.values().map(|p| (p.tier.clone(), (0, 0))).collect();
        let mut total = 0;
        for r in &rows {
            let id = get_i64(r, "product_id")?;
            let n = get_i64(r, "n")?;
            let tier = names.get(&id).and_then(|p| p.tier.clone());
            let e = tiers.entry(tier).or_default();
            e.0 += n;
            e.1 += 1;
            total += n;
        }
        Ok(CriticalMobileByTier {
            open_critical: total,
            tiers: tiers
                .into_iter()
                .map(|(tier, (n, p))| TierCriticals {
                    tier,
                    open_critical: n,
                    products_affected: p,
                })
                .collect(),
        })
    }

    /// Metric 4: Open findings now: median age and age against the SLA, by severity, mobile and all.
    pub async fn open_age(&self, product: Option<i64>, now: Timestamp) -> Result<OpenAge> {
        let today = now.div_euclid(86_400);
        let mut q = Sql::new(format!(
            "SELECT a.severity, CASE WHEN {MOBILE} THEN 1 ELSE 0 END AS mobile, a.first_day, \
             CAST(SUM(a.n) AS BIGINT) AS n FROM open_by_age a JOIN products p ON p.id = a.product_id \
             WHERE a.n <> 0"
        ));
        if let Some(p) = product {
            q.push(" AND a.product_id = ").arg(p);
        }
        q.push(&format!(
            " GROUP BY a.severity, CASE WHEN {MOBILE} THEN 1 ELSE 0 END, a.first_day"
        ));
        let rows = q.query(self.backend)?.fetch_all(&self.pool).await?;
        // (mobile?, severity) → age → count
        let mut ages: HashMap<(bool, i64), BTreeMap<i64, i64>> = HashMap::new();
        for r in &rows {
            let key = (get_i64(r, "mobile")? != 0, get_i64(r, "severity")?);
            let age = (today - get_i64(r, "first_day")?).max(0);
            *ages.entry(key).or_default().entry(age).or_default() += get_i64(r, "n")?;
        }
        let set = |mobile_only: bool| {
            let mut all_ages: BTreeMap<i64, i64> = BTreeMap::new();
            let by_severity: Vec<SeverityAge> = SEVERITIES
                .iter()
                .map(|&(rank, name)| {
                    let mut merged: BTreeMap<i64, i64> = BTreeMap::new();
                    for m in [true, false] {
                        if mobile_only && !m {
                            continue;
                        }
                        for (a, c) in ages.get(&(m, rank)).into_iter().flatten() {
                            *merged.entry(*a).or_default() += c;
                            *all_ages.entry(*a).or_default() += c;
                        }
                    }
                    let sla = self.sla.for_severity(crate::severity_from_rank(rank));
                    let mut b = AgeBuckets::default();
                    for (&a, &c) in &merged {
                        match sla {
                            None => b.no_sla += c,
                            Some(s) if a * 2 <= s => b.under_half_sla += c,
                            Some(s) if a <= s => b.over_half_sla += c,
                            Some(_) => b.past_sla += c,
                        }
                    }
                    SeverityAge {
                        severity: name,
                        open: merged.values().sum(),
                        median_age_days: median(&merged),
                        sla_days: sla,
                        buckets: b,
                    }
                })
                .collect();
            AgeSet {
                open: all_ages.values().sum(),
                median_age_days: median(&all_ages),
                by_severity,
            }
        };
        Ok(OpenAge {
            as_of: Date::from_days(now.div_euclid(86_400)).to_string(),
            mobile: set(true),
            all: set(false),
        })
    }

    /// Metric 5: Blocking reasons of gate runs, by quarter and rule.
    pub async fn blocking_by_quarter(&self, w: MetricWindow) -> Result<BlockingByQuarter> {
        let mut q = Sql::new(
            "SELECT created_at / 86400 AS day, rule, COUNT(*) AS n, \
             CAST(SUM(findings) AS BIGINT) AS findings FROM gate_run_blocks WHERE created_at >= ",
        );
        q.arg(w.start()).push(" AND created_at < ").arg(w.end());
        w.product_filter(&mut q, "product_id");
        q.push(" GROUP BY created_at / 86400, rule");
        let rows = q.query(self.backend)?.fetch_all(&self.pool).await?;
        let mut runs = Sql::new(
            "SELECT created_at / 86400 AS day, COUNT(DISTINCT gate_run_id) AS n FROM gate_run_blocks WHERE created_at >= ",
        );
        runs.arg(w.start()).push(" AND created_at < ").arg(w.end());
        w.product_filter(&mut runs, "product_id");
        runs.push(" GROUP BY created_at / 86400");
        let run_rows = runs.query(self.backend)?.fetch_all(&self.pool).await?;
        let mut quarters: BTreeMap<i64, QuarterBlocks> = BTreeMap::new();
        let mut start = quarter_start(w.from_day);
        while start <= w.to_day {
            let next = next_quarter(start);
            quarters.insert(
                start,
                QuarterBlocks {
                    quarter: quarter_of(start),
                    from: Date::from_days(start.max(w.from_day)).to_string(),
                    to: Date::from_days((next - 1).min(w.to_day)).to_string(),
                    blocked_runs: 0,
                    blocking_issues: 0,
                    by_rule: Vec::new(),
                },
            );
            start = next;
        }
        let mut rules: BTreeMap<(i64, String), RuleBlocks> = BTreeMap::new();
        for r in &rows {
            let qs = quarter_start(get_i64(r, "day")?);
            let rule = get_str(r, "rule")?;
            let n = get_i64(r, "n")?;
            let e = rules
                .entry((qs, rule.clone()))
                .or_insert_with(|| RuleBlocks {
                    rule,
                    ..Default::default()
                });
            e.blocked_runs += n;
            e.findings += get_i64(r, "findings")?;
            if let Some(qb) = quarters.get_mut(&qs) {
                qb.blocking_issues += n;
            }
        }
        for r in &run_rows {
            if let Some(qb) = quarters.get_mut(&quarter_start(get_i64(r, "day")?)) {
                qb.blocked_runs += get_i64(r, "n")?;
            }
        }
        for ((qs, _), rb) in rules {
            if let Some(qb) = quarters.get_mut(&qs) {
                qb.by_rule.push(rb);
            }
        }
        Ok(BlockingByQuarter {
            quarters: quarters.into_values().collect(),
        })
    }

    /// Metric 6: Time to remediate, SLA compliance and overdue open findings: by severity, overall
    /// and per product.
    pub async fn remediation(&self, w: MetricWindow, now: Timestamp) -> Result<Remediation> {
        let sla = |rank: i64| self.sla.for_severity(crate::severity_from_rank(rank));
        // Remediations by days taken (seconds rounded up): within the SLA when days_taken is at
        // most the SLA days.
        let mut q = Sql::new(
            "SELECT product_id, severity, days_taken, CAST(SUM(n) AS BIGINT) AS n, \
             CAST(SUM(seconds) AS BIGINT) AS seconds FROM remediation_daily WHERE day >= ",
        );
        q.arg(w.from_day).push(" AND day <= ").arg(w.to_day);
        w.product_filter(&mut q, "product_id");
        q.push(" GROUP BY product_id, severity, days_taken");
        let rows = q.query(self.backend)?.fetch_all(&self.pool).await?;
        let mut sums: BTreeMap<(i64, i64), RemediationSums> = BTreeMap::new();
        for r in &rows {
            let severity = get_i64(r, "severity")?;
            let n = get_i64(r, "n")?;
            let e = sums
                .entry((get_i64(r, "product_id")?, severity))
                .or_default();
            e.n += n;
            e.seconds += get_i64(r, "seconds")?;
            if let Some(days) = sla(severity) {
                e.within_known += n;
                if get_i64(r, "days_taken")? <= days {
                    e.within += n;
                }
            }
        }
        // Overdue: open and older than the SLA days (UTC days since the day first seen).
        let with_sla: Vec<(i64, i64)> = SEVERITIES
            .iter()
            .filter_map(|&(rank, _)| sla(rank).map(|d| (rank, d)))
            .collect();
        if !with_sla.is_empty() {
            let today = now.div_euclid(86_400);
            let mut o = Sql::new(
                "SELECT product_id, severity, CAST(SUM(n) AS BIGINT) AS n FROM open_by_age WHERE n <> 0",
            );
            w.product_filter(&mut o, "product_id");
            o.push(" AND (");
            for (i, (rank, days)) in with_sla.iter().enumerate() {
                if i > 0 {
                    o.push(" OR ");
                }
                o.push("(severity = ")
                    .arg(*rank)
                    .push(" AND first_day < ")
                    .arg(today - days)
                    .push(")");
            }
            o.push(") GROUP BY product_id, severity");
            for r in &o.query(self.backend)?.fetch_all(&self.pool).await? {
                sums.entry((get_i64(r, "product_id")?, get_i64(r, "severity")?))
                    .or_default()
                    .overdue += get_i64(r, "n")?;
            }
        }
        let names = self.product_names(w.product).await?;
        let rows_of = |pick: &dyn Fn(i64) -> bool| {
            let mut overall = RemediationSums::default();
            let by_severity = SEVERITIES
                .iter()
                .map(|&(rank, name)| {
                    let mut s = RemediationSums::default();
                    for ((p, r), v) in &sums {
                        if *r == rank && pick(*p) {
                            s.n += v.n;
                            s.seconds += v.seconds;
                            s.within += v.within;
                            s.within_known += v.within_known;
                            s.overdue += v.overdue;
                        }
                    }
                    overall.n += s.n;
                    overall.seconds += s.seconds;
                    overall.within += s.within;
                    overall.within_known += s.within_known;
                    overall.overdue += s.overdue;
                    remediation_row(name, sla(rank), s)
                })
                .collect::<Vec<_>>();
            (remediation_row("all", None, overall), by_severity)
        };
        let (overall, by_severity) = rows_of(&|_| true);
        let mut products: Vec<i64> = sums.keys().map(|(p, _)| *p).collect();
        products.dedup();
        let mut by_product: Vec<ProductRemediation> = products
            .into_iter()
            .map(|id| {
                let (overall, by_severity) = rows_of(&|p| p == id);
                ProductRemediation {
                    product_id: id,
                    product: Self::name_of(&names, id),
                    overall,
                    by_severity,
                }
            })
            .collect();
        by_product.sort_by(|a, b| a.product.cmp(&b.product));
        Ok(Remediation {
            overall,
            by_severity,
            by_product,
        })
    }

    /// Metric 7: Open findings at the end of each sampled day, by severity (from `open_daily`).
    pub async fn open_over_time(
        &self,
        w: MetricWindow,
        interval: Interval,
    ) -> Result<OpenOverTime> {
        let mut base = Sql::new(
            "SELECT severity, CAST(SUM(delta) AS BIGINT) AS n FROM open_daily WHERE day < ",
        );
        base.arg(w.from_day);
        w.product_filter(&mut base, "product_id");
        base.push(" GROUP BY severity");
        let mut level = [0i64; 5];
        for r in &base.query(self.backend)?.fetch_all(&self.pool).await? {
            level[get_i64(r, "severity")?.clamp(0, 4) as usize] += get_i64(r, "n")?;
        }
        let mut q = Sql::new(
            "SELECT day, severity, CAST(SUM(delta) AS BIGINT) AS n FROM open_daily WHERE day >= ",
        );
        q.arg(w.from_day).push(" AND day <= ").arg(w.to_day);
        w.product_filter(&mut q, "product_id");
        q.push(" GROUP BY day, severity ORDER BY day");
        let rows = q.query(self.backend)?.fetch_all(&self.pool).await?;
        let mut changes = Vec::with_capacity(rows.len());
        for r in &rows {
            changes.push((
                get_i64(r, "day")?,
                get_i64(r, "severity")?.clamp(0, 4) as usize,
                get_i64(r, "n")?,
            ));
        }
        let mut next = changes.iter().peekable();
        let mut points = Vec::new();
        for day in sample_days(w.from_day, w.to_day, interval) {
            while let Some((_, s, n)) = next.next_if(|(d, _, _)| *d <= day) {
                level[*s] += n;
            }
            points.push(OpenPoint {
                date: Date::from_days(day).to_string(),
                critical: level[4],
                high: level[3],
                medium: level[2],
                low: level[1],
                info: level[0],
                total: level.iter().sum(),
            });
        }
        Ok(OpenOverTime {
            interval: interval.as_str(),
            points,
        })
    }

    /// Metric 8: Gate outcomes per product, and how often each rule blocked.
    pub async fn gate_outcomes(&self, w: MetricWindow) -> Result<GateOutcomes> {
        let mut q = Sql::new(
            "SELECT product_id, outcome, COUNT(*) AS n FROM gate_runs WHERE created_at >= ",
        );
        q.arg(w.start()).push(" AND created_at < ").arg(w.end());
        w.product_filter(&mut q, "product_id");
        q.push(" GROUP BY product_id, outcome");
        let rows = q.query(self.backend)?.fetch_all(&self.pool).await?;
        let mut total = OutcomeCount::default();
        let mut products: BTreeMap<i64, OutcomeCount> = BTreeMap::new();
        for r in &rows {
            let outcome = get_str(r, "outcome")?;
            let n = get_i64(r, "n")?;
            total.add(&outcome, n);
            products
                .entry(get_i64(r, "product_id")?)
                .or_default()
                .add(&outcome, n);
        }
        let mut b = Sql::new(
            "SELECT rule, COUNT(DISTINCT gate_run_id) AS n FROM gate_run_blocks WHERE created_at >= ",
        );
        b.arg(w.start()).push(" AND created_at < ").arg(w.end());
        w.product_filter(&mut b, "product_id");
        b.push(" GROUP BY rule ORDER BY rule");
        let by_rule = b
            .query(self.backend)?
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                let n = get_i64(r, "n")?;
                Ok(RuleRate {
                    rule: get_str(r, "rule")?,
                    blocked_runs: n,
                    rate: percent(n, total.runs),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let names = self.product_names(w.product).await?;
        let mut by_product: Vec<ProductOutcomes> = products
            .into_iter()
            .map(|(id, c)| ProductOutcomes {
                product_id: id,
                product: Self::name_of(&names, id),
                count: c.finish(),
            })
            .collect();
        by_product.sort_by(|a, b| a.product.cmp(&b.product));
        Ok(GateOutcomes {
            total: total.finish(),
            by_product,
            by_rule,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_quarters_and_samples() {
        let m: BTreeMap<i64, i64> = [(1, 1), (3, 2), (10, 1)].into_iter().collect();
        assert_eq!(median(&m), Some(3.0));
        let m: BTreeMap<i64, i64> = [(1, 1), (4, 1)].into_iter().collect();
        assert_eq!(median(&m), Some(2.5));
        assert_eq!(median(&BTreeMap::new()), None);
        let d = |s: &str| day_number(Date::parse(s).unwrap());
        assert_eq!(Date::from_days(d("2026-11-30")).to_string(), "2026-11-30");
        assert_eq!(quarter_of(d("2026-11-30")), "2026-Q4");
        assert_eq!(quarter_start(d("2026-11-30")), d("2026-10-01"));
        assert_eq!(next_quarter(d("2026-10-01")), d("2027-01-01"));
        let months: Vec<String> = sample_days(d("2026-01-31"), d("2026-04-15"), Interval::Month)
            .into_iter()
            .map(|x| Date::from_days(x).to_string())
            .collect();
        assert_eq!(
            months,
            ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-15"]
        );
        // Jan 1, Jan 8, and the last day; one point for a one-day window.
        assert_eq!(
            sample_days(d("2026-01-01"), d("2026-01-15"), Interval::Week),
            [d("2026-01-01"), d("2026-01-08"), d("2026-01-15")]
        );
        assert_eq!(
            sample_days(d("2026-01-01"), d("2026-01-01"), Interval::Day).len(),
            1
        );
        assert_eq!(percent(1, 3), Some(33.3));
        assert_eq!(percent(0, 0), None);
    }
}
