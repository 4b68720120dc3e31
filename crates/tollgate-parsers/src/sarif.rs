//! SARIF 2.1.0 logs from any producer (CodeQL, Semgrep, Bandit, Gitleaks, Trivy, Grype, checkov,
//! mobsfscan, njsscan, Dependency-Check, shellcheck …): one finding per `result`, across all runs.
//!
//! Streaming: the log is walked with hand-written visitors; each run's `tool` is read first into a
//! rule table (by index and by id, driver and extensions), then `results` is streamed with
//! [`json::ForEach`], each result converted and handed to the sink at once. When a run lists its
//! `results` before its `tool` (Semgrep does), those results are kept (borrowed, typed) until the
//! run object ends. `originalUriBaseIds` and `artifacts` are used when they precede the results
//! that need them (or when those results were kept back). Unused subtrees (`codeFlows`,
//! `relatedLocations`, `graphs`, run `properties` …) are skipped unread.
//!
//! Mapping highlights:
//! - scanner = lower-cased `tool.driver.name` (`Semgrep OSS` → `semgrep`, `nodejsscan` →
//!   `njsscan`), version = `driver.version` or `semanticVersion`;
//! - severity from, in order: the result's property bag (`issue_severity`, `severity`,
//!   `cvssv3_baseSeverity`, `security-severity`, CVSS scores), the rule's property bag (severity
//!   words, Trivy's `CRITICAL`/`HIGH`/… tag, `security-severity`), `result.level`, the rule's
//!   `defaultConfiguration.level`; default Medium (SARIF's default level is `warning`), High for
//!   secrets. `scanner_severity` keeps the text that decided;
//! - category from the tool (gitleaks → secret, checkov/kics/tfsec … → iac, dependency-check/grype
//!   → sca, mobsfscan → mobile, Trivy by rule tag: misconfiguration → iac, vulnerability → sca or
//!   container for OS packages, secret, license), else sast; a rule tagged `secret`, about a
//!   hard-coded credential (id, or CWE-798/259/321) or `CKV_SECRET_*` makes the finding a secret;
//! - secrets never keep their value: with a known value (Gitleaks 7 `offender`) it is redacted
//!   wherever it appears; else the whole snippet becomes the redaction placeholder (even Gitleaks'
//!   own `REDACTED`), quoted literals of the snippet are scrubbed from the message, and Trivy's
//!   `Match:` lines and the rule's per-match descriptions are not copied.
//!
//! # Fingerprint (family `sarif`)
//!
//! `scanner name` + `rule id` + normalized file path, then either
//! - `"tool"` + the tool's own stable fingerprints: every `fingerprints`/`partialFingerprints`
//!   entry (sorted by key, `fingerprints` first) whose key does not name something location- or
//!   history-bound (keys containing `line`, `column`, `offset`, `index`, `commit`, `sha`, `email`,
//!   `author`, `date`, `time`, `message`, `file`; CodeQL's content hash `primaryLocationLineHash`
//!   is kept, Semgrep's `matchBasedId/v1` too) and whose value is a token (no white space:
//!   Semgrep's `requires login` placeholder is ignored); or else
//! - for SCA/container results (Trivy, Grype, Dependency-Check): `"package"` + package name +
//!   installed version (advisory wording and severities change with database updates); or else
//! - `"content"` + the normalized region snippet (the redaction placeholder for secrets), or the
//!   message text when there is no snippet, + the first logical location's fully qualified name.
//!
//! Line numbers, columns, absolute path prefixes (see `normalize_path`), commits and report order
//! never enter the hash.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use tollgate_model::{
    already_normal_path, normalize_path, parse_cwe, redact_in, Category, Confidence, Cvss,
    CvssVersion, Finding, FingerprintBuilder, Package, RedactedSecret, ReportMeta, Scanner,
    Severity,
};

use crate::json::{self, ForEach};
use crate::parallel::{read_array, Cursor, Parallel, Split, Stop, Work};
use crate::{Format, ParseError, Parser, Sniff};

pub struct SarifParser;

impl Parser for SarifParser {
    fn format(&self) -> Format {
        Format::Sarif
    }

    fn detect(&self, sniff: &Sniff) -> bool {
        if !sniff.has("runs") {
            return false;
        }
        sniff
            .value("version")
            .is_some_and(|v| v.trim().starts_with("2.1"))
            || sniff
                .value("$schema")
                .is_some_and(|s| s.to_ascii_lowercase().contains("sarif"))
            // The version may come last (Semgrep writes it after a long `runs`).
            || sniff.has("runs[].tool.driver.name")
            || sniff.has("runs[].results[].ruleId")
            || sniff.has("runs[].results[].message.text")
    }

    fn parse(&self, input: &str, sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> {
        let ctx = RefCell::new(Ctx {
            input,
            sink,
            meta: ReportMeta::new(Format::Sarif.id()),
            diagnostic: false,
        });
        let ctx_ref = &ctx;
        let saw_runs = json::from_str_seed(input, move |diagnostic| {
            ctx_ref.borrow_mut().diagnostic = diagnostic;
            DocSeed { ctx: ctx_ref }
        })?;
        if !saw_runs {
            return Err(ParseError::shape(
                "$.runs",
                "not a SARIF log: the `runs` list is missing",
            ));
        }
        Ok(ctx.into_inner().meta)
    }
}

struct Ctx<'s> {
    /// The whole log (results met before their run's `tool` are re-read from it).
    input: &'s str,
    sink: &'s mut dyn FnMut(Finding),
    meta: ReportMeta,
    /// Second, error-locating pass: emit nothing.
    diagnostic: bool,
}

// ---------------------------------------------------------------------------------------------
// Lenient borrowed field types.

/// A string (borrowed when possible), or a number/boolean as text; null, arrays and objects give
/// `None`.
#[derive(Default, Debug)]
struct LooseStr<'a>(Option<Cow<'a, str>>);

impl LooseStr<'_> {
    /// Trimmed, non-empty.
    fn get(&self) -> Option<&str> {
        self.0.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    /// Verbatim, non-empty.
    fn raw(&self) -> Option<&str> {
        self.0.as_deref().filter(|s| !s.trim().is_empty())
    }
}

struct LooseStrVisitor;

