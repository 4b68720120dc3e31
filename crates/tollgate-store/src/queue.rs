//! The findings queue: one list of findings across every product, filtered, sorted and paged
//! (`/ui/findings`), its exports, and bulk triage of what it shows.
//!
//! One function, [`FindingFilter::push_where`], writes the WHERE clause of the page, its count,
//! the export and bulk triage, so the count always equals the list. Every filter reads columns
//! and indexes of `findings` (and `finding_facets` for tags, CWEs and vulnerability ids), never
//! a finding's JSON (migration 0007).

use crate::events::{EventKind, NewEvent};
use crate::query::{
    finding_from_row, finding_from_sqlite_row, queue_row_from_row, queue_row_from_sqlite_row,
    FINDING_COLUMNS, FINDING_FROM, QUEUE_COLUMNS,
};
use crate::sql::{get_i64, Arg, Columns, Sql};
use crate::{
    severity_rank, Backend, ClosedAs, FindingStatus, Priority, QueueRow, Result, Store, StoreError,
    StoredFinding, Timestamp,
};
use sqlx::{AnyConnection, PgConnection};
use tollgate_model::{Finding, Severity};

/// SQLite steps a page's walk of its order may take (a few milliseconds) before the page is
/// gathered through the filters' indexes instead (`page_form`): a walk from the wrong end of a
/// correlated filter took 350 ms (SLA "due soon" in ascending severity on 1M findings).
pub(crate) const WALK_BUDGET: u64 = 100_000;
/// The most findings one bulk action may change (by ids or by filter).
pub const BULK_CAP: i64 = 10_000;
/// The largest page of the queue.
pub const MAX_QUEUE_PAGE: i64 = 500;
/// Ids per `IN (…)` list of the queue's reads and writes.
const CHUNK: usize = 500;

/// Which findings by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    /// Still to be dealt with (`is_open`).
    #[default]
    Open,
    /// Anything not open.
    Closed,
    FalsePositive,
    RiskAccepted,
    Mitigated,
    All,
}

impl StatusFilter {
    pub const ALL: [StatusFilter; 6] = [
        StatusFilter::Open,
        StatusFilter::Closed,
        StatusFilter::FalsePositive,
        StatusFilter::RiskAccepted,
        StatusFilter::Mitigated,
        StatusFilter::All,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            StatusFilter::Open => "open",
            StatusFilter::Closed => "closed",
            StatusFilter::FalsePositive => "false_positive",
            StatusFilter::RiskAccepted => "risk_accepted",
            StatusFilter::Mitigated => "mitigated",
            StatusFilter::All => "all",
        }
    }
    pub fn parse(s: &str) -> Option<StatusFilter> {
        StatusFilter::ALL.into_iter().find(|v| v.as_str() == s)
    }
    /// The status column and the value this group asks for (None: every finding). The queue's
    /// WHERE and its tally counts both read this, so they select the same findings.
    fn condition(self) -> Option<(&'static str, bool)> {
        match self {
            StatusFilter::Open => Some(("is_open", true)),
            StatusFilter::Closed => Some(("is_open", false)),
            StatusFilter::FalsePositive => Some(("false_p", true)),
            StatusFilter::RiskAccepted => Some(("risk_accepted", true)),
            StatusFilter::Mitigated => Some(("is_mitigated", true)),
            StatusFilter::All => None,
        }
    }
}

/// Where an open finding stands against its SLA due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaState {
    /// Open and due before today.
    Breached,
    /// Open and due today or within the next 7 days.
    DueSoon,
    /// Everything else (closed, no SLA, due later).
    Ok,
}

/// Days ahead that count as "due soon".
pub const DUE_SOON_DAYS: i64 = 7;

impl SlaState {
    pub const ALL: [SlaState; 3] = [SlaState::Breached, SlaState::DueSoon, SlaState::Ok];
    pub fn as_str(self) -> &'static str {
        match self {
            SlaState::Breached => "breached",
            SlaState::DueSoon => "due_soon",
            SlaState::Ok => "ok",
        }
    }
    pub fn parse(s: &str) -> Option<SlaState> {
        SlaState::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// The queue's order (ties by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueSort {
    /// Least severe first.
    Severity,
    /// Most severe first.
    #[default]
    SeverityDesc,
    /// Youngest first (first seen most recently).
    Age,
    /// Oldest first.
    AgeDesc,
    /// Earliest SLA due date first (no SLA last).
    Sla,
    Title,
    /// By product name.
    Product,
}

impl QueueSort {
    pub const ALL: [QueueSort; 7] = [
        QueueSort::Severity,
        QueueSort::SeverityDesc,
        QueueSort::Age,
        QueueSort::AgeDesc,
        QueueSort::Sla,
        QueueSort::Title,
        QueueSort::Product,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            QueueSort::Severity => "severity",
            QueueSort::SeverityDesc => "-severity",
            QueueSort::Age => "age",
            QueueSort::AgeDesc => "-age",
            QueueSort::Sla => "sla",
            QueueSort::Title => "title",
            QueueSort::Product => "product",
        }
    }
    pub fn parse(s: &str) -> Option<QueueSort> {
        QueueSort::ALL.into_iter().find(|v| v.as_str() == s)
    }
    /// The ORDER BY of a gathered page (`PageForm::Gather` after a walk ran out): on SQLite each
    /// term behind a `+`, so that no index can give the order and SQLite reads the filters' own
    /// indexes, then sorts the matches, instead of walking the order again.
    fn order_by_gathered(self, backend: Backend) -> &'static str {
        if backend == Backend::Postgres {
            return self.order_by(backend);
        }
        match self {
            QueueSort::Severity => " ORDER BY +f.severity, +f.id",
            QueueSort::SeverityDesc => " ORDER BY +f.severity DESC, +f.id DESC",
            QueueSort::Age => " ORDER BY +f.first_seen DESC, +f.id DESC",
            QueueSort::AgeDesc => " ORDER BY +f.first_seen, +f.id",
            QueueSort::Sla => {
                " ORDER BY +CASE WHEN f.sla_due IS NULL THEN 1 ELSE 0 END, +f.sla_due, +f.severity DESC, +f.id"
            }
            QueueSort::Title => " ORDER BY +f.title, +f.id",
            QueueSort::Product => self.order_by(backend),
        }
    }

    /// PostgreSQL's order as (expression over `findings f`, a name for it, descending), the
    /// same order as [`QueueSort::order_by`] writes: a walk's window selects each expression
    /// under its name and orders by the names. None for an order no index holds (product).
    fn walk_keys(self) -> Option<&'static [(&'static str, &'static str, bool)]> {
        Some(match self {
            QueueSort::Severity => &[("f.severity", "severity", false), ("f.id", "id", false)],
            QueueSort::SeverityDesc => &[("f.severity", "severity", true), ("f.id", "id", true)],
            QueueSort::Age => &[("f.first_seen", "first_seen", true), ("f.id", "id", true)],
            QueueSort::AgeDesc => &[("f.first_seen", "first_seen", false), ("f.id", "id", false)],
            QueueSort::Sla => &[
                (
                    "CASE WHEN f.sla_due IS NULL THEN 1 ELSE 0 END",
                    "sla_missing",
                    false,
                ),
                ("f.sla_due", "sla_due", false),
                ("f.severity", "severity", true),
                ("f.id", "id", false),
            ],
            QueueSort::Title => &[
                ("LEFT(f.title, 256)", "title_prefix", false),
                ("f.id", "id", false),
            ],
            QueueSort::Product => return None,
        })
    }

    /// The ORDER BY of this sort on `backend`.
    fn order_by(self, backend: Backend) -> &'static str {
        match self {
            QueueSort::Severity => " ORDER BY f.severity, f.id",
            QueueSort::SeverityDesc => " ORDER BY f.severity DESC, f.id DESC",
            QueueSort::Age => " ORDER BY f.first_seen DESC, f.id DESC",
            QueueSort::AgeDesc => " ORDER BY f.first_seen, f.id",
            QueueSort::Sla => {
                " ORDER BY CASE WHEN f.sla_due IS NULL THEN 1 ELSE 0 END, f.sla_due, f.severity DESC, f.id"
            }
            // PostgreSQL can not index whole titles (a B-tree entry holds ~2.7 kB): it orders
            // by their first 256 characters, then id, as its index holds them (migration 0014).
            // Sorting each tie by the whole title too made PostgreSQL sort every run of equal
            // titles the page reached (3,300 findings, 16 ms, for a page of 50); titles that
            // differ only after their 256th character are rare enough to go by id.
            QueueSort::Title if backend == Backend::Postgres => " ORDER BY LEFT(f.title, 256), f.id",
            QueueSort::Title => " ORDER BY f.title, f.id",
            QueueSort::Product => {
                " ORDER BY (SELECT p.name FROM products p WHERE p.id = f.product_id), f.severity DESC, f.id DESC"
            }
        }
    }
}

/// What the queue shows. Every field narrows; empty lists and `None` do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingFilter {
    /// Any of these products.
    pub products: Vec<i64>,
    pub tier: Option<String>,
    pub platform: Option<String>,
    /// Any of these severities.
    pub severities: Vec<Severity>,
    pub status: StatusFilter,
    /// The scanner's name (the model's `scanner.name`).
    pub scanner: Option<String>,
    /// The model's category word (`sast`, `mobile`, …).
    pub category: Option<String>,
    /// A tag word (`xss`, `hardcoded-secret`, …).
    pub tag: Option<String>,
    pub cwe: Option<u32>,
    /// A vulnerability id, verbatim (`CVE-2021-44228`).
    pub vulnerability_id: Option<String>,
    /// First seen on or after this day (Unix days).
    pub first_seen_since_day: Option<i64>,
    pub sla: Option<SlaState>,
    /// Text in the title or the location (case-insensitive for ASCII).
    pub text: Option<String>,
    /// The viewer's product limit: nothing of another product, whatever else the filter says.
    pub restrict_to_product: Option<i64>,
}

