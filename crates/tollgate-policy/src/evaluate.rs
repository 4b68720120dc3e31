//! The gate decision: a pure function of (findings, reports, policy, context, baseline, today).

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use tollgate_model::{Finding, Scanner, Severity};

use crate::context::Context;
use crate::date::Date;
use crate::policy::{Policy, StateFilter, Verdict};

/// What one input report gave the gate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InputReport {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    pub scanners: Vec<Scanner>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    pub findings: u64,
    /// Why the scan is known to be incomplete (scanner logs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<String>,
    /// Why the report could not be read or parsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The input that holds this report's scan (a MobSF scorecard given beside its full report):
    /// this report's findings are not counted again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counted_in: Option<String>,
}

/// Fingerprints of a previous run (a `security-gate-summary.json`, or the hub).
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    pub fingerprints: HashSet<String>,
    /// Where it came from, for the summary.
    pub source: String,
}

/// What to do when input is broken, incomplete or missing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    #[default]
    Closed,
    Open,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    New,
    Existing,
}

/// What the gate did with one finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    Block,
    Warn,
    Info,
    /// No rule matched.
    Advisory,
    /// A waiver applies.
    Waived,
    /// The scanner itself suppressed it.
    Suppressed,
}

impl Disposition {
    pub const ALL: [Disposition; 6] = [
        Disposition::Block,
        Disposition::Warn,
        Disposition::Info,
        Disposition::Advisory,
        Disposition::Waived,
        Disposition::Suppressed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Block => "block",
            Disposition::Warn => "warn",
            Disposition::Info => "info",
            Disposition::Advisory => "advisory",
            Disposition::Waived => "waived",
            Disposition::Suppressed => "suppressed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluated {
    pub state: State,
    pub disposition: Disposition,
    /// The rule that matched (index into `Policy::rules`), even when waived or suppressed.
    pub rule: Option<usize>,
    /// The waiver that applies (index into `Policy::waivers`).
    pub waiver: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Outcome {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReasonKind {
    /// A policy rule matched findings.
    Rule,
    /// A report could not be read or parsed.
    BrokenReport,
    /// A scanner's own logs show it failed part-way.
    IncompleteScan,
    /// `[require] scanners` names a scanner no report provides.
    MissingScanner,
}

/// Why the gate decided as it did: one per rule that fired, and one per fail-closed condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub kind: ReasonKind,
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub message: String,
    /// Indexes of the findings concerned (into the input findings).
    #[serde(skip)]
    pub findings: Vec<usize>,
}

/// A waiver and the findings it concerns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaiverUse {
    pub waiver: usize,
    #[serde(skip)]
    pub findings: Vec<usize>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WaiverReport {
    pub applied: Vec<WaiverUse>,
    /// Expired waivers, with the findings they would still have matched.
    pub expired: Vec<WaiverUse>,
    /// Waivers (not expired) that match no finding.
    pub stale: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub outcome: Outcome,
    /// Blocking reasons first, then warnings, then info.
    pub reasons: Vec<Reason>,
    /// One per input finding, same order.
    pub evaluated: Vec<Evaluated>,
    pub waivers: WaiverReport,
    /// Counts by severity × state × disposition.
    pub counts: BTreeMap<(Severity, State, Disposition), u64>,
    /// Things the reader must know (no baseline, build assumed, fail-open).
    pub notes: Vec<String>,
}

pub struct GateInput<'a> {
    pub findings: &'a [Finding],
    pub reports: &'a [InputReport],
    pub policy: &'a Policy,
    pub context: &'a Context,
    pub baseline: Option<&'a Baseline>,
    pub today: Date,
    pub on_error: OnError,
}

/// Decides. Pure: everything it needs is in `input`.
pub fn evaluate(input: &GateInput<'_>) -> Decision {
    let mut ev = Evaluator::new(input.policy, input.context, input.baseline, input.today);
    for f in input.findings {
        ev.push(f);
    }
    ev.finish(input.reports, input.on_error)
}

/// The same decision, one finding at a time: a gate can evaluate findings while the parser is
/// still producing them. `push` findings in order, then `finish`. (Or [`Judge::judge`] them on
/// any thread and [`Evaluator::record`] the judgements in order: the same decision.)
pub struct Evaluator<'a> {
    judge: Judge<'a>,
    applied: BTreeMap<usize, Vec<usize>>,
    expired: BTreeMap<usize, Vec<usize>>,
    by_rule: BTreeMap<usize, Vec<usize>>,
    counts: BTreeMap<(Severity, State, Disposition), u64>,
    evaluated: Vec<Evaluated>,
    severities: Vec<Severity>,
    context_build_assumed: bool,
    /// A release without a named environment, under a policy with environment-bound rules.
    context_environment_assumed: bool,
}

