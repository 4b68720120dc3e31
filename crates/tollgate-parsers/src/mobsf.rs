//! PLACEHOLDER: being written.

use tollgate_model::{Finding, ReportMeta};

use crate::{Format, ParseError, Parser, Sniff};

pub struct ScorecardParser;

impl Parser for ScorecardParser {
    fn format(&self) -> Format { Format::MobsfScorecard }
    fn detect(&self, _sniff: &Sniff) -> bool { false }
    fn parse(&self, _input: &str, _sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> { Err(crate::unknown_format()) }
}

pub struct MobsfParser;

impl Parser for MobsfParser {
    fn format(&self) -> Format { Format::Mobsf }
    fn detect(&self, _sniff: &Sniff) -> bool { false }
    fn parse(&self, _input: &str, _sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> { Err(crate::unknown_format()) }
}