/// `'value'`, a SQL string literal, when `value` is at most 64 letters, digits, `-`, `_` and `.`
/// (no quote or backslash can end or escape it), else None (bind it). PostgreSQL keeps the plan
/// of a statement whose values matter to its plan only when they are in its text (a product
/// label's plan was made again at every page: 1.3 ms).
fn plain_literal(value: &str) -> Option<String> {
    (!value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')))
    .then(|| format!("'{value}'"))
}

/// `%text%` for LIKE, its `%`, `_` and `\` escaped (ESCAPE '\'), lower-cased.
fn like_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The distinct trigrams of `text` (3 characters each, as the FTS5 trigram tokenizer cuts them),
/// at most 32.
fn trigrams(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<String> = Vec::new();
    for w in chars.windows(3) {
        let gram: String = w.iter().collect();
        if out.len() == 32 {
            break;
        }
        if !out.contains(&gram) {
            out.push(gram);
        }
    }
    out
}

/// The FTS5 query of the findings holding each of `grams`: each one quoted string, its double
/// quotes doubled, so nothing in the text is read as query syntax.
fn fts_query(grams: &[&String]) -> String {
    let mut query = String::new();
    for gram in grams {
        if !query.is_empty() {
            query.push(' ');
        }
        query.push('"');
        query.push_str(&gram.replace('"', "\"\""));
        query.push('"');
    }
    query
}

/// The text filter searches by the rarest few of the text's trigrams. Any subset of its trigrams
/// finds every finding holding the text (the LIKE then decides), so the choice only changes
/// speed: a common trigram (`mod` in every path) costs reading a list of a million findings, a
/// rare one (`e7/`) a few thousand (66 ms → 2 ms for `module7/pkg` on a 1M-finding hub). Counts
/// come from `finding_text_vocab` and are kept a while per process; a stale count only makes a
/// choice slower, never wrong.
const SEARCH_TRIGRAMS: usize = 3;
const TRIGRAM_COUNT_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// Findings per trigram, as last read, and when.
#[derive(Default)]
pub(crate) struct TrigramCounts(std::collections::HashMap<String, (i64, std::time::Instant)>);

impl TrigramCounts {
    fn fresh(&self, gram: &str) -> Option<i64> {
        self.0
            .get(gram)
            .filter(|(_, at)| at.elapsed() < TRIGRAM_COUNT_TTL)
            .map(|(n, _)| *n)
    }
    fn remember(&mut self, gram: String, n: i64) {
        if self.0.len() >= 50_000 {
            self.0.clear();
        }
        self.0.insert(gram, (n, std::time::Instant::now()));
    }
}

/// Counts of filters that had to read their findings (text, an SLA state, a first-seen day, two
/// facets), by the data they were counted on, read in the page's own snapshot:
/// - SQLite: one part, the whole hub, named by its `finding_changes` number (migration 0015);
/// - PostgreSQL: one part per product, named by the product's `changes` number (migration
///   0018), so that a write to one product makes only that product's part be counted again (a
///   reimport into one product of ten: a tenth of the rows; `q=sql-injection` had read all 25k
///   pages of `finding_text` holding it after every commit).
///
/// The same number means the same findings, so the count read back is the count the page's list
/// agrees with. A second page, a shared view or a refresh then costs a page, not a count of 94k
/// findings (100 ms). Numbers only grow: a part is kept at the newest number asked, and a reader
/// of an older snapshot counts without remembering.
///
/// Each entry is a cell that the first reader fills: the others asking the same count of the
/// same data meanwhile wait for it rather than count again (after a write, eight people on one
/// view counted eight times at once: 0.6 s at p99 during reimports).
#[derive(Default)]
pub(crate) struct CountCache {
    counts: std::collections::HashMap<String, RememberedCount>,
    /// Parts held across all counts.
    parts: usize,
}

/// One remembered count: its parts, by product, each at the number of the data it was counted
/// on; and, on PostgreSQL, how a part is counted and when a reader last asked for it, for the
/// writers that count its parts again before they commit ([`Store::recount_for_commit`]).
struct RememberedCount {
    parts: std::collections::HashMap<i64, (i64, CountCell)>,
    recount: Option<std::sync::Arc<FindingCount>>,
    asked: std::time::Instant,
}

type CountCell = std::sync::Arc<tokio::sync::OnceCell<i64>>;

/// At most this many parts are remembered (whole counts of every view a hub's people ask): past
/// it, start over rather than age them.
const COUNT_CACHE_PARTS: usize = 100_000;

/// A writer counts again, before it commits, the parts of its products of the counts readers
/// asked for within this long ([`Store::recount_for_commit`]): the views people are reading.
const RECOUNT_ASKED_WITHIN: std::time::Duration = std::time::Duration::from_secs(300);
/// At most this many counts, the most lately asked first…
const RECOUNT_COUNTS: usize = 8;
/// …and none begun once the writer's counts have taken this long (a text count of one 100k-finding
/// product: 25–70 ms on the bench hub); the others are left to their readers.
const RECOUNT_BUDGET: std::time::Duration = std::time::Duration::from_millis(500);

impl CountCache {
    /// The key of `count`: its text and arguments.
    fn key(count: &Sql) -> String {
        format!("{}\u{0}{:?}", count.text, count.args)
    }
    /// The cell of part `part` of the count `key` on the data numbered `data`, new and empty when
    /// none was asked for yet. A reader asks.
    fn cell(&mut self, key: &str, part: i64, data: i64) -> CountCell {
        self.cell_for(key, part, data, true)
    }

    /// [`CountCache::cell`], as a reader when `asked` (the count is then read lately), else as a
    /// writer filling it.
    fn cell_for(&mut self, key: &str, part: i64, data: i64, asked: bool) -> CountCell {
        if let Some(count) = self.counts.get_mut(key) {
            if asked {
                count.asked = std::time::Instant::now();
            }
            if let Some((held, cell)) = count.parts.get(&part) {
                if *held == data {
                    return cell.clone();
                }
                if *held > data {
                    // An older snapshot: its count is its own.
                    return CountCell::default();
                }
            }
        }
        if self.parts >= COUNT_CACHE_PARTS || self.counts.len() >= 256 {
            self.counts.clear();
            self.parts = 0;
        }
        let cell = CountCell::default();
        let count = self
            .counts
            .entry(key.to_string())
            .or_insert_with(|| RememberedCount {
                parts: Default::default(),
                recount: None,
                asked: std::time::Instant::now(),
            });
        if count.parts.insert(part, (data, cell.clone())).is_none() {
            self.parts += 1;
        }
        cell
    }

    /// Keeps how a part of the count `key` is counted (PostgreSQL), once.
    fn keep_recount(&mut self, key: &str, count: &FindingCount) {
        if let Some(remembered) = self.counts.get_mut(key) {
            if remembered.recount.is_none() {
                remembered.recount = Some(std::sync::Arc::new(count.clone()));
            }
        }
    }

    /// The counts with a part of `product` that readers asked for since `since`, the most lately
    /// asked first, at most `max`.
    fn asked_since(&self, product: i64, since: std::time::Instant, max: usize) -> Vec<AskedCount> {
        let mut asked: Vec<(&String, &RememberedCount)> = self
            .counts
            .iter()
            .filter(|(_, c)| {
                c.asked >= since && c.recount.is_some() && c.parts.contains_key(&product)
            })
            .collect();
        asked.sort_by_key(|(_, c)| std::cmp::Reverse(c.asked));
        asked
            .into_iter()
            .take(max)
            .filter_map(|(key, c)| Some((key.clone(), c.recount.clone()?)))
            .collect()
    }
}

/// `testing::remember_failing_count`: a count of `product` read just now that can only fail.
pub(crate) fn remember_failing_count(store: &Store, product: i64) {
    let count = FindingCount {
        from: Sql::new(" FROM no_such_table x WHERE 1 = 1"),
        product: "x.product_id",
    };
    let key = CountCache::key(&count.total());
    let mut cache = store.count_cache();
    let _ = cache.cell(&key, product, 0);
    cache.keep_recount(&key, &count);
}

/// A remembered count a reader asked for lately: its key and how a part of it is counted.
type AskedCount = (String, std::sync::Arc<FindingCount>);

/// Parts of remembered counts a writer counted in its transaction, as `(key, product, number of
/// the product's changes, count)`: remembered once it commits ([`Store::remember_recounted`]).
#[derive(Default)]
#[must_use = "remembered only after the writer's commit"]
pub(crate) struct Recounted(Vec<(String, i64, i64, i64)>);

/// A count of a filter's findings that has to read them (remembered, `CountCache`): ` FROM … WHERE
/// …` of the rows it counts, whose product is the column `product`.
#[derive(Clone)]
struct FindingCount {
    from: Sql,
    product: &'static str,
}

impl FindingCount {
    /// `SELECT COUNT(*) AS n …`: the whole count.
    fn total(&self) -> Sql {
        let mut s = Sql::new("SELECT COUNT(*) AS n");
        s.embed(&self.from);
        s
    }
    /// `SELECT product_id, n …`: the count per product, of these products (`None`: of all).
    fn by_product(&self, products: Option<&[i64]>) -> Sql {
        let mut s = Sql::new(format!(
            "SELECT {} AS product_id, COUNT(*) AS n",
            self.product
        ));
        s.embed(&self.from);
        if let Some(products) = products {
            // Ids this code read from `products`: numbers in the text.
            let ids: Vec<String> = products.iter().map(i64::to_string).collect();
            s.push(&format!(" AND {} IN ({})", self.product, ids.join(", ")));
        }
        s.push(" GROUP BY 1");
        s
    }
}

impl FindingFilter {
    /// ` AND …` for each filter, over `findings f`. `now` dates the SLA states; the filters the
    /// tallies do not keep are written for `form` (the same findings either way).
    fn push_where(
        &self,
        s: &mut Sql,
        now: Timestamp,
        form: PageForm,
        text: &TextSearch,
        backend: Backend,
    ) {
        self.push_tallied(s, "f");
        self.push_untallied(s, now, form, text, backend);
    }

    /// ` AND …` for the filters the tallies do not keep (facets, a first-seen day, an SLA state,
    /// text), over `findings f`, written for `form`: on a walk each is a test of the finding at
    /// hand (`EXISTS` for a facet, the LIKE alone for text), never an index to read first.
    fn push_untallied(
        &self,
        s: &mut Sql,
        now: Timestamp,
        form: PageForm,
        text: &TextSearch,
        backend: Backend,
    ) {
        let walk = form != PageForm::Gather;
        for (kind, v) in self.facets() {
            s.push(match form {
                PageForm::Gather => {
                    " AND f.id IN (SELECT x.finding_id FROM finding_facets x WHERE x.kind = "
                }
                PageForm::Walk => {
                    " AND EXISTS (SELECT 1 FROM finding_facets x WHERE x.finding_id = f.id AND x.kind = "
                }
                // A probe per finding of the window: PostgreSQL turns an EXISTS there into a
                // hash of every finding of the facet (98,728 rows for cwe=79: 33 ms, against 6).
                PageForm::Window => {
                    " AND (SELECT 1 FROM finding_facets x WHERE x.finding_id = f.id AND x.kind = "
                }
            })
            .arg(kind)
            .push(" AND x.value = ")
            .arg(v)
            .push(match form {
                // The facets' index is in the queue's order (migration 0019): the finding's
                // severity, which its facet rows carry too, makes the probe one descent.
                PageForm::Window => " AND x.severity = f.severity LIMIT 1) IS NOT NULL",
                PageForm::Gather | PageForm::Walk => ")",
            });
        }
        // On a walk, `+` keeps SQLite from reading these columns' indexes instead of the order's
        // (PostgreSQL walks a window of the order instead: `Store::queue_page`).
        let (first_seen, sla_due) = if walk && backend == Backend::Sqlite {
            ("+f.first_seen", "+f.sla_due")
        } else {
            ("f.first_seen", "f.sla_due")
        };
        // The day and the dates are numbers and `YYYY-MM-DD` this code wrote: literals, so that
        // PostgreSQL keeps one plan per statement (see `PostgresPage::limit`) and it is the plan
        // for these dates.
        if let Some(day) = self.first_seen_since_day {
            s.push(&format!(
                " AND {first_seen} >= {}",
                day.saturating_mul(86_400)
            ));
        }
        if let Some(state) = self.sla {
            let today_day = now.div_euclid(86_400);
            let today = format!("'{}'", tollgate_policy::Date::from_days(today_day));
            let soon = format!(
                "'{}'",
                tollgate_policy::Date::from_days(today_day + DUE_SOON_DAYS)
            );
            match state {
                SlaState::Breached => {
                    s.push(&format!(" AND f.is_open = TRUE AND {sla_due} < {today}"));
                }
                SlaState::DueSoon => {
                    s.push(&format!(
                        " AND f.is_open = TRUE AND {sla_due} >= {today} AND {sla_due} <= {soon}"
                    ));
                }
                SlaState::Ok => {
                    s.push(&format!(
                        " AND (f.is_open = FALSE OR {sla_due} IS NULL OR {sla_due} > {soon})"
                    ));
                }
            }
        }
        if let Some(t) = self.text.as_deref().filter(|t| !t.is_empty()) {
            // SQLite: the findings whose title or location hold the rarest few trigrams of the
            // text (`Store::text_search`), from the full-text index (migration 0013), narrow the
            // LIKE below to a few rows instead of every finding. The index folds case as the
            // LIKE does (and more: Unicode), so it never drops a finding the LIKE would keep; the
            // LIKE stays the exact test. Text of fewer than 3 characters has no trigram: the
            // LIKE alone.
            // PostgreSQL: the same from `finding_text` (both texts lower-cased, one row per
            // finding) and its trigram index.
            let p = like_pattern(t);
            // A walk tests the LIKE on each finding it passes: no index to read first.
            let text = if walk { &TextSearch::Scan } else { text };
            match text {
                TextSearch::Trigrams(query) => {
                    s.push(
                        " AND f.id IN (SELECT rowid FROM finding_text WHERE finding_text MATCH ",
                    )
                    .arg(query.as_str())
                    .push(")");
                }
                TextSearch::TextTable => {
                    s.push(
                        " AND f.id IN (SELECT x.finding_id FROM finding_text x WHERE x.text LIKE ",
                    )
                    .arg(p.as_str())
                    .push(" ESCAPE '\\')");
                }
                TextSearch::Scan => {}
            }
            s.push(" AND (LOWER(f.title) LIKE ")
                .arg(p.as_str())
                .push(" ESCAPE '\\' OR LOWER(COALESCE(f.location, '')) LIKE ")
                .arg(p)
                .push(" ESCAPE '\\')");
        }
    }

    /// When the filter names only products (by id, label or the viewer's limit) and the open /
    /// closed / all status groups, its count is a sum of the products' open / closed counters
    /// (kept by every change of a finding's open state): the SQL of that sum, else None. The
    /// default view of a large hub then counts without reading a million index entries.
    fn counter_count(&self) -> Option<Sql> {
        let column = match self.status {
            StatusFilter::Open => "p.open_count",
            StatusFilter::Closed => "p.closed_count",
            StatusFilter::All => "p.open_count + p.closed_count",
            _ => return None,
        };
        let only_products = FindingFilter {
            products: self.products.clone(),
            tier: self.tier.clone(),
            platform: self.platform.clone(),
            status: self.status,
            restrict_to_product: self.restrict_to_product,
            ..FindingFilter::default()
        };
        if *self != only_products {
            return None;
        }
        let mut s = Sql::new(format!(
            "SELECT CAST(COALESCE(SUM({column}), 0) AS BIGINT) AS n FROM products p WHERE 1 = 1"
        ));
        self.push_product_scope(&mut s);
        Some(s)
    }

    /// ` AND …` for the filters on products (by id, label or the viewer's limit), over
    /// `products p`.
    fn push_product_scope(&self, s: &mut Sql) {
        if let Some(r) = self.restrict_to_product {
            s.push(" AND p.id = ").arg(r);
        }
        if !self.products.is_empty() {
            s.push(" AND p.id IN ").list(self.products.iter().copied());
        }
        if let Some(t) = &self.tier {
            s.push(" AND p.tier = ").arg(t.as_str());
        }
        if let Some(t) = &self.platform {
            s.push(" AND p.platform = ").arg(t.as_str());
        }
    }

    /// PostgreSQL: `SELECT … AS versions`, the products the filter may match with the number of
    /// changes of each (migration 0018), as `id:changes,…` in id order: the data a remembered
    /// count of the filter was counted on (`CountCache`).
    fn product_versions(&self) -> Sql {
        let mut s = Sql::new(
            "SELECT COALESCE(string_agg(CAST(p.id AS TEXT) || ':' || CAST(p.changes AS TEXT), ',' \
             ORDER BY p.id), '') AS versions FROM products p WHERE 1 = 1",
        );
        self.push_product_scope(&mut s);
        s
    }

    /// The rank of the one severity the filter asks for, if it asks for one.
    fn single_severity_rank(&self) -> Option<i64> {
        let mut ranks = self.severities.iter().map(|v| severity_rank(*v));
        let first = ranks.next()?;
        ranks.all(|r| r == first).then_some(first)
    }

    /// ` AND …` for the filters over columns the tallies keep too (products and their labels,
    /// severity, status, scanner, category), over `alias`: `findings` (`f`) or a tally table
    /// (`t`). One function for both, so a count from the tallies and the list select the same
    /// findings.
    fn push_tallied(&self, s: &mut Sql, alias: &str) {
        if let Some(p) = self.restrict_to_product {
            s.push(&format!(" AND {alias}.product_id = ")).arg(p);
        }
        if !self.products.is_empty() {
            s.push(&format!(" AND {alias}.product_id IN "))
                .list(self.products.iter().copied());
        }
        for (column, value) in [("tier", &self.tier), ("platform", &self.platform)] {
            if let Some(v) = value {
                s.push(&format!(
                    " AND {alias}.product_id IN (SELECT id FROM products WHERE {column} = "
                ));
                match plain_literal(v) {
                    Some(literal) => s.push(&literal),
                    None => s.arg(v.as_str()),
                };
                s.push(")");
            }
        }
        self.push_severities(s, alias);
        if let Some((column, value)) = self.status.condition() {
            // A literal, as the severities: a `$n` here kept PostgreSQL from keeping the plan of
            // a page with a product label (1.3 ms of planning each time).
            let value = if value { "TRUE" } else { "FALSE" };
            s.push(&format!(" AND {alias}.{column} = {value}"));
        }
        if let Some(v) = &self.scanner {
            s.push(&format!(" AND {alias}.scanner = ")).arg(v.as_str());
        }
        if let Some(v) = &self.category {
            s.push(&format!(" AND {alias}.category = ")).arg(v.as_str());
        }
    }

    /// ` AND …` for the severities asked for, over `alias`.
    fn push_severities(&self, s: &mut Sql, alias: &str) {
        let mut ranks: Vec<i64> = self.severities.iter().map(|v| severity_rank(*v)).collect();
        ranks.sort_unstable();
        ranks.dedup();
        match ranks.as_slice() {
            [] => {}
            // Adjacent severities as a range: PostgreSQL reads a range of an index in order, where
            // `IN (4, 3)` made it scan the index from its start to the first critical finding
            // (platform=android&severity=critical&severity=high: 5.5 → 0.2 ms). The ranks are
            // numbers in the text, not parameters (0 to 4, this code's own): with `$1` and `$2`
            // PostgreSQL's plan kept for any range read the wrong index (130 ms).
            [lo, .., hi] if hi - lo + 1 == ranks.len() as i64 => {
                s.push(&format!(
                    " AND {alias}.severity >= {lo} AND {alias}.severity <= {hi}"
                ));
            }
            _ => {
                let list: Vec<String> = ranks.iter().map(i64::to_string).collect();
                s.push(&format!(" AND {alias}.severity IN ({})", list.join(", ")));
            }
        }
    }

    /// When the filter names nothing that changes with time or needs the findings' text (no
    /// first-seen day, SLA state or text, at most one facet), its count is a sum over the
    /// tallies that triggers keep per product, scanner, category, severity and status flags
    /// (`finding_tallies`, or `facet_tallies` for a tag, CWE or vulnerability id; migration
    /// 0012): the SQL of that sum, else None. A count of 900k findings is then a sum over a few
    /// dozen rows.
    fn tally_count(&self) -> Option<Sql> {
        if self.first_seen_since_day.is_some()
            || self.sla.is_some()
            || self.text.as_deref().is_some_and(|t| !t.is_empty())
            // The tallies keep a missing scanner or category as '': an empty filter value is
            // not the same question.
            || self.scanner.as_deref() == Some("")
            || self.category.as_deref() == Some("")
        {
            return None;
        }
        let facets = self.facets();
        let mut s = match facets.as_slice() {
            [] => Sql::new(
                "SELECT CAST(COALESCE(SUM(t.n), 0) AS BIGINT) AS n FROM finding_tallies t WHERE 1 = 1",
            ),
            [(kind, value)] => {
                let mut s = Sql::new(
                    "SELECT CAST(COALESCE(SUM(t.n), 0) AS BIGINT) AS n FROM facet_tallies t WHERE t.kind = ",
                );
                s.arg(*kind).push(" AND t.value = ").arg(value.as_str());
                s
            }
            _ => return None,
        };
        self.push_tallied(&mut s, "t");
        Some(s)
    }

    /// PostgreSQL: when the filter is text (without a line feed) and at most products, their
    /// labels and an open / closed / all status group, its count from `finding_text` alone
    /// (migration 0015: it holds each finding's product and open state): that count, else
    /// None. Its text is the title and the location, lower-cased, joined by a line feed, so
    /// a text without one is in it exactly when it is in the title or in the location, as the
    /// list tests it (`push_untallied`); the candidates' findings are not read (94,520 for
    /// `sql-injection` on a 1M-finding hub: 447 ms → ~120 ms).
    fn text_count(&self) -> Option<FindingCount> {
        let text = self.text.as_deref().filter(|t| !t.is_empty())?;
        let only_products = FindingFilter {
            products: self.products.clone(),
            tier: self.tier.clone(),
            platform: self.platform.clone(),
            status: self.status,
            text: self.text.clone(),
            restrict_to_product: self.restrict_to_product,
            ..FindingFilter::default()
        };
        if text.contains('\n')
            || *self != only_products
            || !matches!(
                self.status,
                StatusFilter::Open | StatusFilter::Closed | StatusFilter::All
            )
        {
            return None;
        }
        let mut s = Sql::new(" FROM finding_text x WHERE x.text LIKE ");
        s.arg(like_pattern(text)).push(" ESCAPE '\\'");
        self.push_tallied(&mut s, "x");
        Some(FindingCount {
            from: s,
            product: "x.product_id",
        })
    }

    /// `FROM findings f WHERE …` of this filter, read through the filters' own indexes (counts,
    /// exports, bulk triage).
    fn where_clause(&self, now: Timestamp, text: &TextSearch, backend: Backend) -> Sql {
        self.where_clause_as(now, PageForm::Gather, text, backend)
    }

    fn where_clause_as(
        &self,
        now: Timestamp,
        form: PageForm,
        text: &TextSearch,
        backend: Backend,
    ) -> Sql {
        let mut s = Sql::new(" FROM findings f WHERE 1 = 1");
        self.push_where(&mut s, now, form, text, backend);
        s
    }

    /// Has a filter the tallies do not keep (a facet, a first-seen day, an SLA state, text):
    /// how a page of it is read is chosen from its count ([`page_form`]).
    fn has_untallied(&self) -> bool {
        self.has_facet()
            || self.first_seen_since_day.is_some()
            || self.sla.is_some()
            || self.text.as_deref().is_some_and(|t| !t.is_empty())
    }

    /// The columns of `findings` the filters the tallies do not keep read (`push_untallied`),
    /// besides `id`.
    fn untallied_columns(&self) -> Vec<&'static str> {
        let mut columns = Vec::new();
        if self.has_facet() {
            // A facet's probe names the finding's severity (`push_untallied`).
            columns.push("severity");
        }
        if self.first_seen_since_day.is_some() {
            columns.push("first_seen");
        }
        if self.sla.is_some() {
            columns.extend(["is_open", "sla_due"]);
        }
        if self.text.as_deref().is_some_and(|t| !t.is_empty()) {
            columns.extend(["title", "location"]);
        }
        columns
    }

    fn has_facet(&self) -> bool {
        !self.facets().is_empty()
    }

    /// The facet filters given, as `finding_facets` holds them: (`tag` | `cwe` | `vuln`, value).
    fn facets(&self) -> Vec<(&'static str, String)> {
        [
            ("tag", self.tag.clone()),
            ("cwe", self.cwe.map(|c| c.to_string())),
            ("vuln", self.vulnerability_id.clone()),
        ]
        .into_iter()
        .filter_map(|(kind, v)| v.map(|v| (kind, v)))
        .collect()
    }
}