/// The part of the evaluation that looks at one finding alone (its state, rule and waivers):
/// shared by threads, its [`Judgement`]s recorded in report order by [`Evaluator::record`].
#[derive(Clone)]
pub struct Judge<'a> {
    policy: &'a Policy,
    baseline: Option<&'a Baseline>,
    applicable: Vec<bool>,
    live_waiver: Vec<bool>,
}

/// What [`Judge::judge`] found for one finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub evaluated: Evaluated,
    /// Expired waivers that match it (usually none).
    pub expired: Vec<usize>,
}

impl Judge<'_> {
    pub fn judge(&self, f: &Finding) -> Judgement {
        let policy = self.policy;
        let state = match self.baseline {
            Some(b) if b.fingerprints.contains(f.fingerprint.as_str()) => State::Existing,
            _ => State::New,
        };
        let rule = policy.rules.iter().enumerate().position(|(r, rule)| {
            self.applicable[r]
                && match rule.spec.state {
                    StateFilter::Any => true,
                    StateFilter::New => state == State::New,
                    StateFilter::Existing => state == State::Existing,
                }
                && rule.matches(f)
        });
        let mut waiver = None;
        let mut expired = Vec::new();
        for (w, wv) in policy.waivers.iter().enumerate() {
            if wv.matches(f) {
                if self.live_waiver[w] {
                    waiver.get_or_insert(w);
                } else {
                    expired.push(w);
                }
            }
        }
        let disposition = if f.suppressed {
            Disposition::Suppressed
        } else if waiver.is_some() {
            Disposition::Waived
        } else {
            match rule.map(|r| policy.rules[r].spec.verdict) {
                Some(Verdict::Block) => Disposition::Block,
                Some(Verdict::Warn) => Disposition::Warn,
                Some(Verdict::Info) => Disposition::Info,
                None => Disposition::Advisory,
            }
        };
        Judgement {
            evaluated: Evaluated {
                state,
                disposition,
                rule,
                waiver,
            },
            expired,
        }
    }
}

impl<'a> Evaluator<'a> {
    pub fn new(
        policy: &'a Policy,
        context: &Context,
        baseline: Option<&'a Baseline>,
        today: Date,
    ) -> Self {
        Evaluator {
            judge: Judge {
                policy,
                baseline,
                applicable: policy.rules.iter().map(|r| r.applies_in(context)).collect(),
                live_waiver: policy.waivers.iter().map(|w| w.expires >= today).collect(),
            },
            applied: BTreeMap::new(),
            expired: BTreeMap::new(),
            by_rule: BTreeMap::new(),
            counts: BTreeMap::new(),
            evaluated: Vec::new(),
            severities: Vec::new(),
            context_build_assumed: context.build_assumed,
            context_environment_assumed: context.environment_assumed()
                && policy.rules.iter().any(|r| {
                    r.spec
                        .context
                        .as_ref()
                        .is_some_and(|c| !c.environments.is_empty())
                }),
        }
    }

