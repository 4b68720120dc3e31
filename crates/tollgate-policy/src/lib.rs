//! Tollgate's release gate: the policy file (ordered rules, required scanners, waivers), the CI
//! context, the baseline, and [`evaluate`] — a pure function from findings to a [`Decision`].
//!
//! It must never do I/O or read the clock itself: the caller passes file contents, the
//! environment and today's date, so every decision is reproducible in a test.

mod context;
mod date;
mod evaluate;
mod policy;

pub use context::{parse_build, Build, Context};
pub use date::Date;
pub use evaluate::{
    evaluate, Baseline, Decision, Disposition, Evaluated, Evaluator, GateInput, InputReport, Judge,
    Judgement, OnError, Outcome, Reason, ReasonKind, State, WaiverReport, WaiverUse,
};
pub use policy::{
    ContextSpec, MatchSpec, Policy, PolicyError, Rule, RuleSpec, StateFilter, Verdict, Waiver,
    WaiverSpec, DEFAULT_POLICY,
};
