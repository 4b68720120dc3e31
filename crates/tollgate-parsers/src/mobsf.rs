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
//! | `code_analysis` (`{rule: {files, metadata}}`, or `{findings, summary}`; legacy `{rule: {desc, level, path: [...]}}`) | rule × file (a rule without files: one finding) | MobSF rule id | `file`, `start_line` = lowest line listed (all lines in the description) |
//! | `binary_analysis` (Android: list of `.so` check sets; iOS: `{title: {...}}` or `{findings}`), `macho_analysis`, `dylib_analysis`, `framework_analysis` | failed check (`high`/`warning`; `info` there means the protection is present) / iOS binary issue | `binary_<check>` / `binary_<slug of title>` | `file` = library |
//! | `ats_analysis` (list, or `{ats_findings}`) | entry | `ats_<slug of issue>` | – |
//! | `file_analysis` | issue × file (not the iOS "Plist Files" inventory) | `file_<slug of issue>` | `file` |
//! | `secrets` (`"name" : "value"` or bare value) | entry | `hardcoded_secret` | `snippet` = entry with the value redacted |
//! | `firebase_urls` (`{url, open}` before 4.x; `{title, severity, description}` in 4.x) | entry (4.x `secure` ones skipped) | `firebase_db_open` / `firebase_db_exists` / `firebase_<slug of title>` (e.g. `firebase_remote_config_enabled`) | `url` = the database URL |
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
//! iOS 3.x ATS `insecure` → High; unknown words → Info. Entries without a severity of their
//! own (no `scanner_severity` then): secrets Medium (MobSF's scorecard lists them as `warning`),
//! `file_analysis` Medium, open Firebase DB High (else Info), bad domain High, trackers Info.
//! Code rules keep MobSF's per-rule `cvss` score (when > 0) as a CVSS 3.1 score without vector,
//! their CWE, `ref` as reference, OWASP-Mobile/MASVS ids in the description.
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
//! (its log: …): code analysis is missing" (or "may be partial" when code findings exist),
//! naming what that leaves out (code, secrets in code, logging) and the fix (jadx for MobSF,
//! `MOBSF_JADX_BINARY`); the log line is quoted once.
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
//! MobSF's "review manually"); `secure` items are skipped. Rule id: slug of `<section>_<title>`
//! without pure numbers (counts), `network` items get the report's `network_*` ids. Tags come
//! from the same wording rules (plus `hardcoded-secret` for the `secrets` section, whose
//! description lines are redacted and whose first secret fills `secret`). `component` = the
//! component named in the title; `file` = the only file of a code item. Target: app name +
//! version (the scorecard has no package name). `security_score` is not kept. Detection: top-level
//! `high` + `warning` + one of `security_score`/`secure`/`hotspot`, and no `app_type`/`results`.

mod common;
mod report;
mod scorecard;

use tollgate_model::{Finding, ReportMeta};

use crate::sniff::Shape;
use crate::{Format, ParseError, Parser, Sniff};

/// MobSF's hash of the scanned app (the MD5 of the uploaded file), as a MobSF document states it:
/// report_json's `md5`, the scorecard's `hash`. The two documents `tollgate mobsf scan` writes for
/// one scan carry the same value, which is how a scorecard given beside its full report is counted
/// once. `None` for other formats, or a document that does not say.
pub fn scan_hash(format: Format, input: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Ids {
        #[serde(default)]
        md5: Option<serde_json::Value>,
        #[serde(default)]
        hash: Option<serde_json::Value>,
    }
    let key = match format {
        Format::Mobsf => |i: Ids| i.md5,
        Format::MobsfScorecard => |i: Ids| i.hash,
        _ => return None,
    };
    let ids: Ids = serde_json::from_slice(input).ok()?;
    match key(ids)? {
        serde_json::Value::String(h) if !h.trim().is_empty() => Some(h.trim().to_ascii_lowercase()),
        _ => None,
    }
}

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
        let static_title = sniff.value("title").is_some_and(|t| {
            t.eq_ignore_ascii_case("static analysis") || t.eq_ignore_ascii_case("staticanalysis")
        });
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
mod tests {
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    use tollgate_model::{Finding, ReportMeta, Severity, Tag};

    use crate::{detect, parse_to_vec, ErrorKind, Format};

    fn fixture(name: &str) -> Vec<u8> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn parse(name: &str) -> (ReportMeta, Vec<Finding>) {
        let bytes = fixture(name);
        parse_to_vec(&bytes, None).unwrap()
    }

