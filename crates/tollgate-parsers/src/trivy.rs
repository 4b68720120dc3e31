//! Trivy JSON reports: schema 2 (`SchemaVersion: 2`; image, filesystem, repository, rootfs, vm
//! targets), the legacy list format (a top-level array of `{Target, Type, Vulnerabilities}`), the
//! legacy "nothing found" report (a bare `null`), and Kubernetes cluster reports (`ClusterName`
//! with `Resources`, or the summary shape whose top-level `Vulnerabilities` / `Misconfigurations`
//! are lists of resources).
//!
//! Count: one finding per vulnerability, per failed misconfiguration (`Status` FAIL or absent;
//! PASS and EXCEPTION results are skipped), per secret and per license.
//!
//! Streaming: the report is walked with hand-written visitors; each Result's `Vulnerabilities`
//! array is streamed with [`json::ForEach`] and every vulnerability becomes a finding at once
//! (borrowed strings, unused fields skipped). When a Result's `Target`/`Class`/`Type` come after
//! its findings, that Result's items are buffered and converted at the end of the Result; when
//! `ArtifactName` (or `ClusterName`) comes after `Results`, findings are held back until the end
//! of the report and then get their target and scanner version.
//!
//! Severity: Trivy's `Severity` word; `UNKNOWN` (or none) falls back to the highest CVSS base score
//! of the finding, else Info. CVSS: per version (v4.0, v3.x) the first vendor that has it, in the
//! order `nvd`, the `SeveritySource` vendor, then the others in report order; v2 only when there is
//! neither v3 nor v4.
//!
//! Secrets: Trivy masks the secret in `Match` and `Code.Lines`, but the parser still treats both
//! as secret-bearing: `Code.Lines` is never read, `Match` only becomes `finding.secret`
//! (redacted) and its placeholder is the snippet.
//!
//! Fingerprint recipes:
//! - vulnerability (family `sca`): `PkgName` + `InstalledVersion` + `VulnerabilityID` + target
//!   class (the Result `Type`, e.g. `debian`, `npm`, `jar`; `Class` when there is no `Type`) + for
//!   language packages the normalized package file (`PkgPath`, else the Result `Target`; OS
//!   packages get none, since their Target names the image and its tag) + for Kubernetes reports
//!   the resource `namespace/Kind/name`. Never the `ArtifactName`, image tag or digest.
//! - misconfiguration (family `trivy`): `misconfig` + check id (`AVDID` without its `AVD-`
//!   prefix, else `ID`, so old and new Trivy ids agree) + normalized `Target` file (not for
//!   cluster resources) + Kubernetes resource + `CauseMetadata.Resource` + normalized cause code
//!   (the `IsCause` lines' content; the `Message` when there is no code). No line numbers.
//! - secret (family `trivy`): `secret` + `RuleID` + normalized `Target` + Kubernetes resource +
//!   the SHA-256 prefix of the redacted `Match`.
//! - license (family `trivy`): `license` + license name + package name + normalized `FilePath` +
//!   the Result `Target` (a group name such as `OS Packages`) + Kubernetes resource.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use tollgate_model::{
    normalize_path, parse_cwe, Category, Confidence, Cvss, CvssVersion, Finding,
    FingerprintBuilder, Location, Package, RedactedSecret, ReportMeta, Scanner, Severity,
};

use crate::json::{self, ForEach};
use crate::parallel::{read_array, Cursor, Parallel, Split, Stop, Work};
use crate::sniff::Shape;
use crate::{Format, ParseError, Parser, Sniff};

pub struct TrivyParser;

impl Parser for TrivyParser {
    fn format(&self) -> Format {
        Format::Trivy
    }

    fn detect(&self, sniff: &Sniff) -> bool {
        match sniff.shape() {
            Shape::JsonObject => {
                (sniff.has("SchemaVersion") && (sniff.has("Results") || sniff.has("ArtifactName")))
                    || (sniff.has("ClusterName")
                        && (sniff.has("Resources")
                            || sniff.has("Vulnerabilities")
                            || sniff.has("Misconfigurations")))
            }
            Shape::JsonArray => {
                sniff.has("[].Target")
                    && (sniff.has("[].Vulnerabilities") || sniff.has("[].Type"))
                    && !sniff.has("[].RuleID")
            }
            // A bare `null` (legacy Trivy's and Gitleaks v7's "nothing found") is ambiguous;
            // detection gives it to Gitleaks, `--scanner trivy` reads it here as 0 findings.
            Shape::JsonNull | Shape::Other => false,
            Shape::Xml => false,
        }
    }

    fn parse(&self, input: &str, sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> {
        let ctx = RefCell::new(Ctx::new(sink));
        json::from_str_seed(input, |dry| TopSeed { ctx: &ctx, dry })?;
        let mut ctx = ctx.into_inner();
        ctx.flush();
        let mut meta = ReportMeta::new(Format::Trivy.id());
        meta.add_scanner(&ctx.facts.scanner);
        meta.target = ctx.facts.default_target();
        meta.incomplete = ctx.incomplete;
        Ok(meta)
    }
}

// ---------------------------------------------------------------------------------------------
// Borrowed input shapes (only the fields the parser uses).

/// A string borrowed from the input when it has no escapes; numbers and booleans are read as text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Str<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_string()))
            }
        }
        d.deserialize_any(V).map(Str)
    }
}

type OStr<'a> = Option<Str<'a>>;

