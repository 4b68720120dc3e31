//! The policy file: ordered rules, required scanners, waivers. Read from TOML, validated and
//! compiled once (globs and regular expressions) so evaluation is cheap per finding.

use std::fmt;

use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::RegexSet;
use serde::{Deserialize, Serialize};
use tollgate_model::{Category, Finding, Severity, Tag};

use crate::context::{Build, Context};
use crate::date::Date;

/// The default policy, with comments (`tollgate init` writes it).
pub const DEFAULT_POLICY: &str = include_str!("default-policy.toml");

/// What a rule decides for the findings it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Info,
    Warn,
    Block,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Info => "info",
            Verdict::Warn => "warn",
            Verdict::Block => "block",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a rule looks at findings new since the baseline, existing ones, or both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateFilter {
    New,
    Existing,
    #[default]
    Any,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MatchSpec {
    pub severity_at_least: Option<Severity>,
    #[serde(default)]
    pub severity: Vec<Severity>,
    #[serde(default)]
    pub category: Vec<Category>,
    #[serde(default)]
    pub tags_any: Vec<Tag>,
    #[serde(default)]
    pub tags_all: Vec<Tag>,
    #[serde(default)]
    pub rule_id: Vec<String>,
    #[serde(default)]
    pub title_regex: Vec<String>,
    #[serde(default)]
    pub path: Vec<String>,
    #[serde(default)]
    pub scanner: Vec<String>,
    #[serde(default)]
    pub cwe: Vec<u32>,
    #[serde(default)]
    pub vulnerability_id: Vec<String>,
    pub cvss_at_least: Option<f64>,
    pub fix_available: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContextSpec {
    pub build: Option<Build>,
    #[serde(default)]
    pub environments: Vec<String>,
    #[serde(default)]
    pub branches: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub verdict: Verdict,
    #[serde(default)]
    pub state: StateFilter,
    pub fix: Option<String>,
    #[serde(default, rename = "match")]
    pub matches: MatchSpec,
    pub context: Option<ContextSpec>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WaiverSpec {
    pub fingerprint: Option<String>,
    pub rule: Option<String>,
    pub path: Option<String>,
    pub reason: Option<String>,
    pub owner: Option<String>,
    pub expires: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Require {
    #[serde(default)]
    pub scanners: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    version: Option<u32>,
    #[serde(default)]
    require: Require,
    #[serde(default, rename = "rule")]
    rules: Vec<RuleSpec>,
    #[serde(default, rename = "waiver")]
    waivers: Vec<WaiverSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverFile {
    #[serde(default, rename = "waiver")]
    waivers: Vec<WaiverSpec>,
}

/// A policy error, with the place in the policy file when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PolicyError {
    pub message: String,
}

impl PolicyError {
    fn new(message: impl Into<String>) -> Self {
        PolicyError {
            message: message.into(),
        }
    }
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub spec: RuleSpec,
    rule_ids: Option<GlobSet>,
    titles: Option<RegexSet>,
    paths: Option<GlobSet>,
    vuln_ids: Option<GlobSet>,
    branches: Option<GlobSet>,
}

/// A compiled waiver.
#[derive(Debug, Clone)]
pub struct Waiver {
    pub spec: WaiverSpec,
    /// Where it was declared: `policy waiver 2` or `waivers.toml waiver 1`.
    pub origin: String,
    pub expires: Date,
    rule: Option<GlobSet>,
    path: Option<GlobSet>,
}

/// A validated policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub rules: Vec<Rule>,
    pub waivers: Vec<Waiver>,
    pub required_scanners: Vec<String>,
}

impl Policy {
    /// The built-in policy (the seed's gate model).
    pub fn default_policy() -> Policy {
        Policy::from_toml(DEFAULT_POLICY, "default policy").expect("the default policy is valid")
    }

    /// Reads a policy file's text. `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Policy, PolicyError> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| toml_error(origin, text, &e))?;
        if let Some(v) = file.version {
            if v != 1 {
                return Err(PolicyError::new(format!(
                    "{origin}: policy version {v} is not supported (this tollgate reads version 1)"
                )));
            }
        }
        let mut rules = Vec::with_capacity(file.rules.len());
        for (i, spec) in file.rules.into_iter().enumerate() {
            rules.push(compile_rule(spec, &format!("{origin}: rule {} ", i + 1))?);
        }
        let mut names = std::collections::HashSet::new();
        for r in &rules {
            if !names.insert(r.spec.name.as_str()) {
                return Err(PolicyError::new(format!(
                    "{origin}: two rules are named {:?}; names must be unique",
                    r.spec.name
                )));
            }
        }
        let waivers = compile_waivers(file.waivers, origin)?;
        Ok(Policy {
            rules,
            waivers,
            required_scanners: file
                .require
                .scanners
                .into_iter()
                .map(|s| s.to_ascii_lowercase())
                .collect(),
        })
    }

    /// Adds the waivers of a separate waivers file (`[[waiver]]` tables only).
    pub fn add_waivers(&mut self, text: &str, origin: &str) -> Result<(), PolicyError> {
        let file: WaiverFile = toml::from_str(text).map_err(|e| toml_error(origin, text, &e))?;
        let more = compile_waivers(file.waivers, origin)?;
        self.waivers.extend(more);
        Ok(())
    }
}

fn toml_error(origin: &str, text: &str, e: &toml::de::Error) -> PolicyError {
    let place = e
        .span()
        .map(|span| {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {col}: ")
        })
        .unwrap_or_default();
    let msg = e.message().trim().replace('\n', " ");
    PolicyError::new(format!("{origin}: {place}{msg}"))
}

fn globs(patterns: &[String], what: &str, place: &str) -> Result<Option<GlobSet>, PolicyError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let glob = Glob::new(p)
            .map_err(|e| PolicyError::new(format!("{place}{what} glob {p:?} is invalid: {e}")))?;
        b.add(glob);
    }
    b.build()
        .map(Some)
        .map_err(|e| PolicyError::new(format!("{place}{what} globs are invalid: {e}")))
}

