//! People and their sign-in sessions. A password is kept only as an argon2id hash; a session id
//! is 256 random bits, handed to the browser once and stored as its SHA-256 (like a token).

use crate::sql::{get_i64, get_opt_i64, get_str, Arg, Columns, Sql};
use crate::{Result, Scope, Store, StoreError, Timestamp, Token, User};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// A session ends after this long without a request…
pub const SESSION_IDLE_SECS: i64 = 2 * 3600;
/// …and this long after sign-in, whatever the activity.
pub const SESSION_ABSOLUTE_SECS: i64 = 12 * 3600;
/// Shortest password taken, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest: argon2 reads any length, but a megabyte "password" is only a way to burn CPU.
const MAX_PASSWORD_CHARS: usize = 1024;
/// Wrong passwords in a row before sign-in is refused for a while…
const FREE_ATTEMPTS: i64 = 5;
/// …for this long, doubling with each further failure up to [`MAX_LOCK_SECS`].
const LOCK_SECS: i64 = 30;
const MAX_LOCK_SECS: i64 = 15 * 60;
/// `last_seen` is written at most this often (a page view is otherwise a write).
const TOUCH_EVERY_SECS: i64 = 60;

fn sha256_hex(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn scopes_text(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// The password policy: at least [`MIN_PASSWORD_CHARS`] characters, not the user's name.
pub fn check_password(name: &str, password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(StoreError::Invalid(format!(
            "the password is {n} characters long; it needs at least {MIN_PASSWORD_CHARS}"
        )));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(StoreError::Invalid(format!(
            "the password is {n} characters long; at most {MAX_PASSWORD_CHARS} are taken"
        )));
    }
    if password.trim().eq_ignore_ascii_case(name.trim()) {
        return Err(StoreError::Invalid(
            "the password may not be the user's name".into(),
        ));
    }
    Ok(())
}

fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name != name.trim() {
        return Err(StoreError::Invalid(
            "a user needs a name without leading or trailing spaces".into(),
        ));
    }
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(StoreError::Invalid(
            "a user's name is at most 100 characters, none of them control characters".into(),
        ));
    }
    Ok(())
}

/// argon2id with the crate's defaults (OWASP's: 19 MiB, 2 passes, 1 lane), off the async
/// threads: one hash takes tens of milliseconds of CPU.
async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt)
            .map_err(|e| StoreError::Invalid(format!("password salt: {e}")))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| StoreError::Invalid(format!("password hash: {e}")))
    })
    .await
    .map_err(|e| StoreError::Corrupt(format!("password hashing task: {e}")))?
}

/// Whether `password` matches the stored `hash`. With no hash (an unknown user) it checks
/// against a throwaway one, so an unknown name costs the same time as a wrong password.
async fn verify_password(password: String, hash: Option<String>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| {
            DUMMY
                .get_or_init(|| {
                    let salt = SaltString::encode_b64(b"tollgate-nobody!").expect("16 bytes");
                    Argon2::default()
                        .hash_password(b"no user has this password", &salt)
                        .map(|h| h.to_string())
                        .unwrap_or_default()
                })
                .clone()
        });
        // The comparison inside is constant-time (argon2's Output is compared with `subtle`).
        let ok = PasswordHash::new(&hash).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        });
        ok && known
    })
    .await
    .unwrap_or(false)
}

fn user_from_row(r: &impl Columns) -> Result<User> {
    Ok(User {
        id: r.i64("id")?,
        name: r.string("name")?,
        scopes: r
            .string("scopes")?
            .split(',')
            .filter_map(Scope::from_str_opt)
            .collect(),
        product_id: r.opt_i64("product_id")?,
        created_at: r.i64("created_at")?,
        disabled_at: r.opt_i64("disabled_at")?,
        last_sign_in: r.opt_i64("last_sign_in")?,
    })
}

/// Whom a browser's session signs in.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionOf {
    /// A person, signed in with a name and a password.
    User(User),
    /// A browser signed in with a token.
    Token(Token),
}

const USER_COLUMNS: &str =
    "u.id, u.name, u.scopes, u.product_id, u.created_at, u.disabled_at, u.last_sign_in";

