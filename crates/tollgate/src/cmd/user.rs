//! `tollgate user`: the people who sign in to the hub's web UI (cargo feature `hub`).

use crate::exit;
use clap::{Args, Subcommand};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use tollgate_store::Scope;

use super::serve::{scope_arg, DEFAULT_DATABASE};

#[derive(Args)]
pub struct UserArgs {
    #[command(subcommand)]
    action: UserAction,
}

#[derive(Subcommand)]
enum UserAction {
    /// Create a user. The password is read from --password-file, else from standard input (a
    /// pipe), never from the command line: there every user of the machine could read it in `ps`.
    Create {
        /// The name the user signs in with; notes and the status log record it.
        #[arg(long)]
        name: String,
        /// Comma-separated, as for tokens: read (needed), triage, comment, import, admin, metrics.
        #[arg(long, value_delimiter = ',', value_parser = scope_arg, required = true)]
        scope: Vec<Scope>,
        /// Limit the user to this product: they see and touch nothing else.
        #[arg(long)]
        product: Option<String>,
        /// A file whose first line is the password (at least 12 characters, not the name).
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// Refused: a password on the command line shows in `ps` and shell history.
        #[arg(long, hide = true)]
        password: Option<String>,
        #[arg(long, env = "TOLLGATE_DATABASE_URL", default_value = DEFAULT_DATABASE, hide_env_values = true)]
        database: String,
    },
    /// List the users (name, scopes, product, created, last sign-in, disabled); no hashes.
    List {
        #[arg(long, env = "TOLLGATE_DATABASE_URL", default_value = DEFAULT_DATABASE, hide_env_values = true)]
        database: String,
    },
    /// Disable a user: they can no longer sign in, and their sessions end at once.
    Disable {
        name: String,
        #[arg(long, env = "TOLLGATE_DATABASE_URL", default_value = DEFAULT_DATABASE, hide_env_values = true)]
        database: String,
    },
}

/// The first line of `text`, without its line end.
fn first_line(text: &str) -> &str {
    text.split('\n').next().unwrap_or("").trim_end_matches('\r')
}

fn read_password(file: Option<&PathBuf>) -> Result<String, String> {
    let text = match file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the password file {}: {e}", path.display()))?,
        None => {
            let mut stdin = std::io::stdin();
            if stdin.is_terminal() {
                return Err("give the password on standard input (`… < file`, a pipe) or with --password-file FILE; it is not prompted for".into());
            }
            let mut text = String::new();
            stdin
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
            text
        }
    };
    let password = first_line(&text);
    if password.is_empty() {
        return Err(match file {
            Some(path) => format!("the password file {} is empty", path.display()),
            None => "standard input held no password".into(),
        });
    }
    Ok(password.to_string())
}

fn when(t: Option<i64>) -> String {
    t.map(tollgate_server::rfc3339)
        .unwrap_or_else(|| "-".into())
}

pub fn run(args: UserArgs) -> u8 {
    let rt = match tollgate_server::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tollgate user: {e:#}");
            return exit::INPUT_ERROR;
        }
    };
    match args.action {
        UserAction::Create {
            name,
            scope,
            product,
            password_file,
            password,
            database,
        } => {
            if password.is_some() {
                eprintln!("tollgate user create: --password is refused: a password on the command line shows in `ps` and shell history; use --password-file FILE or standard input");
                return exit::INPUT_ERROR;
            }
            let password = match read_password(password_file.as_ref()) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("tollgate user create: {e}");
                    return exit::INPUT_ERROR;
                }
            };
            match rt.block_on(tollgate_server::create_user(
                &database,
                &name,
                &password,
                &scope,
                product.as_deref(),
            )) {
                Ok(user) => {
                    eprintln!(
                        "user {:?} created with scopes {}{}",
                        user.name,
                        user.scopes
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(","),
                        product
                            .map(|p| format!(", limited to product {p:?}"))
                            .unwrap_or_default()
                    );
                    exit::OK
                }
                Err(e) => {
                    eprintln!("tollgate user create: {e:#}");
                    exit::INPUT_ERROR
                }
            }
        }
        UserAction::List { database } => match rt.block_on(tollgate_server::users(&database)) {
            Ok(users) => {
                println!("name\tscopes\tproduct\tcreated\tlast_sign_in\tdisabled");
                for (u, product) in users {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        u.name,
                        u.scopes
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(","),
                        product.as_deref().unwrap_or("-"),
                        tollgate_server::rfc3339(u.created_at),
                        when(u.last_sign_in),
                        when(u.disabled_at)
                    );
                }
                exit::OK
            }
            Err(e) => {
                eprintln!("tollgate user list: {e:#}");
                exit::INPUT_ERROR
            }
        },
        UserAction::Disable { name, database } => {
            match rt.block_on(tollgate_server::disable_user(&database, &name)) {
                Ok(true) => {
                    eprintln!("user {name:?} disabled; their sessions have ended");
                    exit::OK
                }
                Ok(false) => {
                    eprintln!("tollgate user disable: no enabled user named {name:?}");
                    exit::INPUT_ERROR
                }
                Err(e) => {
                    eprintln!("tollgate user disable: {e:#}");
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
    fn the_password_is_the_first_line_without_its_line_end() {
        assert_eq!(
            first_line("correct horse battery\r\nmore"),
            "correct horse battery"
        );
        assert_eq!(first_line("  spaces kept  \n"), "  spaces kept  ");
        assert_eq!(first_line(""), "");
    }
}