/// A number, or a string holding one; anything else reads as no number (without the cost of a
/// serde error, which matters at 100k vulnerabilities).
#[derive(Debug, Clone, Copy, Default)]
struct Num(Option<f64>);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                Ok(Num(Some(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num(Some(v as f64)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num(Some(v as f64)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Num, E> {
                Ok(Num(v.trim().parse().ok()))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Num, E> {
                Ok(Num(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Num, E> {
                Ok(Num(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Num, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Num(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Num, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Num(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// The trimmed text of an optional string, `None` when empty.
fn text<'s>(s: &'s OStr<'_>) -> Option<&'s str> {
    s.as_ref().map(|s| s.0.trim()).filter(|s| !s.is_empty())
}

#[derive(Deserialize)]
struct Vuln<'a> {
    #[serde(rename = "VulnerabilityID", borrow, default)]
    id: OStr<'a>,
    #[serde(rename = "VendorIDs", borrow, default)]
    vendor_ids: Option<Vec<Str<'a>>>,
    #[serde(rename = "PkgName", borrow, default)]
    pkg_name: OStr<'a>,
    #[serde(rename = "PkgPath", borrow, default)]
    pkg_path: OStr<'a>,
    #[serde(rename = "PkgIdentifier", borrow, default)]
    pkg_identifier: Option<PkgIdentifier<'a>>,
    #[serde(rename = "InstalledVersion", borrow, default)]
    installed: OStr<'a>,
    #[serde(rename = "FixedVersion", borrow, default)]
    fixed: OStr<'a>,
    #[serde(rename = "Status", borrow, default)]
    status: OStr<'a>,
    #[serde(rename = "SeveritySource", borrow, default)]
    severity_source: OStr<'a>,
    #[serde(rename = "PrimaryURL", borrow, default)]
    primary_url: OStr<'a>,
    // Text copied into the finding is read as `String` (one allocation, then moved).
    #[serde(rename = "Title", default)]
    title: Option<String>,
    #[serde(rename = "Description", default)]
    description: Option<String>,
    #[serde(rename = "Severity", borrow, default)]
    severity: OStr<'a>,
    #[serde(rename = "CweIDs", borrow, default)]
    cwe_ids: Option<Vec<Str<'a>>>,
    #[serde(rename = "CVSS", borrow, default)]
    cvss: Option<CvssMap<'a>>,
    #[serde(rename = "References", default)]
    references: Option<Vec<String>>,
}

/// Trivy's `CVSS` object (vendor → vectors and scores), in report order.
struct CvssMap<'a>(Vec<(Str<'a>, CvssEntry<'a>)>);

impl<'de: 'a, 'a> Deserialize<'de> for CvssMap<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = CvssMap<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of CVSS entries by vendor")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(CvssMap(Vec::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(4);
                while let Some((k, v)) = map.next_entry::<Str<'de>, CvssEntry<'de>>()? {
                    out.push((k, v));
                }
                Ok(CvssMap(out))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A non-blank string, trimmed (copied only when it had surrounding white space).
fn owned(s: Option<String>) -> Option<String> {
    let s = s?;
    let t = s.trim();
    if t.is_empty() {
        None
    } else if t.len() == s.len() {
        Some(s)
    } else {
        Some(t.to_string())
    }
}

#[derive(Deserialize)]
struct PkgIdentifier<'a> {
    #[serde(rename = "PURL", borrow, default)]
    purl: OStr<'a>,
}

#[derive(Deserialize)]
struct CvssEntry<'a> {
    #[serde(rename = "V2Vector", borrow, default)]
    v2_vector: OStr<'a>,
    #[serde(rename = "V3Vector", borrow, default)]
    v3_vector: OStr<'a>,
    #[serde(rename = "V40Vector", borrow, default)]
    v40_vector: OStr<'a>,
    #[serde(rename = "V2Score", default)]
    v2_score: Num,
    #[serde(rename = "V3Score", default)]
    v3_score: Num,
    #[serde(rename = "V40Score", default)]
    v40_score: Num,
}

#[derive(Deserialize)]
struct Misconf<'a> {
    #[serde(rename = "ID", borrow, default)]
    id: OStr<'a>,
    #[serde(rename = "AVDID", borrow, default)]
    avd_id: OStr<'a>,
    #[serde(rename = "Title", borrow, default)]
    title: OStr<'a>,
    #[serde(rename = "Description", borrow, default)]
    description: OStr<'a>,
    #[serde(rename = "Message", borrow, default)]
    message: OStr<'a>,
    #[serde(rename = "Resolution", borrow, default)]
    resolution: OStr<'a>,
    #[serde(rename = "Severity", borrow, default)]
    severity: OStr<'a>,
    #[serde(rename = "PrimaryURL", borrow, default)]
    primary_url: OStr<'a>,
    #[serde(rename = "References", borrow, default)]
    references: Option<Vec<Str<'a>>>,
    #[serde(rename = "Status", borrow, default)]
    status: OStr<'a>,
    #[serde(rename = "CauseMetadata", borrow, default)]
    cause: Option<Cause<'a>>,
}

#[derive(Deserialize)]
struct Cause<'a> {
    #[serde(rename = "Resource", borrow, default)]
    resource: OStr<'a>,
    #[serde(rename = "StartLine", default)]
    start_line: Option<u32>,
    #[serde(rename = "EndLine", default)]
    end_line: Option<u32>,
    #[serde(rename = "Code", borrow, default)]
    code: Option<Code<'a>>,
}

#[derive(Deserialize)]
struct Code<'a> {
    #[serde(rename = "Lines", borrow, default)]
    lines: Option<Vec<Line<'a>>>,
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "Content", borrow, default)]
    content: OStr<'a>,
    #[serde(rename = "IsCause", default)]
    is_cause: Option<bool>,
}

/// A secret. `Code` is deliberately not read: its lines hold the secret (masked or not).
#[derive(Deserialize)]
struct Secret<'a> {
    #[serde(rename = "RuleID", borrow, default)]
    rule_id: OStr<'a>,
    #[serde(rename = "Category", borrow, default)]
    category: OStr<'a>,
    #[serde(rename = "Severity", borrow, default)]
    severity: OStr<'a>,
    #[serde(rename = "Title", borrow, default)]
    title: OStr<'a>,
    #[serde(rename = "StartLine", default)]
    start_line: Option<u32>,
    #[serde(rename = "EndLine", default)]
    end_line: Option<u32>,
    #[serde(rename = "Match", borrow, default)]
    matched: OStr<'a>,
}

#[derive(Deserialize)]
struct License<'a> {
    #[serde(rename = "Name", borrow, default)]
    name: OStr<'a>,
    #[serde(rename = "Severity", borrow, default)]
    severity: OStr<'a>,
    #[serde(rename = "Category", borrow, default)]
    category: OStr<'a>,
    #[serde(rename = "PkgName", borrow, default)]
    pkg_name: OStr<'a>,
    #[serde(rename = "FilePath", borrow, default)]
    file_path: OStr<'a>,
    #[serde(rename = "Confidence", default)]
    confidence: Num,
    #[serde(rename = "Link", borrow, default)]
    link: OStr<'a>,
}

#[derive(Deserialize)]
struct TrivyInfo {
    #[serde(
        rename = "Version",
        default,
        deserialize_with = "json::lenient::opt_string"
    )]
    version: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Parse state shared by the visitors.

struct Ctx<'s> {
    sink: &'s mut dyn FnMut(Finding),
    facts: Facts,
    pending: Vec<Finding>,
    incomplete: Vec<String>,
}

impl<'s> Ctx<'s> {
    fn new(sink: &'s mut dyn FnMut(Finding)) -> Self {
        Ctx {
            sink,
            facts: Facts::default(),
            pending: Vec::new(),
            incomplete: Vec::new(),
        }
    }

    fn emit(&mut self, f: Finding) {
        if self.facts.buffering {
            self.pending.push(f);
        } else {
            (self.sink)(f);
        }
    }

    /// Hands held-back findings over, with the report-level facts learnt since.
    fn flush(&mut self) {
        self.facts.buffering = false;
        let target = self.facts.default_target();
        for mut f in std::mem::take(&mut self.pending) {
            f.scanner = self.facts.scanner.clone();
            if f.location.target.is_none() {
                f.location.target = target.clone();
            }
            (self.sink)(f);
        }
    }
}

/// What the report says about all its findings (scanner version, artifact or cluster).
#[derive(Clone)]
struct Facts {
    scanner: Scanner,
    artifact: Option<String>,
    cluster: Option<String>,
    /// Findings are held back because `ArtifactName`/`ClusterName` may still come.
    buffering: bool,
}

impl Default for Facts {
    fn default() -> Self {
        Facts {
            scanner: Scanner::new("trivy", None),
            artifact: None,
            cluster: None,
            buffering: false,
        }
    }
}

impl Facts {
    /// The target of findings that have no more specific one.
    fn default_target(&self) -> Option<String> {
        self.artifact.clone().or_else(|| self.cluster.clone())
    }
}

type Shared<'c, 's> = &'c RefCell<Ctx<'s>>;

/// The Kubernetes resource a Result belongs to.
struct Resource {
    /// `namespace/Kind/name` (namespace empty for cluster-scoped resources).
    id: String,
}

/// What a Result says about its items.
struct ResultInfo<'r> {
    target: Option<&'r str>,
    /// `target` normalized for fingerprints, computed once per Result.
    target_key: Option<String>,
    class: Option<&'r str>,
    kind: Option<&'r str>,
    pointer: &'r str,
    resource: Option<&'r Resource>,
}

// ---------------------------------------------------------------------------------------------
// Visitors.

struct TopSeed<'c, 's> {
    ctx: Shared<'c, 's>,
    dry: bool,
}

impl<'de, 'c, 's> DeserializeSeed<'de> for TopSeed<'c, 's> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'c, 's> Visitor<'de> for TopSeed<'c, 's> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Trivy report (a JSON object, a list of results, or null)")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(()) // legacy Trivy: nothing found
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            let pointer = format!("/{i}");
            let seed = ResultSeed {
                ctx: self.ctx,
                dry: self.dry,
                pointer: &pointer,
                resource: None,
            };
            if seq.next_element_seed(seed)?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut recognised = false;
        let mut context_seen = false;
        while let Some(key) = map.next_key::<Str<'de>>()? {
            match &*key.0 {
                "SchemaVersion" => {
                    recognised = true;
                    map.next_value::<IgnoredAny>()?;
                }
                "Trivy" => {
                    if let Some(info) = map.next_value::<Option<TrivyInfo>>()? {
                        self.ctx.borrow_mut().facts.scanner = Scanner::new("trivy", info.version);
                    }
                }
                "ArtifactName" => {
                    recognised = true;
                    context_seen = true;
                    let name = map.next_value::<OStr<'de>>()?;
                    self.ctx.borrow_mut().facts.artifact = text(&name).map(str::to_string);
                }
                "ClusterName" => {
                    recognised = true;
                    context_seen = true;
                    let name = map.next_value::<OStr<'de>>()?;
                    self.ctx.borrow_mut().facts.cluster = text(&name).map(str::to_string);
                }
                "Results" => {
                    recognised = true;
                    if !context_seen && !self.dry {
                        self.ctx.borrow_mut().facts.buffering = true;
                    }
                    map.next_value_seed(ResultsSeed {
                        ctx: self.ctx,
                        dry: self.dry,
                        prefix: "/Results",
                        resource: None,
                    })?;
                }
                "Resources" | "Vulnerabilities" | "Misconfigurations" => {
                    recognised = true;
                    if !context_seen && !self.dry {
                        self.ctx.borrow_mut().facts.buffering = true;
                    }
                    let prefix = format!("/{}", key.0);
                    map.next_value_seed(ResourcesSeed {
                        ctx: self.ctx,
                        dry: self.dry,
                        prefix: &prefix,
                    })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !recognised {
            return Err(de::Error::custom(
                "not a Trivy report: expected SchemaVersion, ArtifactName, Results or ClusterName",
            ));
        }
        Ok(())
    }
}

/// `Results: [...]` (null is an empty list).
struct ResultsSeed<'c, 's, 'r> {
    ctx: Shared<'c, 's>,
    dry: bool,
    prefix: &'r str,
    resource: Option<&'r Resource>,
}

