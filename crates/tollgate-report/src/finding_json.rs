//! A [`Finding`] as compact JSON, written field by field: byte for byte what serde_json makes of
//! the model's own `Serialize` (a test compares the two on every fixture's findings and on
//! generated ones), at about half the cost per field.
//!
//! `tollgate parse` writes one of these per finding, hundreds of thousands for a large report;
//! through the generic serializer each field name was looked at, each optional field tested
//! twice. Here every name, comma and quote around it is one constant. The structs are taken
//! apart without `..`, so a field added to the model stops this file from compiling until it is
//! written here too; enums, CVSS and secrets (rare or small) go through the generic serializer.

use tollgate_model::{Finding, Location, Package, Scanner, SourceRef};

use crate::json::{push_str, write_compact, Error};

/// Appends the compact JSON of `f` to `out`.
pub fn write_finding(out: &mut Vec<u8>, f: &Finding) -> Result<(), Error> {
    let Finding {
        fingerprint,
        scanner,
        rule_id,
        title,
        severity,
        scanner_severity,
        confidence,
        description,
        recommendation,
        references,
        cwe,
        vulnerability_ids,
        cvss,
        category,
        tags,
        location,
        secret,
        suppressed,
        source,
    } = f;
    out.extend_from_slice(b"{\"fingerprint\":");
    push_str(out, fingerprint.as_str());
    out.extend_from_slice(b",\"scanner\":");
    write_scanner(out, scanner);
    out.extend_from_slice(b",\"rule_id\":");
    push_str(out, rule_id);
    out.extend_from_slice(b",\"title\":");
    push_str(out, title);
    out.extend_from_slice(b",\"severity\":");
    write_compact(out, severity)?;
    opt_str(out, b",\"scanner_severity\":", scanner_severity.as_deref());
    if let Some(confidence) = confidence {
        out.extend_from_slice(b",\"confidence\":");
        write_compact(out, confidence)?;
    }
    opt_str(out, b",\"description\":", description.as_deref());
    opt_str(out, b",\"recommendation\":", recommendation.as_deref());
    str_list(out, b",\"references\":", references);
    if !cwe.is_empty() {
        out.extend_from_slice(b",\"cwe\":");
        let mut number = itoa::Buffer::new();
        for (i, n) in cwe.iter().enumerate() {
            out.push(if i == 0 { b'[' } else { b',' });
            out.extend_from_slice(number.format(*n).as_bytes());
        }
        out.push(b']');
    }
    str_list(out, b",\"vulnerability_ids\":", vulnerability_ids);
    if !cvss.is_empty() {
        out.extend_from_slice(b",\"cvss\":");
        write_compact(out, cvss)?;
    }
    out.extend_from_slice(b",\"category\":");
    write_compact(out, category)?;
    if !tags.is_empty() {
        out.extend_from_slice(b",\"tags\":");
        write_compact(out, tags)?;
    }
    if !location.is_empty() {
        out.extend_from_slice(b",\"location\":");
        write_location(out, location);
    }
    if let Some(secret) = secret {
        out.extend_from_slice(b",\"secret\":");
        write_compact(out, secret)?;
    }
    if *suppressed {
        out.extend_from_slice(b",\"suppressed\":true");
    }
    out.extend_from_slice(b",\"source\":");
    write_source(out, source);
    out.push(b'}');
    Ok(())
}

fn write_scanner(out: &mut Vec<u8>, scanner: &Scanner) {
    let Scanner { name, version } = scanner;
    out.extend_from_slice(b"{\"name\":");
    push_str(out, name);
    opt_str(out, b",\"version\":", version.as_deref());
    out.push(b'}');
}

/// Every field of a location is optional: the first one written opens the object.
fn write_location(out: &mut Vec<u8>, location: &Location) {
    let Location {
        file,
        start_line,
        end_line,
        snippet,
        package,
        url,
        method,
        parameter,
        component,
        target,
    } = location;
    let mut fields = Fields::new(out);
    fields.str(b"file", file.as_deref());
    fields.number(b"start_line", *start_line);
    fields.number(b"end_line", *end_line);
    fields.str(b"snippet", snippet.as_deref());
    if let Some(package) = package {
        fields.name(b"package");
        write_package(fields.out, package);
    }
    fields.str(b"url", url.as_deref());
    fields.str(b"method", method.as_deref());
    fields.str(b"parameter", parameter.as_deref());
    fields.str(b"component", component.as_deref());
    fields.str(b"target", target.as_deref());
    fields.close();
}

fn write_package(out: &mut Vec<u8>, package: &Package) {
    let Package {
        name,
        installed_version,
        fixed_version,
        purl,
        ecosystem,
    } = package;
    out.extend_from_slice(b"{\"name\":");
    push_str(out, name);
    opt_str(
        out,
        b",\"installed_version\":",
        installed_version.as_deref(),
    );
    opt_str(out, b",\"fixed_version\":", fixed_version.as_deref());
    opt_str(out, b",\"purl\":", purl.as_deref());
    opt_str(out, b",\"ecosystem\":", ecosystem.as_deref());
    out.push(b'}');
}

fn write_source(out: &mut Vec<u8>, source: &SourceRef) {
    let SourceRef {
        format,
        file,
        pointer,
    } = source;
    out.extend_from_slice(b"{\"format\":");
    push_str(out, format);
    opt_str(out, b",\"file\":", file.as_deref());
    out.extend_from_slice(b",\"pointer\":");
    push_str(out, pointer);
    out.push(b'}');
}

