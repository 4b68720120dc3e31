//! The `tollgate` binary: command-line wiring of the Tollgate crates. No parsing or policy logic
//! lives here; it reads files, calls the libraries and writes what they return.

mod cmd;
mod input;
mod outfile;
mod output;
mod same_scan;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// Findings are built on the parser thread and freed on the writer thread; glibc's allocator
// serializes such cross-thread frees on an arena lock, mimalloc does not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes, documented in docs/cli.md.
pub mod exit {
    pub const OK: u8 = 0;
    /// The gate blocked the release.
    pub const BLOCKED: u8 = 1;
    /// A usage error or a report that cannot be read or parsed.
    pub const INPUT_ERROR: u8 = 2;
    /// An upload (DefectDojo, MobSF) failed after its retries.
    pub const UPLOAD_FAILED: u8 = 3;
}

#[derive(Parser)]
#[command(
    name = "tollgate",
    version,
    about = "Parse security scanner reports into one finding model, gate releases on them",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse reports and print their normalized findings.
    Parse(cmd::parse::ParseArgs),
    /// Decide whether a release may go: PASS, WARN or FAIL, with the reasons.
    Gate(Box<cmd::gate::GateArgs>),
    /// Write the default policy (tollgate.toml) to edit.
    Init(cmd::init::InitArgs),
    /// Send reports to DefectDojo by reimport (evidence; never changes the gate's decision).
    Upload(Box<cmd::upload::UploadArgs>),
    /// Scan an app with a MobSF server and write the report the gate and upload take.
    Mobsf(cmd::mobsf::MobsfArgs),
    /// Tell a Tollgate hub that a release artifact was promoted to an environment.
    Promote(Box<cmd::promote::PromoteArgs>),
    /// Read every page of security_findings from a Results API (Data Theorem's, or a Tollgate hub).
    Pull(Box<cmd::pull::PullArgs>),
    /// Run the findings hub: DefectDojo-compatible import/reimport, Results API, web UI.
    #[cfg(feature = "hub")]
    Serve(Box<cmd::serve::ServeArgs>),
    /// Create or revoke the hub's API tokens.
    #[cfg(feature = "hub")]
    Token(cmd::serve::TokenArgs),
    /// Create, list or disable the people who sign in to the hub's web UI.
    #[cfg(feature = "hub")]
    User(cmd::user::UserArgs),
    /// Name the format of each report.
    Detect(cmd::detect::DetectArgs),
    /// List the report formats Tollgate reads.
    Formats,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::INPUT_ERROR
            } else {
                exit::OK
            });
        }
    };
    let code = match cli.command {
        Command::Parse(args) => cmd::parse::run(args),
        Command::Detect(args) => cmd::detect::run(args),
        Command::Gate(args) => cmd::gate::run(*args),
        Command::Init(args) => cmd::init::run(args),
        Command::Upload(args) => cmd::upload::run(*args),
        Command::Mobsf(args) => cmd::mobsf::run(args),
        Command::Pull(args) => cmd::pull::run(*args),
        Command::Promote(args) => cmd::promote::run(*args),
        #[cfg(feature = "hub")]
        Command::Serve(args) => cmd::serve::serve(*args),
        #[cfg(feature = "hub")]
        Command::Token(args) => cmd::serve::token(args),
        #[cfg(feature = "hub")]
        Command::User(args) => cmd::user::run(args),
        Command::Formats => cmd::detect::formats(),
    };
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