impl<'de, 'c, 's, 'r> DeserializeSeed<'de> for ResultsSeed<'c, 's, 'r> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'c, 's, 'r> Visitor<'de> for ResultsSeed<'c, 's, 'r> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of results")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            let pointer = format!("{}/{i}", self.prefix);
            let seed = ResultSeed {
                ctx: self.ctx,
                dry: self.dry,
                pointer: &pointer,
                resource: self.resource,
            };
            if seq.next_element_seed(seed)?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }
}

/// One Result: `{Target, Class, Type, Vulnerabilities, Misconfigurations, Secrets, Licenses}`.
struct ResultSeed<'c, 's, 'r> {
    ctx: Shared<'c, 's>,
    dry: bool,
    pointer: &'r str,
    resource: Option<&'r Resource>,
}

impl<'de, 'c, 's, 'r> DeserializeSeed<'de> for ResultSeed<'c, 's, 'r> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, 'c, 's, 'r> Visitor<'de> for ResultSeed<'c, 's, 'r> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Trivy result object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut parts = ResultParts::default();
        while let Some(key) = map.next_key::<Str<'de>>()? {
            match &*key.0 {
                "Target" => parts.target = map.next_value()?,
                "Class" => parts.class = map.next_value()?,
                "Type" => parts.kind = map.next_value()?,
                "Vulnerabilities" if parts.streams() => {
                    let info = parts.info(self.pointer, self.resource);
                    let ctx = self.ctx;
                    let dry = self.dry;
                    let mut each = |i: usize, v: Vuln<'de>| {
                        if !dry {
                            let mut c = ctx.borrow_mut();
                            let f = vuln_finding(&c.facts, &info, i, v);
                            c.emit(f);
                        }
                    };
                    map.next_value_seed(ForEach::new(&mut each))?;
                }
                "Vulnerabilities" => parts.add_vulns(map.next_value()?),
                "Misconfigurations" => parts.misconfs = map.next_value()?,
                "Secrets" => parts.secrets = map.next_value()?,
                "Licenses" => parts.licenses = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if self.dry {
            return Ok(());
        }
        let mut c = self.ctx.borrow_mut();
        let facts = c.facts.clone();
        parts.into_findings(&facts, self.pointer, self.resource, &mut |f| c.emit(f));
        Ok(())
    }
}

/// What a Result holds besides the vulnerabilities streamed as they are read.
#[derive(Default)]
struct ResultParts<'a> {
    target: OStr<'a>,
    class: OStr<'a>,
    kind: OStr<'a>,
    /// Vulnerabilities met before the Result said what it is (kept, with their indexes).
    vulns: Vec<(usize, Vuln<'a>)>,
    misconfs: Option<Vec<Misconf<'a>>>,
    secrets: Option<Vec<Secret<'a>>>,
    licenses: Option<Vec<License<'a>>>,
}

impl<'a> ResultParts<'a> {
    /// Whether vulnerabilities can become findings as they are read (the Result's Target and
    /// Class or Type came first, as Trivy writes them).
    fn streams(&self) -> bool {
        self.target.is_some() && (self.class.is_some() || self.kind.is_some())
    }

    fn add_vulns(&mut self, list: Option<Vec<Vuln<'a>>>) {
        self.vulns
            .extend(list.unwrap_or_default().into_iter().enumerate());
    }