impl<'de> Visitor<'de> for LooseStrVisitor {
    type Value = LooseStr<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(LooseStr(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(LooseStr(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(LooseStr(Some(Cow::Owned(v))))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(LooseStr(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(LooseStr(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(LooseStr(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(LooseStr(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(LooseStr(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(LooseStr(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(LooseStr(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(LooseStr(None))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for LooseStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LooseStrVisitor)
    }
}

/// A number, or a string holding one; anything else gives `None`.
#[derive(Default, Debug, Clone, Copy)]
struct LooseNum(Option<f64>);

impl LooseNum {
    fn index(self) -> Option<usize> {
        self.0
            .filter(|n| *n >= 0.0 && n.fract() == 0.0 && *n < 1e12)
            .map(|n| n as usize)
    }
    fn line(self) -> Option<u32> {
        self.0
            .filter(|n| *n >= 1.0 && *n <= f64::from(u32::MAX))
            .map(|n| n as u32)
    }
}

struct LooseNumVisitor;

impl<'de> Visitor<'de> for LooseNumVisitor {
    type Value = LooseNum;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<LooseNum, E> {
        Ok(LooseNum(Some(v as f64)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<LooseNum, E> {
        Ok(LooseNum(Some(v as f64)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<LooseNum, E> {
        Ok(LooseNum(Some(v).filter(|n| n.is_finite())))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<LooseNum, E> {
        Ok(LooseNum(
            v.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        ))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<LooseNum, E> {
        Ok(LooseNum(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<LooseNum, E> {
        Ok(LooseNum(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<LooseNum, E> {
        Ok(LooseNum(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<LooseNum, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LooseNum, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(LooseNum(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LooseNum, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(LooseNum(None))
    }
}

impl<'de> Deserialize<'de> for LooseNum {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LooseNumVisitor)
    }
}

/// A list of strings, a single string, or null; non-string items are dropped (numbers kept as text).
#[derive(Default, Debug)]
struct StrList<'a>(Vec<Cow<'a, str>>);

impl StrList<'_> {
    fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|s| s.trim()).filter(|s| !s.is_empty())
    }
}

struct StrListVisitor;

impl<'de> Visitor<'de> for StrListVisitor {
    type Value = StrList<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of strings")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(StrList(vec![Cow::Borrowed(v)]))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(StrList(vec![Cow::Owned(v.to_string())]))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(StrList(vec![Cow::Owned(v)]))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(StrList(Vec::new()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(StrList(vec![Cow::Owned(v.to_string())]))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(StrList(vec![Cow::Owned(v.to_string())]))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(StrList(vec![Cow::Owned(v.to_string())]))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(StrList(Vec::new()))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(StrList(Vec::new()))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element::<LooseStr<'de>>()? {
            if let Some(s) = item.0 {
                out.push(s);
            }
        }
        Ok(StrList(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(StrList(Vec::new()))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for StrList<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrListVisitor)
    }
}

/// An object of string values (fingerprints); other values are dropped.
#[derive(Default, Debug)]
struct StrMap<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

struct StrMapVisitor;

impl<'de> Visitor<'de> for StrMapVisitor {
    type Value = StrMap<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of strings")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some((k, v)) = map.next_entry::<LooseStr<'de>, LooseStr<'de>>()? {
            if let (Some(k), Some(v)) = (k.0, v.0) {
                out.push((k, v));
            }
        }
        Ok(StrMap(out))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(StrMap(Vec::new()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(StrMap(Vec::new()))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(StrMap(Vec::new()))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(StrMap(Vec::new()))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(StrMap(Vec::new()))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(StrMap(Vec::new()))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(StrMap(Vec::new()))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(StrMap(Vec::new()))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for StrMap<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrMapVisitor)
    }
}

/// The first element of an array (the rest is skipped unread); a lone object is taken as the
/// first element; null gives `None`.
#[derive(Debug)]
struct FirstOf<T>(Option<T>);

impl<T> Default for FirstOf<T> {
    fn default() -> Self {
        FirstOf(None)
    }
}

struct FirstOfVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for FirstOfVisitor<T> {
    type Value = FirstOf<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let first = seq.next_element::<T>()?;
        if first.is_some() {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
        }
        Ok(FirstOf(first))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| FirstOf(Some(t)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(FirstOf(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(FirstOf(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for FirstOf<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FirstOfVisitor(std::marker::PhantomData))
    }
}

// ---------------------------------------------------------------------------------------------
// The parts of SARIF we read (everything else is skipped by serde without being built).

#[derive(Deserialize)]
struct Tool<'a> {
    #[serde(borrow, default)]
    driver: Option<Component<'a>>,
    #[serde(borrow, default)]
    extensions: Option<Vec<Component<'a>>>,
}

#[derive(Deserialize)]
struct Component<'a> {
    #[serde(borrow, default)]
    name: LooseStr<'a>,
    #[serde(borrow, default)]
    version: LooseStr<'a>,
    #[serde(borrow, default, rename = "semanticVersion")]
    semantic_version: LooseStr<'a>,
    #[serde(borrow, default)]
    rules: Option<Vec<Rule<'a>>>,
}

#[derive(Deserialize)]
struct Rule<'a> {
    #[serde(borrow, default)]
    id: LooseStr<'a>,
    #[serde(borrow, default)]
    name: LooseStr<'a>,
    #[serde(borrow, default, rename = "shortDescription")]
    short_description: Option<Text<'a>>,
    #[serde(borrow, default, rename = "fullDescription")]
    full_description: Option<Text<'a>>,
    #[serde(borrow, default)]
    help: Option<Text<'a>>,
    #[serde(borrow, default, rename = "helpUri")]
    help_uri: LooseStr<'a>,
    #[serde(borrow, default, rename = "defaultConfiguration")]
    default_configuration: Option<Config<'a>>,
    #[serde(borrow, default)]
    properties: Option<Box<Props<'a>>>,
    #[serde(borrow, default)]
    relationships: Option<Vec<Relationship<'a>>>,
    #[serde(borrow, default, rename = "messageStrings")]
    message_strings: Option<HashMap<String, Text<'a>>>,
}

#[derive(Deserialize, Default)]
struct Text<'a> {
    #[serde(borrow, default)]
    text: LooseStr<'a>,
    #[serde(borrow, default)]
    markdown: LooseStr<'a>,
}

impl Text<'_> {
    fn best(&self) -> Option<&str> {
        self.text.get().or_else(|| self.markdown.get())
    }
}

#[derive(Deserialize)]
struct Config<'a> {
    #[serde(borrow, default)]
    level: LooseStr<'a>,
}

#[derive(Deserialize)]
struct Relationship<'a> {
    #[serde(borrow, default)]
    target: Option<TaxonRef<'a>>,
}

#[derive(Deserialize)]
struct TaxonRef<'a> {
    #[serde(borrow, default)]
    id: LooseStr<'a>,
    #[serde(borrow, default, rename = "toolComponent")]
    tool_component: Option<ComponentRef<'a>>,
}

impl TaxonRef<'_> {
    fn cwe(&self) -> Option<u32> {
        let name = self.tool_component.as_ref().and_then(|c| c.name.get());
        let id = self.id.get()?;
        if name.is_some_and(|n| n.eq_ignore_ascii_case("cwe")) || starts_with_ci(id, "cwe-") {
            parse_cwe(id)
        } else {
            None
        }
    }
}

#[derive(Deserialize)]
struct ComponentRef<'a> {
    #[serde(borrow, default)]
    name: LooseStr<'a>,
    #[serde(default)]
    index: LooseNum,
}

/// The property-bag keys producers use for severity, confidence, CWE, CVSS and secrets.
#[derive(Deserialize, Default)]
struct Props<'a> {
    #[serde(borrow, default)]
    tags: StrList<'a>,
    #[serde(borrow, default, rename = "security-severity")]
    security_severity: LooseStr<'a>,
    #[serde(borrow, default)]
    precision: LooseStr<'a>,
    #[serde(borrow, default, rename = "problem.severity")]
    problem_severity: LooseStr<'a>,
    #[serde(borrow, default)]
    issue_severity: LooseStr<'a>,
    #[serde(borrow, default)]
    issue_confidence: LooseStr<'a>,
    #[serde(borrow, default)]
    severity: LooseStr<'a>,
    #[serde(borrow, default)]
    confidence: LooseStr<'a>,
    #[serde(borrow, default)]
    cwe: StrList<'a>,
    #[serde(borrow, default)]
    offender: LooseStr<'a>,
    #[serde(borrow, default)]
    reference: StrList<'a>,
    #[serde(borrow, default)]
    references: StrList<'a>,
    #[serde(borrow, default, rename = "cvssv3_baseScore")]
    cvss3_score: LooseStr<'a>,
    #[serde(borrow, default, rename = "cvssv3_baseSeverity")]
    cvss3_severity: LooseStr<'a>,
    #[serde(borrow, default, rename = "cvssv3_version")]
    cvss3_version: LooseStr<'a>,
    #[serde(borrow, default, rename = "cvssv2_score")]
    cvss2_score: LooseStr<'a>,
}

#[derive(Deserialize)]
struct SarifResult<'a> {
    #[serde(borrow, default, rename = "ruleId")]
    rule_id: LooseStr<'a>,
    #[serde(default, rename = "ruleIndex")]
    rule_index: LooseNum,
    #[serde(borrow, default)]
    rule: Option<Box<RuleRef<'a>>>,
    #[serde(borrow, default)]
    level: LooseStr<'a>,
    #[serde(borrow, default)]
    message: Option<Message<'a>>,
    #[serde(borrow, default)]
    locations: FirstOf<Loc<'a>>,
    #[serde(borrow, default, rename = "analysisTarget")]
    analysis_target: Option<Box<ArtLoc<'a>>>,
    #[serde(borrow, default)]
    suppressions: Option<Vec<Suppression<'a>>>,
    #[serde(borrow, default)]
    fingerprints: StrMap<'a>,
    #[serde(borrow, default, rename = "partialFingerprints")]
    partial_fingerprints: StrMap<'a>,
    #[serde(borrow, default)]
    properties: Option<Box<Props<'a>>>,
    #[serde(borrow, default)]
    taxa: Option<Vec<TaxonRef<'a>>>,
}

#[derive(Deserialize)]
struct RuleRef<'a> {
    #[serde(borrow, default)]
    id: LooseStr<'a>,
    #[serde(default)]
    index: LooseNum,
    #[serde(borrow, default, rename = "toolComponent")]
    tool_component: Option<ComponentRef<'a>>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    text: LooseStr<'a>,
    #[serde(borrow, default)]
    markdown: LooseStr<'a>,
    #[serde(borrow, default)]
    id: LooseStr<'a>,
    #[serde(borrow, default)]
    arguments: StrList<'a>,
}

#[derive(Deserialize)]
struct Suppression<'a> {
    #[serde(borrow, default)]
    status: LooseStr<'a>,
}

#[derive(Deserialize)]
struct Loc<'a> {
    #[serde(borrow, default, rename = "physicalLocation")]
    physical: Option<Physical<'a>>,
    #[serde(borrow, default, rename = "logicalLocations")]
    logical: FirstOf<Box<Logical<'a>>>,
}

#[derive(Deserialize)]
struct Physical<'a> {
    #[serde(borrow, default, rename = "artifactLocation")]
    artifact: Option<ArtLoc<'a>>,
    #[serde(borrow, default)]
    region: Option<Region<'a>>,
    #[serde(borrow, default, rename = "contextRegion")]
    context_region: Option<Box<Region<'a>>>,
}

#[derive(Deserialize)]
struct ArtLoc<'a> {
    #[serde(borrow, default)]
    uri: LooseStr<'a>,
    #[serde(borrow, default, rename = "uriBaseId")]
    uri_base_id: LooseStr<'a>,
    #[serde(default)]
    index: LooseNum,
}

#[derive(Deserialize)]
struct Region<'a> {
    #[serde(default, rename = "startLine")]
    start_line: LooseNum,
    #[serde(default, rename = "endLine")]
    end_line: LooseNum,
    #[serde(borrow, default)]
    snippet: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct Logical<'a> {
    #[serde(borrow, default, rename = "fullyQualifiedName")]
    fully_qualified_name: LooseStr<'a>,
    #[serde(borrow, default)]
    name: LooseStr<'a>,
}

#[derive(Deserialize)]
struct Artifact<'a> {
    #[serde(borrow, default)]
    location: Option<ArtLoc<'a>>,
}

#[derive(Deserialize)]
struct Invocation {
    #[serde(default, rename = "executionSuccessful")]
    execution_successful: Option<serde_json::Value>,
}

// ---------------------------------------------------------------------------------------------
// Streaming walk: log → runs → run.

struct DocSeed<'c, 's> {
    ctx: &'c RefCell<Ctx<'s>>,
}

impl<'de> DeserializeSeed<'de> for DocSeed<'_, '_> {
    /// Whether `runs` was present.
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DocSeed<'_, '_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a SARIF log object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut saw_runs = false;
        while let Some(key) = map.next_key::<LooseStr<'de>>()? {
            if key.0.as_deref() == Some("runs") && !saw_runs {
                saw_runs = true;
                map.next_value_seed(RunsSeed { ctx: self.ctx })?;
            } else {
                json::skip(&mut map)?;
            }
        }
        Ok(saw_runs)
    }
}

struct RunsSeed<'c, 's> {
    ctx: &'c RefCell<Ctx<'s>>,
}

impl<'de> DeserializeSeed<'de> for RunsSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RunsSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of SARIF runs")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while seq
            .next_element_seed(RunSeed {
                ctx: self.ctx,
                index,
            })?
            .is_some()
        {
            index += 1;
        }
        Ok(())
    }
}

struct RunSeed<'c, 's> {
    ctx: &'c RefCell<Ctx<'s>>,
    index: usize,
}

impl<'de> DeserializeSeed<'de> for RunSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RunSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a SARIF run object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let diagnostic = self.ctx.borrow().diagnostic;
        let mut run = RunCtx::new(self.index);
        let mut kept: Vec<(usize, SarifResult<'de>)> = Vec::new();
        let mut deferred: Vec<usize> = Vec::new();
        while let Some(key) = map.next_key::<LooseStr<'de>>()? {
            match key.0.as_deref().unwrap_or("") {
                "tool" if run.tool_seen => json::skip(&mut map)?,
                "tool" => {
                    let tool: Tool<'de> = map.next_value()?;
                    run.set_tool(&tool);
                    if !diagnostic {
                        self.ctx.borrow_mut().meta.add_scanner(&run.scanner);
                    }
                }
                "results" if run.tool_seen && !diagnostic => {
                    let ctx = self.ctx;
                    let run_ref = &run;
                    let mut emit = |i: usize, r: SarifResult<'de>| {
                        let f = run_ref.convert(i, &r);
                        (ctx.borrow_mut().sink)(f);
                    };
                    map.next_value_seed(ForEach::new(&mut emit))?;
                }
                "results" if diagnostic => {
                    let mut ignore = |_: usize, _: SarifResult<'de>| {};
                    map.next_value_seed(ForEach::new(&mut ignore))?;
                }
                "results" => {
                    // `results` before `tool`: skip them now and read them again from the
                    // input once the run ends (no memory held); when the array cannot be
                    // located (an escaped key), keep them typed instead.
                    let input = self.ctx.borrow().input;
                    match array_after_key(input, &key) {
                        Some(at) => {
                            json::skip(&mut map)?;
                            deferred.push(at);
                        }
                        None => {
                            let mut keep = |i: usize, r: SarifResult<'de>| kept.push((i, r));
                            map.next_value_seed(ForEach::new(&mut keep))?;
                        }
                    }
                }
                "originalUriBaseIds" => run.set_bases(map.next_value()?),
                "artifacts" => run.set_artifacts(map.next_value()?),
                "invocations" => run.set_invocations(&map.next_value()?),
                _ => json::skip(&mut map)?,
            }
        }
        if diagnostic {
            return Ok(());
        }
        if !run.tool_seen {
            run.set_no_tool();
            self.ctx.borrow_mut().meta.add_scanner(&run.scanner);
        }
        for (i, r) in kept {
            let f = run.convert(i, &r);
            (self.ctx.borrow_mut().sink)(f);
        }
        let input = self.ctx.borrow().input;
        for at in deferred {
            let ctx = self.ctx;
            let run_ref = &run;
            let mut emit = |i: usize, r: SarifResult<'_>| {
                let f = run_ref.convert(i, &r);
                (ctx.borrow_mut().sink)(f);
            };
            let mut de = serde_json::Deserializer::from_str(&input[at..]);
            // On error the caller's diagnostic pass (which reads every result typed, in place)
            // reports the exact path and line.
            ForEach::new(&mut emit)
                .deserialize(&mut de)
                .map_err(|e| de::Error::custom(format!("in results: {e}")))?;
        }
        run.report_failure(&mut self.ctx.borrow_mut().meta);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Parallel walk of a large log (see `crate::parallel`): the log → runs → run envelope is walked
// here value by value, each run's `results` array is read by the chunk workers.

/// Reads a SARIF log with each run's results spread over `split.workers` threads. Findings reach
/// `work` unfinished, in chunks, with chunk-local element indexes in their pointers (see
/// [`crate::parallel`]).
pub(crate) fn parse_parallel<O: Send>(
    input: &str,
    split: Split,
    work: &mut Work<'_, O>,
) -> Result<ReportMeta, Parallel> {
    let mut walk = Walk {
        cur: Cursor::new(input),
        meta: ReportMeta::new(Format::Sarif.id()),
        handed_over: false,
        split,
    };
    walk.log(work)
        .map_err(|stop| stop.after(walk.handed_over))?;
    Ok(walk.meta)
}

struct Walk<'a> {
    cur: Cursor<'a>,
    meta: ReportMeta,
    handed_over: bool,
    split: Split,
}

impl<'a> Walk<'a> {
    fn log<O: Send>(&mut self, work: &mut Work<'_, O>) -> Result<(), Stop> {
        let cur = self.cur;
        let start = cur.expect(0, b'{')?;
        let mut saw_runs = false;
        let end = cur.members(self, start, &mut |walk, key, at| {
            if key == "runs" && !saw_runs {
                saw_runs = true;
                let first = cur.expect(at, b'[')?;
                cur.elements(walk, first, &mut |walk, index, at| {
                    let body = cur.expect(at, b'{')?;
                    walk.run(index, body, work)
                })
            } else {
                cur.skip(at)
            }
        })?;
        if !saw_runs || cur.peek(end).is_some() {
            return Err(Stop::Broken);
        }
        Ok(())
    }

    fn run<O: Send>(
        &mut self,
        index: usize,
        body: usize,
        work: &mut Work<'_, O>,
    ) -> Result<usize, Stop> {
        let cur = self.cur;
        let mut run = RunCtx::new(index);
        let mut deferred = Vec::new();
        let end = cur.members(self, body, &mut |walk, key, at| match key {
            "tool" if run.tool_seen => cur.skip(at),
            "tool" => {
                let (tool, end) = cur.value::<Tool<'a>>(at)?;
                run.set_tool(&tool);
                walk.meta.add_scanner(&run.scanner);
                Ok(end)
            }
            "results" if run.tool_seen => walk.results(&run, at, work),
            "results" => {
                deferred.push(at);
                cur.skip(at)
            }
            "originalUriBaseIds" => {
                let (bases, end) = cur.value(at)?;
                run.set_bases(bases);
                Ok(end)
            }
            "artifacts" => {
                let (arts, end) = cur.value(at)?;
                run.set_artifacts(arts);
                Ok(end)
            }
            "invocations" => {
                let (invs, end) = cur.value(at)?;
                run.set_invocations(&invs);
                Ok(end)
            }
            _ => cur.skip(at),
        })?;
        if !run.tool_seen {
            run.set_no_tool();
            self.meta.add_scanner(&run.scanner);
        }
        for at in deferred {
            self.results(&run, at, work)?;
        }
        run.report_failure(&mut self.meta);
        Ok(end)
    }

    /// A run's `results` value at `at` (an array, or null for none).
    fn results<O: Send>(
        &mut self,
        run: &RunCtx,
        at: usize,
        work: &mut Work<'_, O>,
    ) -> Result<usize, Stop> {
        let cur = self.cur;
        if cur.peek(at) != Some(b'[') {
            // `null` means none; anything else is the sequential reader's error to word.
            return if cur.is_null(at) {
                cur.skip(at)
            } else {
                Err(Stop::Broken)
            };
        }
        let first = cur.expect(at, b'[')?;
        if cur.peek(first) == Some(b']') {
            return cur.skip(at);
        }
        self.handed_over = true;
        let states = (0..self.split.workers.max(1))
            .map(|_| run.clone())
            .collect();
        let (end, elements) = read_array(
            cur.input(),
            first,
            self.split,
            states,
            &|run: &mut RunCtx, i, r: SarifResult<'a>| run.convert(i, &r),
            work,
        )?;
        self.meta.findings += elements as u64;
        Ok(end)
    }
}

/// The byte offset of the `[` that opens the value of `key`, when `key` was borrowed from `input`
/// (which it is unless it holds escapes).
fn array_after_key(input: &str, key: &LooseStr<'_>) -> Option<usize> {
    let Some(Cow::Borrowed(k)) = &key.0 else {
        return None;
    };
    let base = input.as_ptr() as usize;
    let start = (k.as_ptr() as usize).checked_sub(base)?;
    let end = start + k.len();
    let bytes = input.as_bytes();
    if end >= bytes.len() || bytes[end] != b'"' {
        return None;
    }
    let mut at = end + 1;
    let skip_ws = |mut at: usize| {
        while bytes.get(at).is_some_and(|b| b.is_ascii_whitespace()) {
            at += 1;
        }
        at
    };
    at = skip_ws(at);
    if bytes.get(at) != Some(&b':') {
        return None;
    }
    at = skip_ws(at + 1);
    (bytes.get(at) == Some(&b'[')).then_some(at)
}

// ---------------------------------------------------------------------------------------------
// Per-run context: the tool, its rules, URI bases.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ToolKind {
    Sast,
    Secret,
    Trivy,
    Iac,
    Sca,
    Mobile,
}

fn scanner_name(driver_name: &str) -> String {
    let lower = driver_name.trim().to_lowercase();
    if lower.is_empty() {
        return "unknown".to_string();
    }
    if lower.starts_with("semgrep") {
        return "semgrep".to_string();
    }
    match lower.as_str() {
        "nodejsscan" => "njsscan".to_string(),
        "codeql command-line toolchain" => "codeql".to_string(),
        "owasp dependency-check" | "dependency check" => "dependency-check".to_string(),
        _ => lower,
    }
}

fn tool_kind(name: &str) -> ToolKind {
    match name {
        "gitleaks" | "trufflehog" | "detect-secrets" | "ggshield" | "gitguardian" => {
            ToolKind::Secret
        }
        "trivy" => ToolKind::Trivy,
        "checkov" | "kics" | "tfsec" | "terrascan" | "hadolint" | "kube-linter" | "kubesec"
        | "tflint" | "cfn-lint" | "cfn_nag" => ToolKind::Iac,
        "dependency-check" | "grype" | "osv-scanner" | "snyk" | "npm-audit" | "retire.js"
        | "retirejs" | "dependabot" | "ossindex" => ToolKind::Sca,
        "mobsfscan" | "mobsf" => ToolKind::Mobile,
        n if n.contains("secret") => ToolKind::Secret,
        _ => ToolKind::Sast,
    }
}

/// What the run needs to know about one rule, computed once per rule.
#[derive(Default, Clone)]
struct RuleInfo {
    id: String,
    name: Option<String>,
    title: Option<String>,
    full_description: Option<String>,
    recommendation: Option<String>,
    /// Help text with secret-match lines removed (used for secret findings).
    safe_help: Option<String>,
    references: Vec<String>,
    cwe: Vec<u32>,
    vulnerability_ids: Vec<String>,
    /// Severity word and verbatim text from the property bag (incl. Trivy's tag).
    severity_word: Option<(Severity, String)>,
    /// `security-severity` (CVSS-like score) and its verbatim text.
    security_severity: Option<(Severity, String)>,
    level: Option<String>,
    confidence: Option<Confidence>,
    secret: bool,
    /// Trivy's class from the rule tags.
    class: Option<Category>,
    package: Option<Package>,
    message_strings: HashMap<String, String>,
    /// `sarif` + scanner + rule id, hashed once.
    fingerprint: Option<FingerprintBuilder>,
}

#[derive(Clone)]
struct RunCtx {
    index: usize,
    tool_seen: bool,
    failed: bool,
    scanner: Scanner,
    kind: ToolKind,
    /// Rules of the driver (0) and of each extension (1…).
    components: Vec<Vec<RuleInfo>>,
    by_id: foldhash::HashMap<String, (usize, usize)>,
    /// originalUriBaseIds: id → (uri, its own base id).
    bases: HashMap<String, (Option<String>, Option<String>)>,
    /// run.artifacts[i].location: (uri, base id).
    artifacts: Vec<(Option<String>, Option<String>)>,
    /// `sarif` + scanner, hashed once.
    fingerprint: FingerprintBuilder,
    /// file → normalized path (results cluster on few files; at most 4096 kept).
    paths: RefCell<foldhash::HashMap<String, String>>,
    /// Fingerprint key → whether it is stable (a run uses a handful of keys).
    stable_keys: RefCell<Vec<(String, bool)>>,
}

impl RunCtx {
    fn new(index: usize) -> Self {
        RunCtx {
            index,
            tool_seen: false,
            failed: false,
            scanner: Scanner::new("unknown", None),
            kind: ToolKind::Sast,
            components: Vec::new(),
            by_id: foldhash::HashMap::default(),
            bases: HashMap::new(),
            artifacts: Vec::new(),
            fingerprint: FingerprintBuilder::new("sarif"),
            paths: RefCell::new(foldhash::HashMap::default()),
            stable_keys: RefCell::new(Vec::new()),
        }
    }

    fn set_tool(&mut self, tool: &Tool<'_>) {
        self.tool_seen = true;
        let driver = tool.driver.as_ref();
        let name = scanner_name(driver.and_then(|d| d.name.get()).unwrap_or(""));
        let version = driver
            .and_then(|d| d.version.get().or_else(|| d.semantic_version.get()))
            .map(str::to_string);
        self.kind = tool_kind(&name);
        self.scanner = Scanner::new(name, version);
        let kind = self.kind;
        let mut components = Vec::new();
        let rules_of = |c: Option<&Component<'_>>| -> Vec<RuleInfo> {
            c.and_then(|c| c.rules.as_ref())
                .map(|rules| rules.iter().map(|r| rule_info(r, kind)).collect())
                .unwrap_or_default()
        };
        components.push(rules_of(driver));
        for ext in tool.extensions.iter().flatten() {
            components.push(rules_of(Some(ext)));
        }
        let mut by_id = foldhash::HashMap::default();
        for (c, rules) in components.iter().enumerate() {
            for (i, r) in rules.iter().enumerate() {
                if !r.id.is_empty() {
                    by_id.entry(r.id.clone()).or_insert((c, i));
                }
            }
        }
        self.components = components;
        self.by_id = by_id;
        self.fingerprint = FingerprintBuilder::new("sarif").part(&self.scanner.name);
        for rules in &mut self.components {
            for r in rules.iter_mut() {
                r.fingerprint = Some(self.fingerprint.clone().part(&r.id));
            }
        }
    }

    /// `tool` is required by SARIF; be tolerant and name the scanner "unknown".
    fn set_no_tool(&mut self) {
        self.set_tool(&Tool {
            driver: None,
            extensions: None,
        });
    }

    fn set_bases(&mut self, bases: Option<HashMap<String, ArtLoc<'_>>>) {
        for (id, loc) in bases.unwrap_or_default() {
            self.bases.insert(
                id,
                (
                    loc.uri.get().map(str::to_string),
                    loc.uri_base_id.get().map(str::to_string),
                ),
            );
        }
    }

    fn set_artifacts(&mut self, arts: Option<Vec<Option<Artifact<'_>>>>) {
        self.artifacts = arts
            .unwrap_or_default()
            .into_iter()
            .map(|a| {
                let loc = a.and_then(|a| a.location);
                (
                    loc.as_ref().and_then(|l| l.uri.get().map(str::to_string)),
                    loc.as_ref()
                        .and_then(|l| l.uri_base_id.get().map(str::to_string)),
                )
            })
            .collect();
    }

    fn set_invocations(&mut self, invs: &Option<Vec<Option<Invocation>>>) {
        self.failed = invs.iter().flatten().flatten().any(|i| {
            matches!(&i.execution_successful, Some(serde_json::Value::Bool(false)))
                || matches!(&i.execution_successful, Some(serde_json::Value::String(s)) if s.eq_ignore_ascii_case("false"))
        });
    }

    fn report_failure(&self, meta: &mut ReportMeta) {
        if self.failed {
            meta.incomplete.push(format!(
                "run {} ({}): the tool reported that its execution was not successful",
                self.index, self.scanner.name
            ));
        }
    }

    fn rule(&self, r: &SarifResult<'_>) -> Option<&RuleInfo> {
        let rref = r.rule.as_ref();
        let id = r.rule_id.get().or_else(|| rref.and_then(|x| x.id.get()));
        let comp = rref
            .and_then(|x| x.tool_component.as_ref())
            .and_then(|t| t.index.index())
            .map_or(0, |i| i + 1);
        let index = r
            .rule_index
            .index()
            .or_else(|| rref.and_then(|x| x.index.index()));
        if let Some(rule) = index.and_then(|i| self.components.get(comp)?.get(i)) {
            let matches = id.is_none_or(|id| {
                id == rule.id
                    || id
                        .strip_prefix(rule.id.as_str())
                        .is_some_and(|s| s.starts_with('/'))
            });
            if matches {
                return Some(rule);
            }
        }
        if let Some(id) = id {
            if let Some(&(c, i)) = self.by_id.get(id).or_else(|| {
                // Hierarchical ids (`C2001/1`) point at their base rule.
                id.split_once('/')
                    .and_then(|(base, _)| self.by_id.get(base))
            }) {
                return self.components.get(c).and_then(|rs| rs.get(i));
            }
            return None;
        }
        // No rule reference at all (Gitleaks 7): "<rule id> secret detected".
        let text = r.message.as_ref().and_then(|m| m.text.get())?;
        let base = text.strip_suffix(" secret detected")?;
        let &(c, i) = self.by_id.get(base)?;
        self.components.get(c).and_then(|rs| rs.get(i))
    }

    /// Resolves an artifact location to a path: base ids that are relative are prefixed, absolute
    /// ones (machine-specific) are not; `file://` is stripped and `%xx` decoded.
    fn resolve(&self, loc: &ArtLoc<'_>) -> Option<String> {
        let (uri, mut base): (&str, Option<&str>) = match loc.uri.get() {
            Some(u) => (u, loc.uri_base_id.get()),
            None => {
                let (u, b) = self.artifacts.get(loc.index.index()?)?;
                (u.as_deref()?, b.as_deref())
            }
        };
        let mut uri = Cow::Borrowed(uri);
        let mut depth = 0;
        while let Some(b) = base {
            if depth > 8 || self.bases.is_empty() || is_absolute(&uri) {
                break;
            }
            depth += 1;
            let Some((base_uri, parent)) = self.bases.get(b) else {
                break;
            };
            let Some(base_uri) = base_uri.as_deref().map(str::trim).filter(|s| !s.is_empty())
            else {
                break;
            };
            if is_absolute(base_uri) {
                break;
            }
            let mut joined = base_uri.to_string();
            if !joined.ends_with('/') {
                joined.push('/');
            }
            joined.push_str(uri.trim_start_matches("./"));
            uri = Cow::Owned(joined);
            base = parent.as_deref();
        }
        let path = tollgate_model::percent_decode(file_uri_to_path(&uri));
        (!path.is_empty()).then_some(path)
    }

    fn convert(&self, i: usize, r: &SarifResult<'_>) -> Finding {
        let rule = self.rule(r);
        let rule_id: &str = r
            .rule_id
            .get()
            .or_else(|| r.rule.as_ref().and_then(|x| x.id.get()))
            .or_else(|| rule.map(|x| x.id.as_str()).filter(|s| !s.is_empty()))
            .unwrap_or("");
        let same_rule = rule.filter(|x| x.id == rule_id);

        let category = if self.kind == ToolKind::Secret || rule.is_some_and(|x| x.secret) {
            Category::Secret
        } else {
            match self.kind {
                ToolKind::Trivy => rule.and_then(|x| x.class).unwrap_or(Category::Sca),
                ToolKind::Iac => Category::Iac,
                ToolKind::Sca => Category::Sca,
                ToolKind::Mobile => Category::Mobile,
                ToolKind::Sast | ToolKind::Secret => Category::Sast,
            }
        };
        let is_secret = category == Category::Secret;
        let is_sca = matches!(category, Category::Sca | Category::Container);
        let props = r.properties.as_deref();

        let mut message = message_text(r.message.as_ref(), rule);

        // Location.
        let loc = r.locations.0.as_ref();
        let phys = loc.and_then(|l| l.physical.as_ref());
        let file = phys
            .and_then(|p| p.artifact.as_ref())
            .and_then(|a| self.resolve(a))
            .or_else(|| r.analysis_target.as_ref().and_then(|a| self.resolve(a)));
        let region = phys.and_then(|p| p.region.as_ref());
        let region_snippet = region
            .and_then(|x| x.snippet.as_ref())
            .and_then(|s| s.text.raw());
        let context_snippet = phys
            .and_then(|p| p.context_region.as_ref())
            .and_then(|x| x.snippet.as_ref())
            .and_then(|s| s.text.raw());
        let logical = loc
            .and_then(|l| l.logical.0.as_ref())
            .and_then(|l| l.fully_qualified_name.get().or_else(|| l.name.get()));

        // Secrets: never keep the value.
        let mut secret = None;
        let snippet: Option<String>;
        let mut fp_snippet: Option<String> = None;
        if is_secret {
            let value = props.and_then(|p| p.offender.raw());
            let shown = region_snippet.or(context_snippet);
            if let Some(v) = value {
                message = redact_in(&message, v);
                snippet = shown.map(|s| redact_in(s, v));
                fp_snippet = region_snippet.map(|s| redact_in(s, v));
                secret = Some(RedactedSecret::new(v));
            } else if let Some(s) = shown {
                let red = RedactedSecret::new(s);
                message = redact_in(&message, s);
                let trimmed = s.trim();
                if trimmed != s {
                    message = redact_in(&message, trimmed);
                }
                // Messages like Bandit's "Possible hardcoded password: '…'" quote the value.
                for literal in quoted_literals(s) {
                    message = redact_in(&message, literal);
                }
                let placeholder = red.placeholder();
                fp_snippet = region_snippet.map(|_| placeholder.clone());
                snippet = Some(placeholder);
                secret = Some(red);
            } else {
                snippet = None;
            }
            message = drop_match_lines(&message);
        } else {
            snippet = region_snippet.or(context_snippet).map(str::to_string);
        }

        let package = if is_sca {
            self.package(&message, rule)
        } else {
            None
        };

        // Fingerprint (see the module doc).
        let mut fb = match same_rule.and_then(|x| x.fingerprint.as_ref()) {
            Some(prefix) => prefix.clone(),
            None => self.fingerprint.clone().part(rule_id),
        };
        match file.as_deref() {
            None => fb = fb.part(""),
            Some(p) => match already_normal_path(p) {
                Some(normal) => fb = fb.part(normal),
                None => {
                    let mut paths = self.paths.borrow_mut();
                    if let Some(n) = paths.get(p) {
                        fb = fb.part(n);
                    } else {
                        let n = normalize_path(p);
                        fb = fb.part(&n);
                        // Results cluster on few files; a report of distinct files would only
                        // churn a large map (cleared, it keeps its memory).
                        if paths.len() >= 4096 {
                            paths.clear();
                        }
                        paths.insert(p.to_string(), n);
                    }
                }
            },
        }
        // Stable tool fingerprints, at most 8, on the stack.
        let mut stable: [(&str, &str); 8] = [("", ""); 8];
        let mut n_stable = 0;
        for (k, v) in r
            .fingerprints
            .0
            .iter()
            .chain(r.partial_fingerprints.0.iter())
        {
            let v = v.trim();
            if n_stable < stable.len()
                && !v.is_empty()
                && !v.contains(char::is_whitespace)
                && self.stable_key(k)
            {
                stable[n_stable] = (k.as_ref(), v);
                n_stable += 1;
            }
        }
        let stable = &mut stable[..n_stable];
        if stable.is_empty() && is_sca {
            // Advisory texts change with database updates: package and version, not words.
            let pkg = package.as_ref();
            fb = fb
                .part("package")
                .opt(pkg.map(|p| p.name.as_str()))
                .opt(pkg.and_then(|p| p.installed_version.as_deref()));
        } else if stable.is_empty() {
            let content = if is_secret {
                fp_snippet.as_deref()
            } else {
                region_snippet
            };
            let content = content
                .filter(|s| !s.trim().is_empty())
                .unwrap_or(message.as_str());
            fb = fb.part("content").snippet(Some(content)).opt(logical);
        } else {
            // Sorted by key; `fingerprints` win over `partialFingerprints` for a repeated key.
            stable.sort_by(|a, b| a.0.cmp(b.0));
            fb = fb.part("tool");
            let mut last = None;
            for (k, v) in stable.iter() {
                if last != Some(*k) {
                    fb = fb.part(k).part(v);
                    last = Some(*k);
                }
            }
        }

        // Title and description.
        let title = rule
            .and_then(|x| x.title.clone())
            .or_else(|| short_title(&message))
            .or_else(|| rule.and_then(|x| x.name.clone()))
            .or_else(|| (!rule_id.is_empty()).then(|| rule_id.to_string()))
            .unwrap_or_else(|| "SARIF result".to_string());
        let mut ids = Vec::new();
        if same_rule.is_none() {
            vuln_ids_in(rule_id, &mut ids);
        }
        if is_sca {
            vuln_ids_in(&message, &mut ids);
        }
        let mut description = message;
        if !is_secret {
            if let Some(full) = rule.and_then(|x| x.full_description.as_deref()) {
                if description.trim().is_empty() {
                    description = full.to_string();
                } else if full != description.trim() && full != title {
                    description.reserve(full.len() + 2);
                    description.push_str("\n\n");
                    description.push_str(full);
                }
            }
        }

        let mut f = Finding::new(self.scanner.clone(), rule_id, title);
        f.fingerprint = fb.finish();
        f.category = category;
        f.description = Some(description).filter(|d| !d.trim().is_empty());
        f.recommendation = rule.and_then(|x| {
            if is_secret {
                x.safe_help.clone()
            } else {
                x.recommendation.clone()
            }
        });

        // Severity.
        let (sev, verbatim) = severity(props, rule, r.level.get(), is_secret);
        f.severity = sev;
        f.scanner_severity = verbatim;
        f.confidence = props
            .and_then(|p| confidence_word(p.issue_confidence.get().or_else(|| p.confidence.get())))
            .or_else(|| rule.and_then(|x| x.confidence));

        // Taxonomy.
        if let Some(rule) = rule {
            f.cwe.clone_from(&rule.cwe);
            f.vulnerability_ids.clone_from(&rule.vulnerability_ids);
            f.references.clone_from(&rule.references);
        }
        if let Some(p) = props {
            add_prop_cwes(p, &mut f.cwe);
            for u in p.reference.iter().chain(p.references.iter()) {
                if is_url(u) {
                    f.add_reference(u);
                }
            }
            let v3 = p.cvss3_score.get().and_then(|s| s.parse::<f64>().ok());
            if let Some(c) = Cvss::new(None, v3, Some(cvss3_version(p.cvss3_version.get()))) {
                f.cvss.push(c);
            }
            let v2 = p.cvss2_score.get().and_then(|s| s.parse::<f64>().ok());
            if let Some(c) = Cvss::new(None, v2, Some(CvssVersion::V2)) {
                f.cvss.push(c);
            }
        }
        for t in r.taxa.iter().flatten() {
            if let Some(c) = t.cwe() {
                f.add_cwe(c);
            }
        }
        for id in ids {
            f.add_vulnerability_id(id);
        }

        // Location.
        f.location.start_line = region.and_then(|x| x.start_line.line());
        f.location.end_line = region.and_then(|x| x.end_line.line());
        f.location.snippet = snippet;
        if file.is_none() {
            f.location.component = logical.map(str::to_string);
        }
        f.location.file = file;
        f.location.package = package;
        f.secret = secret;
        f.suppressed = r.suppressions.as_ref().is_some_and(|s| {
            s.iter().any(|x| {
                !x.status
                    .get()
                    .is_some_and(|st| st.eq_ignore_ascii_case("rejected"))
            })
        });
        f.source = crate::source(Format::Sarif, pointer(self.index, i));
        f
    }

    fn stable_key(&self, key: &str) -> bool {
        let mut known = self.stable_keys.borrow_mut();
        if let Some((_, stable)) = known.iter().find(|(k, _)| k == key) {
            return *stable;
        }
        let stable = stable_fingerprint_key(key);
        if known.len() < 32 {
            known.push((key.to_string(), stable));
        }
        stable
    }

    /// Package facts of an SCA result: from its message, completed from its rule's help.
    fn package(&self, message: &str, rule: Option<&RuleInfo>) -> Option<Package> {
        let mut pkg = parse_package(message).unwrap_or_default();
        if let Some(rp) = rule.and_then(|x| x.package.as_ref()) {
            if pkg.name.is_empty() {
                pkg.name.clone_from(&rp.name);
            }
            if pkg.installed_version.is_none() {
                pkg.installed_version.clone_from(&rp.installed_version);
            }
            if pkg.fixed_version.is_none() {
                pkg.fixed_version.clone_from(&rp.fixed_version);
            }
        }
        (!pkg.name.is_empty()).then_some(pkg)
    }
}

/// `/runs/<run>/results/<i>` without the formatting machinery.
fn pointer(run: usize, i: usize) -> String {
    let mut s = String::with_capacity(32);
    s.push_str("/runs/");
    push_number(&mut s, run);
    s.push_str("/results/");
    push_number(&mut s, i);
    s
}

fn push_number(s: &mut String, mut n: usize) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for b in &buf[at..] {
        s.push(char::from(*b));
    }
}

