//! `tollgate serve` and `tollgate token`: the findings hub (cargo feature `hub`, on by default).

use crate::exit;
use clap::{Args, Subcommand};
use std::net::SocketAddr;
use std::time::Duration;
use tollgate_store::Scope;

/// Default database: a SQLite file in the working directory.
pub(crate) const DEFAULT_DATABASE: &str = "sqlite://tollgate-hub.db";

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
    /// Database connections in the pool. Default: 16 on SQLite; on PostgreSQL 4 per core of
    /// this machine, from 4 to 16 (each connection is a PostgreSQL process), plus up to 2 per
    /// core (2 to 16) for the findings queue's pages and the UI's sessions. Given, it bounds
    /// each of the two on PostgreSQL.
    #[arg(long)]
    max_connections: Option<u32>,
    /// Days to fix a finding per severity (its SLA due date): e.g. `critical=7,high=30,medium=90,low=120`
    /// (the default); `info=…` adds one for Info; `none` for a severity turns its SLA off.
    #[arg(long, value_parser = sla_arg)]
    sla_days: Option<tollgate_store::SlaDays>,
    /// A client must send a whole request head (request line and headers) within this time of
    /// connecting, or of the first byte of a later request: e.g. `10s`, `500ms`, `2m`.
    #[arg(long, value_parser = duration_arg, default_value = "10s")]
    header_timeout: Duration,
    /// A connection with no request in progress and no byte moving either way is closed after
    /// this long (kept-alive connections, clients that stop reading a response).
    #[arg(long, value_parser = duration_arg, default_value = "60s")]
    idle_timeout: Duration,
    /// Longest a request may take from its head to the answer, reading the body included
    /// (large imports); past it the client gets 503.
    #[arg(long, value_parser = duration_arg, default_value = "300s")]
    request_timeout: Duration,
    /// Client connections open at once; more wait in the listen backlog until one closes.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    connection_limit: u32,
    /// The product type an import with auto_create_context creates a new product in when it names
    /// none (DefectDojo refuses such a call; the hub answers with a warning). An empty value
    /// refuses it as DefectDojo does.
    #[arg(long, env = "TOLLGATE_DEFAULT_PRODUCT_TYPE", default_value = tollgate_server::DEFAULT_PRODUCT_TYPE)]
    default_product_type: String,
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
    config.max_connections = args.max_connections.map(|n| n.max(1));
    config.limits = tollgate_server::ConnectionLimits {
        header_timeout: args.header_timeout,
        idle_timeout: args.idle_timeout,
        request_timeout: args.request_timeout,
        max_open: args.connection_limit as usize,
    };
    config.default_product_type =
        Some(args.default_product_type.trim().to_string()).filter(|t| !t.is_empty());
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

/// `10s`, `500ms`, `2m`, `1h`, or bare seconds; more than zero, at most a day.
fn duration_arg(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?}: write a duration such as 10s, 500ms or 2m"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(format!("{text:?}: the unit must be ms, s, m or h")),
    };
    if d.is_zero() || d > Duration::from_secs(86_400) {
        return Err(format!("{text:?}: must be more than 0 and at most 24h"));
    }
    Ok(d)
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

pub(crate) fn scope_arg(s: &str) -> Result<Scope, String> {
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

    #[test]
    fn durations_take_units() {
        assert_eq!(duration_arg("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(duration_arg("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration_arg("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(duration_arg("7"), Ok(Duration::from_secs(7)));
        assert!(duration_arg("0s").is_err());
        assert!(duration_arg("-1s").is_err());
        assert!(duration_arg("10 days").is_err());
        assert!(duration_arg("48h").is_err());
    }
}
