//! Who is calling: `Authorization: Token <key>` (DefectDojo), `APIKey <key>` (Results API) or
//! `Bearer <key>` — the same tokens everywhere — or the web UI's cookie.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use tollgate_store::{Scope, Token};

/// An authenticated caller.
pub struct Caller(pub Token);

pub const UI_COOKIE: &str = "tollgate_token";

pub(crate) fn secret_from(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?.trim();
        let (scheme, secret) = value.split_once(' ')?;
        let scheme = scheme.to_ascii_lowercase();
        return matches!(scheme.as_str(), "token" | "apikey" | "bearer")
            .then(|| secret.trim().to_string());
    }
    let cookies = parts.headers.get(header::COOKIE)?.to_str().ok()?;
    cookies.split(';').find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == UI_COOKIE).then(|| v.to_string())
    })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(secret) = secret_from(parts) else {
            return Err(ApiError::unauthorized(
                "Authentication credentials were not provided: send 'Authorization: Token <key>' (or 'APIKey <key>')",
            ));
        };
        if let Some(token) = state.tokens.get(&secret) {
            return Ok(Caller(token));
        }
        match state.store.authenticate(&secret).await? {
            Some(token) => {
                state.tokens.put(&secret, &token);
                Ok(Caller(token))
            }
            None => Err(ApiError::unauthorized("Invalid token.")),
        }
    }
}

impl Caller {
    /// 403 unless the token has `scope`.
    pub fn require(&self, scope: Scope, permission: &str) -> Result<(), ApiError> {
        if self.0.allows(scope) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "token {:?} lacks the {:?} scope ({permission})",
                self.0.name,
                scope.as_str()
            )))
        }
    }

    /// 403 unless the token may see `product_id`.
    pub fn require_product(&self, product_id: i64) -> Result<(), ApiError> {
        if self.0.sees(product_id) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "token {:?} is restricted to another product",
                self.0.name
            )))
        }
    }

    pub fn restriction(&self) -> Option<i64> {
        self.0.product_id
    }
}