/// `,"name":"value"` (the name part given whole) when there is a value.
fn opt_str(out: &mut Vec<u8>, name: &[u8], value: Option<&str>) {
    if let Some(value) = value {
        out.extend_from_slice(name);
        push_str(out, value);
    }
}

/// `,"name":["a","b"]` unless the list is empty.
fn str_list(out: &mut Vec<u8>, name: &[u8], values: &[String]) {
    if values.is_empty() {
        return;
    }
    out.extend_from_slice(name);
    for (i, value) in values.iter().enumerate() {
        out.push(if i == 0 { b'[' } else { b',' });
        push_str(out, value);
    }
    out.push(b']');
}

/// An object whose fields are all optional: `{` or `,` before each field written.
struct Fields<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> Fields<'o> {
    fn new(out: &'o mut Vec<u8>) -> Self {
        Fields { out, first: true }
    }

    fn name(&mut self, name: &[u8]) {
        self.out.push(if self.first { b'{' } else { b',' });
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(name);
        self.out.extend_from_slice(b"\":");
    }

    fn str(&mut self, name: &[u8], value: Option<&str>) {
        if let Some(value) = value {
            self.name(name);
            push_str(self.out, value);
        }
    }

    fn number(&mut self, name: &[u8], value: Option<u32>) {
        if let Some(value) = value {
            self.name(name);
            self.out
                .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        }
    }

    fn close(self) {
        if self.first {
            self.out.push(b'{');
        }
        self.out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use tollgate_model::{
        Category, Confidence, Cvss, CvssVersion, Fingerprint, RedactedSecret, Severity, Tag,
    };

    use super::*;

    fn same(f: &Finding) {
        let mut ours = Vec::new();
        write_finding(&mut ours, f).unwrap();
        let theirs = serde_json::to_vec(f).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }

    fn bare() -> Finding {
        Finding::new(Scanner::new("semgrep", None), "rule", "Title")
    }

    #[test]
    fn a_bare_finding() {
        same(&bare());
    }

    /// Every optional field alone, then all of them, with texts that need escapes.
    #[test]
    fn every_optional_field_alone_and_together() {
        let text = "a \"quoted\"\n\tline \\ é 😀 \u{1}";
        let package = Package {
            name: "lodash".into(),
            installed_version: Some("4.17.20".into()),
            fixed_version: Some("4.17.21".into()),
            purl: Some("pkg:npm/lodash@4.17.20".into()),
            ecosystem: Some("npm".into()),
        };
        type Set = Box<dyn Fn(&mut Finding)>;
        let sets: Vec<Set> = vec![
            Box::new(|f| f.fingerprint = Fingerprint::parse(&"ab".repeat(16)).unwrap()),
            Box::new(|f| f.scanner.version = Some("1.2.3".into())),
            Box::new(move |f| f.rule_id = text.into()),
            Box::new(|f| f.severity = Severity::Critical),
            Box::new(move |f| f.scanner_severity = Some(text.into())),
            Box::new(|f| f.confidence = Some(Confidence::High)),
            Box::new(move |f| f.description = Some(text.into())),
            Box::new(|f| f.recommendation = Some(String::new())),
            Box::new(move |f| f.references = vec!["https://a".into(), text.into()]),
            Box::new(|f| f.cwe = vec![79]),
            Box::new(|f| f.cwe = vec![79, 89, 4294967295]),
            Box::new(|f| f.vulnerability_ids = vec!["CVE-2024-1".into()]),
            Box::new(|f| {
                f.cvss = vec![
                    Cvss::new(
                        Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
                        None,
                        None,
                    )
                    .unwrap(),
                    Cvss::new(None, Some(5.5), Some(CvssVersion::V2)).unwrap(),
                ]
            }),
            Box::new(|f| f.category = Category::Secret),
            Box::new(|f| f.tags = vec![Tag::HardcodedSecret, Tag::Debuggable]),
            Box::new(move |f| f.location.file = Some(text.into())),
            Box::new(|f| f.location.start_line = Some(0)),
            Box::new(|f| f.location.end_line = Some(u32::MAX)),
            Box::new(|f| f.location.snippet = Some("x = 1".into())),
            Box::new(move |f| f.location.package = Some(package.clone())),
            Box::new(|f| {
                f.location.package = Some(Package {
                    name: "only-a-name".into(),
                    ..Package::default()
                })
            }),
            Box::new(|f| f.location.url = Some("https://x/y?q=1".into())),
            Box::new(|f| f.location.method = Some("POST".into())),
            Box::new(|f| f.location.parameter = Some("q".into())),
            Box::new(|f| f.location.component = Some("com.app.Main".into())),
            Box::new(|f| f.location.target = Some("image:1".into())),
            Box::new(|f| f.secret = Some(RedactedSecret::new("hunter2-hunter2"))),
            Box::new(|f| f.suppressed = true),
            Box::new(|f| f.source.file = Some("report.json".into())),
            Box::new(move |f| f.source.pointer = text.into()),
        ];
        let mut all = bare();
        for set in &sets {
            let mut alone = bare();
            set(&mut alone);
            same(&alone);
            set(&mut all);
        }
        same(&all);
    }
}
