use clap::Args;
use tollgate_parsers::Format;

use crate::exit;
use crate::input::{parse_size, read_report, report_error, InputError};

#[derive(Args)]
pub struct DetectArgs {
    /// Report files (`-` for standard input).
    #[arg(required = true)]
    files: Vec<String>,
    /// Refuse files larger than this (e.g. 512M, 2G).
    #[arg(long, value_parser = parse_size, default_value = "1G")]
    max_size: u64,
}

pub fn run(args: DetectArgs) -> u8 {
    let mut code = exit::OK;
    for file in &args.files {
        let result = read_report(file, args.max_size).and_then(|bytes| {
            tollgate_parsers::detect(&bytes).map_err(|e| InputError::parse(file, &e))
        });
        match result {
            Ok(format) => println!("{file}: {} ({})", format.id(), format.description()),
            Err(e) => {
                report_error(&e);
                code = exit::INPUT_ERROR;
            }
        }
    }
    code
}

pub fn formats() -> u8 {
    for f in Format::ALL {
        println!("{:<24}  {}", f.id(), f.description());
    }
    exit::OK
}
