//! `tollgate serve` and `tollgate token`: the findings hub (cargo feature `hub`, on by default).

use crate::exit;
use clap::{Args, Subcommand};
use std::net::SocketAddr;
use tollgate_store::Scope;

/// Default database: a SQLite file in the working directory.
const DEFAULT_DATABASE: &str = "sqlite://tollgate-hub.db";

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// sqlite://FILE (default, created and migrated at start) or postgres://… (several replicas).
    #[arg(long, env = "TOLLGATE_DATABASE_URL", default_value = DEFAULT_DATABASE, hide_env_values = true)]
    database: String,
    /// The hub's URL as users reach it (finding links); default http://<listen>.
    #[arg(long, env = "TOLLGATE_PUBLIC_URL")]
    public_url: Option<String>,
    /// Serve /metrics to anyone, without a token (else it needs a token with the metrics scope).
    /// Its numbers span every product: only behind a network that keeps others out.
    #[arg(long)]
    public_metrics: bool,
    /// Largest request body (report upload) accepted.
    #[arg(long, value_parser = crate::input::parse_size, default_value = "512M")]
    body_limit: u64,
    /// Database connections in the pool.
    #[arg(long, default_value_t = 16)]
    max_connections: u32,
    /// Days to fix a finding per severity (its SLA due date): e.g. `critical=7,high=30,medium=90,low=120`
    /// (the default); `info=…` adds one for Info; `none` for a severity turns its SLA off.
    #[arg(long, value_parser = sla_arg)]
    sla_days: Option<tollgate_store::SlaDays>,
    /// Log format: text or json (one object per line).
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

pub fn serve(args: ServeArgs) -> u8 {
    tollgate_server::init_logging(matches!(args.log_format, LogFormat::Json));
    let mut config = tollgate_server::ServeConfig::new(args.listen, args.database);
    config.public_url = args.public_url;
    config.public_metrics = args.public_metrics;
    config.body_limit = usize::try_from(args.body_limit).unwrap_or(usize::MAX);
    config.max_connections = args.max_connections.max(1);
    if let Some(sla) = args.sla_days {
        config.sla = sla;
    }
    let result = tollgate_server::runtime().and_then(|rt| {
        rt.block_on(tollgate_server::serve(config, |addr| {
            // One line on stdout, for scripts that started us on port 0.
            println!("tollgate hub listening on http://{addr}");
        }))
    });
    match result {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("tollgate serve: {e:#}");
            exit::INPUT_ERROR
        }
    }
}

fn sla_arg(text: &str) -> Result<tollgate_store::SlaDays, String> {
    let mut sla = tollgate_store::SlaDays::default();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (severity, days) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?}: write severity=days, e.g. critical=7"))?;
        let days = match days.trim() {
            "none" | "off" => None,
            d => Some(
                d.parse::<i64>()
                    .ok()
                    .filter(|n| (0..=3650).contains(n))
                    .ok_or_else(|| format!("{part:?}: days must be 0 to 3650, or none"))?,
            ),
        };
        match severity.trim().to_ascii_lowercase().as_str() {
            "critical" => sla.critical = days,
            "high" => sla.high = days,
            "medium" => sla.medium = days,
            "low" => sla.low = days,
            "info" => sla.info = days,
            other => {
                return Err(format!(
                    "{other:?} is not a severity (critical, high, medium, low, info)"
                ))
            }
        }
    }
    Ok(sla)
}

#[derive(Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    action: TokenAction,
}

#[derive(Subcommand)]
enum TokenAction {
    /// Create a token and print its secret (shown once; only a hash is stored).
    Create {
        /// A name for the token (`ci-shop`): shown in logs, import history and notes.
        #[arg(long)]
        name: String,
        /// Comma-separated: read, import, triage (close, priority), comment, admin, metrics
        /// (scrape /metrics; admin includes it).
        #[arg(long, value_delimiter = ',', value_parser = scope_arg, required = true)]
        scope: Vec<Scope>,
        /// Restrict the token to this product: it sees and touches nothing else.
        #[arg(long)]
        product: Option<String>,
        #[arg(long, env = "TOLLGATE_DATABASE_URL", default_value = DEFAULT_DATABASE, hide_env_values = true)]
        database: String,
    },
    /// Revoke a token by name.
    Revoke {
        #[arg(long)]
        name: String,
        #[arg(long, env = "TOLLGATE_DATABASE_URL", default_value = DEFAULT_DATABASE, hide_env_values = true)]
        database: String,
    },
}

fn scope_arg(s: &str) -> Result<Scope, String> {
    Scope::from_str_opt(s.trim()).ok_or_else(|| {
        format!(
            "unknown scope {s:?}; scopes: {}",
            Scope::ALL.map(Scope::as_str).join(", ")
        )
    })
}

pub fn token(args: TokenArgs) -> u8 {
    let rt = match tollgate_server::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tollgate token: {e:#}");
            return exit::INPUT_ERROR;
        }
    };
    match args.action {
        TokenAction::Create {
            name,
            scope,
            product,
            database,
        } => match rt.block_on(tollgate_server::create_token(
            &database,
            &name,
            &scope,
            product.as_deref(),
        )) {
            Ok((token, secret)) => {
                println!("{secret}");
                eprintln!(
                    "token {:?} created with scopes {}{}; the secret above is shown only once",
                    token.name,
                    token
                        .scopes
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                    product
                        .map(|p| format!(", restricted to product {p:?}"))
                        .unwrap_or_default()
                );
                exit::OK
            }
            Err(e) => {
                eprintln!("tollgate token create: {e:#}");
                exit::INPUT_ERROR
            }
        },
        TokenAction::Revoke { name, database } => {
            match rt.block_on(tollgate_server::revoke_token(&database, &name)) {
                Ok(true) => {
                    eprintln!("token {name:?} revoked (running hubs refuse it within 10 s)");
                    exit::OK
                }
                Ok(false) => {
                    eprintln!("tollgate token revoke: no live token named {name:?}");
                    exit::INPUT_ERROR
                }
                Err(e) => {
                    eprintln!("tollgate token revoke: {e:#}");
                    exit::INPUT_ERROR
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sla_days_override_the_defaults() {
        let sla = sla_arg("critical=3, low=none,info=365").unwrap();
        assert_eq!(sla.critical, Some(3));
        assert_eq!(sla.high, Some(30));
        assert_eq!(sla.low, None);
        assert_eq!(sla.info, Some(365));
        assert!(sla_arg("urgent=1").is_err());
        assert!(sla_arg("high=-1").is_err());
        assert!(sla_arg("high").is_err());
    }
}