    fn info<'r>(&'r self, pointer: &'r str, resource: Option<&'r Resource>) -> ResultInfo<'r> {
        ResultInfo {
            target: text(&self.target),
            target_key: text(&self.target).map(normalize_path),
            class: text(&self.class),
            kind: text(&self.kind),
            pointer,
            resource,
        }
    }

    /// The Result's kept vulnerabilities, failed misconfigurations, secrets and licenses, in
    /// that order.
    fn into_findings(
        mut self,
        facts: &Facts,
        pointer: &str,
        resource: Option<&Resource>,
        emit: &mut dyn FnMut(Finding),
    ) {
        let vulns = std::mem::take(&mut self.vulns);
        let misconfs = self.misconfs.take().unwrap_or_default();
        let secrets = self.secrets.take().unwrap_or_default();
        let licenses = self.licenses.take().unwrap_or_default();
        let info = &self.info(pointer, resource);
        for (i, v) in vulns {
            emit(vuln_finding(facts, info, i, v));
        }
        for (i, m) in misconfs.into_iter().enumerate() {
            if text(&m.status).is_none_or(|s| s.eq_ignore_ascii_case("FAIL")) {
                emit(misconf_finding(facts, info, i, m));
            }
        }
        for (i, s) in secrets.into_iter().enumerate() {
            emit(secret_finding(facts, info, i, s));
        }
        for (i, l) in licenses.into_iter().enumerate() {
            emit(license_finding(facts, info, i, l));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parallel walk of a large report (see `crate::parallel`): the report and its Results are walked
// here value by value, each Result's `Vulnerabilities` array is read by the chunk workers.
// Layouts the streaming reader buffers (Results before `ArtifactName`, a Result's Target after
// its Vulnerabilities) take the same paths as there; lists and Kubernetes resources are read on
// this thread with the sequential visitors.

pub(crate) fn parse_parallel<O: Send>(
    input: &str,
    split: Split,
    work: &mut Work<'_, O>,
) -> Result<ReportMeta, Parallel> {
    let mut walk = Walk {
        cur: Cursor::new(input),
        facts: Facts::default(),
        incomplete: Vec::new(),
        findings: 0,
        handed_over: false,
        split,
    };
    walk.report(work)
        .map_err(|stop| stop.after(walk.handed_over))?;
    let mut meta = ReportMeta::new(Format::Trivy.id());
    meta.add_scanner(&walk.facts.scanner);
    meta.target = walk.facts.default_target();
    meta.incomplete = walk.incomplete;
    meta.findings = walk.findings;
    Ok(meta)
}

struct Walk<'a> {
    cur: Cursor<'a>,
    facts: Facts,
    incomplete: Vec<String>,
    findings: u64,
    handed_over: bool,
    split: Split,
}

impl<'a> Walk<'a> {
    fn report<O: Send>(&mut self, work: &mut Work<'_, O>) -> Result<(), Stop> {
        let cur = self.cur;
        // A list (legacy) or null: the sequential reader.
        let start = cur.expect(0, b'{')?;
        let mut recognised = false;
        let mut context_seen = false;
        let end = cur.members(self, start, &mut |walk, key, at| match key {
            "SchemaVersion" => {
                recognised = true;
                cur.skip(at)
            }
            "Trivy" => {
                let (info, end) = cur.value::<Option<TrivyInfo>>(at)?;
                if let Some(info) = info {
                    walk.facts.scanner = Scanner::new("trivy", info.version);
                }
                Ok(end)
            }
            "ArtifactName" | "ClusterName" => {
                recognised = true;
                context_seen = true;
                let (name, end) = cur.value::<OStr<'a>>(at)?;
                let name = text(&name).map(str::to_string);
                if key == "ArtifactName" {
                    walk.facts.artifact = name;
                } else {
                    walk.facts.cluster = name;
                }
                Ok(end)
            }
            // Findings would wait for the report's name: the sequential reader buffers them.
            "Results" | "Resources" | "Vulnerabilities" | "Misconfigurations" if !context_seen => {
                Err(Stop::Broken)
            }
            "Results" => {
                recognised = true;
                if cur.is_null(at) {
                    return cur.skip(at);
                }
                let first = cur.expect(at, b'[')?;
                cur.elements(walk, first, &mut |walk, index, at| {
                    walk.result(&format!("/Results/{index}"), at, work)
                })
            }
            "Resources" | "Vulnerabilities" | "Misconfigurations" => {
                recognised = true;
                walk.resources(key, at, work)
            }
            _ => cur.skip(at),
        })?;
        if !recognised || cur.peek(end).is_some() {
            return Err(Stop::Broken);
        }
        Ok(())
    }

    /// Findings made on this thread go the way the workers' do.
    fn hand_over<O: Send>(
        &mut self,
        mut findings: Vec<Finding>,
        work: &mut Work<'_, O>,
    ) -> Result<(), Stop> {
        if findings.is_empty() {
            return Ok(());
        }
        self.handed_over = true;
        self.findings += findings.len() as u64;
        let output = (work.render)(&mut findings, None);
        if (work.consume)(output, 0) {
            Ok(())
        } else {
            Err(Stop::Consumer)
        }
    }

    /// One Result object at `at`; its streamable Vulnerabilities go to the workers.
    fn result<O: Send>(
        &mut self,
        pointer: &str,
        at: usize,
        work: &mut Work<'_, O>,
    ) -> Result<usize, Stop> {
        let cur = self.cur;
        let body = cur.expect(at, b'{')?;
        let mut parts = ResultParts::default();
        let end = cur.members(self, body, &mut |walk, key, at| {
            fn set<T>(slot: &mut T, (value, end): (T, usize)) -> usize {
                *slot = value;
                end
            }
            match key {
                "Target" => cur.value(at).map(|v| set(&mut parts.target, v)),
                "Class" => cur.value(at).map(|v| set(&mut parts.class, v)),
                "Type" => cur.value(at).map(|v| set(&mut parts.kind, v)),
                "Vulnerabilities" if parts.streams() && cur.peek(at) == Some(b'[') => {
                    let first = cur.expect(at, b'[')?;
                    if cur.peek(first) == Some(b']') {
                        return cur.skip(at);
                    }
                    let info = parts.info(pointer, None);
                    walk.handed_over = true;
                    let facts = &walk.facts;
                    let (end, elements) = read_array(
                        cur.input(),
                        first,
                        walk.split,
                        vec![(); walk.split.workers.max(1)],
                        &|_: &mut (), i, v: Vuln<'a>| vuln_finding(facts, &info, i, v),
                        work,
                    )?;
                    walk.findings += elements as u64;
                    Ok(end)
                }
                "Vulnerabilities" => cur.value(at).map(|(list, end)| {
                    parts.add_vulns(list);
                    end
                }),
                "Misconfigurations" => cur.value(at).map(|v| set(&mut parts.misconfs, v)),
                "Secrets" => cur.value(at).map(|v| set(&mut parts.secrets, v)),
                "Licenses" => cur.value(at).map(|v| set(&mut parts.licenses, v)),
                _ => cur.skip(at),
            }
        })?;
        let mut findings = Vec::new();
        parts.into_findings(&self.facts, pointer, None, &mut |f| findings.push(f));
        self.hand_over(findings, work)?;
        Ok(end)
    }

    /// A Kubernetes report's resource list: read on this thread by the sequential visitors.
    fn resources<O: Send>(
        &mut self,
        key: &str,
        at: usize,
        work: &mut Work<'_, O>,
    ) -> Result<usize, Stop> {
        let end = self.cur.skip(at)?;
        let mut findings = Vec::new();
        let mut sink = |f: Finding| findings.push(f);
        let ctx = RefCell::new(Ctx::new(&mut sink));
        ctx.borrow_mut().facts = self.facts.clone();
        let prefix = format!("/{key}");
        let mut de = serde_json::Deserializer::from_str(&self.cur.input()[at..end]);
        ResourcesSeed {
            ctx: &ctx,
            dry: false,
            prefix: &prefix,
        }
        .deserialize(&mut de)
        .map_err(|_| Stop::Broken)?;
        let incomplete = ctx.into_inner().incomplete;
        self.incomplete.extend(incomplete);
        self.hand_over(findings, work)?;
        Ok(end)
    }
}

/// `Resources: [...]` of a Kubernetes report (also its `Vulnerabilities`/`Misconfigurations`
/// resource lists).
struct ResourcesSeed<'c, 's, 'r> {
    ctx: Shared<'c, 's>,
    dry: bool,
    prefix: &'r str,
}

impl<'de, 'c, 's, 'r> DeserializeSeed<'de> for ResourcesSeed<'c, 's, 'r> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'c, 's, 'r> Visitor<'de> for ResourcesSeed<'c, 's, 'r> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of Kubernetes resources")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            let pointer = format!("{}/{i}", self.prefix);
            let seed = ResourceSeed {
                ctx: self.ctx,
                dry: self.dry,
                pointer: &pointer,
            };
            if seq.next_element_seed(seed)?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }
}

/// One resource: `{Namespace, Kind, Name, Results, Error}`. Its Results must follow its
/// Namespace/Kind/Name (as Trivy writes them) to be attributed to it.
struct ResourceSeed<'c, 's, 'r> {
    ctx: Shared<'c, 's>,
    dry: bool,
    pointer: &'r str,
}

