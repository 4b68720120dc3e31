//! MobSF: the static-analysis report (`api/v1/report_json`, Android APK/XAPK/AAB/source and iOS
//! IPA/source, MobSF 3.x list shapes, >= 3.6.5 `*_findings` shapes, 4.x) and the scorecard
//! (`api/v1/scorecard`).
//!
//! # report_json: one finding per …
//!
//! | Section | Item | Rule id | Location |
//! |---|---|---|---|
//! | `manifest_analysis` (list, or `{manifest_findings}`) | entry | MobSF `rule`; 3.x (no rule): recognised from the title (`app_is_debuggable`, `explicitly_exported`, …) | `component` = the activity/service/receiver/provider named |
//! | `network_security` (list, or `{network_findings}`) | entry | `network_<slug of first sentence>` | `component` = scope domains |
//! | `certificate_analysis.certificate_findings` (`[severity, description, title]`) | entry | `certificate_<slug of title>` | – |
//! | `code_analysis` (`{rule: {files, metadata}}`, or `{findings, summary}`) | rule × file | MobSF rule id | `file`, `start_line` = lowest line listed (all lines in the description) |
//! | `binary_analysis` (Android: list of `.so` check sets; iOS: `{title: {...}}` or `{findings}`), `macho_analysis`, `dylib_analysis`, `framework_analysis` | failed check (`high`/`warning`; `info` there means the protection is present) / iOS binary issue | `binary_<check>` / `binary_<slug of title>` | `file` = library |
//! | `ats_analysis` (list, or `{ats_findings}`) | entry | `ats_<slug of issue>` | – |
//! | `file_analysis` | issue × file (not the iOS "Plist Files" inventory) | `file_<slug of issue>` | `file` |
//! | `secrets` (`"name" : "value"` or bare value) | entry | `hardcoded_secret` | `snippet` = entry with the value redacted |
//! | `firebase_urls` (`{url, open}` before 4.x; `{title, severity, description}` in 4.x) | entry | `firebase_db_open` / `firebase_db_exists` / `firebase_<slug>` | `url` |
//! | `trackers.trackers` | tracker (severity Info, tag `tracker`) | `tracker` | `component` = tracker name |
//! | `domains` | domain with `bad: yes` | `domain_malware` | `url` = domain |
//!
//! Every finding: category `mobile`, `location.target` = package name / bundle id.
//! Skipped: entries with severity `secure` or `good` (MobSF's "this is fine" verdicts, e.g. SSL
//! pinning or root detection present); `permissions` (an inventory: dangerous permissions are
//! requested capabilities, not defects; MobSF's own scorecard does not list them either);
//! `android_api`/`ios_api`, `niap_analysis`, `apkid`, `behaviour`, `urls`, `emails`, `strings`
//! (inventories). The embedded `appsec` scorecard is not read (it repeats the sections above).
//!
//! Severity: `high` → High, `warning`/`medium` → Medium, `low` → Low, `info`/`hotspot` → Info,
//! iOS 3.x ATS `insecure` → High; unknown words → Info. Secrets: Medium (MobSF lists them as
//! `warning`). `file_analysis`: Medium. Open Firebase DB / bad domain: High.
//!
//! # Tags
//!
//! | Tag | From |
//! |---|---|
//! | `debuggable` | manifest `app_is_debuggable` / "Debug Enabled For App [android:debuggable=true]"; any text naming `get-task-allow` (iOS) |
//! | `backup-enabled` | manifest `app_allowbackup`, `allowbackup_not_set` / "Application Data can be Backed up" |
//! | `cleartext-traffic` | manifest `clear_text_traffic`; network-security entries "… insecurely configured to permit clear text traffic …" (base-config and domain-config); ATS `NSAllowsArbitraryLoads`, `NSExceptionAllowsInsecureHTTPLoads` ("Insecure communication to … is allowed"); CWE-319 |
//! | `exported-component` | manifest `explicitly_exported`, `exported_intent_filter_exists`, `exported_provider` / titles "… is not Protected." — never the `exported_protected_*` ("is Protected by a permission") rules nor `exported_provider_2` ("would not be Protected" on API < 17 only) |
//! | `sensitive-logging` | code rules whose id contains `logging` / ends in `_log` / `nslog`; "The App logs information"; CWE-532 |
//! | `hardcoded-secret` | every `secrets` entry; code rules whose id contains `hardcod`, `secret`, `api_key`, `password` ("Files may contain hardcoded sensitive information"); CWE-798; `file_analysis` private-key/keystore files (`.p12`, `.jks`, `.key`, …) |
//! | `weak-crypto` | code rules with `md5`, `sha1`, `md4`, `ecb`, `weak_hash`, `weak_cipher`, `weak_iv`, `rsa_no_oaep`, `cbc_padding`; certificate "vulnerable to hash collision"; CWE-327/328/329 |
//! | `insecure-webview` | code rules whose id contains `webview` (JavaScript interface, file access, remote debugging, ignored SSL errors) |
//! | `insecure-tls` | code rules `android_insecure_ssl`, `*ignore_ssl*`, trust-all / hostname-verifier rules; network-security "trust user installed certificates", "bypass certificate pinning"; ATS minimum TLS version; CWE-295 |
//! | `tracker` | each detected tracker |
//!
//! (The parse wrapper adds the CWE-derived tags of `tagging.rs`, e.g. `insecure-storage` for CWE-276/312.)
//!
//! # Incomplete scans
//!
//! MobSF's scan log (`logs`: `[{timestamp, status, exception}]`) is read: an entry with an
//! exception, or whose status says `failed`/`error`/`timed out`/`not found`/`unable`, makes the
//! report incomplete. A failed JADX decompilation gives "MobSF could not decompile the app
//! (JADX failed: …): code analysis is missing" (or "may be partial" when code findings exist).
//! Failures of steps that only fetch context (Play Store / App Store details, icon, VirusTotal,
//! updates) are ignored; the retry message "… failed, attempting on all DEX files" is not a
//! failure by itself.
//!
//! # Fingerprints (family `mobsf`)
//!
//! Always: package name / bundle id, section, rule id; then
//! - manifest: the component named (or the non-numeric `component` parts, so a minSdk change
//!   does not change identity);
//! - network security: the scope domains; certificate, ATS, iOS binary: nothing more;
//! - code analysis: the normalized file path (never line numbers);
//! - `.so`/Mach-O checks, file analysis: the normalized file path;
//! - secrets: the resource name (if any) + the `RedactedSecret` sha256 prefix;
//! - Firebase: the URL; trackers: the tracker name; domains: the domain.
//! - scorecard: `scorecard` + `<section>_<title>` slug (the title names the component).
//!
//! Secret values never leave the parser: each `secrets` value (6+ characters) is also scrubbed
//! from every text of every finding (e.g. a Firebase URL that is also listed as a secret), and
//! `key=`/`api_key=`/`token=` query values are redacted (MobSF 4.x Firebase Remote Config URLs).
//!
//! # Scorecard
//!
//! `{high, warning, info, secure, hotspot: [{title, description, section}], security_score, …}`:
//! one finding per item of `high` (High), `warning` (Medium), `info` (Info) and `hotspot` (Info,
//! MobSF's "review manually"); `secure` items are skipped. Rule id: slug of `<section>_<title>`.
//! Tags come from the same wording rules (plus `hardcoded-secret` for the `secrets` section,
//! whose description lines are redacted). `security_score` is not kept.