fn rule_info(rule: &Rule<'_>, kind: ToolKind) -> RuleInfo {
    let id = rule.id.get().unwrap_or("").to_string();
    let props = rule.properties.as_deref();
    let name = rule.name.get().filter(|n| *n != id);
    let short = rule
        .short_description
        .as_ref()
        .and_then(Text::best)
        .filter(|s| *s != id && !s.starts_with("Semgrep Finding:"));
    let title = short
        .or_else(|| name.filter(|n| n.contains(' ')))
        .map(|s| short_title(s).unwrap_or_else(|| s.to_string()));
    let full = rule
        .full_description
        .as_ref()
        .and_then(Text::best)
        .map(str::to_string);
    let recommendation = rule.help.as_ref().and_then(|h| {
        let text = h.text.get().filter(|t| Some(*t) != full.as_deref());
        let md = h.markdown.get().filter(|t| Some(*t) != full.as_deref());
        text.or(md).map(str::to_string)
    });
    let safe_help = rule
        .help
        .as_ref()
        .and_then(|h| h.text.get())
        .filter(|t| Some(*t) != full.as_deref())
        .map(drop_match_lines)
        .filter(|t| !t.trim().is_empty());
    let mut info = RuleInfo {
        name: name.map(str::to_string),
        title,
        full_description: full,
        recommendation,
        safe_help,
        ..RuleInfo::default()
    };
    if let Some(u) = rule.help_uri.get() {
        info.references.push(u.to_string());
    }
    if let Some(md) = rule.help.as_ref().and_then(|h| h.markdown.get()) {
        for u in markdown_links(md) {
            if !info.references.iter().any(|x| x == u) {
                info.references.push(u.to_string());
            }
        }
    }
    let mut cwe = Vec::new();
    if let Some(p) = props {
        add_prop_cwes(p, &mut cwe);
        for u in p.reference.iter().chain(p.references.iter()) {
            if is_url(u) && !info.references.iter().any(|x| x == u) {
                info.references.push(u.to_string());
            }
        }
        info.severity_word = [p.issue_severity.get(), p.severity.get()]
            .into_iter()
            .flatten()
            .chain(p.tags.iter().filter(|t| is_severity_tag(t)))
            .find_map(|w| Severity::from_word(w).map(|s| (s, w.to_string())));
        info.security_severity = p.security_severity.get().and_then(|s| {
            s.parse::<f64>()
                .ok()
                .map(|n| (Severity::from_cvss(n), s.to_string()))
        });
        info.confidence = confidence_word(p.issue_confidence.get().or_else(|| p.confidence.get()))
            .or_else(|| {
                // Semgrep: "HIGH CONFIDENCE" tags are more specific than its constant precision.
                p.tags.iter().find_map(|t| {
                    t.strip_suffix(" CONFIDENCE")
                        .or_else(|| t.strip_suffix(" confidence"))
                        .and_then(Confidence::from_word)
                })
            })
            .or_else(|| p.precision.get().and_then(precision_confidence));
        info.level = p.problem_severity.get().map(str::to_string);
        for t in p.tags.iter() {
            if is_secret_tag(t) {
                info.secret = true;
            }
            if kind == ToolKind::Trivy {
                let class = match t.to_ascii_lowercase().as_str() {
                    "misconfiguration" => Some(Category::Iac),
                    "secret" => Some(Category::Secret),
                    "license" => Some(Category::License),
                    "vulnerability" if rule.name.get() == Some("OsPackageVulnerability") => {
                        Some(Category::Container)
                    }
                    "vulnerability" => Some(Category::Sca),
                    _ => None,
                };
                info.class = info.class.or(class);
            }
            vuln_ids_in(t, &mut info.vulnerability_ids);
        }
    }
    if let Some(level) = rule
        .default_configuration
        .as_ref()
        .and_then(|c| c.level.get())
    {
        info.level = Some(level.to_string());
    }
    for rel in rule.relationships.iter().flatten() {
        if let Some(c) = rel.target.as_ref().and_then(TaxonRef::cwe) {
            if !cwe.contains(&c) {
                cwe.push(c);
            }
        }
    }
    if kind != ToolKind::Sca && secret_rule_id(&id)
        || cwe.iter().any(|c| matches!(c, 798 | 259 | 321))
    {
        info.secret = true;
    }
    info.cwe = cwe;
    vuln_ids_in(&id, &mut info.vulnerability_ids);
    if matches!(kind, ToolKind::Sca | ToolKind::Trivy) {
        info.package = rule
            .help
            .as_ref()
            .and_then(|h| h.text.get())
            .and_then(parse_package);
    }
    for (k, v) in rule.message_strings.iter().flatten() {
        if let Some(t) = v.best() {
            info.message_strings.insert(k.clone(), t.to_string());
        }
    }
    info.id = id;
    info
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn message_text(msg: Option<&Message<'_>>, rule: Option<&RuleInfo>) -> String {
    let Some(m) = msg else {
        return String::new();
    };
    let template = m.text.raw().or_else(|| m.markdown.raw()).or_else(|| {
        let id = m.id.get()?;
        rule?.message_strings.get(id).map(String::as_str)
    });
    let Some(template) = template else {
        return String::new();
    };
    if m.arguments.0.is_empty() || !template.contains('{') {
        // Room for the rule's full description, appended later.
        let extra = rule
            .and_then(|r| r.full_description.as_ref())
            .map_or(0, |d| d.len() + 2);
        let mut out = String::with_capacity(template.len() + extra);
        out.push_str(template);
        return out;
    }
    // SARIF message formatting: {0}, {1} … with {{ and }} as escapes.
    let mut out = String::with_capacity(template.len() + 16);
    let mut chars = template.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|p| p.1) == Some('{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek().map(|p| p.1) == Some('}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let rest = &template[at + 1..];
                let end = rest.find('}');
                let arg = end
                    .and_then(|e| rest[..e].parse::<usize>().ok())
                    .and_then(|n| m.arguments.0.get(n));
                match (end, arg) {
                    (Some(e), Some(a)) => {
                        out.push_str(a);
                        for _ in 0..=e {
                            chars.next();
                        }
                    }
                    _ => out.push('{'),
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// The first line, cut to its first sentence when long.
fn short_title(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    if line.chars().count() <= 120 {
        return Some(line.to_string());
    }
    if let Some(dot) = line.find(". ") {
        if line[..dot].chars().count() < 120 {
            return Some(line[..=dot].to_string());
        }
    }
    let mut out: String = line.chars().take(117).collect();
    out.push('…');
    Some(out)
}

fn severity(
    props: Option<&Props<'_>>,
    rule: Option<&RuleInfo>,
    level: Option<&str>,
    is_secret: bool,
) -> (Severity, Option<String>) {
    if let Some(p) = props {
        for w in [
            p.issue_severity.get(),
            p.severity.get(),
            p.cvss3_severity.get(),
        ]
        .into_iter()
        .flatten()
        {
            if let Some(s) = Severity::from_word(w) {
                return (s, Some(w.to_string()));
            }
        }
        for n in [
            p.security_severity.get(),
            p.cvss3_score.get(),
            p.cvss2_score.get(),
        ]
        .into_iter()
        .flatten()
        {
            if let Ok(score) = n.parse::<f64>() {
                return (Severity::from_cvss(score), Some(n.to_string()));
            }
        }
    }
    if let Some(rule) = rule {
        if let Some((s, w)) = rule
            .severity_word
            .as_ref()
            .or(rule.security_severity.as_ref())
        {
            return (*s, Some(w.clone()));
        }
    }
    let levels = level
        .into_iter()
        .chain(rule.and_then(|r| r.level.as_deref()));
    for l in levels {
        if let Some(s) = Severity::from_word(l) {
            return (s, Some(l.to_string()));
        }
    }
    if is_secret {
        (Severity::High, None)
    } else {
        (Severity::Medium, None)
    }
}

fn confidence_word(w: Option<&str>) -> Option<Confidence> {
    w.and_then(Confidence::from_word)
}

fn precision_confidence(p: &str) -> Option<Confidence> {
    match p.to_ascii_lowercase().as_str() {
        "very-high" | "high" => Some(Confidence::High),
        "medium" => Some(Confidence::Medium),
        "low" => Some(Confidence::Low),
        _ => None,
    }
}

fn cvss3_version(v: Option<&str>) -> CvssVersion {
    if v.is_some_and(|v| v.trim() == "3.0") {
        CvssVersion::V30
    } else {
        CvssVersion::V31
    }
}

fn is_severity_tag(t: &str) -> bool {
    matches!(t, "CRITICAL" | "HIGH" | "MEDIUM" | "LOW")
}

fn is_secret_tag(t: &str) -> bool {
    let t = t.to_ascii_lowercase();
    let last = t.rsplit('/').next().unwrap_or("");
    matches!(
        last,
        "secret" | "secrets" | "hardcoded-secret" | "hardcoded-credentials"
    )
}

/// Rule ids that name a leaked credential (not a configuration rule that merely mentions one).
fn secret_rule_id(id: &str) -> bool {
    let id = id.to_ascii_lowercase();
    (id.contains("hardcoded") || id.contains("hard-coded") || id.contains("hard_coded"))
        && ["secret", "password", "passwd", "key", "token", "credential"]
            .iter()
            .any(|w| id.contains(w))
        || id.starts_with("ckv_secret")
        || id.contains("static-credentials")
        || id.contains(".secrets.")
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// `external/cwe/cwe-079`, `CWE-79: …`, `cwe-79`.
fn cwe_from_tag(t: &str) -> Option<u32> {
    let last = t.rsplit('/').next()?;
    starts_with_ci(last, "cwe-")
        .then(|| parse_cwe(last))
        .flatten()
}

fn add_prop_cwes(p: &Props<'_>, out: &mut Vec<u32>) {
    let from_tags = p.tags.iter().filter_map(cwe_from_tag);
    let from_cwe = p.cwe.iter().filter_map(parse_cwe);
    for c in from_tags.chain(from_cwe) {
        if !out.contains(&c) {
            out.push(c);
        }
    }
}

/// Targets of `[text](http…)` links.
fn markdown_links(md: &str) -> impl Iterator<Item = &str> {
    md.split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(u, _)| u.trim()))
        .filter(|u| is_url(u) && !u.contains(char::is_whitespace))
}

fn is_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

/// CVE-YYYY-NNNN… and GHSA-xxxx-xxxx-xxxx ids found in `text`.
fn vuln_ids_in(text: &str, out: &mut Vec<String>) {
    let mut push = |id: &str| {
        if !out.iter().any(|x| x == id) {
            out.push(id.to_string());
        }
    };
    for (at, _) in text.match_indices("CVE-") {
        let rest = &text[at + 4..];
        if rest.bytes().take_while(u8::is_ascii_digit).count() != 4 {
            continue;
        }
        let Some(tail) = rest[4..].strip_prefix('-') else {
            continue;
        };
        let num = tail.bytes().take_while(u8::is_ascii_digit).count();
        if num >= 4 {
            push(&text[at..at + 9 + num]);
        }
    }
    for (at, _) in text.match_indices("GHSA-") {
        let Some(id) = text.get(at..at + 19) else {
            continue;
        };
        let ok = id.as_bytes()[5..].iter().enumerate().all(|(k, b)| {
            if k == 4 || k == 9 {
                *b == b'-'
            } else {
                b.is_ascii_alphanumeric()
            }
        });
        if ok {
            push(id);
        }
    }
}

/// Trivy and Grype write package facts as `Key: value` lines.
fn parse_package(text: &str) -> Option<Package> {
    let mut pkg = Package::default();
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        match k.trim() {
            "Package" | "PkgName" => pkg.name = v.to_string(),
            "Installed Version" | "Version" => pkg.installed_version = Some(v.to_string()),
            "Fixed Version" | "Fix Version" => pkg.fixed_version = Some(v.to_string()),
            "PURL" | "Purl" => pkg.purl = Some(v.to_string()),
            _ => {}
        }
    }
    (!pkg.name.is_empty()).then_some(pkg)
}