/// How the text filter narrows before its LIKE decides.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TextSearch {
    /// SQLite: the findings holding these trigrams (an FTS5 query over `finding_text`).
    Trigrams(String),
    /// PostgreSQL: a LIKE over `finding_text` and its trigram index.
    TextTable,
    /// No text, or too short for a trigram: the LIKE alone.
    Scan,
}

/// How a page reads the findings its filter matches, for the filters the tallies do not keep
/// (facets; on SQLite also a first-seen day, an SLA state and text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageForm {
    /// Each filter through its own index (`f.id IN (SELECT finding_id …)` for a facet, the
    /// trigram index for text, the SLA or first-seen index), then the matches are sorted. For
    /// counts, and pages of few matches.
    Gather,
    /// Walk the page's order (an index), test each finding (`EXISTS (…)` for a facet, the LIKE for
    /// text, the column itself for a date), and stop after the page. For pages of many matches.
    Walk,
    /// PostgreSQL's walk: the same tests over a window of the order (`walk_window`), as a
    /// subquery named `f` (`Store::postgres_queue_page`).
    Window,
}

/// The form of a page: walk the sort order when that walk, about
/// `(offset + per_page) × all / matching` findings, is shorter than reading the `matching`
/// findings (and only for orders an index holds: `walkable`). A cwe=79 page of 50 on a
/// 1M-finding hub where 92,800 findings match: a walk of ~540 findings instead of 92,800 read and
/// sorted; a vulnerability id on 3 findings: read those 3. The estimate takes the matches as
/// spread evenly over the order; when they are not (SLA "due soon" holds only critical findings,
/// which a walk from low severity meets last), SQLite's walk has a budget and the page is gathered
/// when it runs out (`Store::queue_page`).
fn page_form(matching: i64, all: i64, offset: i64, per_page: i64, walkable: bool) -> PageForm {
    if !walkable || matching <= 0 {
        return PageForm::Gather;
    }
    if expected_walk(matching, all, offset, per_page) < matching {
        PageForm::Walk
    } else {
        PageForm::Gather
    }
}

/// How many findings of the order a walk to the page's end reads if the `matching` findings
/// (of `all`) are spread evenly over it. `matching` must be positive.
fn expected_walk(matching: i64, all: i64, offset: i64, per_page: i64) -> i64 {
    offset
        .saturating_add(per_page)
        .saturating_mul(all.max(matching))
        / matching
}

/// The most findings a PostgreSQL walk's window holds (`walk_window`).
const MAX_WALK_WINDOW: i64 = 20_000;
/// A text walks its own rows (`PostgresPage::text_window`) when a walk of the findings' order is
/// expected to pass at least this many findings, a heap page of `findings` each.
pub(crate) const TEXT_WALK_FROM: i64 = 2_000;
/// A text walk's window is this many times the findings' (`PostgresPage::text_window`): its rows
/// are index entries, ~100 bytes each, where a finding passed is a heap page of `findings`.
const TEXT_WINDOW_FACTOR: i64 = 4;

/// How many findings of the order PostgreSQL's walk of a page reads before it gathers the page
/// instead: twice the walk expected if the matches are spread evenly over the order
/// (`page_form`), at least 1,000 and at most 20,000, rounded up to its leading bits; None when
/// even the expected walk is long. The window is read only until the page is full, but a window
/// that holds too few matches is read whole before the page is gathered, so it is kept short:
/// 18,680 findings with a LIKE took 46 ms.
fn walk_window(matching: i64, all: i64, offset: i64, per_page: i64) -> Option<i64> {
    if matching <= 0 {
        return None;
    }
    let expected = expected_walk(matching, all, offset, per_page);
    // Rounded up to its three leading bits: the window's size is written into its statement
    // (`PostgresPage::limit` says why), which is then one of some 35, at most 1/8 longer.
    (expected <= 10_000).then(|| {
        let window = expected.saturating_mul(2).clamp(1_000, MAX_WALK_WINDOW);
        let step = 1i64 << (63 - window.leading_zeros()).saturating_sub(3);
        (window + step - 1) / step * step
    })
}