    /// What judges findings for this evaluator (on other threads too).
    pub fn judge(&self) -> &Judge<'a> {
        &self.judge
    }

    /// Evaluates the next finding (its index is the number of findings pushed before it).
    pub fn push(&mut self, f: &Finding) -> Evaluated {
        let j = self.judge.judge(f);
        self.record(&j, f.severity).0
    }

    /// Records the judgement of the next finding (of this severity), as [`push`](Self::push)
    /// would have. Also returns the finding's place in the lists of findings the decision
    /// names (its reason's, its waiver's, its expired waivers'): the lowest index in any of
    /// them, `None` when no list names it. (A writer that shows only the first N of each list
    /// needs only the findings placed below N.)
    pub fn record(&mut self, j: &Judgement, severity: Severity) -> (Evaluated, Option<usize>) {
        let i = self.evaluated.len();
        let e = j.evaluated;
        let mut place: Option<usize> = None;
        let mut listed = |list: &mut Vec<usize>| {
            place = Some(place.map_or(list.len(), |p| p.min(list.len())));
            list.push(i);
        };
        if let Some(w) = e.waiver {
            listed(self.applied.entry(w).or_default());
        }
        for &w in &j.expired {
            listed(self.expired.entry(w).or_default());
        }
        if let (Some(r), Disposition::Block | Disposition::Warn | Disposition::Info) =
            (e.rule, e.disposition)
        {
            listed(self.by_rule.entry(r).or_default());
        }
        *self
            .counts
            .entry((severity, e.state, e.disposition))
            .or_insert(0u64) += 1;
        self.evaluated.push(e);
        self.severities.push(severity);
        (e, place)
    }

    /// How many findings were pushed.
    pub fn len(&self) -> usize {
        self.evaluated.len()
    }

    pub fn is_empty(&self) -> bool {
        self.evaluated.is_empty()
    }

    /// Forgets every finding from `len` on, as if they had never been pushed (a report that
    /// turns out broken half-way is rejected whole).
    pub fn truncate(&mut self, len: usize) {
        while self.evaluated.len() > len {
            let (Some(e), Some(sev)) = (self.evaluated.pop(), self.severities.pop()) else {
                break;
            };
            let key = (sev, e.state, e.disposition);
            if let Some(n) = self.counts.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    self.counts.remove(&key);
                }
            }
        }
        for map in [&mut self.applied, &mut self.expired, &mut self.by_rule] {
            map.retain(|_, v| {
                v.retain(|i| *i < len);
                !v.is_empty()
            });
        }
    }

    /// Adds the fail-closed conditions of the inputs and decides.
    pub fn finish(self, reports: &[InputReport], on_error: OnError) -> Decision {
        let Evaluator {
            judge:
                Judge {
                    policy,
                    baseline,
                    live_waiver,
                    ..
                },
            applied,
            mut expired,
            by_rule,
            counts,
            evaluated,
            context_build_assumed: build_assumed,
            context_environment_assumed: environment_assumed,
            ..
        } = self;
        let mut reasons = Vec::new();
        let mut notes = Vec::new();
        let fail_verdict = match on_error {
            OnError::Closed => Verdict::Block,
            OnError::Open => Verdict::Warn,
        };
        for report in reports {
            if let Some(err) = &report.error {
                reasons.push(Reason {
                    kind: ReasonKind::BrokenReport,
                    verdict: fail_verdict,
                    rule: None,
                    message: format!("{}: the report cannot be used: {err}", report.file),
                    findings: Vec::new(),
                });
            }
            for why in &report.incomplete {
                reasons.push(Reason {
                    kind: ReasonKind::IncompleteScan,
                    verdict: fail_verdict,
                    rule: None,
                    message: format!("{}: the scan is incomplete: {why}", report.file),
                    findings: Vec::new(),
                });
            }
        }
        for required in &policy.required_scanners {
            let provided = reports.iter().any(|r| {
                r.error.is_none()
                    && (r
                        .scanners
                        .iter()
                        .any(|s| s.name.eq_ignore_ascii_case(required))
                        || r.format
                            .as_deref()
                            .is_some_and(|f| f.eq_ignore_ascii_case(required)))
            });
            if !provided {
                reasons.push(Reason {
                    kind: ReasonKind::MissingScanner,
                    verdict: fail_verdict,
                    rule: None,
                    message: format!(
                        "the policy requires a {required} report, and no input provides one"
                    ),
                    findings: Vec::new(),
                });
            }
        }
        if on_error == OnError::Open && !reasons.is_empty() {
            notes.push(format!(
            "FAIL-OPEN: --on-error open turned {} broken, incomplete or missing input(s) into warnings; this verdict is NOT based on complete evidence",
            reasons.len()
        ));
        }
        for (r, findings) in by_rule {
            let spec = &policy.rules[r].spec;
            let n = findings.len();
            reasons.push(Reason {
                kind: ReasonKind::Rule,
                verdict: spec.verdict,
                rule: Some(spec.name.clone()),
                message: format!(
                    "{} ({n} finding{})",
                    if spec.description.is_empty() {
                        spec.name.as_str()
                    } else {
                        spec.description.as_str()
                    },
                    if n == 1 { "" } else { "s" }
                ),
                findings,
            });
        }
        // Blockers first; stable within a verdict (fail-closed conditions before rules).
        reasons.sort_by_key(|r| std::cmp::Reverse(r.verdict));

        let outcome = if reasons.iter().any(|r| r.verdict == Verdict::Block) {
            Outcome::Fail
        } else if reasons.iter().any(|r| r.verdict == Verdict::Warn) {
            Outcome::Warn
        } else {
            Outcome::Pass
        };

        if baseline.is_none() {
            notes.push("no baseline was given: every finding counts as new".to_string());
        }
        if build_assumed {
            notes.push(
                "build kind not given: assumed `release` (pass --build debug for debug builds)"
                    .to_string(),
            );
        }
        if environment_assumed {
            notes.push(format!(
                "environment not given for a release build: assumed `{}`, so production-only rules \
                 apply (pass --environment NAME, or set CI_ENVIRONMENT_NAME)",
                crate::context::ASSUMED_ENVIRONMENT
            ));
        }

        let stale = (0..policy.waivers.len())
            .filter(|w| live_waiver[*w] && !applied.contains_key(w))
            .collect();
        Decision {
            outcome,
            reasons,
            evaluated,
            waivers: WaiverReport {
                applied: applied
                    .into_iter()
                    .map(|(waiver, findings)| WaiverUse { waiver, findings })
                    .collect(),
                expired: (0..policy.waivers.len())
                    .filter(|w| !live_waiver[*w])
                    .map(|w| WaiverUse {
                        waiver: w,
                        findings: expired.remove(&w).unwrap_or_default(),
                    })
                    .collect(),
                stale,
            },
            counts,
            notes,
        }
    }
}
