//! PLACEHOLDER: being written.

use tollgate_model::{Finding, ReportMeta};

use crate::{Format, ParseError, Parser, Sniff};

pub struct SecretDetectionParser;

impl Parser for SecretDetectionParser {
    fn format(&self) -> Format { Format::GitlabSecretDetection }
    fn detect(&self, _sniff: &Sniff) -> bool { false }
    fn parse(&self, _input: &str, _sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> { Err(crate::unknown_format()) }
}

pub struct SastParser;

impl Parser for SastParser {
    fn format(&self) -> Format { Format::GitlabSast }
    fn detect(&self, _sniff: &Sniff) -> bool { false }
    fn parse(&self, _input: &str, _sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> { Err(crate::unknown_format()) }
}