/// What the UI shows as a finding's "where", and what the queue's text filter searches besides
/// the title (the `location` column): file:line, package and version, URL, component or target.
pub fn location_text(f: &Finding) -> String {
    let l = &f.location;
    if let Some(file) = &l.file {
        return match l.start_line {
            Some(n) => format!("{file}:{n}"),
            None => file.clone(),
        };
    }
    if let Some(p) = &l.package {
        return format!(
            "{} {}",
            p.name,
            p.installed_version.as_deref().unwrap_or("")
        );
    }
    l.url
        .clone()
        .or(l.component.clone())
        .or(l.target.clone())
        .unwrap_or_default()
}

/// The facets of a finding the queue filters on, each once: (`tag` | `cwe` | `vuln`, value).
pub(crate) fn facets_of(f: &Finding, mut add: impl FnMut(&'static str, String)) {
    let mut seen = std::collections::HashSet::new();
    let items = f
        .tags
        .iter()
        .map(|t| ("tag", t.as_str().to_string()))
        .chain(f.cwe.iter().map(|c| ("cwe", c.to_string())))
        .chain(f.vulnerability_ids.iter().map(|v| ("vuln", v.clone())));
    for (kind, value) in items {
        if seen.insert((kind, value.clone())) {
            add(kind, value);
        }
    }
}

/// One action of bulk triage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkAction {
    CloseWontFix,
    /// Closed as risk accepted until this day (YYYY-MM-DD).
    CloseRiskAccepted {
        until: String,
    },
    CloseCompensatingControl,
    /// Marked a false positive (and so closed).
    FalsePositive,
    Priority(Priority),
    /// The reason becomes a note on each finding.
    Note,
}

impl BulkAction {
    fn closes(&self) -> bool {
        !matches!(self, BulkAction::Priority(_) | BulkAction::Note)
    }
    fn closed_as(&self) -> Option<ClosedAs> {
        match self {
            BulkAction::CloseWontFix => Some(ClosedAs::ClosedWontFix),
            BulkAction::CloseRiskAccepted { .. } => Some(ClosedAs::ClosedRiskAccepted),
            BulkAction::CloseCompensatingControl => Some(ClosedAs::ClosedCompensatingControl),
            _ => None,
        }
    }
}

/// Which findings a bulk action takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkTarget {
    Ids(Vec<i64>),
    /// Everything the filter matches (at most [`BULK_CAP`]).
    Filter(Box<FindingFilter>),
}

/// What a bulk action did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkOutcome {
    pub changed: i64,
    /// Already closed (a close or a false positive skips them, never re-closes).
    pub skipped: i64,
    /// Ids that name no finding the caller may see.
    pub missing: i64,
}

/// What [`Store::postgres_queue_page`] reads: the page asked for, and the count and the WHERE
/// clause `queue_page` wrote for it.
struct PostgresPage<'a> {
    filter: &'a FindingFilter,
    sort: QueueSort,
    offset: i64,
    per_page: i64,
    now: Timestamp,
    text: &'a TextSearch,
    /// `SELECT … AS n`: the count of the filter's findings.
    count: Sql,
    /// That count per product, when it reads findings (remembered per product); None when it
    /// sums tallies or counters.
    remembered: Option<FindingCount>,
    /// `SELECT … AS n`: the number of findings, for filters the tallies do not keep (how the
    /// page is read depends on it); None for the others, which gather.
    all_findings: Option<Sql>,
}

impl PostgresPage<'_> {
    /// `SELECT f.id …`: the page's ids, read through the filters' indexes in the page's order.
    fn gathered(&self, backend: Backend) -> Sql {
        let w = self.filter.where_clause(self.now, self.text, backend);
        let mut ids = Sql::new(format!("SELECT f.id{}", w.text));
        ids.args = w.args;
        ids.push(self.sort.order_by(backend)).push(&self.limit());
        ids
    }

    /// The facet whose own rows a page walks (migration 0019: they carry their finding's
    /// severity, in an index in the queue's severity order): the filter's first facet, when the
    /// page is in severity order. A `cwe=79` page of 50 on the bench hub then reads 287 adjacent
    /// entries of the facet (its newest critical findings are mostly closed ones) and probes
    /// each one's open state, where a walk of the findings' order passed 244 findings and
    /// probed the facets' index for each (0.60 → 0.38 ms for the page's ids).
    fn facet_walk(&self) -> Option<(&'static str, String)> {
        if !matches!(self.sort, QueueSort::Severity | QueueSort::SeverityDesc) {
            return None;
        }
        self.filter.facets().into_iter().next()
    }

    /// `SELECT … AS n`: the number of the facet's rows in the severities asked for (from
    /// `facet_tallies`: a sum over the facet's few dozen tallies), the rows a walk of the facet
    /// passes over.
    fn facet_rows(&self, kind: &'static str, value: &str) -> Sql {
        let mut s = Sql::new(
            "SELECT CAST(COALESCE(SUM(t.n), 0) AS BIGINT) AS n FROM facet_tallies t WHERE t.kind = ",
        );
        s.arg(kind).push(" AND t.value = ").arg(value);
        self.filter.push_severities(&mut s, "t");
        s
    }

    /// `SELECT f.id …`: the page's ids from the first `window` rows of the facet in the page's
    /// order (its severities asked for), each joined to its finding and tested against the rest
    /// of the filter until the page is full; when there is no rest to test, the facet's rows
    /// themselves.
    fn facet_window(&self, kind: &'static str, value: &str, window: i64, backend: Backend) -> Sql {
        let dir = if self.sort == QueueSort::SeverityDesc {
            " DESC"
        } else {
            ""
        };
        // The rest of the filter: the walked facet and the severities are the window's own (a
        // facet row's severity is its finding's), so a filter of products and status alone can
        // read the findings' open-state index instead of their rows.
        let mut rest = self.filter.clone();
        match kind {
            "tag" => rest.tag = None,
            "cwe" => rest.cwe = None,
            _ => rest.vulnerability_id = None,
        }
        rest.severities.clear();
        let mut q = Sql::new("SELECT x.finding_id AS id FROM finding_facets x WHERE x.kind = ");
        q.arg(kind).push(" AND x.value = ").arg(value);
        self.filter.push_severities(&mut q, "x");
        if rest
            == (FindingFilter {
                status: StatusFilter::All,
                ..FindingFilter::default()
            })
        {
            // Nothing else to test (`tag=xss&status=all`): the facet's rows in order are the
            // page, each naming a finding (their foreign key), no finding read to find them.
            q.push(&format!(
                " ORDER BY x.severity{dir}, x.finding_id{dir}{}",
                self.limit()
            ));
            return q;
        }
        let mut q = Sql::new(
            "SELECT f.id FROM (SELECT x.finding_id, x.severity FROM finding_facets x WHERE x.kind = ",
        );
        q.arg(kind).push(" AND x.value = ").arg(value);
        self.filter.push_severities(&mut q, "x");
        q.push(&format!(
            " ORDER BY x.severity{dir}, x.finding_id{dir} LIMIT {window}) x \
             JOIN findings f ON f.id = x.finding_id WHERE 1 = 1"
        ));
        rest.push_tallied(&mut q, "f");
        rest.push_untallied(&mut q, self.now, PageForm::Window, self.text, backend);
        // One severity asked for: said again outside, or PostgreSQL, which drops a column the
        // WHERE fixes from the window's order, sorts the whole window (as for the findings'
        // window in `Store::postgres_page_reads`).
        if let Some(rank) = self.filter.single_severity_rank() {
            q.push(&format!(" AND x.severity = {rank}"));
        }
        q.push(&format!(
            " ORDER BY x.severity{dir}, x.finding_id{dir}{}",
            self.limit()
        ));
        q
    }

    /// The text whose table a page walks (migration 0020: `finding_text` in the queue's severity
    /// order, the texts in the index), when the page is in severity order and the filter is that
    /// text, severities and an open or any status, nothing else. Then a page of `q=module7/pkg`
    /// (1 in 90 open findings) reads ~100 index pages of texts instead of a heap page of
    /// `findings` for each of the 4,231 findings a walk of their order passed. With products or
    /// other filters the walk of the findings' order stays: its indexes hold those, this one would
    /// pass every other product's findings.
    fn text_walk(&self) -> Option<&str> {
        if !matches!(self.sort, QueueSort::Severity | QueueSort::SeverityDesc)
            || self.facet_walk().is_some()
            || !matches!(self.filter.status, StatusFilter::Open | StatusFilter::All)
        {
            return None;
        }
        let text = self.filter.text.as_deref().filter(|t| !t.is_empty())?;
        let rest = FindingFilter {
            text: None,
            severities: Vec::new(),
            status: self.filter.status,
            ..self.filter.clone()
        };
        // A line feed joins the title and the location in the table's text (`text_count`).
        (!text.contains('\n')
            && rest
                == FindingFilter {
                    status: self.filter.status,
                    ..FindingFilter::default()
                })
        .then_some(text)
    }

    /// `SELECT … AS id`: the page's ids from the first `window` rows of `finding_text` in the
    /// page's order (its severities asked for) whose text holds `text`, each open one when the
    /// page asks for open findings. The rows come from two indexes merged in order: the texts
    /// of at most 2,000 bytes held in the index itself, the longer ones read from the table.
    fn text_window(&self, text: &str, window: i64) -> Sql {
        let dir = if self.sort == QueueSort::SeverityDesc {
            " DESC"
        } else {
            ""
        };
        let mut q = Sql::new(
            "SELECT u.finding_id AS id FROM (SELECT x.finding_id, x.severity, x.text FROM (",
        );
        for (i, length) in ["<= 2000", "> 2000"].iter().enumerate() {
            if i > 0 {
                q.push(" UNION ALL ");
            }
            q.push(&format!(
                "(SELECT t.finding_id, t.severity, t.text FROM finding_text t \
                 WHERE octet_length(t.text) {length}"
            ));
            self.filter.push_severities(&mut q, "t");
            q.push(&format!(
                " ORDER BY t.severity{dir}, t.finding_id{dir} LIMIT {window})"
            ));
        }
        q.push(&format!(
            ") x ORDER BY x.severity{dir}, x.finding_id{dir} LIMIT {window}) u"
        ));
        if self.filter.status == StatusFilter::Open {
            q.push(" JOIN findings f ON f.id = u.finding_id AND f.is_open = TRUE");
        }
        q.push(" WHERE u.text LIKE ")
            .arg(like_pattern(text))
            .push(" ESCAPE '\\'");
        // One severity asked for: said again outside (as for the facet's window).
        if let Some(rank) = self.filter.single_severity_rank() {
            q.push(&format!(" AND u.severity = {rank}"));
        }
        q.push(&format!(
            " ORDER BY u.severity{dir}, u.finding_id{dir}{}",
            self.limit()
        ));
        q
    }

    /// `SELECT f.id …`: the page's ids from the first `window` findings of the page's order
    /// (`keys`, `QueueSort::walk_keys`) that pass the filters the tallies keep, tested against the
    /// rest until the page is full.
    fn findings_window(
        &self,
        window: i64,
        keys: &[(&'static str, &'static str, bool)],
        backend: Backend,
    ) -> Sql {
        // The window is a subquery named `f` whose columns are those the order and the
        // filters read, so that the filters are written as for `findings f`; the outer ORDER
        // BY names the subquery's own columns, so PostgreSQL keeps its order and tests the
        // filters only until the page is full (cwe=79, before its facet walk: 244 findings
        // probed, not the whole
        // window of 1,152: 3.6 → 0.6 ms).
        let mut columns: Vec<String> = vec!["f.id".into()];
        let mut add = |expression: &str, name: &str| {
            let column = if expression == format!("f.{name}") {
                expression.to_string()
            } else {
                format!("{expression} AS {name}")
            };
            if !columns.iter().any(|c| c == &column) {
                columns.push(column);
            }
        };
        for (expression, name, _) in keys {
            add(expression, name);
        }
        for name in self.filter.untallied_columns() {
            add(&format!("f.{name}"), name);
        }
        let mut q = Sql::new(format!(
            "SELECT f.id FROM (SELECT {} FROM findings f WHERE 1 = 1",
            columns.join(", ")
        ));
        self.filter.push_tallied(&mut q, "f");
        let outer: Vec<String> = keys
            .iter()
            .map(|(_, name, descending)| {
                format!("f.{name}{}", if *descending { " DESC" } else { "" })
            })
            .collect();
        q.push(self.sort.order_by(backend))
            .push(&format!(" LIMIT {window}) f WHERE 1 = 1"));
        self.filter
            .push_untallied(&mut q, self.now, PageForm::Window, self.text, backend);
        // One severity asked for: said again outside. PostgreSQL drops a column the WHERE
        // fixes from the subquery's order, and without the equality here it no longer sees
        // that order as the page's and sorts the whole window first
        // (`since=…&severity=low`: 1,024 findings read and sorted for 50; 1.4 → 0.5 ms).
        if let Some(rank) = self.filter.single_severity_rank() {
            if keys.iter().any(|(_, name, _)| *name == "severity") {
                q.push(&format!(" AND f.severity = {rank}"));
            }
        }
        q.push(&format!(" ORDER BY {}", outer.join(", ")))
            .push(&self.limit());
        q
    }

    /// ` LIMIT n OFFSET m` of the page, as numbers in the text, not parameters: PostgreSQL then
    /// plans the statement once per connection and keeps the plan (a generic plan), where a
    /// `LIMIT $n` made it plan the statement again at every call (0.9 ms of the default view's
    /// 1.45 ms in PostgreSQL). Both are integers this code computed.
    fn limit(&self) -> String {
        format!(" LIMIT {} OFFSET {}", self.per_page, self.offset)
    }
}