/// String literals (`'…'`, `"…"`, `` `…` ``) of at least 4 characters in a line of code.
fn quoted_literals(code: &str) -> impl Iterator<Item = &str> {
    let mut rest = code;
    std::iter::from_fn(move || loop {
        let start = rest.find(['\'', '"', '`'])?;
        let quote = rest[start..].chars().next()?;
        let after = &rest[start + 1..];
        let Some(end) = after.find(quote) else {
            rest = "";
            return None;
        };
        let literal = &after[..end];
        rest = &after[end + 1..];
        if literal.trim().chars().count() >= 4 {
            return Some(literal);
        }
    })
}

/// Trivy writes the (masked) matched line of a secret as `Match: …`; never copy it.
fn drop_match_lines(text: &str) -> String {
    if !text.contains("Match:") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("Match:") || t.starts_with("|") && t.contains("Match") {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
    }
    out
}

fn stable_fingerprint_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    if k == "primarylocationlinehash" {
        return true;
    }
    const UNSTABLE: &[&str] = &[
        "line", "column", "offset", "index", "commit", "sha", "email", "author", "date", "time",
        "message", "file",
    ];
    !UNSTABLE.iter().any(|u| k.contains(u))
}

fn has_scheme(uri: &str) -> bool {
    match uri.find(':') {
        // One letter before the colon is a Windows drive, not a scheme.
        Some(i) if i > 1 => uri[..i]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')),
        _ => false,
    }
}