impl Store {
    /// Creates a user. The password must pass [`check_password`]; a token's name is refused too,
    /// so a name in a note or the status log says who it was.
    pub async fn create_user(
        &self,
        name: &str,
        password: &str,
        scopes: &[Scope],
        product_name: Option<&str>,
        now: Timestamp,
    ) -> Result<User> {
        check_name(name)?;
        check_password(name, password)?;
        if scopes.is_empty() {
            return Err(StoreError::Invalid(format!(
                "a user needs at least one scope of: {}",
                Scope::ALL.map(Scope::as_str).join(", ")
            )));
        }
        if !scopes
            .iter()
            .any(|s| matches!(s, Scope::Read | Scope::Admin))
        {
            return Err(StoreError::Invalid(
                "a user signs in to the web UI, which needs the read scope: add read".into(),
            ));
        }
        let hash = hash_password(password.to_string()).await?;
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let product_id = match product_name {
            Some(p) => Some(self.product_id_by_name(&mut tx, p).await?.ok_or_else(|| {
                StoreError::NotFound(format!(
                    "product {p:?} does not exist (import into it first)"
                ))
            })?),
            None => None,
        };
        let taken = Sql::new("SELECT name FROM users WHERE name = ")
            .arg(name)
            .push(" UNION ALL SELECT name FROM tokens WHERE name = ")
            .arg(name)
            .query(self.backend)?
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!(
                "the name {name:?} is taken by a user or a token"
            )));
        }
        let mut scopes = scopes.to_vec();
        scopes.dedup();
        let row = Sql::new(
            "INSERT INTO users (name, password_hash, scopes, product_id, created_at) VALUES ",
        )
        .list::<Arg>([
            name.into(),
            hash.into(),
            scopes_text(&scopes).into(),
            product_id.into(),
            now.into(),
        ])
        .push(" RETURNING id")
        .query(self.backend)?
        .fetch_one(&mut *tx)
        .await?;
        let id = get_i64(&row, "id")?;
        tx.commit().await?;
        Ok(User {
            id,
            name: name.to_string(),
            scopes,
            product_id,
            created_at: now,
            disabled_at: None,
            last_sign_in: None,
        })
    }

    /// Every user, by name (hashes are never read out).
    pub async fn users(&self) -> Result<Vec<User>> {
        let rows = Sql::new(format!(
            "SELECT {USER_COLUMNS} FROM users u ORDER BY u.name"
        ))
        .query(self.backend)?
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Disables a user and ends their sessions; true when there was an enabled user so named.
    pub async fn disable_user(&self, name: &str, now: Timestamp) -> Result<bool> {
        self.end_principal(Principal::User, name, now).await
    }

    /// Marks the enabled user or live token `name` ended at `now` (`disabled_at` / `revoked_at`)
    /// and deletes the sessions it signed in, in one transaction; true when there was one to end.
    pub(crate) async fn end_principal(
        &self,
        who: Principal,
        name: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let (table, ended, session_column) = match who {
            Principal::User => ("users", "disabled_at", "user_id"),
            Principal::Token => ("tokens", "revoked_at", "token_id"),
        };
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let done = Sql::new(format!("UPDATE {table} SET {ended} = "))
            .arg(now)
            .push(" WHERE name = ")
            .arg(name)
            .push(format!(" AND {ended} IS NULL").as_str())
            .query(self.backend)?
            .execute(&mut *tx)
            .await?;
        // Browsers signed in as it are signed out at once.
        Sql::new(format!(
            "DELETE FROM sessions WHERE {session_column} IN (SELECT id FROM {table} WHERE name = "
        ))
        .arg(name)
        .push(")")
        .query(self.backend)?
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Checks a name and password; on success starts a session and returns the user and the
    /// session id (the only time it exists in clear). None for an unknown or disabled user, a
    /// wrong password, or a user locked out for a while after [`FREE_ATTEMPTS`] wrong passwords
    /// in a row — the caller cannot tell which, and each costs one argon2 verification.
    pub async fn sign_in(
        &self,
        name: &str,
        password: &str,
        now: Timestamp,
    ) -> Result<Option<(User, String)>> {
        let row = Sql::new(format!(
            "SELECT {USER_COLUMNS}, u.password_hash, u.failed_attempts, u.locked_until \
             FROM users u WHERE u.name = "
        ))
        .arg(name)
        .query(self.backend)?
        .fetch_optional(&self.pool)
        .await?;
        let found = match &row {
            Some(r) => Some((
                user_from_row(r)?,
                get_str(r, "password_hash")?,
                get_i64(r, "failed_attempts")?,
                get_opt_i64(r, "locked_until")?,
            )),
            None => None,
        };
        let usable = found
            .as_ref()
            .filter(|(u, _, _, locked)| u.disabled_at.is_none() && locked.is_none_or(|t| t <= now));
        // An over-long password is wrong without reading it (the policy never let one in), at
        // the cost of a normal check.
        let too_long = password.chars().count() > MAX_PASSWORD_CHARS;
        let ok = verify_password(
            if too_long { "" } else { password }.to_string(),
            usable.map(|(_, hash, _, _)| hash.clone()),
        )
        .await
            && !too_long;
        let Some((user, _, _, _)) = usable else {
            tracing::info!(user = ?name, "sign-in refused: unknown, disabled or locked out");
            return Ok(None);
        };
        let _guard = self.write_guard().await;
        if !ok {
            // Counted in the database, not from what was read: parallel guesses all count.
            let mut tx = self.pool.begin().await?;
            let row =
                Sql::new("UPDATE users SET failed_attempts = failed_attempts + 1 WHERE id = ")
                    .arg(user.id)
                    .push(" RETURNING failed_attempts")
                    .query(self.backend)?
                    .fetch_one(&mut *tx)
                    .await?;
            let failed = get_i64(&row, "failed_attempts")?;
            if failed >= FREE_ATTEMPTS {
                let doublings = (failed - FREE_ATTEMPTS).min(16) as u32;
                Sql::new("UPDATE users SET locked_until = ")
                    .arg(now + (LOCK_SECS << doublings).min(MAX_LOCK_SECS))
                    .push(" WHERE id = ")
                    .arg(user.id)
                    .query(self.backend)?
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            tracing::info!(user = ?name, failed, "sign-in refused: wrong password");
            return Ok(None);
        }
        let mut tx = self.pool.begin().await?;
        Sql::new("UPDATE users SET failed_attempts = 0, locked_until = NULL, last_sign_in = ")
            .arg(now)
            .push(" WHERE id = ")
            .arg(user.id)
            .query(self.backend)?
            .execute(&mut *tx)
            .await?;
        let secret = self
            .insert_session(&mut tx, Some(user.id), None, now)
            .await?;
        tx.commit().await?;
        let mut user = user.clone();
        user.last_sign_in = Some(now);
        tracing::info!(user = ?name, "signed in");
        Ok(Some((user, secret)))
    }

    /// Starts a session for a browser signed in with `token` (already authenticated): the
    /// browser keeps the session id, never the token, and the session ends like a person's.
    pub async fn start_token_session(&self, token: &Token, now: Timestamp) -> Result<String> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let secret = self
            .insert_session(&mut tx, None, Some(token.id), now)
            .await?;
        tx.commit().await?;
        Ok(secret)
    }

    /// A new session of a user or a token; its id (256 random bits, hex).
    async fn insert_session(
        &self,
        tx: &mut sqlx::AnyConnection,
        user_id: Option<i64>,
        token_id: Option<i64>,
        now: Timestamp,
    ) -> Result<String> {
        // Sweep every ended session while here: the table stays the size of who is signed in.
        Sql::new("DELETE FROM sessions WHERE expires_at <= ")
            .arg(now)
            .push(" OR last_seen <= ")
            .arg(now - SESSION_IDLE_SECS)
            .query(self.backend)?
            .execute(&mut *tx)
            .await?;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Sql::new(
            "INSERT INTO sessions (id_sha256, user_id, token_id, created_at, last_seen, expires_at) VALUES ",
        )
        .list::<Arg>([
            sha256_hex(&secret).into(),
            user_id.into(),
            token_id.into(),
            now.into(),
            now.into(),
            (now + SESSION_ABSOLUTE_SECS).into(),
        ])
        .query(self.backend)?
        .execute(&mut *tx)
        .await?;
        Ok(secret)
    }

    /// Who a live session belongs to: not ended, not idle past [`SESSION_IDLE_SECS`], not past
    /// [`SESSION_ABSOLUTE_SECS`], its user not disabled or its token not revoked (read at each
    /// call: a disable or a revocation ends it at once). Marks the session as seen.
    pub async fn session(&self, secret: &str, now: Timestamp) -> Result<Option<SessionOf>> {
        let mut q = Sql::new(format!(
            "SELECT {USER_COLUMNS}, s.id AS session_id, s.last_seen, s.user_id, s.token_id, \
             t.name AS t_name, t.scopes AS t_scopes, t.product_id AS t_product_id, \
             t.created_at AS t_created_at FROM sessions s \
             LEFT JOIN users u ON u.id = s.user_id AND u.disabled_at IS NULL \
             LEFT JOIN tokens t ON t.id = s.token_id AND t.revoked_at IS NULL \
             WHERE s.id_sha256 = "
        ));
        q.arg(sha256_hex(secret))
            .push(" AND s.expires_at > ")
            .arg(now)
            .push(" AND s.last_seen > ")
            .arg(now - SESSION_IDLE_SECS)
            .push(" AND (u.id IS NOT NULL OR t.id IS NOT NULL)");
        // Every page of the UI asks: on PostgreSQL, on the typed connections of the queue's
        // pages (`postgres_read`).
        match self.backend {
            crate::Backend::Postgres => {
                let mut read = self.pg_reads()?.acquire().await?;
                let row = q.pg_query()?.fetch_optional(&mut *read).await?;
                read.give_back();
                self.session_of(row, now).await
            }
            crate::Backend::Sqlite => {
                let row = q.query(self.backend)?.fetch_optional(&self.pool).await?;
                self.session_of(row, now).await
            }
        }
    }

    /// The session a row of [`Store::session`]'s statement reads (None: no live session).
    async fn session_of(
        &self,
        row: Option<impl Columns + Send>,
        now: Timestamp,
    ) -> Result<Option<SessionOf>> {
        let Some(r) = row else { return Ok(None) };
        // The touch is best effort: while a writer holds SQLite's writers' turn (an import, for
        // seconds) this request does not wait for it, and a later one touches (the session is
        // idle only after SESSION_IDLE_SECS).
        let touch = r.i64("last_seen")? <= now - TOUCH_EVERY_SECS;
        if let Some(_guard) = touch.then(|| self.try_write_guard()).flatten() {
            Sql::new("UPDATE sessions SET last_seen = ")
                .arg(now)
                .push(" WHERE id = ")
                .arg(r.i64("session_id")?)
                .query(self.backend)?
                .execute(&self.pool)
                .await?;
        }
        if r.opt_i64("user_id")?.is_some() {
            return user_from_row(&r).map(|u| Some(SessionOf::User(u)));
        }
        let token_id = r
            .opt_i64("token_id")?
            .ok_or_else(|| StoreError::Corrupt("a session of no user and no token".into()))?;
        Ok(Some(SessionOf::Token(Token {
            id: token_id,
            name: r.string("t_name")?,
            scopes: r
                .string("t_scopes")?
                .split(',')
                .filter_map(Scope::from_str_opt)
                .collect(),
            product_id: r.opt_i64("t_product_id")?,
            created_at: r.i64("t_created_at")?,
        })))
    }

    /// Ends a session (sign-out); true when there was one.
    pub async fn end_session(&self, secret: &str) -> Result<bool> {
        let _guard = self.write_guard().await;
        let done = Sql::new("DELETE FROM sessions WHERE id_sha256 = ")
            .arg(sha256_hex(secret))
            .query(self.backend)?
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// Who signs in: a person or an API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Principal {
    User,
    Token,
}