/// A page of the queue, read from one snapshot: its findings, the number of findings the filter
/// matches, and the products the filter's viewer may see (id and name, by id: the filter form's
/// choices and the names of the page's products). Read together, the products cost no second
/// statement and no second connection (on PostgreSQL, a round trip to the server each).
#[derive(Debug)]
pub struct QueuePage {
    pub findings: Vec<QueueRow>,
    pub total: i64,
    pub products: Vec<(i64, String)>,
}

impl FindingFilter {
    /// `SELECT p.id, p.name …`: the products the filter's viewer may see, by id.
    fn visible_products(&self) -> Sql {
        let mut s = Sql::new("SELECT p.id AS id, p.name AS name FROM products p WHERE 1 = 1");
        if let Some(r) = self.restrict_to_product {
            s.push(" AND p.id = ").arg(r);
        }
        s.push(" ORDER BY p.id");
        s
    }

    /// PostgreSQL: the same products as one JSON text, `[[id, name], …]`: a column of a statement
    /// that reads the page or its count.
    fn visible_products_json(&self) -> Sql {
        let mut s = Sql::new(
            "SELECT CAST(COALESCE(json_agg(json_build_array(p.id, p.name) ORDER BY p.id), '[]') \
             AS TEXT) FROM products p WHERE 1 = 1",
        );
        if let Some(r) = self.restrict_to_product {
            s.push(" AND p.id = ").arg(r);
        }
        s
    }
}

/// The products of [`FindingFilter::visible_products_json`].
fn products_from_json(text: &str) -> Result<Vec<(i64, String)>> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("the products' names read back as {e}")))
}

/// PostgreSQL: `SELECT QUEUE_COLUMNS, page_order` of the findings whose ids `ids` selects (a
/// `SELECT … id … ORDER BY … LIMIT …`): the ids and their rows in one round trip.
/// (`ARRAY(subquery)` keeps the subquery's order; `WITH ORDINALITY` numbers it.) The rows come
/// in no particular order: [`in_page_order`] puts them in the page's. Sorting them in
/// PostgreSQL copied every row into a sort (12% of the statement).
fn rows_of(ids: &Sql) -> Sql {
    let mut q = Sql::new(format!(
        "SELECT {QUEUE_COLUMNS}, page.page_order FROM unnest(ARRAY("
    ));
    q.embed(ids).push(
        ")) WITH ORDINALITY AS page(page_id, page_order) JOIN findings f ON f.id = page.page_id",
    );
    q
}

/// The queue rows of rows from [`rows_of`] in the page's order (`page_order`); rows without a
/// finding (the count's row when the page is empty) are skipped.
fn in_page_order(rows: &[impl Columns]) -> Result<Vec<QueueRow>> {
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(order) = row.opt_i64("page_order")? {
            found.push((order, queue_row_from_row(row)?));
        }
    }
    found.sort_unstable_by_key(|(order, _)| *order);
    Ok(found.into_iter().map(|(_, f)| f).collect())
}