impl<'de, 'c, 's, 'r> DeserializeSeed<'de> for ResourceSeed<'c, 's, 'r> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, 'c, 's, 'r> Visitor<'de> for ResourceSeed<'c, 's, 'r> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Kubernetes resource object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut namespace: OStr<'de> = None;
        let mut kind: OStr<'de> = None;
        let mut name: OStr<'de> = None;
        while let Some(key) = map.next_key::<Str<'de>>()? {
            match &*key.0 {
                "Namespace" => namespace = map.next_value()?,
                "Kind" => kind = map.next_value()?,
                "Name" => name = map.next_value()?,
                "Results" => {
                    let resource = Resource {
                        id: resource_id(&namespace, &kind, &name),
                    };
                    let prefix = format!("{}/Results", self.pointer);
                    map.next_value_seed(ResultsSeed {
                        ctx: self.ctx,
                        dry: self.dry,
                        prefix: &prefix,
                        resource: Some(&resource),
                    })?;
                }
                "Error" => {
                    let error: OStr<'de> = map.next_value()?;
                    if let (Some(e), false) = (text(&error), self.dry) {
                        let id = resource_id(&namespace, &kind, &name);
                        self.ctx
                            .borrow_mut()
                            .incomplete
                            .push(format!("Trivy could not scan {id}: {e}"));
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// `namespace/Kind/name`, or `Kind/name` for cluster-scoped resources.
fn resource_id(namespace: &OStr<'_>, kind: &OStr<'_>, name: &OStr<'_>) -> String {
    let kind_name = format!("{}/{}", text(kind).unwrap_or(""), text(name).unwrap_or(""));
    match text(namespace) {
        Some(ns) => format!("{ns}/{kind_name}"),
        None => kind_name,
    }
}

// ---------------------------------------------------------------------------------------------
// Conversion.

/// OS package families Trivy reports in a Result `Type` (legacy reports have no `Class`).
const OS_TYPES: &[&str] = &[
    "alpine",
    "alma",
    "amazon",
    "azurelinux",
    "bottlerocket",
    "cbl-mariner",
    "centos",
    "chainguard",
    "debian",
    "echo",
    "fedora",
    "minimos",
    "opensuse",
    "opensuse.leap",
    "opensuse.tumbleweed",
    "oracle",
    "photon",
    "redhat",
    "rocky",
    "sles",
    "suse linux enterprise server",
    "ubuntu",
    "wolfi",
];

fn is_os_packages(info: &ResultInfo<'_>) -> bool {
    match info.class {
        Some(c) => c == "os-pkgs",
        None => info
            .kind
            .is_some_and(|k| OS_TYPES.iter().any(|t| t.eq_ignore_ascii_case(k))),
    }
}

/// The package ecosystem of a Result `Type`: OS families stay as they are (`debian`, `alpine`),
/// language package types become their registry (`pip`/`poetry` → `pypi`, `jar`/`pom` → `maven`).
fn ecosystem(kind: &str) -> String {
    match kind {
        "pip" | "pipenv" | "poetry" | "uv" | "python-pkg" => "pypi",
        "npm" | "yarn" | "pnpm" | "bun" | "node-pkg" | "javascript" => "npm",
        "jar" | "pom" | "gradle" | "sbt" => "maven",
        "gomod" | "gobinary" => "golang",
        "cargo" | "rust-binary" => "cargo",
        "bundler" | "gemspec" => "gem",
        "nuget" | "dotnet-core" | "packages-props" => "nuget",
        "conda-pkg" | "conda-environment" => "conda",
        other => other,
    }
    .to_string()
}

/// Trivy's severity word, else the CVSS band, else Info.
fn severity_of(word: Option<&str>, cvss: &[Cvss]) -> Severity {
    let from_word = word
        .filter(|w| !w.eq_ignore_ascii_case("unknown"))
        .and_then(Severity::from_word);
    from_word.unwrap_or_else(|| {
        cvss.iter()
            .filter_map(|c| c.score)
            .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))))
            .map_or(Severity::Info, Severity::from_cvss)
    })
}

fn cvss_list(map: &CvssMap<'_>, source: Option<&str>) -> Vec<Cvss> {
    let map = &map.0;
    let mut order: Vec<&CvssEntry<'_>> = Vec::with_capacity(map.len());
    let named = |n: &str| map.iter().find(|(k, _)| k.0 == n).map(|(_, v)| v);
    if let Some(e) = named("nvd") {
        order.push(e);
    }
    if let Some(e) = source.filter(|s| *s != "nvd").and_then(named) {
        order.push(e);
    }
    for (k, v) in map.iter() {
        if k.0 != "nvd" && Some(&*k.0) != source {
            order.push(v);
        }
    }
    let mut out = Vec::new();
    if let Some(c) = order
        .iter()
        .find_map(|e| pick(&e.v40_vector, e.v40_score.0, CvssVersion::V40))
    {
        out.push(c);
    }
    if let Some(c) = order
        .iter()
        .find_map(|e| pick(&e.v3_vector, e.v3_score.0, CvssVersion::V31))
    {
        out.push(c);
    }
    if out.is_empty() {
        if let Some(c) = order
            .iter()
            .find_map(|e| pick(&e.v2_vector, e.v2_score.0, CvssVersion::V2))
        {
            out.push(c);
        }
    }
    out
}

fn pick(vector: &OStr<'_>, score: Option<f64>, hint: CvssVersion) -> Option<Cvss> {
    let vector = text(vector);
    let score = score.filter(|s| s.is_finite() && (0.0..=10.0).contains(s));
    // Trivy gives prefixed vectors with their scores: take them as they are (scoring every
    // vector again costs more than the rest of the conversion).
    if let (Some(v), Some(score)) = (vector, score) {
        let version = if v.starts_with("CVSS:4.0/") {
            Some(CvssVersion::V40)
        } else if v.starts_with("CVSS:3.1/") {
            Some(CvssVersion::V31)
        } else if v.starts_with("CVSS:3.0/") {
            Some(CvssVersion::V30)
        } else if hint == CvssVersion::V2 && v.contains("Au:") && !v.starts_with("CVSS:") {
            Some(CvssVersion::V2)
        } else {
            None
        };
        if let Some(version) = version {
            return Some(Cvss {
                version,
                vector: Some(v.to_string()),
                score: Some(score),
            });
        }
    }
    if vector.is_none() && score.is_none() {
        return None;
    }
    Cvss::new(vector, score, Some(hint))
}

fn references(primary: &OStr<'_>, refs: Option<Vec<String>>, f: &mut Finding) {
    f.references
        .reserve(refs.as_ref().map_or(0, Vec::len) + usize::from(primary.is_some()));
    if let Some(p) = text(primary) {
        f.add_reference(p);
    }
    for r in refs.into_iter().flatten() {
        if let Some(r) = owned(Some(r)) {
            if !f.references.contains(&r) {
                f.references.push(r);
            }
        }
    }
}