    fn with_rule<'a>(findings: &'a [Finding], rule: &str) -> Vec<&'a Finding> {
        findings.iter().filter(|f| f.rule_id == rule).collect()
    }

    fn tagged(findings: &[Finding], tag: Tag) -> BTreeSet<String> {
        findings
            .iter()
            .filter(|f| f.has_tag(tag))
            .map(|f| f.rule_id.clone())
            .collect()
    }

    #[test]
    fn fixtures_are_detected() {
        for name in [
            "mobsf/android-4x-complete.json",
            "mobsf/android-4x-incomplete.json",
            "mobsf/android-3x.json",
            "mobsf/ios-4x.json",
            "mobsf/ios-3x.json",
        ] {
            assert_eq!(detect(&fixture(name)).unwrap(), Format::Mobsf, "{name}");
        }
        assert_eq!(
            detect(&fixture("mobsf-scorecard/scorecard.json")).unwrap(),
            Format::MobsfScorecard
        );
        // mobsfscan CLI output and SARIF are not MobSF reports.
        let mobsfscan = br#"{"results": {"android_logging": {"files": []}}, "errors": [], "mobsfscan_version": "0.4.3"}"#;
        assert_ne!(detect(mobsfscan).ok(), Some(Format::Mobsf));
        assert_ne!(detect(mobsfscan).ok(), Some(Format::MobsfScorecard));
        let sarif = br#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "mobsfscan"}}, "results": []}]}"#;
        assert_ne!(detect(sarif).ok(), Some(Format::Mobsf));
    }

    #[test]
    fn android_4x_snapshot_and_mapping() {
        let (meta, findings) = parse("mobsf/android-4x-complete.json");
        insta::assert_json_snapshot!("mobsf_android_4x_complete", findings);
        assert_eq!(meta.format, "mobsf");
        assert_eq!(meta.target.as_deref(), Some("com.acme.shop 2.3.0"));
        assert_eq!(meta.scanners[0].name, "mobsf");
        assert_eq!(meta.scanners[0].version.as_deref(), Some("4.4.1"));
        // The Play Store lookup failing offline does not make the analysis incomplete.
        assert!(meta.incomplete.is_empty(), "{:?}", meta.incomplete);
        // 2 certificate + 8 manifest + 2 network (the `secure` one skipped) + 1 .so check
        // + 2 key files + 5 code (rule × file; the `good` pinning rule skipped) + 1 bad domain
        // + 2 firebase (the `secure` one skipped) + 1 tracker + 2 secrets.
        assert_eq!(findings.len(), 26);
        assert!(findings
            .iter()
            .all(|f| f.category == tollgate_model::Category::Mobile));
        assert!(findings
            .iter()
            .all(|f| f.location.target.as_deref() == Some("com.acme.shop")));

        let rules = |t| tagged(&findings, t);
        assert_eq!(
            rules(Tag::Debuggable),
            ["app_is_debuggable".to_string()].into()
        );
        assert_eq!(
            rules(Tag::BackupEnabled),
            ["app_allowbackup".to_string()].into()
        );
        assert_eq!(
            rules(Tag::CleartextTraffic),
            [
                "clear_text_traffic".to_string(),
                "network_base_cleartext_permitted".to_string()
            ]
            .into()
        );
        assert_eq!(
            rules(Tag::ExportedComponent),
            [
                "explicitly_exported".to_string(),
                "exported_intent_filter_exists".to_string()
            ]
            .into()
        );
        assert_eq!(
            rules(Tag::SensitiveLogging),
            ["android_logging".to_string()].into()
        );
        assert_eq!(
            rules(Tag::HardcodedSecret),
            [
                "android_hardcoded".to_string(),
                "file_certificate_key_files_hardcoded_inside_the_app".to_string(),
                "hardcoded_secret".to_string()
            ]
            .into()
        );
        assert!(rules(Tag::WeakCrypto).contains("android_md5"));
        assert!(rules(Tag::WeakCrypto)
            .contains("certificate_certificate_algorithm_might_be_vulnerable_to_hash_collision"));
        assert_eq!(
            rules(Tag::InsecureWebview),
            ["android_webview_ignore_ssl".to_string()].into()
        );
        assert_eq!(
            rules(Tag::InsecureTls),
            [
                "android_webview_ignore_ssl".to_string(),
                "network_base_trust_user_certificates".to_string()
            ]
            .into()
        );
        assert_eq!(rules(Tag::Tracker), ["tracker".to_string()].into());
        // Only the .p12 key store is a secret, not the public CA certificate.
        let key_files = with_rule(
            &findings,
            "file_certificate_key_files_hardcoded_inside_the_app",
        );
        assert_eq!(key_files.len(), 2);
        assert_eq!(
            key_files
                .iter()
                .filter(|f| f.has_tag(Tag::HardcodedSecret))
                .count(),
            1
        );

        let exported = with_rule(&findings, "explicitly_exported");
        assert_eq!(
            exported[0].location.component.as_deref(),
            Some("com.acme.shop.DeepLinkActivity")
        );
        assert_eq!(exported[0].severity, Severity::Medium);
        assert_eq!(exported[0].scanner_severity.as_deref(), Some("warning"));
        let protected = with_rule(&findings, "exported_protected_permission_signature");
        assert_eq!(
            protected[0].location.component.as_deref(),
            Some("com.acme.shop.SyncService")
        );
        assert!(protected[0].tags.is_empty());

        let logging = with_rule(&findings, "android_logging");
        assert_eq!(logging.len(), 2);
        let login = logging
            .iter()
            .find(|f| f.location.file.as_deref() == Some("com/acme/shop/auth/LoginActivity.java"))
            .unwrap();
        assert_eq!(login.location.start_line, Some(17));
        assert_eq!(login.cwe, vec![532]);
        assert_eq!(login.severity, Severity::Info);
        assert_eq!(
            login.source.pointer,
            "/code_analysis/findings/android_logging/files/com~1acme~1shop~1auth~1LoginActivity.java"
        );
        assert!(with_rule(&findings, "android_ssl_pinning").is_empty());
        assert_eq!(
            with_rule(&findings, "domain_malware")[0].severity,
            Severity::High
        );
    }

    #[test]
    fn secrets_are_redacted_everywhere() {
        for name in [
            "mobsf/android-4x-complete.json",
            "mobsf-scorecard/scorecard.json",
        ] {
            let (_, findings) = parse(name);
            let out = serde_json::to_string(&findings).unwrap();
            for secret in [
                "AIzaSyFIXTUREfixture0000000000000000000",
                "sk_test_FIXTUREfixtureFIXTURE0000",
            ] {
                assert!(!out.contains(secret), "{name} leaks {secret}");
                assert!(!out.contains(&secret[8..]), "{name} leaks part of {secret}");
            }
        }
        let (_, findings) = parse("mobsf/android-4x-complete.json");
        let secrets = with_rule(&findings, "hardcoded_secret");
        assert_eq!(secrets.len(), 2);
        assert!(secrets.iter().all(|f| f.secret.is_some()));
        assert_eq!(
            secrets[0].title,
            "Possible hardcoded secret in string resource \"maps_api_key\""
        );
        let snippet = secrets[0].location.snippet.as_deref().unwrap();
        assert!(
            snippet.starts_with("\"maps_api_key\" : \"AIza…[redacted 39 chars"),
            "{snippet}"
        );
        // The Remote Config URL carried the same key in its query.
        let remote = with_rule(&findings, "firebase_remote_config_enabled");
        assert!(remote[0]
            .description
            .as_deref()
            .unwrap()
            .contains("key=AIza…[redacted"));
    }

    #[test]
    fn failed_decompilation_makes_the_report_incomplete() {
        let (meta, findings) = parse("mobsf/android-4x-incomplete.json");
        insta::assert_json_snapshot!("mobsf_android_4x_incomplete_meta", meta);
        assert_eq!(meta.incomplete.len(), 2, "{:?}", meta.incomplete);
        let why = &meta.incomplete[0];
        assert!(
            why.starts_with("MobSF could not decompile the app (its log: "),
            "{why}"
        );
        assert!(why.contains("code analysis is missing"), "{why}");
        assert!(why.contains("MOBSF_JADX_BINARY"), "{why}");
        // The log line is quoted once, not repeated.
        assert_eq!(why.matches("JADX failed").count(), 1, "{why}");
        assert!(meta.incomplete[1].contains("Failed to get signature versions"));
        assert_eq!(findings.len(), 2);
        assert!(findings.iter().all(|f| f.location.file.is_none()));
    }

    #[test]
    fn shifted_lines_keep_fingerprints() {
        let (_, a) = parse("mobsf/android-4x-complete.json");
        let (_, b) = parse("mobsf/android-4x-shifted.json");
        assert_ne!(
            a.iter().map(|f| f.location.start_line).collect::<Vec<_>>(),
            b.iter().map(|f| f.location.start_line).collect::<Vec<_>>()
        );
        let fa: Vec<_> = a.iter().map(|f| f.fingerprint.clone()).collect();
        let fb: Vec<_> = b.iter().map(|f| f.fingerprint.clone()).collect();
        assert_eq!(fa, fb);
        let unique: BTreeSet<_> = fa.iter().collect();
        assert_eq!(unique.len(), fa.len(), "fingerprints are distinct");
    }

    #[test]
    fn android_3x_list_shapes() {
        let (meta, findings) = parse("mobsf/android-3x.json");
        insta::assert_json_snapshot!("mobsf_android_3x", findings);
        assert_eq!(meta.scanners[0].version.as_deref(), Some("3.1.9 Beta"));
        assert_eq!(
            with_rule(&findings, "app_is_debuggable")[0].tags,
            vec![Tag::Debuggable]
        );
        assert_eq!(
            with_rule(&findings, "app_allowbackup")[0].severity,
            Severity::Medium
        );
        assert_eq!(
            tagged(&findings, Tag::ExportedComponent),
            [
                "exported_intent_filter_exists".to_string(),
                "explicitly_exported".to_string()
            ]
            .into()
        );
        let protected = with_rule(&findings, "exported_protected_permission");
        assert!(!protected[0].has_tag(Tag::ExportedComponent));
        assert_eq!(
            with_rule(&findings, "firebase_db_open")[0].severity,
            Severity::High
        );
        assert_eq!(with_rule(&findings, "android_sql_raw_query")[0].source.pointer, "/code_analysis/android_sql_raw_query/files/jakhar~1aseem~1diva~1SQLInjectionActivity.java");
        assert!(tagged(&findings, Tag::Injection).contains("android_sql_raw_query"));
        assert!(!with_rule(&findings, "hardcoded_secret").is_empty());
    }

    #[test]
    fn ios_reports() {
        let (meta, findings) = parse("mobsf/ios-4x.json");
        insta::assert_json_snapshot!("mobsf_ios_4x", findings);
        assert_eq!(meta.target.as_deref(), Some("com.acme.notes 5.1"));
        assert!(meta.incomplete.is_empty());
        assert_eq!(
            tagged(&findings, Tag::CleartextTraffic),
            ["ats_app_transport_security_allowsarbitraryloads_is_allowed".to_string()].into()
        );
        assert!(tagged(&findings, Tag::InsecureTls)
            .contains("ats_nsexceptionminimumtlsversion_set_to_tlsv1_0"));
        assert_eq!(
            tagged(&findings, Tag::SensitiveLogging),
            ["ios_swift_log".to_string()].into()
        );
        assert!(tagged(&findings, Tag::HardcodedSecret).contains("ios_hardcoded_info"));
        assert_eq!(tagged(&findings, Tag::Tracker).len(), 1);
        let tls = with_rule(&findings, "ats_nsexceptionminimumtlsversion_set_to_tlsv1_0");
        assert_eq!(
            tls[0].location.component.as_deref(),
            Some("legacy.acme.example")
        );
        assert!(findings
            .iter()
            .all(|f| f.location.target.as_deref() == Some("com.acme.notes")));

        let (_, old) = parse("mobsf/ios-3x.json");
        insta::assert_json_snapshot!("mobsf_ios_3x", old);
        let insecure = with_rule(&old, "ats_insecure_communication_is_allowed");
        assert_eq!(insecure[0].severity, Severity::High);
        assert_eq!(insecure[0].scanner_severity.as_deref(), Some("insecure"));
        assert!(insecure[0].has_tag(Tag::CleartextTraffic));
        assert_eq!(
            insecure[0].location.component.as_deref(),
            Some("old.acme.example")
        );
        assert_eq!(
            with_rule(&old, "binary_binary_makes_use_of_malloc_function").len(),
            1
        );
        assert_eq!(old.len(), 4);
    }

    #[test]
    fn scorecard() {
        let (meta, findings) = parse("mobsf-scorecard/scorecard.json");
        insta::assert_json_snapshot!("mobsf_scorecard", findings);
        assert_eq!(meta.format, "mobsf-scorecard");
        assert_eq!(meta.target.as_deref(), Some("Shop 2.3.0"));
        // high 2 + warning 4 + info 1 + hotspot 1; `secure` skipped.
        assert_eq!(findings.len(), 8);
        let rules = |t| tagged(&findings, t);
        assert_eq!(
            rules(Tag::Debuggable),
            ["manifest_debug_enabled_for_app".to_string()].into()
        );
        assert_eq!(
            rules(Tag::CleartextTraffic),
            ["network_base_cleartext_permitted".to_string()].into()
        );
        assert_eq!(rules(Tag::ExportedComponent).len(), 1);
        assert_eq!(rules(Tag::BackupEnabled).len(), 1);
        assert_eq!(
            rules(Tag::HardcodedSecret),
            ["secrets_this_app_may_contain_hardcoded_secrets".to_string()].into()
        );
        assert_eq!(rules(Tag::SensitiveLogging).len(), 1);
        let exported = findings
            .iter()
            .find(|f| f.has_tag(Tag::ExportedComponent))
            .unwrap();
        assert_eq!(
            exported.location.component.as_deref(),
            Some("com.acme.shop.DeepLinkActivity")
        );
        assert_eq!(findings.last().map(|f| f.severity), Some(Severity::Info));
        assert_eq!(findings[0].source.pointer, "/high/0");
    }

    #[test]
    fn errors_name_the_place() {
        let e = parse_to_vec(b"[1, 2]", Some(Format::Mobsf)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Shape);
        let e = parse_to_vec(br#"{"title": "Dynamic Analysis"}"#, Some(Format::Mobsf)).unwrap_err();
        assert_eq!((e.kind, e.path.as_deref()), (ErrorKind::Shape, Some("$")));
        assert!(e.message.contains("not a MobSF report_json"));
        let e = parse_to_vec(br#"{"warning": []}"#, Some(Format::MobsfScorecard)).unwrap_err();
        assert_eq!(e.path.as_deref(), Some("$.high"));
        let e = parse_to_vec(
            br#"{"high": {"title": "x"}, "warning": []}"#,
            Some(Format::MobsfScorecard),
        )
        .unwrap_err();
        assert_eq!(
            (e.kind, e.path.as_deref()),
            (ErrorKind::Shape, Some("$.high"))
        );
        let e =
            parse_to_vec(br#"{"app_type": "apk", "secrets": ["#, Some(Format::Mobsf)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Syntax);
        // Wrong section shapes are tolerated (null, strings where lists are expected).
        let (_, f) = parse_to_vec(
            br#"{"app_type": "apk", "package_name": "a.b", "manifest_analysis": null, "code_analysis": "x", "secrets": null, "trackers": {"trackers": null}, "logs": null}"#,
            Some(Format::Mobsf),
        )
        .unwrap();
        assert!(f.is_empty());
    }

    #[test]
    fn legacy_code_entries_with_path_lists() {
        let doc = br#"{"title": "Static Analysis", "app_type": "Objective C", "bundle_id": "com.acme.old",
            "code_analysis": {"ios_log": {"desc": "The App logs information. Sensitive information should never be logged.",
              "level": "info", "cvss": 7.5, "cwe": "CWE-532", "path": ["Old/A.m", "Old/B.m"]}}}"#;
        assert_eq!(detect(doc).unwrap(), Format::Mobsf);
        let (_, findings) = parse_to_vec(doc, None).unwrap();
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[1].location.file.as_deref(), Some("Old/B.m"));
        assert_eq!(findings[1].source.pointer, "/code_analysis/ios_log/path/1");
        assert!(findings
            .iter()
            .all(|f| f.has_tag(Tag::SensitiveLogging) && f.cwe == vec![532]));
    }

    fn corpus() -> Option<PathBuf> {
        let dir = std::env::var("TOLLGATE_CORPUS").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus").into()
        });
        let p = PathBuf::from(dir);
        if p.join("MANIFEST.tsv").is_file() {
            Some(p)
        } else {
            assert!(
                std::env::var_os("TOLLGATE_REQUIRE_CORPUS").is_none(),
                "corpus required (TOLLGATE_REQUIRE_CORPUS) but not found at {}",
                p.display()
            );
            eprintln!(
                "SKIPPED: corpus not found at {} (set TOLLGATE_CORPUS)",
                p.display()
            );
            None
        }
    }

    /// The two lab apps of ../shared/mobile-lab: the six planted issues are tagged, the clean
    /// app carries none of the blocking tags.
    #[test]
    fn corpus_lab_apps() {
        let Some(dir) = corpus() else { return };
        let insecure = dir.join("mobsf/lab-insecure-app.json");
        let clean = dir.join("mobsf/lab-clean-app.json");
        assert!(
            insecure.is_file() && clean.is_file(),
            "the corpus lacks the lab reports (mobsf/lab-*.json)"
        );
        let (_, findings) = parse_to_vec(&std::fs::read(&insecure).unwrap(), None).unwrap();
        let rules = |t| tagged(&findings, t);
        assert!(rules(Tag::Debuggable).contains("app_is_debuggable"));
        assert!(rules(Tag::BackupEnabled).contains("app_allowbackup"));
        assert!(rules(Tag::CleartextTraffic).contains("clear_text_traffic"));
        assert!(rules(Tag::CleartextTraffic).contains("network_base_cleartext_permitted"));
        assert!(rules(Tag::CleartextTraffic).contains("network_domain_cleartext_permitted"));
        let exported: Vec<_> = findings
            .iter()
            .filter(|f| f.has_tag(Tag::ExportedComponent))
            .collect();
        assert_eq!(exported.len(), 1);
        assert_eq!(
            exported[0].location.component.as_deref(),
            Some("com.example.insecureapp.ExportedActivity")
        );
        assert!(rules(Tag::SensitiveLogging).contains("android_logging"));
        assert!(rules(Tag::HardcodedSecret).contains("android_hardcoded"));
        assert!(rules(Tag::HardcodedSecret).contains("hardcoded_secret"));
        assert!(
            findings
                .iter()
                .any(|f| f.has_tag(Tag::HardcodedSecret) && f.title.contains("backend_api_key")),
            "strings.xml secret"
        );

        let (meta, findings) = parse_to_vec(&std::fs::read(&clean).unwrap(), None).unwrap();
        assert!(meta.incomplete.is_empty());
        for tag in [
            Tag::Debuggable,
            Tag::CleartextTraffic,
            Tag::ExportedComponent,
            Tag::HardcodedSecret,
        ] {
            assert!(tagged(&findings, tag).is_empty(), "clean app has {tag}");
        }

        let card = dir.join("mobsf-scorecard/lab-insecure-app.scorecard.json");
        if card.is_file() {
            let (_, findings) = parse_to_vec(&std::fs::read(&card).unwrap(), None).unwrap();
            for tag in [
                Tag::Debuggable,
                Tag::BackupEnabled,
                Tag::CleartextTraffic,
                Tag::ExportedComponent,
                Tag::SensitiveLogging,
                Tag::HardcodedSecret,
            ] {
                assert!(!tagged(&findings, tag).is_empty(), "scorecard lacks {tag}");
            }
        }
    }

    /// Every corpus file of the MobSF formats parses, no secret value of a report leaks, and no
    /// other corpus file is detected as MobSF.
    #[test]
    fn corpus_conformance() {
        let Some(dir) = corpus() else { return };
        let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
        for line in manifest.lines().skip(1) {
            let cols: Vec<&str> = line.split('\t').collect();
            let (Some(path), Some(format), Some(items)) = (cols.first(), cols.get(1), cols.get(2))
            else {
                continue;
            };
            let Ok(bytes) = std::fs::read(dir.join(path)) else {
                continue;
            };
            let detected = detect(&bytes).ok();
            let ours = matches!(*format, "mobsf" | "mobsf-scorecard");
            if !ours {
                assert!(
                    !matches!(detected, Some(Format::Mobsf | Format::MobsfScorecard)),
                    "{path} ({format}) detected as {detected:?}"
                );
                continue;
            }
            assert_eq!(detected.map(|f| f.id()), Some(*format), "{path}");
            let (meta, findings) =
                parse_to_vec(&bytes, None).unwrap_or_else(|e| panic!("{path}: {e}"));
            if let Ok(n) = items.parse::<usize>() {
                assert_eq!(findings.len(), n, "{path}");
            }
            println!(
                "{path}: {} findings, incomplete: {:?}",
                findings.len(),
                meta.incomplete
            );
            let out = serde_json::to_string(&findings).unwrap();
            let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            let secrets = doc
                .get("secrets")
                .and_then(|s| s.as_array())
                .cloned()
                .unwrap_or_default();
            for s in secrets.iter().filter_map(|s| s.as_str()) {
                let value = super::common::split_secret(s).value;
                if value.chars().count() >= 6 {
                    assert!(!out.contains(&value), "{path} leaks a secret value");
                }
            }
        }
    }
}