mod common;
mod report;
mod scorecard;

use tollgate_model::{Finding, ReportMeta};

use crate::sniff::Shape;
use crate::{Format, ParseError, Parser, Sniff};

pub struct ScorecardParser;

impl Parser for ScorecardParser {
    fn format(&self) -> Format {
        Format::MobsfScorecard
    }

    fn detect(&self, sniff: &Sniff) -> bool {
        sniff.shape() == Shape::JsonObject
            && sniff.has("high")
            && sniff.has("warning")
            && (sniff.has("security_score") || sniff.has("secure") || sniff.has("hotspot"))
            && !sniff.has("app_type")
            && !sniff.has("results")
    }

    fn parse(&self, input: &str, sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> {
        scorecard::parse(input, sink)
    }
}

pub struct MobsfParser;

impl Parser for MobsfParser {
    fn format(&self) -> Format {
        Format::Mobsf
    }

    fn detect(&self, sniff: &Sniff) -> bool {
        if sniff.shape() != Shape::JsonObject
            || sniff.has("mobsfscan_version")
            || sniff.has("results")
            || sniff.has("runs")
        {
            return false;
        }
        let static_title = sniff
            .value("title")
            .is_some_and(|t| t.eq_ignore_ascii_case("static analysis") || t.eq_ignore_ascii_case("staticanalysis"));
        let app = sniff.has("package_name") || sniff.has("bundle_id");
        let sections = sniff.has("manifest_analysis")
            || sniff.has("ats_analysis")
            || sniff.has("code_analysis")
            || sniff.has("binary_analysis")
            || sniff.has("appsec");
        (static_title && (sniff.has("app_type") || app || sniff.has("md5")))
            || (sniff.has("app_type") && app && (sniff.has("md5") || sections))
    }

    fn parse(&self, input: &str, sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> {
        report::parse(input, sink)
    }
}

#[cfg(test)]
mod tests {}