fn vuln_finding(ctx: &Facts, info: &ResultInfo<'_>, i: usize, v: Vuln<'_>) -> Finding {
    let id = text(&v.id).unwrap_or("");
    let pkg = text(&v.pkg_name).unwrap_or("");
    let installed = text(&v.installed);
    let title = match owned(v.title) {
        Some(t) => t,
        None if pkg.is_empty() => id.to_string(),
        None => format!("{id} in {pkg}"),
    };
    let rule = if id.is_empty() {
        "trivy-vulnerability"
    } else {
        id
    };
    let mut f = Finding::new(ctx.scanner.clone(), rule, title);
    f.cvss = v
        .cvss
        .as_ref()
        .map(|m| cvss_list(m, text(&v.severity_source)))
        .unwrap_or_default();
    let word = text(&v.severity);
    f.severity = severity_of(word, &f.cvss);
    f.scanner_severity = word.map(str::to_string);
    f.description = owned(v.description);
    let fixed = text(&v.fixed);
    f.recommendation = match (fixed, text(&v.status)) {
        (Some(fix), _) if !pkg.is_empty() => {
            Some(format!("Upgrade {pkg} to a fixed version ({fix})."))
        }
        (Some(fix), _) => Some(format!("Upgrade to a fixed version ({fix}).")),
        (None, Some(status)) => Some(format!("No fixed version yet (Trivy status: {status}).")),
        (None, None) => None,
    };
    references(&v.primary_url, v.references, &mut f);
    for c in v.cwe_ids.iter().flatten() {
        if let Some(n) = parse_cwe(&c.0) {
            f.add_cwe(n);
        }
    }
    f.vulnerability_ids
        .reserve(1 + v.vendor_ids.as_ref().map_or(0, Vec::len));
    f.add_vulnerability_id(id);
    for alias in v.vendor_ids.iter().flatten() {
        f.add_vulnerability_id(&*alias.0);
    }
    let os = is_os_packages(info);
    f.category = if os {
        Category::Container
    } else {
        Category::Sca
    };
    let pkg_file = if os {
        text(&v.pkg_path)
    } else {
        text(&v.pkg_path).or(info.target)
    };
    f.location = Location {
        file: pkg_file.map(str::to_string),
        package: (!pkg.is_empty()).then(|| Package {
            name: pkg.to_string(),
            installed_version: installed.map(str::to_string),
            fixed_version: fixed.map(str::to_string),
            purl: v
                .pkg_identifier
                .as_ref()
                .and_then(|p| text(&p.purl))
                .map(str::to_string),
            ecosystem: info.kind.map(ecosystem),
        }),
        component: info.resource.map(|r| r.id.clone()),
        target: if info.resource.is_some() {
            info.target
                .map(str::to_string)
                .or_else(|| ctx.default_target())
        } else {
            // Legacy reports have no ArtifactName: the OS Result's Target names the image.
            ctx.default_target().or_else(|| {
                (os && !ctx.buffering)
                    .then(|| info.target.map(str::to_string))
                    .flatten()
            })
        },
        ..Location::default()
    };
    f.fingerprint = FingerprintBuilder::new("sca")
        .part(pkg)
        .opt(installed)
        .part(id)
        .opt(info.kind.or(info.class))
        .opt(
            match (os, text(&v.pkg_path)) {
                (true, _) => None,
                (false, Some(p)) => Some(Cow::Owned(normalize_path(p))),
                (false, None) => info.target_key.as_deref().map(Cow::Borrowed),
            }
            .as_deref(),
        )
        .opt(info.resource.map(|r| r.id.as_str()))
        .finish();
    f.source = crate::source(
        Format::Trivy,
        format!("{}/Vulnerabilities/{i}", info.pointer),
    );
    f
}

/// The file of a config/secret/license Result: its Target, except for cluster resources whose
/// Target is `Kind/name`, not a file.
fn result_file<'r>(info: &ResultInfo<'r>) -> Option<&'r str> {
    if info.resource.is_some() && info.class == Some("config") {
        None
    } else {
        info.target
    }
}

fn misconf_finding(ctx: &Facts, info: &ResultInfo<'_>, i: usize, m: Misconf<'_>) -> Finding {
    let id = text(&m.id)
        .or(text(&m.avd_id))
        .unwrap_or("trivy-misconfiguration");
    let stable_id = text(&m.avd_id)
        .map(|a| a.strip_prefix("AVD-").unwrap_or(a))
        .unwrap_or(id);
    let title = text(&m.title).unwrap_or(id);
    let mut f = Finding::new(ctx.scanner.clone(), id, title);
    let word = text(&m.severity);
    f.severity = severity_of(word, &[]);
    f.scanner_severity = word.map(str::to_string);
    f.description = match (text(&m.message), text(&m.description)) {
        (Some(msg), Some(d)) => Some(format!("{msg}\n\n{d}")),
        (Some(x), None) | (None, Some(x)) => Some(x.to_string()),
        (None, None) => None,
    };
    f.recommendation = text(&m.resolution).map(str::to_string);
    let refs = m
        .references
        .map(|r| r.into_iter().map(|s| s.0.into_owned()).collect());
    references(&m.primary_url, refs, &mut f);
    f.category = Category::Iac;
    let cause = m.cause.as_ref();
    let code = cause.and_then(cause_code);
    let file = result_file(info);
    f.location = Location {
        file: file.map(str::to_string),
        start_line: cause.and_then(|c| c.start_line).filter(|n| *n > 0),
        end_line: cause.and_then(|c| c.end_line).filter(|n| *n > 0),
        snippet: code.clone(),
        component: info.resource.map(|r| r.id.clone()),
        target: ctx.default_target(),
        ..Location::default()
    };
    f.fingerprint = FingerprintBuilder::new("trivy")
        .part("misconfig")
        .part(stable_id)
        .path(file)
        .opt(info.resource.map(|r| r.id.as_str()))
        .opt(cause.and_then(|c| text(&c.resource)))
        .snippet(code.as_deref().or(text(&m.message)))
        .finish();
    f.source = crate::source(
        Format::Trivy,
        format!("{}/Misconfigurations/{i}", info.pointer),
    );
    f
}

/// The content of the cause lines (`IsCause`), or of all lines when none is marked.
fn cause_code(cause: &Cause<'_>) -> Option<String> {
    let lines = cause.code.as_ref()?.lines.as_ref()?;
    let marked = lines.iter().any(|l| l.is_cause == Some(true));
    let parts: Vec<String> = lines
        .iter()
        .filter(|l| !marked || l.is_cause == Some(true))
        .filter_map(|l| l.content.as_ref().map(|c| crate::redact::scrub_line(&c.0)))
        .collect();
    let code = parts.join("\n");
    (!code.trim().is_empty()).then_some(code)
}

fn secret_finding(ctx: &Facts, info: &ResultInfo<'_>, i: usize, s: Secret<'_>) -> Finding {
    let rule = text(&s.rule_id).unwrap_or("trivy-secret");
    let title = text(&s.title).unwrap_or(rule);
    let mut f = Finding::new(ctx.scanner.clone(), rule, title);
    let word = text(&s.severity);
    f.severity = severity_of(word, &[]);
    f.scanner_severity = word.map(str::to_string);
    f.description = Some(match text(&s.category) {
        Some(cat) => format!("{title} ({cat}) found by Trivy secret scanning."),
        None => format!("{title} found by Trivy secret scanning."),
    });
    f.category = Category::Secret;
    // `Match` is secret-bearing even though Trivy masks it: only its redacted form leaves.
    let secret = s
        .matched
        .as_ref()
        .map(|m| &*m.0)
        .filter(|m| !m.trim().is_empty())
        .map(RedactedSecret::new);
    let file = info.target;
    f.location = Location {
        file: file.map(str::to_string),
        start_line: s.start_line.filter(|n| *n > 0),
        end_line: s.end_line.filter(|n| *n > 0),
        snippet: secret.as_ref().map(RedactedSecret::placeholder),
        component: info.resource.map(|r| r.id.clone()),
        target: ctx.default_target(),
        ..Location::default()
    };
    f.fingerprint = FingerprintBuilder::new("trivy")
        .part("secret")
        .part(rule)
        .path(file)
        .opt(info.resource.map(|r| r.id.as_str()))
        .opt(secret.as_ref().map(|r| r.sha256_prefix.as_str()))
        .finish();
    f.secret = secret;
    f.source = crate::source(Format::Trivy, format!("{}/Secrets/{i}", info.pointer));
    f
}

