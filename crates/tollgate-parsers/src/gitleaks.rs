//! PLACEHOLDER: being written.

use tollgate_model::{Finding, ReportMeta};

use crate::{Format, ParseError, Parser, Sniff};

pub struct GitleaksParser;

impl Parser for GitleaksParser {
    fn format(&self) -> Format { Format::Gitleaks }
    fn detect(&self, _sniff: &Sniff) -> bool { false }
    fn parse(&self, _input: &str, _sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> { Err(crate::unknown_format()) }
}
