use std::path::PathBuf;

use clap::Args;

use crate::exit;
use crate::input::report_error;

#[derive(Args)]
pub struct InitArgs {
    /// Where to write the policy.
    #[arg(default_value = "tollgate.toml")]
    path: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    force: bool,
}

/// Writes the default policy, with its comments, for a team to edit.
pub fn run(args: InitArgs) -> u8 {
    if args.path.exists() && !args.force {
        report_error(&format!(
            "{}: already exists (use --force to overwrite)",
            args.path.display()
        ));
        return exit::INPUT_ERROR;
    }
    match crate::outfile::write_bytes(&args.path, tollgate_policy::DEFAULT_POLICY.as_bytes()) {
        Ok(()) => {
            println!(
                "wrote {} (the default policy; see docs/policy.md)",
                args.path.display()
            );
            exit::OK
        }
        Err(e) => {
            report_error(&format!("{}: cannot write: {e}", args.path.display()));
            exit::INPUT_ERROR
        }
    }
}