fn is_absolute(uri: &str) -> bool {
    let u = uri.trim();
    has_scheme(u)
        || u.starts_with('/')
        || u.starts_with('\\')
        || (u.len() > 2 && u.as_bytes()[1] == b':' && u.as_bytes()[0].is_ascii_alphabetic())
}

fn file_uri_to_path(uri: &str) -> &str {
    let u = uri.trim();
    let Some(rest) = u.strip_prefix("file:").or_else(|| u.strip_prefix("FILE:")) else {
        return u;
    };
    let path = if let Some(p) = rest.strip_prefix("//") {
        if p.starts_with('/') {
            p
        } else {
            // file://host/path: keep the path.
            p.find('/').map_or(p, |i| &p[i..])
        }
    } else {
        rest
    };
    // Collapse `////src` to `/src`.
    let trimmed = path.trim_start_matches('/');
    let path = if trimmed.len() < path.len() {
        &path[path.len() - trimmed.len() - 1..]
    } else {
        path
    };
    // `/C:/code/x.c` → `C:/code/x.c`.
    let b = path.as_bytes();
    if b.len() > 3 && b[0] == b'/' && b[1].is_ascii_alphabetic() && b[2] == b':' {
        &path[1..]
    } else {
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{detect, parse_to_vec, ErrorKind};
    use tollgate_model::Tag;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/sarif/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn parse_fixture(name: &str) -> (ReportMeta, Vec<Finding>) {
        let bytes = fixture(name);
        assert_eq!(detect(&bytes).unwrap(), Format::Sarif, "{name} detected");
        parse_to_vec(&bytes, None).unwrap()
    }

    fn parse_text(text: &str) -> Result<(ReportMeta, Vec<Finding>), ParseError> {
        parse_to_vec(text.as_bytes(), Some(Format::Sarif))
    }

    #[test]
    fn detection_needs_runs_and_a_sarif_marker() {
        let yes = |t: &str| detect(t.as_bytes()).ok() == Some(Format::Sarif);
        assert!(yes(r#"{"version": "2.1.0", "runs": []}"#));
        assert!(yes(
            r#"{"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "runs": []}"#
        ));
        assert!(yes(r#"{"runs": [{"tool": {"driver": {"name": "x"}}}]}"#));
        assert!(yes(
            r#"{"runs": [{"results": [{"ruleId": "r", "message": {"text": "m"}}]}]}"#
        ));
        assert!(!yes(r#"{"runs": [], "version": "1.0"}"#));
        assert!(!yes(r#"{"version": "2.1.0", "results": []}"#));
        assert!(!yes(r#"[{"runs": []}]"#));
    }

    #[test]
    fn codeql_rules_by_index_extensions_and_security_severity() {
        let (meta, findings) = parse_fixture("codeql.sarif");
        assert_eq!(
            meta.scanners,
            vec![Scanner::new("codeql", Some("2.19.3".into()))]
        );
        assert_eq!(findings.len(), 4);
        let [sqli, xss, md5, unused] = &findings[..] else {
            panic!()
        };

        assert_eq!(sqli.rule_id, "js/sql-injection");
        assert_eq!(
            sqli.title,
            "Database query built from user-controlled sources"
        );
        assert_eq!(
            (sqli.severity, sqli.scanner_severity.as_deref()),
            (Severity::High, Some("8.8"))
        );
        assert_eq!(sqli.confidence, Some(Confidence::High));
        assert_eq!(sqli.cwe, vec![89, 90, 943]);
        assert!(sqli.has_tag(Tag::Injection));
        assert_eq!(sqli.location.file.as_deref(), Some("web/routes/search.js"));
        assert_eq!(sqli.location.start_line, Some(23));
        assert!(sqli
            .references
            .contains(&"https://owasp.org/www-community/attacks/SQL_Injection".to_string()));
        assert_eq!(sqli.source.pointer, "/runs/0/results/0");

        // Rule from an extension (rule.toolComponent.index), location by artifact index only.
        assert_eq!(xss.title, "Reflected cross-site scripting");
        assert_eq!(xss.severity, Severity::Medium);
        assert_eq!(xss.cwe, vec![79, 116]);
        assert!(xss.has_tag(Tag::Xss));
        assert_eq!(xss.location.file.as_deref(), Some("web/routes/search.js"));
        assert_eq!(
            (xss.location.start_line, xss.location.end_line),
            (Some(41), Some(42))
        );

        // CWE from relationships, percent-decoded path, 9.1 → Critical.
        assert_eq!(md5.severity, Severity::Critical);
        assert_eq!(md5.cwe, vec![327]);
        assert!(md5.has_tag(Tag::WeakCrypto));
        assert_eq!(
            md5.location.file.as_deref(),
            Some("web/lib/crypto utils.js")
        );

        // No security-severity: the rule's default level.
        assert_eq!(
            (unused.severity, unused.scanner_severity.as_deref()),
            (Severity::Low, Some("note"))
        );
        assert!(findings.iter().all(|f| f.category == Category::Sast));
        insta::assert_json_snapshot!("codeql", findings);
    }

    #[test]
    fn semgrep_results_before_tool_and_secret_rules() {
        let (meta, findings) = parse_fixture("semgrep.sarif");
        assert_eq!(
            meta.scanners,
            vec![Scanner::new("semgrep", Some("1.95.0".into()))]
        );
        assert_eq!(findings.len(), 3);
        let [sql, jwt, xss] = &findings[..] else {
            panic!()
        };
        assert_eq!(sql.severity, Severity::High);
        assert_eq!(
            sql.confidence,
            Some(Confidence::Low),
            "LOW CONFIDENCE tag beats precision"
        );
        assert_eq!(sql.cwe, vec![89]);
        assert!(sql
            .title
            .starts_with("Detected string concatenation in a SQL query."));
        assert!(sql
            .references
            .contains(&"https://owasp.org/Top10/A03_2021-Injection".to_string()));
        // "requires login" is Semgrep's placeholder, not a fingerprint: content is used.
        let expected = FingerprintBuilder::new("sarif")
            .part("semgrep")
            .part(&sql.rule_id)
            .path(Some("app/db.py"))
            .part("content")
            .snippet(Some(
                "cursor.execute(\"SELECT * FROM users WHERE id=\" + uid)",
            ))
            .opt(None)
            .finish();
        assert_eq!(sql.fingerprint, expected);

        assert_eq!(jwt.category, Category::Secret);
        assert!(jwt.secret.is_some());
        assert!(jwt.has_tag(Tag::HardcodedSecret));
        let out = serde_json::to_string(&findings).unwrap();
        assert!(!out.contains("tollgate-test-jwt-secret-NOT-REAL-0001"));
        assert_eq!(xss.confidence, Some(Confidence::Medium));
        assert!(xss.has_tag(Tag::Xss));
        insta::assert_json_snapshot!("semgrep", findings);
    }

    #[test]
    fn results_before_or_after_tool_give_the_same_findings() {
        let doc: serde_json::Value = serde_json::from_slice(&fixture("semgrep.sarif")).unwrap();
        let run = &doc["runs"][0];
        let tool_first = format!(
            r#"{{"version":"2.1.0","runs":[{{"tool":{},"results":{}}}]}}"#,
            run["tool"], run["results"]
        );
        let results_first = format!(
            r#"{{"version":"2.1.0","runs":[{{"results":{},"tool":{}}}]}}"#,
            run["results"], run["tool"]
        );
        let (_, a) = parse_text(&tool_first).unwrap();
        let (_, b) = parse_text(&results_first).unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a, b);
    }

    #[test]
    fn gitleaks_secrets_never_leave_in_clear() {
        let (meta, findings) = parse_fixture("gitleaks.sarif");
        assert_eq!(meta.scanners.len(), 2);
        assert_eq!(findings.len(), 4);
        let out = serde_json::to_string(&findings).unwrap();
        for value in [
            "AKIATOLLGATEFAKE0001",
            "tg_fake_5f1d9c0a7b3e4d2f8a6c1b0e9d7f3a2c",
            "sk_test_TOLLGATEFAKE00000000000000",
        ] {
            assert!(!out.contains(value), "{value} leaked");
        }
        for f in &findings {
            assert_eq!(f.category, Category::Secret);
            assert_eq!(f.severity, Severity::High);
            assert!(f.secret.is_some());
            assert!(f.has_tag(Tag::HardcodedSecret));
        }
        // Gitleaks 7: no ruleId, the rule is named by the message; the offender is the secret.
        let v7 = &findings[3];
        assert_eq!(v7.rule_id, "Stripe API key");
        assert_eq!(
            v7.secret,
            Some(RedactedSecret::new("sk_test_TOLLGATEFAKE00000000000000"))
        );
        let snippet = v7.location.snippet.as_deref().unwrap();
        assert!(
            snippet.starts_with("Stripe.api_key = 'sk_t…[redacted 34 chars"),
            "{snippet}"
        );
        // commitSha/email/date partial fingerprints do not enter the fingerprint.
        let changed = String::from_utf8(fixture("gitleaks.sarif"))
            .unwrap()
            .replace(
                "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
                "ffffffffffffffffffffffffffffffffffffffff",
            )
            .replace("2026-01-02T03:04:05Z", "2027-01-01T00:00:00Z");
        let (_, again) = parse_text(&changed).unwrap();
        assert_eq!(findings[0].fingerprint, again[0].fingerprint);
        insta::assert_json_snapshot!("gitleaks", findings);
    }

    #[test]
    fn trivy_classes_packages_and_masked_matches() {
        let (_, findings) = parse_fixture("trivy.sarif");
        let [lodash, openssl, ksv, pat] = &findings[..] else {
            panic!()
        };
        assert_eq!(lodash.category, Category::Sca);
        assert_eq!(lodash.vulnerability_ids, vec!["CVE-2021-23337"]);
        assert_eq!(
            (lodash.severity, lodash.scanner_severity.as_deref()),
            (Severity::High, Some("HIGH"))
        );
        let pkg = lodash.location.package.as_ref().unwrap();
        assert_eq!(
            (
                pkg.name.as_str(),
                pkg.installed_version.as_deref(),
                pkg.fixed_version.as_deref()
            ),
            ("lodash", Some("4.17.20"), Some("4.17.21"))
        );
        assert!(lodash.has_tag(Tag::VulnerableDependency));
        // Absolute ROOTPATH base is machine-specific: the path stays relative.
        assert_eq!(lodash.location.file.as_deref(), Some("package-lock.json"));
        assert_eq!(openssl.category, Category::Container);
        assert_eq!(openssl.location.package.as_ref().unwrap().name, "libssl3");
        assert_eq!(ksv.category, Category::Iac);
        assert!(ksv.has_tag(Tag::Misconfiguration));
        assert_eq!(pat.category, Category::Secret);
        assert_eq!(pat.severity, Severity::Critical);
        let out = serde_json::to_string(&findings).unwrap();
        assert!(!out.contains("ghp_TOLLGATE"), "Trivy match line leaked");
        // A re-rated advisory keeps its identity.
        let rerated = String::from_utf8(fixture("trivy.sarif")).unwrap().replace(
            "Vulnerability CVE-2021-23337\\nSeverity: HIGH",
            "Vulnerability CVE-2021-23337\\nSeverity: CRITICAL",
        );
        assert_ne!(rerated.as_bytes(), &fixture("trivy.sarif")[..]);
        let (_, again) = parse_text(&rerated).unwrap();
        assert_eq!(again[0].fingerprint, lodash.fingerprint);
        insta::assert_json_snapshot!("trivy", findings);
    }

    #[test]
    fn suppressions_unless_rejected() {
        let (_, findings) = parse_fixture("suppressions.sarif");
        let flags: Vec<bool> = findings.iter().map(|f| f.suppressed).collect();
        assert_eq!(
            flags,
            vec![true, true, false, true, false, false, true, false]
        );
        insta::assert_json_snapshot!("suppressions", findings);
    }

    #[test]
    fn multiple_runs_and_odd_shapes() {
        let (meta, findings) = parse_fixture("multi-run.sarif");
        let names: Vec<&str> = meta.scanners.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "bandit",
                "checkov",
                "mobsfscan",
                "dependency-check",
                "codescanner",
                "emptyscanner"
            ]
        );
        assert_eq!(findings.len(), 6);
        let [shell, password, s3, webview, cve, spec] = &findings[..] else {
            panic!()
        };

        assert_eq!(
            (shell.severity, shell.confidence),
            (Severity::High, Some(Confidence::High))
        );
        assert_eq!(
            shell.location.snippet.as_deref(),
            Some("    subprocess.Popen(cmd, shell=True)\n")
        );
        // Bandit's hard-coded password: CWE-259 makes it a secret; the message quoted it.
        assert_eq!(password.category, Category::Secret);
        assert_eq!(password.severity, Severity::Low);
        assert!(!serde_json::to_string(password)
            .unwrap()
            .contains("hunter2-not-real"));

        assert_eq!((s3.category, s3.severity), (Category::Iac, Severity::High));
        assert_eq!(
            (webview.category, webview.severity),
            (Category::Mobile, Severity::Critical)
        );
        assert_eq!(webview.cwe, vec![295]);
        assert!(webview.has_tag(Tag::InsecureTls));

        assert_eq!(cve.category, Category::Sca);
        assert_eq!(
            (cve.severity, cve.scanner_severity.as_deref()),
            (Severity::Critical, Some("CRITICAL"))
        );
        assert_eq!(cve.vulnerability_ids, vec!["CVE-2022-42889"]);
        assert_eq!(cve.cvss_score(), Some(9.8));
        assert_eq!(
            cve.location.file.as_deref(),
            Some("/builds/shop/api/lib/commons-text-1.9.jar")
        );
        assert_eq!(cve.source.pointer, "/runs/3/results/0");

        // Message from messageStrings + arguments, hierarchical rule id, logical location.
        assert_eq!(spec.rule_id, "C2001/1");
        assert_eq!(
            spec.description.as_deref(),
            Some("Variable \"count\" was used without being initialized ({twice}).\n\nA variable was used without being initialized.")
        );
        assert_eq!(
            spec.location.component.as_deref(),
            Some("collections::list::add")
        );
        assert_eq!(spec.cwe, vec![457]);
        assert_eq!(spec.severity, Severity::Medium);
        insta::assert_json_snapshot!("multi_run", findings);
    }

    #[test]
    fn shifted_lines_keep_fingerprints() {
        let (_, a) = parse_fixture("lines.sarif");
        let (_, b) = parse_fixture("lines-shifted.sarif");
        assert_eq!(a.len(), 4);
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.fingerprint, y.fingerprint, "{}", x.source.pointer);
            if x.location.file.is_some() {
                assert_ne!(x.location.start_line, y.location.start_line);
            }
        }
        let mut unique: Vec<&str> = a.iter().map(|f| f.fingerprint.as_str()).collect();
        unique.dedup();
        assert_eq!(
            unique.len(),
            4,
            "distinct results keep distinct fingerprints"
        );
        insta::assert_json_snapshot!("lines", a);
    }

    #[test]
    fn errors_name_the_place() {
        let e = parse_to_vec(&fixture("broken-result.sarif"), None).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Shape);
        assert_eq!(e.path.as_deref(), Some("$.runs[0].results[1]"));
        assert!(e.line_column.is_some());

        let e = parse_text(r#"{"version": "2.1.0"}"#).unwrap_err();
        assert_eq!(
            (e.kind, e.path.as_deref()),
            (ErrorKind::Shape, Some("$.runs"))
        );
        let e = parse_text(r#"{"version": "2.1.0", "runs": {"tool": {}}}"#).unwrap_err();
        assert_eq!(
            (e.kind, e.path.as_deref()),
            (ErrorKind::Shape, Some("$.runs"))
        );
        let e = parse_text(r#"{"version": "2.1.0", "runs": null}"#).unwrap_err();
        assert_eq!(
            (e.kind, e.path.as_deref()),
            (ErrorKind::Shape, Some("$.runs"))
        );
        let e = parse_text(r#"{"version": "2.1.0", "runs": [7]}"#).unwrap_err();
        assert_eq!(
            (e.kind, e.path.as_deref()),
            (ErrorKind::Shape, Some("$.runs[0]"))
        );
        let e = parse_text(r#"[{"runs": []}]"#).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Shape);
        let e =
            parse_text(r#"{"version": "2.1.0", "runs": [{"results": [{"ruleId": "x""#).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Syntax);
        // Results kept back (before `tool`) are checked too.
        let e =
            parse_text(r#"{"runs": [{"results": [{}, 3], "tool": {"driver": {"name": "x"}}}]}"#)
                .unwrap_err();
        assert_eq!(e.path.as_deref(), Some("$.runs[0].results[1]"));
    }

    #[test]
    fn tolerates_missing_and_null_fields() {
        let text = r#"{"version": "2.1.0", "runs": [
            {"tool": {"driver": {"name": "Mini", "rules": null}}, "results": [
                {},
                {"ruleId": null, "message": null, "locations": null, "level": null, "properties": null},
                {"ruleId": "R1", "ruleIndex": 99, "message": {"text": "out-of-range index"},
                 "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a.c"}, "region": {"startLine": "12"}}}]}
            ]},
            {"results": [{"ruleId": "no-tool", "message": {"text": "a run without a tool"}}]}
        ]}"#;
        let (meta, findings) = parse_text(text).unwrap();
        assert_eq!(findings.len(), 4);
        assert_eq!(meta.scanners.len(), 2);
        assert_eq!(findings[0].title, "SARIF result");
        assert_eq!(findings[0].severity, Severity::Medium);
        assert_eq!(findings[2].rule_id, "R1");
        assert_eq!(findings[2].location.start_line, Some(12));
        assert_eq!(findings[3].scanner.name, "unknown");
        assert!(findings.iter().all(|f| !f.fingerprint.as_str().is_empty()));
    }

    #[test]
    fn escaped_results_key_before_tool_is_kept_typed() {
        let text = r#"{"version": "2.1.0", "runs": [{"r\u0065sults": [{"ruleId": "a"}, {"ruleId": "b"}],
            "tool": {"driver": {"name": "X", "rules": [{"id": "a", "shortDescription": {"text": "Rule A"}}]}}}]}"#;
        let (_, findings) = parse_text(text).unwrap();
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[0].title, "Rule A");
        assert_eq!(findings[1].source.pointer, "/runs/0/results/1");
    }

    #[test]
    fn failed_invocations_mark_the_report_incomplete() {
        let text = r#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "X"}},
            "invocations": [{"executionSuccessful": false}], "results": []}]}"#;
        let (meta, _) = parse_text(text).unwrap();
        assert_eq!(meta.incomplete.len(), 1);
    }

    #[test]
    fn helpers() {
        let mut ids = Vec::new();
        vuln_ids_in(
            "CVE-2021-44228-log4j and GHSA-jfh8-c2jp-5v3q, CVE-99-1",
            &mut ids,
        );
        assert_eq!(ids, vec!["CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q"]);
        assert_eq!(file_uri_to_path("file:///C:/code/a.c"), "C:/code/a.c");
        assert_eq!(file_uri_to_path("file:////src/x.js"), "/src/x.js");
        assert_eq!(file_uri_to_path("file://host/share/x.js"), "/share/x.js");
        assert_eq!(file_uri_to_path("src/x.js"), "src/x.js");
        assert_eq!(tollgate_model::percent_decode("a%20b%2Fc%zz"), "a b/c%zz");
        assert_eq!(scanner_name("Semgrep OSS"), "semgrep");
        assert!(stable_fingerprint_key("primaryLocationLineHash"));
        assert!(stable_fingerprint_key("matchBasedId/v1"));
        assert!(!stable_fingerprint_key(
            "primaryLocationStartColumnFingerprint"
        ));
        assert!(!stable_fingerprint_key("commitSha"));
        assert!(!stable_fingerprint_key("scanFileHash"));
        assert!(secret_rule_id(
            "python.jwt.security.jwt-hardcode.jwt-python-hardcoded-secret"
        ));
        assert!(!secret_rule_id(
            "terraform.azure.best-practice.azure-secret-expiration-date"
        ));
        assert!(!secret_rule_id(
            "java.lang.correctness.hardcoded-conditional"
        ));
        let lits: Vec<&str> = quoted_literals(r#"x = 'abc' + "abcd" + `q`"#).collect();
        assert_eq!(lits, vec!["abcd"]);
    }
}