fn license_finding(ctx: &Facts, info: &ResultInfo<'_>, i: usize, l: License<'_>) -> Finding {
    let name = text(&l.name).unwrap_or("unknown license");
    let pkg = text(&l.pkg_name);
    // The Target of license Results names a group ("OS Packages", "Node.js", "Loose File
    // License(s)"), not a file: only `FilePath` is a file.
    let file = text(&l.file_path);
    let title = match (text(&l.category), pkg.or(file)) {
        (Some(cat), Some(what)) => format!("License {name} ({cat}) in {what}"),
        (None, Some(what)) => format!("License {name} in {what}"),
        (Some(cat), None) => format!("License {name} ({cat})"),
        (None, None) => format!("License {name}"),
    };
    let mut f = Finding::new(ctx.scanner.clone(), name, title);
    let word = text(&l.severity);
    f.severity = severity_of(word, &[]);
    f.scanner_severity = word.map(str::to_string);
    f.confidence = l.confidence.0.map(|c| {
        if c >= 0.9 {
            Confidence::High
        } else if c >= 0.5 {
            Confidence::Medium
        } else {
            Confidence::Low
        }
    });
    f.description = text(&l.category).map(|c| format!("License category: {c}."));
    if let Some(link) = text(&l.link) {
        f.add_reference(link);
    }
    f.category = Category::License;
    f.location = Location {
        file: file.map(str::to_string),
        package: pkg.map(|p| Package {
            name: p.to_string(),
            ecosystem: info.kind.map(ecosystem),
            ..Package::default()
        }),
        component: info.resource.map(|r| r.id.clone()),
        target: ctx.default_target(),
        ..Location::default()
    };
    f.fingerprint = FingerprintBuilder::new("trivy")
        .part("license")
        .part(name)
        .opt(pkg)
        .path(file)
        .opt(info.target)
        .opt(info.resource.map(|r| r.id.as_str()))
        .finish();
    f.source = crate::source(Format::Trivy, format!("{}/Licenses/{i}", info.pointer));
    f
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/trivy/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn parse(bytes: &[u8]) -> (ReportMeta, Vec<Finding>) {
        crate::parse_to_vec(bytes, Some(Format::Trivy)).unwrap()
    }

    fn fingerprints(findings: &[Finding]) -> Vec<String> {
        findings.iter().map(|f| f.fingerprint.to_string()).collect()
    }

    #[test]
    fn image_report_snapshot_and_fields() {
        let bytes = fixture("image.json");
        assert_eq!(crate::detect(&bytes).unwrap(), Format::Trivy);
        let (meta, findings) = parse(&bytes);
        insta::assert_json_snapshot!("trivy_image", findings);
        // 2 OS + 1 jar + 1 npm vulnerabilities, 1 failed misconfiguration (the PASS is not a
        // finding), 1 secret, 2 licenses.
        assert_eq!(findings.len(), 8);
        assert_eq!(meta.findings, 8);
        assert_eq!(
            meta.target.as_deref(),
            Some("registry.example.com/shop/api:1.0")
        );
        assert_eq!(
            meta.scanners,
            vec![Scanner::new("trivy", Some("0.58.1".into()))]
        );
        let cats: Vec<Category> = findings.iter().map(|f| f.category).collect();
        use Category::*;
        assert_eq!(
            cats,
            vec![Container, Container, Sca, Sca, Iac, Secret, License, License]
        );

        // nvd is preferred over the other vendors.
        let glibc = &findings[0];
        assert_eq!(glibc.cvss.len(), 1);
        assert_eq!(glibc.cvss[0].score, Some(9.8));
        assert_eq!(
            glibc.severity,
            Severity::High,
            "Trivy's word wins over the CVSS band"
        );
        assert_eq!(
            glibc.location.target.as_deref(),
            Some("registry.example.com/shop/api:1.0")
        );
        assert_eq!(glibc.location.file, None, "OS packages have no file");
        assert!(glibc.has_tag(tollgate_model::Tag::VulnerableDependency));

        // UNKNOWN severity falls back to the CVSS band; a v4 vector alone is scored.
        let apt = &findings[1];
        assert_eq!(apt.scanner_severity.as_deref(), Some("UNKNOWN"));
        assert_eq!(apt.cvss[0].version, CvssVersion::V40);
        let score = apt.cvss[0].score.unwrap();
        assert_eq!(apt.severity, Severity::from_cvss(score));
        assert_eq!(
            apt.recommendation.as_deref(),
            Some("No fixed version yet (Trivy status: affected).")
        );

        // v4 and v3 are both kept; v2 is dropped when v3 exists.
        let log4j = &findings[2];
        let versions: Vec<CvssVersion> = log4j.cvss.iter().map(|c| c.version).collect();
        assert_eq!(versions, vec![CvssVersion::V40, CvssVersion::V31]);
        assert_eq!(
            log4j.vulnerability_ids,
            vec!["CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q"]
        );
        assert_eq!(log4j.cwe, vec![502, 400, 20]);
        assert_eq!(
            log4j.location.file.as_deref(),
            Some("opt/app/lib/log4j-core-2.14.1.jar")
        );
        let pkg = log4j.location.package.as_ref().unwrap();
        assert_eq!(
            pkg.purl.as_deref(),
            Some("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1")
        );
        assert_eq!(pkg.fixed_version.as_deref(), Some("2.15.0, 2.3.1, 2.12.2"));
        assert_eq!(log4j.source.pointer, "/Results/1/Vulnerabilities/0");

        let lodash = &findings[3];
        assert_eq!(
            lodash.location.file.as_deref(),
            Some("srv/app/package-lock.json")
        );
        assert!(lodash.has_tag(tollgate_model::Tag::Injection));

        let misconf = &findings[4];
        assert_eq!(misconf.rule_id, "DS-0002");
        assert_eq!(misconf.location.snippet.as_deref(), Some("USER root"));
        assert_eq!(
            (misconf.location.start_line, misconf.location.end_line),
            (Some(14), Some(14))
        );
        assert_eq!(
            misconf.recommendation.as_deref(),
            Some("Add 'USER <non root user name>' line to the Dockerfile")
        );

        let license = &findings[6];
        assert_eq!(license.rule_id, "GPL-3.0-only");
        assert_eq!(license.severity, Severity::High);
        assert_eq!(license.confidence, Some(Confidence::High));
        assert_eq!(
            license.location.package.as_ref().map(|p| p.name.as_str()),
            Some("libreadline8")
        );
        assert_eq!(
            findings[7].location.file.as_deref(),
            Some("srv/app/vendor/LICENSE")
        );
    }

    #[test]
    fn secrets_never_leave_in_clear() {
        let (_, findings) = parse(&fixture("image.json"));
        let out = serde_json::to_string(&findings).unwrap();
        assert!(
            !out.contains("AKIAFAKETOLLGATE0042"),
            "secret leaked: {out}"
        );
        assert!(!out.contains("FAKETOLLGATE"));
        let secret = findings
            .iter()
            .find(|f| f.category == Category::Secret)
            .unwrap();
        let redacted = RedactedSecret::new("AWS_ACCESS_KEY_ID=AKIAFAKETOLLGATE0042");
        assert_eq!(secret.secret.as_ref(), Some(&redacted));
        assert_eq!(
            secret.location.snippet.as_deref(),
            Some(redacted.placeholder().as_str())
        );
        assert!(secret.has_tag(tollgate_model::Tag::HardcodedSecret));
        assert_eq!(secret.location.start_line, Some(3));
    }

    #[test]
    fn misconfiguration_code_is_scrubbed_of_credentials() {
        let out = crate::redact::scrub_line("  administrator_login_password = \"AdminPass!2024\"");
        assert!(!out.contains("AdminPass!2024"), "{out}");
        assert!(out.starts_with("  administrator_login_password = \"Adm…[redacted 14 chars"));
        let out = crate::redact::scrub_line("export AWS_ACCESS_KEY_ID=AKIAFAKETOLLGATE0042");
        assert!(!out.contains("FAKETOLLGATE"), "{out}");
        let out = crate::redact::scrub_line(
            "  user_data = \"aws configure set key AKIAFAKETOLLGATE0042\"",
        );
        assert!(!out.contains("FAKETOLLGATE"), "{out}");
        assert!(
            !crate::redact::scrub_line("-----BEGIN RSA PRIVATE KEY-----MIIEfake")
                .contains("MIIEfake")
        );
        // References and ordinary values stay readable.
        for keep in [
            "  storage_account_access_key = azurerm_storage_account.example.primary_access_key",
            "  name = \"terragoat-secret-${var.environment}\"",
            "  value = random_string.password.result",
            "USER root",
            "export AWS_SECRET_ACCESS_KEY=****",
        ] {
            assert_eq!(crate::redact::scrub_line(keep), keep);
        }
    }

    #[test]
    fn image_tag_does_not_change_fingerprints() {
        let v1 = fixture("image.json");
        let v2 = String::from_utf8(v1.clone())
            .unwrap()
            .replace("shop/api:1.0", "shop/api:1.1");
        assert_ne!(v1, v2.as_bytes());
        let (m1, a) = parse(&v1);
        let (m2, b) = parse(v2.as_bytes());
        assert_ne!(m1.target, m2.target);
        assert_eq!(fingerprints(&a), fingerprints(&b));
    }

    #[test]
    fn shifted_lines_do_not_change_fingerprints() {
        let bytes = fixture("image.json");
        let mut doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        fn shift(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, x) in m.iter_mut() {
                        if matches!(k.as_str(), "StartLine" | "EndLine" | "Number") {
                            if let Some(n) = x.as_u64() {
                                *x = (n + 7).into();
                            }
                        } else {
                            shift(x);
                        }
                    }
                }
                serde_json::Value::Array(a) => a.iter_mut().for_each(shift),
                _ => {}
            }
        }
        shift(&mut doc);
        let shifted = serde_json::to_vec(&doc).unwrap();
        let (_, a) = parse(&bytes);
        let (_, b) = parse(&shifted);
        assert_eq!(b[4].location.start_line, Some(21));
        assert_eq!(fingerprints(&a), fingerprints(&b));
    }

    #[test]
    fn fingerprints_are_distinct_per_item() {
        let (_, findings) = parse(&fixture("image.json"));
        let mut fps = fingerprints(&findings);
        fps.sort();
        fps.dedup();
        assert_eq!(fps.len(), findings.len());
    }

    #[test]
    fn legacy_list_snapshot() {
        let bytes = fixture("legacy-list.json");
        assert_eq!(crate::detect(&bytes).unwrap(), Format::Trivy);
        let (meta, findings) = parse(&bytes);
        insta::assert_json_snapshot!("trivy_legacy_list", findings);
        assert_eq!(findings.len(), 3);
        assert_eq!(meta.target, None);
        // No Class in legacy reports: the OS family in Type makes it a container finding.
        assert_eq!(findings[0].category, Category::Container);
        assert_eq!(findings[2].category, Category::Sca);
        // UNKNOWN with only a v2 score: severity from that score.
        assert_eq!(findings[1].severity, Severity::High);
        assert_eq!(findings[1].cvss[0].version, CvssVersion::V2);
        assert_eq!(findings[2].source.pointer, "/1/Vulnerabilities/0");
    }

    #[test]
    fn legacy_null_report_is_empty() {
        // `null` names no scanner (Gitleaks v7 writes it too): detection refuses it and
        // `--scanner trivy` reads it here.
        assert_eq!(
            crate::detect(b"null").unwrap_err().kind,
            crate::ErrorKind::Ambiguous
        );
        let (meta, findings) = parse(b"null");
        assert!(findings.is_empty());
        assert_eq!(meta.scanners[0].name, "trivy");
    }

    #[test]
    fn kubernetes_snapshot() {
        let bytes = fixture("kubernetes.json");
        assert_eq!(crate::detect(&bytes).unwrap(), Format::Trivy);
        let (meta, findings) = parse(&bytes);
        insta::assert_json_snapshot!("trivy_kubernetes", findings);
        // 1 vulnerability, 2 failed misconfigurations (the EXCEPTION is not a finding).
        assert_eq!(findings.len(), 3);
        assert_eq!(meta.target.as_deref(), Some("kind-staging"));
        assert_eq!(meta.incomplete.len(), 1);
        assert!(meta.incomplete[0].contains("kube-system/DaemonSet/kindnet"));
        assert_eq!(
            findings[0].location.component.as_deref(),
            Some("shop/Deployment/cart")
        );
        assert_eq!(
            findings[0].location.target.as_deref(),
            Some("ghcr.io/example/cart:2.3.1 (alpine 3.18.4)")
        );
        assert_eq!(findings[1].location.file, None);
        assert_eq!(
            findings[2].location.component.as_deref(),
            Some("ClusterRole/admin-all")
        );
        assert_eq!(
            findings[2].source.pointer,
            "/Resources/1/Results/0/Misconfigurations/0"
        );
    }

    #[test]
    fn out_of_order_keys_give_the_same_findings() {
        let (meta, reordered) = parse(&fixture("reordered.json"));
        assert_eq!(reordered.len(), 1);
        assert_eq!(
            meta.scanners,
            vec![Scanner::new("trivy", Some("0.58.1".into()))]
        );
        let f = &reordered[0];
        assert_eq!(f.scanner.version.as_deref(), Some("0.58.1"));
        assert_eq!(
            f.location.target.as_deref(),
            Some("registry.example.com/shop/api:1.0")
        );
        assert_eq!(f.category, Category::Sca);
        let (_, normal) = parse(&fixture("image.json"));
        let lodash = normal
            .iter()
            .find(|f| f.rule_id == "CVE-2021-23337")
            .unwrap();
        assert_eq!(f.fingerprint, lodash.fingerprint);
    }

    #[test]
    fn errors_name_the_place() {
        let bad = br#"{"SchemaVersion": 2, "ArtifactName": "x", "Results": [
            {"Target": "a", "Class": "lang-pkgs", "Type": "npm", "Vulnerabilities": [
              {"VulnerabilityID": "CVE-1", "CweIDs": "CWE-1"}]}]}"#;
        let e = crate::parse_to_vec(bad, Some(Format::Trivy)).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Shape);
        assert_eq!(
            e.path.as_deref(),
            Some("$.Results[0].Vulnerabilities[0].CweIDs"),
            "{e}"
        );
        assert_eq!(e.line_column.map(|p| p.0), Some(3));

        let e = crate::parse_to_vec(br#"{"runs": []}"#, Some(Format::Trivy)).unwrap_err();
        assert!(e.message.contains("not a Trivy report"), "{e}");
        let e = crate::parse_to_vec(br#""text""#, Some(Format::Trivy)).unwrap_err();
        assert!(e.message.contains("Trivy report"), "{e}");
        let e = crate::parse_to_vec(
            b"{\"SchemaVersion\": 2, \"Results\": [",
            Some(Format::Trivy),
        )
        .unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Syntax);
    }

    #[test]
    fn detection_is_specific() {
        let sarif = br#"{"version": "2.1.0", "runs": [{"results": []}]}"#;
        assert_ne!(crate::detect(sarif).ok(), Some(Format::Trivy));
        let gitleaks = br#"[{"RuleID": "aws", "File": "a", "Target": "x"}]"#;
        assert_ne!(crate::detect(gitleaks).ok(), Some(Format::Trivy));
        let empty_results =
            br#"{"SchemaVersion": 2, "ArtifactName": "x", "ArtifactType": "filesystem"}"#;
        assert_eq!(crate::detect(empty_results).unwrap(), Format::Trivy);
        assert!(parse(empty_results).1.is_empty());
    }
}
