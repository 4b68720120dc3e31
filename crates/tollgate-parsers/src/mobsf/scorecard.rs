//! MobSF `api/v1/scorecard` (also embedded as `appsec` in report_json).

use serde::Deserialize;
use tollgate_model::{Category, Finding, FingerprintBuilder, ReportMeta, Scanner, Severity, Tag};

use super::common::{
    component_in_parens, redacted_entry, severity, slug, split_secret, tags_from_text,
};
use crate::json::lenient;
use crate::{Format, ParseError};

#[derive(Deserialize)]
struct Item {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    title: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    description: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    section: Option<String>,
}

#[derive(Deserialize)]
struct Scorecard {
    high: Option<Vec<Item>>,
    #[serde(default)]
    warning: Option<Vec<Item>>,
    #[serde(default)]
    info: Option<Vec<Item>>,
    #[serde(default)]
    hotspot: Option<Vec<Item>>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    app_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    file_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    version_name: Option<String>,
}

pub(crate) fn parse(input: &str, sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> {
    let card: Scorecard = crate::json::from_str(input)?;
    let Some(high) = card.high else {
        return Err(ParseError::shape(
            "$.high",
            "not a MobSF scorecard: missing the `high` list",
        ));
    };
    let scanner = Scanner::new("mobsf", None);
    let mut meta = ReportMeta::new(Format::MobsfScorecard.id());
    meta.add_scanner(&scanner);
    let app = card.app_name.clone().or_else(|| card.file_name.clone());
    meta.target = match (&app, &card.version_name) {
        (Some(a), Some(v)) => Some(format!("{a} {v}")),
        (Some(a), None) => Some(a.clone()),
        _ => None,
    };
    let lists = [
        ("high", Some(high)),
        ("warning", card.warning),
        ("info", card.info),
        ("hotspot", card.hotspot),
    ];
    for (level, items) in lists {
        let Some(sev) = severity(Some(level)) else {
            continue;
        };
        for (i, item) in items.unwrap_or_default().into_iter().enumerate() {
            sink(finding(&scanner, app.as_deref(), level, sev, i, item));
        }
    }
    Ok(meta)
}

fn finding(
    scanner: &Scanner,
    app: Option<&str>,
    level: &str,
    sev: Severity,
    i: usize,
    item: Item,
) -> Finding {
    let section = item.section.unwrap_or_default();
    let title = item.title.unwrap_or_default();
    let title = title.trim().to_string();
    let mut description = item.description.unwrap_or_default();
    let is_secrets = section.eq_ignore_ascii_case("secrets");
    let mut secret = None;
    if is_secrets {
        // First line is MobSF's explanation, every further line one secret: redact them all.
        let mut lines = description.lines();
        let head = lines.next().unwrap_or("").to_string();
        let mut out = vec![head];
        for line in lines {
            if line.trim().is_empty() {
                continue;
            }
            let s = split_secret(line);
            if secret.is_none() {
                secret = Some(tollgate_model::RedactedSecret::new(&s.value));
            }
            out.push(redacted_entry(line, &s));
        }
        description = out.join("\n");
    }
    let rule_id = if section.eq_ignore_ascii_case("network") {
        super::report::network_rule(&title)
    } else {
        // Counts ("Found 3 critical permission(s)") would change the identity with every build.
        let words: Vec<&str> = title
            .split_whitespace()
            .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
            .collect();
        format!("{}_{}", slug(&section), slug(&words.join(" ")))
    };
    let mut f = Finding::new(scanner.clone(), &rule_id, &title);
    f.severity = sev;
    f.scanner_severity = Some(level.to_string());
    f.category = Category::Mobile;
    for t in tags_from_text(&title, &description) {
        f.tag(t);
    }
    if is_secrets {
        f.tag(Tag::HardcodedSecret);
    }
    // Title-only wording for protected components never means "exported without permission".
    if title.contains("Protected by a permission") {
        f.tags.retain(|t| *t != Tag::ExportedComponent);
    }
    f.location.component = component_in_parens(&title);
    // Code items list their files as "path, line(s) 1,2" after a "Files:" line; one file is a
    // location, several stay in the description.
    if let Some((_, files)) = description.split_once("\nFiles:\n") {
        let paths: Vec<&str> = files
            .lines()
            .filter_map(|l| l.split_once(", line(s)").map(|(p, _)| p.trim()))
            .filter(|p| !p.is_empty())
            .collect();
        if let [only] = paths.as_slice() {
            f.location.file = Some((*only).to_string());
        }
    }
    f.location.target = app.map(str::to_string);
    f.description = (!description.is_empty()).then_some(description);
    // Several secrets can share one item; the first one stands for the item.
    f.secret = secret;
    f.fingerprint = FingerprintBuilder::new("mobsf")
        .opt(app)
        .part("scorecard")
        .part(&rule_id)
        .finish();
    f.source = crate::source(Format::MobsfScorecard, format!("/{level}/{i}"));
    f
}