impl Store {
    /// One page of the queue (1-based `page`, at most [`MAX_QUEUE_PAGE`] per page), the number
    /// of findings the filter matches and the products its viewer may see, read from one
    /// snapshot (the page and the count under the same WHERE).
    pub async fn queue_page(
        &self,
        filter: &FindingFilter,
        sort: QueueSort,
        page: i64,
        per_page: i64,
        now: Timestamp,
    ) -> Result<QueuePage> {
        let per_page = per_page.clamp(1, MAX_QUEUE_PAGE);
        let offset = (page.max(1) - 1).saturating_mul(per_page);
        let text = self.text_search(filter).await?;
        let w = filter.where_clause(now, &text, self.backend);
        let cheap_count = filter.counter_count().or_else(|| filter.tally_count());
        // A count that reads the findings is remembered by the data it was counted on.
        let (count, remembered) = match cheap_count {
            Some(count) => (count, None),
            None => {
                let finding_count = match self.backend {
                    Backend::Postgres => filter.text_count(),
                    Backend::Sqlite => None,
                }
                .unwrap_or_else(|| {
                    let mut from = Sql::new("");
                    from.embed(&w);
                    FindingCount {
                        from,
                        product: "f.product_id",
                    }
                });
                (finding_count.total(), Some(finding_count))
            }
        };
        // A page of filters the tallies do not keep: how to read it depends on how many findings
        // match (page_form), out of how many.
        let untallied = filter.has_untallied();
        let all_findings = untallied.then(|| {
            Sql::new(
                "SELECT CAST(COALESCE(SUM(open_count + closed_count), 0) AS BIGINT) AS n FROM products",
            )
        });
        let walkable = sort != QueueSort::Product;
        let page_ids = |form: PageForm, gathered_order: bool| {
            let w = filter.where_clause_as(now, form, &text, self.backend);
            let mut ids = Sql::new(format!("SELECT f.id{}", w.text));
            ids.args = w.args;
            ids.push(if gathered_order {
                sort.order_by_gathered(self.backend)
            } else {
                sort.order_by(self.backend)
            })
            .push(" LIMIT ")
            .arg(per_page)
            .push(" OFFSET ")
            .arg(offset);
            ids
        };
        if let Some(reader) = &self.reader {
            let budget = self.walk_budget.load(std::sync::atomic::Ordering::Relaxed);
            return reader.with(|conn| {
                let tx = conn.unchecked_transaction()?;
                let total: i64 = if remembered.is_some() {
                    // The first read of the transaction: the snapshot every later read sees.
                    let data: i64 = tx
                        .prepare_cached("SELECT n FROM finding_changes WHERE id = 1")?
                        .query_row([], |r| r.get(0))?;
                    // One part: the whole hub.
                    let cell = self.count_cache().cell(&CountCache::key(&count), 0, data);
                    match cell.get() {
                        Some(n) => *n,
                        None => {
                            let n = tx
                                .prepare_cached(count.sqlite_text())?
                                .query_row(count.sqlite_params()?, |r| r.get(0))?;
                            // Another reader may have filled it meanwhile, with the same count.
                            let _ = cell.set(n);
                            n
                        }
                    }
                } else {
                    tx.prepare_cached(count.sqlite_text())?
                        .query_row(count.sqlite_params()?, |r| r.get(0))?
                };
                let all: i64 = match &all_findings {
                    Some(q) => tx
                        .prepare_cached(q.sqlite_text())?
                        .query_row([], |r| r.get(0))?,
                    None => 0,
                };
                let ids = if offset >= total {
                    // Past the end, or nothing matches: no page to read.
                    Vec::new()
                } else if !untallied {
                    // Filters the planner weighs well with the indexes it has.
                    sqlite_ids(&tx, &page_ids(PageForm::Gather, false))?
                } else {
                    match page_form(total, all, offset, per_page, walkable) {
                        PageForm::Walk => {
                            match sqlite_ids_within(&tx, &page_ids(PageForm::Walk, false), budget)?
                            {
                                Some(ids) => ids,
                                None => sqlite_ids(&tx, &page_ids(PageForm::Gather, true))?,
                            }
                        }
                        PageForm::Gather | PageForm::Window => {
                            sqlite_ids(&tx, &page_ids(PageForm::Gather, true))?
                        }
                    }
                };
                let findings = sqlite_queue_rows(&tx, &ids)?;
                let products = sqlite_products(&tx, &filter.visible_products())?;
                tx.finish()?;
                Ok(QueuePage {
                    findings,
                    total,
                    products,
                })
            });
        }
        if self.backend == Backend::Postgres {
            let page = PostgresPage {
                filter,
                sort,
                offset,
                per_page,
                now,
                text: &text,
                count,
                remembered,
                all_findings,
            };
            return self.postgres_queue_page(page).await;
        }
        // SQLite without its direct reader (an in-memory database): one transaction.
        let mut conn = self.pool.begin().await?;
        let total = get_i64(
            &count.query(self.backend)?.fetch_one(&mut *conn).await?,
            "n",
        )?;
        let all = match &all_findings {
            Some(q) => get_i64(&q.query(self.backend)?.fetch_one(&mut *conn).await?, "n")?,
            None => 0,
        };
        let form = if untallied {
            page_form(total, all, offset, per_page, walkable)
        } else {
            PageForm::Gather
        };
        let ids = if offset < total {
            fetch_ids(self.backend, page_ids(form, false), &mut conn).await?
        } else {
            Vec::new()
        };
        let findings = self.queue_rows_in_order(&mut conn, &ids).await?;
        let products = filter
            .visible_products()
            .query(self.backend)?
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| Ok((get_i64(r, "id")?, crate::sql::get_str(r, "name")?)))
            .collect::<Result<_>>()?;
        conn.commit().await?;
        Ok(QueuePage {
            findings,
            total,
            products,
        })
    }

    /// A page of the queue on PostgreSQL, in as few round trips as its filter allows (each one is
    /// a wake-up of the server and of this process, on the cores the readers share):
    /// - a count the tallies or counters give (no text, SLA state, day, or second facet) and a
    ///   page read through the filters' indexes: **one statement**, the count and the page's
    ///   findings together (one statement reads one snapshot: no transaction);
    /// - a count the tallies give with a filter they do not keep (one facet): the number of
    ///   findings, the count and the products' numbers of changes in one statement, then the
    ///   page's rows, walked through a window of the order or gathered, with those numbers again:
    ///   **two statements** and no transaction while the numbers agree (no write to the page's
    ///   products landed between them); when they differ, the page is read again as below;
    /// - otherwise a read-only repeatable-read transaction: the number of findings and the
    ///   products' numbers of changes in one statement; the count when it has to be counted and
    ///   is not remembered; then the page's rows, walked or gathered, in one statement with the
    ///   page's ids (`rows_of`).
    async fn postgres_queue_page(&self, p: PostgresPage<'_>) -> Result<QueuePage> {
        let backend = self.backend;
        if p.all_findings.is_none() {
            // The count, the products and the page at once (the products on one row only: the
            // page's first, or the count's alone when the page is empty).
            let mut q = Sql::new(
                "SELECT c.n AS total, CASE WHEN r.page_order IS NULL OR r.page_order = 1 THEN (",
            );
            q.embed(&p.filter.visible_products_json())
                .push(") END AS products, r.* FROM (")
                .embed(&p.count)
                .push(") c LEFT JOIN LATERAL (")
                .embed(&rows_of(&p.gathered(backend)))
                .push(") r ON true");
            let mut read = self.pg_reads()?.acquire().await?;
            let rows = q.pg_query()?.fetch_all(&mut *read).await?;
            read.give_back();
            let total = match rows.first() {
                Some(row) => row.i64("total")?,
                None => return Err(StoreError::Corrupt("a count gave no row".into())),
            };
            let mut products = None;
            for row in &rows {
                if let Some(text) = row.opt_string("products")? {
                    products = Some(products_from_json(&text)?);
                }
            }
            let products = products.ok_or_else(|| {
                StoreError::Corrupt("a queue page came without its products".into())
            })?;
            return Ok(QueuePage {
                findings: in_page_order(&rows)?,
                total,
                products,
            });
        }
        // A count the tallies give (a facet), or one remembered for every product's present
        // number of changes (a text, an SLA state, a time): the page's statements need no
        // snapshot of their own when each reads the products' numbers of changes (migration 0018)
        // and they agree — no write to the page's products committed between them — which saves
        // the `BEGIN` and the `COMMIT`, two of a page's four or five round trips. When they
        // differ, or a remembered count has a part to count (which must be counted in the
        // snapshot whose numbers it is remembered under), the page is read in one snapshot.
        let mut read = self.pg_reads()?.acquire().await?;
        if let Some(page) = self.postgres_page_reads(&mut read, &p, true).await? {
            read.give_back();
            return Ok(page);
        }
        self.snapshot_pages
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut snapshot = sqlx::Connection::begin_with(
            &mut *read,
            "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        )
        .await?;
        let page = self.postgres_page_reads(&mut snapshot, &p, false).await?;
        snapshot.commit().await?;
        read.give_back();
        page.ok_or_else(|| StoreError::Corrupt("a page read in one snapshot moved".into()))
    }

    /// The statements of a PostgreSQL page that reads the number of findings first (its
    /// filters are not all the tallies'), on `conn`: in one snapshot (a read-only repeatable-read
    /// transaction), or, when `checked`, each in its own snapshot, each reading the products'
    /// numbers of changes too: None when those moved between them (the page may mix two states),
    /// or when a remembered count has a part not remembered yet.
    async fn postgres_page_reads(
        &self,
        conn: &mut PgConnection,
        p: &PostgresPage<'_>,
        checked: bool,
    ) -> Result<Option<QueuePage>> {
        let backend = self.backend;
        let all_findings = p
            .all_findings
            .as_ref()
            .expect("a page read in steps has the number of findings");
        let mut first = Sql::new("SELECT (");
        first
            .embed(all_findings)
            .push(") AS all_findings, (")
            .embed(&p.filter.visible_products_json())
            .push(") AS products");
        if p.remembered.is_some() || checked {
            first
                .push(", (")
                .embed(&p.filter.product_versions())
                .push(") AS versions");
        }
        if p.remembered.is_none() {
            first.push(", (").embed(&p.count).push(") AS n");
        }
        let facet_walk = p.facet_walk();
        if let Some((kind, value)) = &facet_walk {
            first
                .push(", (")
                .embed(&p.facet_rows(kind, value))
                .push(") AS facet_rows");
        }
        let row = first.pg_query()?.fetch_one(&mut *conn).await?;
        let facet_rows = match facet_walk {
            Some(_) => Some(row.i64("facet_rows")?),
            None => None,
        };
        let all = row.i64("all_findings")?;
        let products = products_from_json(&row.string("products")?)?;
        let versions = if p.remembered.is_some() || checked {
            Some(row.string("versions")?)
        } else {
            None
        };
        let total = match (&p.remembered, &versions) {
            (Some(count), Some(versions)) => {
                match self
                    .remembered_count(conn, count, &p.count, versions, !checked)
                    .await?
                {
                    Some(n) => n,
                    None => return Ok(None),
                }
            }
            _ => row.i64("n")?,
        };
        if p.offset >= total {
            return Ok(Some(QueuePage {
                findings: Vec::new(),
                total,
                products,
            }));
        }
        // Each later statement reads the numbers of changes again when checked.
        let read_versions = p.filter.product_versions();
        let check = versions
            .as_deref()
            .filter(|_| checked)
            .map(|v| (&read_versions, v));
        // A walk of the findings' order, when the matches are many enough (`page_form`): the
        // first findings that pass the tallied filters, tested against the rest as they come
        // until the page is full.
        let walkable = p.sort.walk_keys().is_some();
        let window = match page_form(total, all, p.offset, p.per_page, walkable) {
            PageForm::Walk => walk_window(total, all, p.offset, p.per_page),
            PageForm::Gather | PageForm::Window => None,
        };
        let wanted = p.per_page.min(total - p.offset) as usize;
        let budget = |w: i64| {
            let most = self.walk_budget.load(std::sync::atomic::Ordering::Relaxed);
            w.min(i64::try_from(most).unwrap_or(i64::MAX))
        };
        // A facet's page in severity order walks the facet's own rows instead, for as long as a
        // walk of the findings' order would be allowed over its `rows`.
        let mut walks = Vec::new();
        if let Some(((kind, value), rows)) = facet_walk.zip(facet_rows) {
            walks.extend(
                walk_window(total, rows, p.offset, p.per_page)
                    .map(budget)
                    .map(|window| p.facet_window(kind, &value, window, backend)),
            );
        } else {
            // A rare text (`q=module7/pkg`: the findings' walk would pass thousands) walks its
            // text's rows in the queue's order, every finding's, closed ones too: a window a few
            // times the findings' (its entries are a tenth of their pages), and, when the matches
            // it holds are too few (closed findings bunched at the top of the order: a
            // reimport's), the findings' own walk after it. A common one (`q=sql-injection`,
            // ~560 findings passed) keeps the findings' walk, which passes open findings only:
            // the text walk passed the ~2,000 closed findings a reimport leaves at the top as
            // well, and tested each match's open state (p50 5-6 → 7.9 ms mixed).
            let rare = expected_walk(total, all, p.offset, p.per_page)
                >= self
                    .text_walk_from
                    .load(std::sync::atomic::Ordering::Relaxed);
            if let Some(text) = p.text_walk().filter(|_| rare) {
                walks.extend(
                    walk_window(total, all, p.offset, p.per_page)
                        .map(|w| w.saturating_mul(TEXT_WINDOW_FACTOR).min(MAX_WALK_WINDOW))
                        .map(budget)
                        .map(|window| p.text_window(text, window)),
                );
            }
            walks.extend(
                window
                    .map(budget)
                    .zip(p.sort.walk_keys())
                    .map(|(window, keys)| p.findings_window(window, keys, backend)),
            );
        }
        // A window too short for the page (the matches bunched further along) gathers.
        for q in walks {
            let Some(findings) = self.findings_of(conn, &rows_of(&q), check).await? else {
                return Ok(None);
            };
            if findings.len() >= wanted {
                return Ok(Some(QueuePage {
                    findings,
                    total,
                    products,
                }));
            }
        }
        let findings = self
            .findings_of(conn, &rows_of(&p.gathered(backend)), check)
            .await?;
        Ok(findings.map(|findings| QueuePage {
            findings,
            total,
            products,
        }))
    }

    /// PostgreSQL: the count `count` (`total`, its whole) in the transaction of `conn`, as the
    /// sum of its products' parts: each remembered under the product's number of changes that
    /// `versions` gives (`id:changes,…`, `FindingFilter::product_versions`), the others counted
    /// in one statement grouped by product. The first reader of a stale part counts every part
    /// stale for it; the others asking meanwhile wait for that count (if it fails, the next in
    /// line counts). Without `may_count` (outside a snapshot: a part counted there could be of a
    /// later state than `versions` says), None when a part is not remembered yet.
    async fn remembered_count(
        &self,
        conn: &mut PgConnection,
        count: &FindingCount,
        total: &Sql,
        versions: &str,
        may_count: bool,
    ) -> Result<Option<i64>> {
        let mut products = Vec::new();
        for pair in versions.split(',').filter(|p| !p.is_empty()) {
            let parsed = pair
                .split_once(':')
                .and_then(|(id, n)| Some((id.parse::<i64>().ok()?, n.parse::<i64>().ok()?)));
            match parsed {
                Some(product) => products.push(product),
                None => {
                    return Err(StoreError::Corrupt(format!(
                        "a product's number of changes reads {pair:?}"
                    )))
                }
            }
        }
        let cells: Vec<(i64, CountCell)> = {
            let key = CountCache::key(total);
            let mut cache = self.count_cache();
            let cells = products
                .iter()
                .map(|&(id, changes)| (id, cache.cell(&key, id, changes)))
                .collect();
            cache.keep_recount(&key, count);
            cells
        };
        let stale: Vec<&(i64, CountCell)> = cells
            .iter()
            .filter(|(_, cell)| !cell.initialized())
            .collect();
        if !may_count && !stale.is_empty() {
            return Ok(None);
        }
        let mut counted: std::collections::HashMap<i64, i64> = Default::default();
        if let Some(((first, first_cell), others)) = stale.split_first() {
            first_cell
                .get_or_try_init(|| async {
                    // Every product stale: no list of them (the filter's own scope).
                    let ids: Vec<i64> = stale.iter().map(|(id, _)| *id).collect();
                    let only = (stale.len() < cells.len()).then_some(ids.as_slice());
                    for row in count
                        .by_product(only)
                        .pg_query()?
                        .fetch_all(&mut *conn)
                        .await?
                    {
                        counted.insert(row.i64("product_id")?, row.i64("n")?);
                    }
                    for (id, cell) in others {
                        // Another reader may be filling it, with the same count.
                        let _ = cell.set(counted.get(id).copied().unwrap_or(0));
                    }
                    Ok::<i64, StoreError>(counted.get(first).copied().unwrap_or(0))
                })
                .await?;
        }
        let mut sum = 0i64;
        for (id, cell) in &cells {
            sum += match counted.get(id) {
                Some(n) => *n,
                // Remembered, filled meanwhile by another reader, or (rarely: its count failed,
                // or it was stale for this reader only) counted alone.
                None => {
                    *cell
                        .get_or_try_init(|| async {
                            let rows = count
                                .by_product(Some(&[*id]))
                                .pg_query()?
                                .fetch_all(&mut *conn)
                                .await?;
                            match rows.first() {
                                Some(row) => row.i64("n"),
                                None => Ok(0),
                            }
                        })
                        .await?
                }
            };
        }
        Ok(Some(sum))
    }

    /// The queue rows `q` (from [`rows_of`]) reads, in the page's order. With a check (the
    /// statement reading the products' numbers of changes, and what an earlier statement of the
    /// page read), the same statement reads them again and gives None if they moved.
    async fn findings_of(
        &self,
        conn: &mut PgConnection,
        q: &Sql,
        check: Option<(&Sql, &str)>,
    ) -> Result<Option<Vec<QueueRow>>> {
        let Some((read_versions, versions)) = check else {
            return in_page_order(&q.pg_query()?.fetch_all(conn).await?).map(Some);
        };
        // The numbers on every row (the page's first row alone would need its order here), or on
        // the one row of an empty page.
        let mut checked = Sql::new("SELECT v.versions AS versions_now, r.* FROM (");
        checked
            .embed(read_versions)
            .push(") v LEFT JOIN LATERAL (")
            .embed(q)
            .push(") r ON true");
        let rows = checked.pg_query()?.fetch_all(conn).await?;
        for row in &rows {
            if row.string("versions_now")? != versions {
                return Ok(None);
            }
        }
        in_page_order(&rows).map(Some)
    }

    /// PostgreSQL, in a writer's transaction just before it commits: the parts of `products` of
    /// the counts readers asked for lately ([`RECOUNT_ASKED_WITHIN`], at most [`RECOUNT_COUNTS`],
    /// for at most [`RECOUNT_BUDGET`]), counted again on the data the commit will show. The
    /// writer holds those products' rows ([`Store::lock_products`]): nobody else moves their
    /// numbers of changes before it commits, so a part counted here is the part every later
    /// snapshot reads. Remembered once the commit succeeds ([`Store::remember_recounted`]), the
    /// readers after a reimport find its counts ready, where the first reader of each view
    /// counted (`q=module7/pkg`: 110k rows of the reimported product's `finding_text`, 25–72 ms).
    /// A count that fails is left to the readers, never the write's error: the counts run in a
    /// savepoint, which keeps the writer's transaction whole.
    pub(crate) async fn recount_for_commit(
        &self,
        conn: &mut AnyConnection,
        products: &[i64],
    ) -> Recounted {
        if self.backend != Backend::Postgres {
            return Recounted::default();
        }
        let since = std::time::Instant::now()
            .checked_sub(RECOUNT_ASKED_WITHIN)
            .unwrap_or_else(std::time::Instant::now);
        let asked: Vec<(i64, Vec<AskedCount>)> = {
            let cache = self.count_cache();
            products
                .iter()
                .map(|&p| (p, cache.asked_since(p, since, RECOUNT_COUNTS)))
                .filter(|(_, counts)| !counts.is_empty())
                .collect()
        };
        if asked.is_empty() {
            return Recounted::default();
        }
        match self.recount_in(conn, &asked).await {
            Ok(recounted) => recounted,
            Err(e) => {
                tracing::warn!(error = %e, "counting the queue's remembered counts before a commit failed: left to their readers");
                Recounted::default()
            }
        }
    }

    async fn recount_in(
        &self,
        conn: &mut AnyConnection,
        asked: &[(i64, Vec<AskedCount>)],
    ) -> Result<Recounted> {
        let started = std::time::Instant::now();
        // Dropped on an error: rolled back to the savepoint before the writer's next statement.
        let mut savepoint = sqlx::Connection::begin(&mut *conn).await?;
        let mut q = Sql::new("SELECT id, changes FROM products WHERE id IN ");
        q.list(asked.iter().map(|(p, _)| *p));
        let mut numbers = std::collections::HashMap::new();
        for row in q.query(self.backend)?.fetch_all(&mut *savepoint).await? {
            numbers.insert(get_i64(&row, "id")?, get_i64(&row, "changes")?);
        }
        let mut recounted = Vec::new();
        'products: for (product, counts) in asked {
            let Some(&changes) = numbers.get(product) else {
                continue;
            };
            for (key, count) in counts {
                if started.elapsed() >= RECOUNT_BUDGET {
                    break 'products;
                }
                let rows = count
                    .by_product(Some(&[*product]))
                    .query(self.backend)?
                    .fetch_all(&mut *savepoint)
                    .await?;
                let n = match rows.first() {
                    Some(row) => get_i64(row, "n")?,
                    None => 0,
                };
                recounted.push((key.clone(), *product, changes, n));
            }
        }
        savepoint.commit().await?;
        Ok(Recounted(recounted))
    }

    /// Remembers the parts a writer counted before its commit ([`Store::recount_for_commit`]),
    /// once the commit succeeded.
    pub(crate) fn remember_recounted(&self, recounted: Recounted) {
        let mut cache = self.count_cache();
        for (key, product, changes, n) in recounted.0 {
            // A reader of the new data may have counted it meanwhile: the same count.
            let _ = cache.cell_for(&key, product, changes, false).set(n);
        }
    }

    /// The remembered counts (`CountCache`). A panic while they were held leaves whole entries
    /// (each is one insert): the lock's poison is ignored.
    fn count_cache(&self) -> std::sync::MutexGuard<'_, CountCache> {
        self.count_cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The remembered trigram counts. A panic while they were held leaves at worst a stale
    /// count, which only makes a choice slower: the lock's poison is ignored.
    fn trigram_counts(&self) -> std::sync::MutexGuard<'_, TrigramCounts> {
        self.trigram_counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How the filter's text narrows: on SQLite, the rarest few of its trigrams (by the counts of
    /// `finding_text_vocab`, remembered a while); on PostgreSQL, the trigram-indexed text table.
    async fn text_search(&self, filter: &FindingFilter) -> Result<TextSearch> {
        let Some(t) = filter.text.as_deref().filter(|t| !t.is_empty()) else {
            return Ok(TextSearch::Scan);
        };
        if self.backend == Backend::Postgres {
            return Ok(TextSearch::TextTable);
        }
        let grams = trigrams(t);
        if grams.is_empty() {
            return Ok(TextSearch::Scan);
        }
        let missing: Vec<String> = {
            let counts = self.trigram_counts();
            grams
                .iter()
                .filter(|g| counts.fresh(g).is_none())
                .cloned()
                .collect()
        };
        if !missing.is_empty() {
            // The index folds case: its terms are lower-cased.
            const COUNT: &str = "SELECT doc FROM finding_text_vocab WHERE term = ?1";
            let found: Vec<(String, i64)> = if let Some(reader) = &self.reader {
                reader.with(|conn| {
                    use rusqlite::OptionalExtension as _;
                    let mut statement = conn.prepare_cached(COUNT)?;
                    missing
                        .iter()
                        .map(|g| {
                            let n: Option<i64> = statement
                                .query_row([g.to_lowercase()], |r| r.get(0))
                                .optional()?;
                            Ok((g.clone(), n.unwrap_or(0)))
                        })
                        .collect()
                })?
            } else {
                let mut found = Vec::with_capacity(missing.len());
                for g in &missing {
                    let n: Option<i64> = sqlx::query_scalar(COUNT)
                        .bind(g.to_lowercase())
                        .fetch_optional(&self.pool)
                        .await?;
                    found.push((g.clone(), n.unwrap_or(0)));
                }
                found
            };
            let mut counts = self.trigram_counts();
            for (g, n) in found {
                counts.remember(g, n);
            }
        }
        let counts = self.trigram_counts();
        let mut ranked: Vec<(&String, i64)> = grams
            .iter()
            .map(|g| (g, counts.fresh(g).unwrap_or(i64::MAX)))
            .collect();
        ranked.sort_by_key(|(_, n)| *n);
        let chosen: Vec<&String> = ranked
            .iter()
            .take(SEARCH_TRIGRAMS)
            .map(|(g, _)| *g)
            .collect();
        Ok(TextSearch::Trigrams(fts_query(&chosen)))
    }

    /// The ids of every finding the filter matches, in the queue's order (exports read them in
    /// chunks with [`Store::queue_findings`]).
    pub async fn queue_ids(
        &self,
        filter: &FindingFilter,
        sort: QueueSort,
        now: Timestamp,
    ) -> Result<Vec<i64>> {
        let text = self.text_search(filter).await?;
        let w = filter.where_clause(now, &text, self.backend);
        let mut ids = Sql::new(format!("SELECT f.id{}", w.text));
        ids.args = w.args;
        ids.push(sort.order_by(self.backend));
        if let Some(reader) = &self.reader {
            return reader.with(|conn| sqlite_ids(conn, &ids));
        }
        ids.query(self.backend)?
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| get_i64(r, "id"))
            .collect()
    }

    /// These findings (in this order; unknown ids, and other products' when limited, left out).
    pub async fn queue_findings(
        &self,
        ids: &[i64],
        restrict_to_product: Option<i64>,
    ) -> Result<Vec<StoredFinding>> {
        let rows = if let Some(reader) = &self.reader {
            reader.with(|conn| sqlite_findings(conn, ids))?
        } else {
            let mut conn = self.pool.acquire().await?;
            self.findings_in_order(&mut conn, ids, None).await?
        };
        Ok(rows
            .into_iter()
            .filter(|f| restrict_to_product.is_none_or(|p| p == f.product_id))
            .collect())
    }

    /// The queue rows of `ids` in that order, through sqlx (SQLite without its direct reader).
    async fn queue_rows_in_order(
        &self,
        conn: &mut AnyConnection,
        ids: &[i64],
    ) -> Result<Vec<QueueRow>> {
        let mut found = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let mut q = Sql::new(format!(
                "SELECT {QUEUE_COLUMNS} FROM findings f WHERE f.id IN "
            ));
            q.list(chunk.iter().copied());
            for row in q.query(self.backend)?.fetch_all(&mut *conn).await? {
                let r = queue_row_from_row(&row)?;
                found.insert(r.id, r);
            }
        }
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// The findings of `ids` in that order, through sqlx (`FOR UPDATE` when `lock`).
    async fn findings_in_order(
        &self,
        conn: &mut AnyConnection,
        ids: &[i64],
        lock: Option<Option<i64>>,
    ) -> Result<Vec<StoredFinding>> {
        let mut found = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let mut q = Sql::new(format!(
                "SELECT {FINDING_COLUMNS}{FINDING_FROM} WHERE f.id IN "
            ));
            q.list(chunk.iter().copied());
            if let Some(Some(p)) = lock {
                q.push(" AND f.product_id = ").arg(p);
            }
            if lock.is_some() && self.backend == Backend::Postgres {
                q.push(" ORDER BY f.id FOR UPDATE OF f");
            }
            for row in q.query(self.backend)?.fetch_all(&mut *conn).await? {
                let f = finding_from_row(&row)?;
                found.insert(f.id, f);
            }
        }
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// Applies `action` to the target findings in one transaction, as `actor`, each change
    /// logged (`finding_events`) with the actor and the reason. Closing actions skip findings
    /// that are not open (counted as skipped); ids the caller may not see count as missing.
    /// More than [`BULK_CAP`] findings is refused, nothing changed.
    #[allow(clippy::too_many_arguments)]
    pub async fn bulk_triage(
        &self,
        target: &BulkTarget,
        action: &BulkAction,
        reason: &str,
        actor: &str,
        restrict_to_product: Option<i64>,
        now: Timestamp,
    ) -> Result<BulkOutcome> {
        let reason = reason.trim();
        if reason.is_empty() && !matches!(action, BulkAction::Priority(_)) {
            return Err(StoreError::Invalid(
                "a reason is required (it is recorded with each finding)".into(),
            ));
        }
        if let BulkAction::CloseRiskAccepted { until } = action {
            if tollgate_policy::Date::parse(until).is_none() {
                return Err(StoreError::Invalid(format!(
                    "until: {until:?} is not a date (YYYY-MM-DD)"
                )));
            }
        }
        let too_many = |n: i64| {
            StoreError::Invalid(format!(
                "{n} findings selected; bulk triage takes at most {BULK_CAP} at once: narrow the filter"
            ))
        };
        // Before the transaction: an in-memory SQLite store has one connection.
        let text = match target {
            BulkTarget::Filter(filter) => self.text_search(filter).await?,
            BulkTarget::Ids(_) => TextSearch::Scan,
        };
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let mut ids = match target {
            BulkTarget::Ids(ids) => {
                let mut ids = ids.clone();
                ids.sort_unstable();
                ids.dedup();
                if ids.len() as i64 > BULK_CAP {
                    return Err(too_many(ids.len() as i64));
                }
                ids
            }
            BulkTarget::Filter(filter) => {
                let mut filter = (**filter).clone();
                if restrict_to_product.is_some() {
                    filter.restrict_to_product = restrict_to_product;
                }
                let w = filter.where_clause(now, &text, self.backend);
                let mut count = Sql::new(format!("SELECT COUNT(*) AS n{}", w.text));
                count.args = w.args.clone();
                let n = get_i64(&count.query(self.backend)?.fetch_one(&mut *tx).await?, "n")?;
                if n > BULK_CAP {
                    return Err(too_many(n));
                }
                let mut q = Sql::new(format!("SELECT f.id{}", w.text));
                q.args = w.args;
                q.query(self.backend)?
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| get_i64(r, "id"))
                    .collect::<Result<Vec<_>>>()?
            }
        };
        ids.sort_unstable();
        let products = self.lock_products_of(&mut tx, &ids).await?;
        let found = self
            .findings_in_order(&mut tx, &ids, Some(restrict_to_product))
            .await?;
        let mut outcome = BulkOutcome {
            missing: (ids.len() - found.len()) as i64,
            ..BulkOutcome::default()
        };
        let (take, skip): (Vec<StoredFinding>, Vec<StoredFinding>) = found
            .into_iter()
            .partition(|f| !action.closes() || f.status.is_open());
        outcome.skipped = skip.len() as i64;
        outcome.changed = take.len() as i64;
        if take.is_empty() {
            return Ok(outcome);
        }
        let take_ids: Vec<i64> = take.iter().map(|f| f.id).collect();

        // The finding rows.
        for chunk in take_ids.chunks(CHUNK) {
            let mut q = Sql::new("UPDATE findings SET triaged = ");
            q.arg(true).push(", updated_at = ").arg(now);
            match action {
                BulkAction::Priority(p) => {
                    q.push(", priority = ").arg(p.as_str());
                }
                BulkAction::Note => {}
                BulkAction::FalsePositive => {
                    q.push(", false_p = ")
                        .arg(true)
                        .push(", is_open = ")
                        .arg(false);
                }
                close => {
                    let closed_as = close.closed_as().map(ClosedAs::as_str);
                    q.push(", closed_as = ")
                        .arg(closed_as)
                        .push(", permanently_closed = ")
                        .arg(false)
                        .push(", is_open = ")
                        .arg(false);
                    if let BulkAction::CloseRiskAccepted { until } = close {
                        q.push(", risk_accepted = ")
                            .arg(true)
                            .push(", risk_accepted_until = ")
                            .arg(until.as_str());
                    }
                }
            }
            q.push(" WHERE id IN ").list(chunk.iter().copied());
            q.query(self.backend)?.execute(&mut *tx).await?;
        }

        // Counters, notes and the log.
        let detail = match action {
            BulkAction::Priority(p) => {
                if reason.is_empty() {
                    p.as_str().to_string()
                } else {
                    format!("{}: {reason}", p.as_str())
                }
            }
            BulkAction::Note => reason.to_string(),
            BulkAction::FalsePositive => format!("Marked a false positive: {reason}"),
            BulkAction::CloseRiskAccepted { until } => {
                format!("Closed as CLOSED_RISK_ACCEPTED until {until}: {reason}")
            }
            close => format!(
                "Closed as {}: {reason}",
                close.closed_as().map(ClosedAs::as_str).unwrap_or_default()
            ),
        };
        if action.closes() {
            let mut per_product = std::collections::BTreeMap::<i64, i64>::new();
            for f in &take {
                *per_product.entry(f.product_id).or_default() += 1;
            }
            for (product, n) in per_product {
                self.adjust_counts(&mut tx, product, -n, n).await?;
            }
        }
        if action.closes() || *action == BulkAction::Note {
            for chunk in take_ids.chunks(CHUNK) {
                let mut q = Sql::new(
                    "INSERT INTO notes (finding_id, author, text, kind, created_at) VALUES ",
                );
                for (i, id) in chunk.iter().enumerate() {
                    if i > 0 {
                        q.push(", ");
                    }
                    q.list::<Arg>([
                        (*id).into(),
                        actor.into(),
                        detail.as_str().into(),
                        "internal".into(),
                        now.into(),
                    ]);
                }
                q.query(self.backend)?.execute(&mut *tx).await?;
            }
        }
        let kind = match action {
            BulkAction::Priority(_) => EventKind::Priority,
            BulkAction::Note => EventKind::Note,
            _ => EventKind::Closed,
        };
        let after: Vec<(i64, i64, Severity, FindingStatus)> = take
            .iter()
            .map(|f| {
                let mut s = f.status.clone();
                match action {
                    BulkAction::Priority(p) => s.priority = Some(*p),
                    BulkAction::Note => {}
                    BulkAction::FalsePositive => s.false_p = true,
                    close => {
                        s.closed_as = close.closed_as();
                        s.permanently_closed = false;
                        if let BulkAction::CloseRiskAccepted { until } = close {
                            s.risk_accepted = true;
                            s.risk_accepted_until = Some(until.clone());
                        }
                    }
                }
                (f.id, f.product_id, f.severity(), s)
            })
            .collect();
        let events: Vec<NewEvent> = after
            .iter()
            .map(|(id, product_id, severity, status)| NewEvent {
                finding_id: *id,
                product_id: *product_id,
                kind,
                status,
                severity: *severity,
                import_id: None,
                actor: Some(actor),
                detail: Some(&detail),
            })
            .collect();
        let deltas = crate::events::append(self.backend, &mut tx, now, &events).await?;
        // Written last in the transaction (see events::add_open_deltas).
        crate::events::add_open_deltas(self.backend, &mut tx, now, deltas).await?;
        let recounted = self.recount_for_commit(&mut tx, &products).await;
        tx.commit().await?;
        self.remember_recounted(recounted);
        drop(_guard);
        self.vacuum_after_writes(outcome.changed).await;
        Ok(outcome)
    }
}

