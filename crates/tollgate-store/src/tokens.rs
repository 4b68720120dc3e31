//! API tokens: the secret is shown once, only its SHA-256 is stored.

use crate::sql::{get_i64, get_opt_i64, get_str, Arg, Sql};
use crate::{Result, Scope, Store, StoreError, Timestamp, Token};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Every secret starts with this, so leaked tokens are easy to grep for and to revoke.
pub const TOKEN_PREFIX: &str = "tgk_";

fn digest(secret: &str) -> String {
    let mut out = String::with_capacity(64);
    for b in Sha256::digest(secret.as_bytes()) {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn scopes_from_text(text: &str) -> Vec<Scope> {
    text.split(',').filter_map(Scope::from_str_opt).collect()
}

impl Store {
    /// Creates a token; returns it with its secret (the only time the secret exists in clear).
    pub async fn create_token(
        &self,
        name: &str,
        scopes: &[Scope],
        product_name: Option<&str>,
        now: Timestamp,
    ) -> Result<(Token, String)> {
        if name.trim().is_empty() {
            return Err(StoreError::Invalid("a token needs a name".into()));
        }
        if scopes.is_empty() {
            return Err(StoreError::Invalid(format!(
                "a token needs at least one scope of: {}",
                Scope::ALL.map(Scope::as_str).join(", ")
            )));
        }
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let product_id = match product_name {
            Some(p) => Some(self.product_id_by_name(&mut tx, p).await?.ok_or_else(|| {
                StoreError::NotFound(format!(
                    "product {p:?} does not exist (import into it first, or create it with an admin token)"
                ))
            })?),
            None => None,
        };
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        let secret = format!(
            "{TOKEN_PREFIX}{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let scope_text = scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",");
        // A user's name too: a name in a note or the status log must say who it was.
        let exists = Sql::new("SELECT name FROM tokens WHERE name = ")
            .arg(name)
            .push(" UNION ALL SELECT name FROM users WHERE name = ")
            .arg(name)
            .query(self.backend)?
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return Err(StoreError::Conflict(format!(
                "the name {name:?} is taken by a token or a user"
            )));
        }
        let row = Sql::new(
            "INSERT INTO tokens (name, secret_sha256, scopes, product_id, created_at) VALUES ",
        )
        .list::<Arg>([
            name.into(),
            digest(&secret).into(),
            scope_text.into(),
            product_id.into(),
            now.into(),
        ])
        .push(" RETURNING id")
        .query(self.backend)?
        .fetch_one(&mut *tx)
        .await?;
        let id = get_i64(&row, "id")?;
        tx.commit().await?;
        let mut scopes = scopes.to_vec();
        scopes.dedup();
        Ok((
            Token {
                id,
                name: name.to_string(),
                scopes,
                product_id,
                created_at: now,
            },
            secret,
        ))
    }

    /// The live token with this secret, if any.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<Token>> {
        let row = Sql::new(
            "SELECT id, name, scopes, product_id, created_at FROM tokens WHERE secret_sha256 = ",
        )
        .arg(digest(secret.trim()))
        .push(" AND revoked_at IS NULL")
        .query(self.backend)?
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Token {
                id: get_i64(&r, "id")?,
                name: get_str(&r, "name")?,
                scopes: scopes_from_text(&get_str(&r, "scopes")?),
                product_id: get_opt_i64(&r, "product_id")?,
                created_at: get_i64(&r, "created_at")?,
            })
        })
        .transpose()
    }

    /// Revokes a token by name and signs out the browsers signed in with it; true when there
    /// was one to revoke.
    pub async fn revoke_token(&self, name: &str, now: Timestamp) -> Result<bool> {
        self.end_principal(crate::users::Principal::Token, name, now)
            .await
    }

    /// Number of findings stored and open (for `/metrics`).
    pub async fn finding_totals(&self) -> Result<(i64, i64)> {
        let row = Sql::new(
            "SELECT CAST(COALESCE(SUM(open_count), 0) AS BIGINT) AS open, \
             CAST(COALESCE(SUM(closed_count), 0) AS BIGINT) AS closed FROM products",
        )
        .query(self.backend)?
        .fetch_one(&self.pool)
        .await?;
        Ok((get_i64(&row, "open")?, get_i64(&row, "closed")?))
    }
}
