//! PLACEHOLDER: being written.

use tollgate_model::{Finding, ReportMeta};

use crate::{Format, ParseError, Parser, Sniff};

pub struct JsonParser;

impl Parser for JsonParser {
    fn format(&self) -> Format { Format::ZapJson }
    fn detect(&self, _sniff: &Sniff) -> bool { false }
    fn parse(&self, _input: &str, _sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> { Err(crate::unknown_format()) }
}

pub struct XmlParser;

impl Parser for XmlParser {
    fn format(&self) -> Format { Format::ZapXml }
    fn detect(&self, _sniff: &Sniff) -> bool { false }
    fn parse(&self, _input: &str, _sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> { Err(crate::unknown_format()) }
}