/// The ids a query of `SELECT f.id …` returns, on SQLite's direct read path.
/// The ids `q` selects, through sqlx.
async fn fetch_ids(backend: Backend, q: Sql, conn: &mut AnyConnection) -> Result<Vec<i64>> {
    q.query(backend)?
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| get_i64(r, "id"))
        .collect()
}

/// The ids `q` selects, unless SQLite runs out of `budget` virtual-machine steps first (`None`:
/// the walk was long; the read transaction goes on). A budget of roughly 100,000 steps is a few
/// milliseconds.
fn sqlite_ids_within(
    conn: &rusqlite::Connection,
    q: &Sql,
    budget: u64,
) -> Result<Option<Vec<i64>>> {
    const STEPS_PER_CALL: u64 = 1_000;
    let mut calls = 0u64;
    conn.progress_handler(
        STEPS_PER_CALL as std::os::raw::c_int,
        Some(move || {
            calls += 1;
            calls.saturating_mul(STEPS_PER_CALL) > budget
        }),
    );
    let params = q.sqlite_params()?;
    let ids = (|| -> rusqlite::Result<Vec<i64>> {
        let mut stmt = conn.prepare_cached(q.sqlite_text())?;
        let mut rows = stmt.query(params)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(row.get(0)?);
        }
        Ok(out)
    })();
    conn.progress_handler(0, None::<fn() -> bool>);
    match ids {
        Ok(ids) => Ok(Some(ids)),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::OperationInterrupted =>
        {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

fn sqlite_ids(conn: &rusqlite::Connection, q: &Sql) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(q.sqlite_text())?;
    let mut rows = stmt.query(q.sqlite_params()?)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(row.get(0)?);
    }
    Ok(out)
}