fn compile_rule(spec: RuleSpec, place: &str) -> Result<Rule, PolicyError> {
    let place = format!("{place}({}): ", spec.name);
    if spec.name.trim().is_empty() {
        return Err(PolicyError::new(format!("{place}a rule needs a name")));
    }
    let m = &spec.matches;
    let titles = if m.title_regex.is_empty() {
        None
    } else {
        Some(
            RegexSet::new(&m.title_regex)
                .map_err(|e| PolicyError::new(format!("{place}title_regex is invalid: {e}")))?,
        )
    };
    let rule_ids = globs(&m.rule_id, "rule_id", &place)?;
    let paths = globs(&m.path, "path", &place)?;
    let vuln_ids = globs(&m.vulnerability_id, "vulnerability_id", &place)?;
    let branches = match &spec.context {
        Some(c) => globs(&c.branches, "branches", &place)?,
        None => None,
    };
    Ok(Rule {
        spec,
        rule_ids,
        titles,
        paths,
        vuln_ids,
        branches,
    })
}

fn compile_waivers(specs: Vec<WaiverSpec>, origin: &str) -> Result<Vec<Waiver>, PolicyError> {
    let mut out = Vec::with_capacity(specs.len());
    for (i, spec) in specs.into_iter().enumerate() {
        let place = format!("{origin}: waiver {}", i + 1);
        for (field, value) in [
            ("reason", &spec.reason),
            ("owner", &spec.owner),
            ("expires", &spec.expires),
        ] {
            if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                return Err(PolicyError::new(format!("{place}: `{field}` is required")));
            }
        }
        if spec.fingerprint.is_none() && (spec.rule.is_none() || spec.path.is_none()) {
            return Err(PolicyError::new(format!(
                "{place}: give `fingerprint`, or both `rule` and `path`"
            )));
        }
        let expires_text = spec.expires.clone().unwrap_or_default();
        let expires = Date::parse(&expires_text).ok_or_else(|| {
            PolicyError::new(format!(
                "{place}: expires {expires_text:?} is not a date (YYYY-MM-DD)"
            ))
        })?;
        let rule = globs(spec.rule.as_slice(), "rule", &format!("{place}: "))?;
        let path = globs(spec.path.as_slice(), "path", &format!("{place}: "))?;
        out.push(Waiver {
            spec,
            origin: place,
            expires,
            rule,
            path,
        });
    }
    Ok(out)
}

impl Rule {
    /// Does the rule apply in this context at all?
    pub fn applies_in(&self, ctx: &Context) -> bool {
        let Some(c) = &self.spec.context else {
            return true;
        };
        if let Some(b) = c.build {
            if ctx.build != b {
                return false;
            }
        }
        if !c.environments.is_empty() {
            let Some(env) = ctx.effective_environment() else {
                return false;
            };
            if !c.environments.iter().any(|e| e.eq_ignore_ascii_case(env)) {
                return false;
            }
        }
        if let Some(set) = &self.branches {
            match ctx.branch.as_deref() {
                Some(branch) if set.is_match(branch) => {}
                _ => return false,
            }
        }
        true
    }