/// The products `q` ([`FindingFilter::visible_products`]) selects, on SQLite's direct read path.
fn sqlite_products(conn: &rusqlite::Connection, q: &Sql) -> Result<Vec<(i64, String)>> {
    let mut stmt = conn.prepare_cached(q.sqlite_text())?;
    let mut rows = stmt.query(q.sqlite_params()?)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push((row.get(0)?, row.get(1)?));
    }
    Ok(out)
}

/// The findings of `ids`, in that order, on SQLite's direct read path.
fn sqlite_findings(conn: &rusqlite::Connection, ids: &[i64]) -> Result<Vec<StoredFinding>> {
    let select = format!("SELECT {FINDING_COLUMNS}{FINDING_FROM}");
    sqlite_by_ids(conn, ids, &select, finding_from_sqlite_row, |f| f.id)
}

/// The queue rows of `ids`, in that order, on SQLite's direct read path.
fn sqlite_queue_rows(conn: &rusqlite::Connection, ids: &[i64]) -> Result<Vec<QueueRow>> {
    let select = format!("SELECT {QUEUE_COLUMNS} FROM findings f");
    sqlite_by_ids(conn, ids, &select, queue_row_from_sqlite_row, |r| r.id)
}

/// What `select` (`SELECT … FROM findings f …`) reads of the findings `ids`, decoded, in the
/// order of `ids` (unknown ids left out), on SQLite's direct read path.
fn sqlite_by_ids<T>(
    conn: &rusqlite::Connection,
    ids: &[i64],
    select: &str,
    decode: fn(&rusqlite::Row<'_>) -> Result<T>,
    id_of: fn(&T) -> i64,
) -> Result<Vec<T>> {
    let mut found = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let mut q = Sql::new(format!("{select} WHERE f.id IN "));
        q.list(chunk.iter().copied());
        // Not cached: the IN list's length varies.
        let mut stmt = conn.prepare(q.sqlite_text())?;
        let mut rows = stmt.query(q.sqlite_params()?)?;
        while let Some(row) = rows.next()? {
            let item = decode(row)?;
            found.insert(id_of(&item), item);
        }
    }
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_severity_asked_for_is_known_as_one() {
        let with = |severities: Vec<Severity>| FindingFilter {
            severities,
            ..FindingFilter::default()
        };
        assert_eq!(with(vec![]).single_severity_rank(), None);
        assert_eq!(
            with(vec![Severity::Low]).single_severity_rank(),
            Some(severity_rank(Severity::Low))
        );
        assert_eq!(
            with(vec![Severity::High, Severity::High]).single_severity_rank(),
            Some(severity_rank(Severity::High))
        );
        assert_eq!(
            with(vec![Severity::High, Severity::Low]).single_severity_rank(),
            None
        );
    }

    #[test]
    fn a_remembered_part_is_kept_at_its_newest_number() {
        let mut cache = CountCache::default();
        let key = CountCache::key(&Sql::new("SELECT COUNT(*) AS n FROM findings f"));
        let cell = cache.cell(&key, 7, 3);
        cell.set(40).unwrap();
        // The same product at the same number: the same count.
        assert_eq!(cache.cell(&key, 7, 3).get(), Some(&40));
        // Another product, or another count: their own.
        assert_eq!(cache.cell(&key, 8, 3).get(), None);
        let other = CountCache::key(&Sql::new("SELECT COUNT(*) AS n FROM findings g"));
        assert_eq!(cache.cell(&other, 7, 3).get(), None);
        // An older snapshot's number: counted apart, not remembered over the newer one.
        cache.cell(&key, 7, 2).set(39).unwrap();
        assert_eq!(cache.cell(&key, 7, 3).get(), Some(&40));
        // A newer number: counted again, and kept.
        assert_eq!(cache.cell(&key, 7, 4).get(), None);
        cache.cell(&key, 7, 4).set(41).unwrap();
        assert_eq!(cache.cell(&key, 7, 4).get(), Some(&41));
        assert_eq!(cache.cell(&key, 7, 3).get(), None);
        assert_eq!(cache.parts, 3);
    }

    #[test]
    fn a_count_per_product_names_its_products() {
        let count = FindingCount {
            from: {
                let mut from = Sql::new(" FROM finding_text x WHERE x.text LIKE ");
                from.arg("%a%");
                from
            },
            product: "x.product_id",
        };
        assert_eq!(
            count.total().text,
            "SELECT COUNT(*) AS n FROM finding_text x WHERE x.text LIKE $1"
        );
        assert_eq!(
            count.by_product(Some(&[3, 10])).text,
            "SELECT x.product_id AS product_id, COUNT(*) AS n FROM finding_text x \
             WHERE x.text LIKE $1 AND x.product_id IN (3, 10) GROUP BY 1"
        );
        assert_eq!(
            count.by_product(None).text,
            "SELECT x.product_id AS product_id, COUNT(*) AS n FROM finding_text x \
             WHERE x.text LIKE $1 GROUP BY 1"
        );
    }

    #[test]
    fn only_plain_words_are_written_as_literals() {
        assert_eq!(plain_literal("tier-2").as_deref(), Some("'tier-2'"));
        assert_eq!(plain_literal("2026-12-05").as_deref(), Some("'2026-12-05'"));
        assert_eq!(plain_literal("ios_v1.2").as_deref(), Some("'ios_v1.2'"));
        for bound in [
            "",
            "it's",
            "a b",
            "x\\",
            "x'--",
            "é",
            "a;b",
            &"x".repeat(65),
        ] {
            assert_eq!(plain_literal(bound), None, "{bound:?}");
        }
    }

    #[test]
    fn a_windows_keys_are_the_order_postgresql_sorts_by() {
        for sort in QueueSort::ALL {
            let Some(keys) = sort.walk_keys() else {
                assert_eq!(sort, QueueSort::Product);
                continue;
            };
            let written: Vec<String> = keys
                .iter()
                .map(|(e, _, desc)| format!("{e}{}", if *desc { " DESC" } else { "" }))
                .collect();
            assert_eq!(
                format!(" ORDER BY {}", written.join(", ")),
                sort.order_by(Backend::Postgres),
                "{}",
                sort.as_str()
            );
            assert_eq!(keys.last().map(|k| k.1), Some("id"), "ties by id");
        }
    }

    #[test]
    fn the_text_search_cuts_trigrams_as_fts5_does_and_quotes_each() {
        assert_eq!(trigrams("ab"), Vec::<String>::new());
        assert_eq!(trigrams("abcab"), ["abc", "bca", "cab"]);
        // Characters, not bytes; repeats once.
        assert_eq!(trigrams("ééé é"), ["ééé", "éé ", "é é"]);
        assert_eq!(trigrams(&("x".repeat(40) + &"y".repeat(40))).len(), 4);
        let long: String = ('a'..='z').chain('A'..='Z').collect();
        assert_eq!(trigrams(&long).len(), 32);
        // A quote in the text is a quote in a string, never syntax.
        let abc = "abc".to_string();
        let quoted = "a\"b".to_string();
        assert_eq!(fts_query(&[&abc, &quoted]), "\"abc\" \"a\"\"b\"");
    }

    #[test]
    fn a_common_facet_walks_the_order_and_a_rare_one_is_read_whole() {
        // cwe=79 on the 1M-finding bench hub: 92,800 of 1,050,000 findings, first page of 50.
        let common = page_form(92_800, 1_050_000, 0, 50, true);
        assert_eq!(common, PageForm::Walk);
        // The same facet, page 2,000: the walk (~1.1M findings) is longer than the 92,800.
        assert_eq!(
            page_form(92_800, 1_050_000, 99_950, 50, true),
            PageForm::Gather
        );
        // A vulnerability id on 3 findings, and none.
        assert_eq!(page_form(3, 1_050_000, 0, 50, true), PageForm::Gather);
        assert_eq!(page_form(0, 1_050_000, 0, 50, true), PageForm::Gather);
        // No index holds the order (sort=product): never walk.
        assert_eq!(page_form(92_800, 1_050_000, 0, 50, false), PageForm::Gather);
        // Counters behind (all < matching): the walk is a page of matches.
        assert_eq!(page_form(900, 10, 0, 50, true), PageForm::Walk);
        // PostgreSQL's window: twice the expected walk (1,130 here), rounded up to its three
        // leading bits (1,130 = 0b100_0110_1010 → 0b100_1000_0000), within bounds.
        assert_eq!(walk_window(92_800, 1_050_000, 0, 50), Some(1_152));
        assert_eq!(walk_window(92_800, 1_050_000, 50, 50), Some(2_304));
        assert_eq!(walk_window(1_000_000, 1_050_000, 0, 50), Some(1_024));
        assert_eq!(walk_window(11_240, 1_050_000, 0, 50), Some(10_240));
        assert_eq!(walk_window(60_000, 1_050_000, 500, 50), Some(20_480));
        let sizes: std::collections::BTreeSet<i64> = (1..=100_000)
            .filter_map(|m| walk_window(m, 1_050_000, 0, 50))
            .collect();
        assert!(sizes.len() <= 40, "{sizes:?}");
        for m in [6_000, 20_000, 100_000, 1_000_000] {
            let exact = (expected_walk(m, 1_050_000, 0, 50) * 2).clamp(1_000, 20_000);
            let w = walk_window(m, 1_050_000, 0, 50).unwrap();
            assert!(w >= exact && w <= exact + exact / 8, "{m}: {w} for {exact}");
        }
        assert_eq!(walk_window(92_800, 1_050_000, 99_950, 50), None);
        assert_eq!(walk_window(0, 1_050_000, 0, 50), None);
    }
}