    /// Does the finding satisfy every condition of `[rule.match]`?
    pub fn matches(&self, f: &Finding) -> bool {
        let m = &self.spec.matches;
        if m.severity_at_least.is_some_and(|s| f.severity < s) {
            return false;
        }
        if !m.severity.is_empty() && !m.severity.contains(&f.severity) {
            return false;
        }
        if !m.category.is_empty() && !m.category.contains(&f.category) {
            return false;
        }
        if !m.tags_any.is_empty() && !m.tags_any.iter().any(|t| f.has_tag(*t)) {
            return false;
        }
        if !m.tags_all.iter().all(|t| f.has_tag(*t)) {
            return false;
        }
        if let Some(set) = &self.rule_ids {
            if !set.is_match(&f.rule_id) {
                return false;
            }
        }
        if let Some(set) = &self.titles {
            if !set.is_match(&f.title) {
                return false;
            }
        }
        if let Some(set) = &self.paths {
            match f.location.file.as_deref() {
                Some(p) if set.is_match(p) => {}
                _ => return false,
            }
        }
        if !m.scanner.is_empty()
            && !m
                .scanner
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&f.scanner.name))
        {
            return false;
        }
        if !m.cwe.is_empty() && !m.cwe.iter().any(|c| f.cwe.contains(c)) {
            return false;
        }
        if let Some(set) = &self.vuln_ids {
            if !f.vulnerability_ids.iter().any(|v| set.is_match(v)) {
                return false;
            }
        }
        if let Some(min) = m.cvss_at_least {
            if f.cvss_score().is_none_or(|s| s < min) {
                return false;
            }
        }
        if let Some(want) = m.fix_available {
            let has_fix = f
                .location
                .package
                .as_ref()
                .and_then(|p| p.fixed_version.as_deref())
                .is_some_and(|v| !v.trim().is_empty());
            if has_fix != want {
                return false;
            }
        }
        true
    }
}

impl Waiver {
    pub fn matches(&self, f: &Finding) -> bool {
        if let Some(fp) = &self.spec.fingerprint {
            return fp.eq_ignore_ascii_case(f.fingerprint.as_str());
        }
        let rule_ok = self.rule.as_ref().is_some_and(|s| s.is_match(&f.rule_id));
        let path_ok = match (&self.path, f.location.file.as_deref()) {
            (Some(s), Some(p)) => s.is_match(p),
            _ => false,
        };
        rule_ok && path_ok
    }

    /// Human summary: `fingerprint 3f1c…` or `rule X at path Y`.
    pub fn target(&self) -> String {
        match &self.spec.fingerprint {
            Some(fp) => format!("fingerprint {fp}"),
            None => format!(
                "rule {} at path {}",
                self.spec.rule.as_deref().unwrap_or("?"),
                self.spec.path.as_deref().unwrap_or("?")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_compiles_and_is_ordered() {
        let p = Policy::default_policy();
        let names: Vec<&str> = p.rules.iter().map(|r| r.spec.name.as_str()).collect();
        assert_eq!(names[0], "new-critical");
        assert!(names.contains(&"cleartext-traffic-production"));
        assert_eq!(p.rules.last().map(|r| r.spec.verdict), Some(Verdict::Warn));
    }

    #[test]
    fn policy_errors_name_the_place() {
        let e = Policy::from_toml("[[rule]]\nname = \"x\"\nverdict = \"explode\"\n", "p.toml")
            .unwrap_err();
        assert!(e.message.starts_with("p.toml: line 3"), "{}", e.message);
        let e = Policy::from_toml(
            "[[rule]]\nname = \"x\"\nverdict = \"warn\"\n[rule.match]\ntitle_regex = [\"(\"]\n",
            "p.toml",
        )
        .unwrap_err();
        assert!(
            e.message.contains("rule 1 (x): title_regex"),
            "{}",
            e.message
        );
        let e = Policy::from_toml(
            "[[waiver]]\nfingerprint = \"ab\"\nowner = \"me\"\nexpires = \"2026-01-01\"\n",
            "p.toml",
        )
        .unwrap_err();
        assert!(
            e.message.contains("waiver 1: `reason` is required"),
            "{}",
            e.message
        );
        let e = Policy::from_toml("[[waiver]]\nfingerprint = \"ab\"\nreason = \"r\"\nowner = \"me\"\nexpires = \"soon\"\n", "p.toml").unwrap_err();
        assert!(e.message.contains("not a date"), "{}", e.message);
        let e = Policy::from_toml(
            "[[rule]]\nname = \"x\"\nverdict = \"warn\"\n[rule.match]\ncolour = 1\n",
            "p.toml",
        )
        .unwrap_err();
        assert!(e.message.contains("colour"), "{}", e.message);
    }
}
