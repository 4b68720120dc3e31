//! Who is calling. The API reads the `Authorization` header only: `Token <key>` (DefectDojo),
//! `APIKey <key>` (Results API) or `Bearer <key>` (Prometheus) — the same tokens everywhere. The
//! web UI's cookie signs in UI pages and nothing else, so a page of another site that makes the
//! browser send the cookie reaches no API call.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use tollgate_store::{Scope, Token};

/// An authenticated API caller.
pub struct Caller(pub Token);

pub const UI_COOKIE: &str = "tollgate_token";

/// The secret of `Authorization: Token|APIKey|Bearer <secret>`.
pub(crate) fn secret_from_header(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, secret) = value.split_once(' ')?;
    let scheme = scheme.to_ascii_lowercase();
    matches!(scheme.as_str(), "token" | "apikey" | "bearer").then(|| secret.trim().to_string())
}

/// The value of cookie `name`, if the request carries it.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == name).then(|| v.to_string())
        })
}

/// The token of a request: the token cache, else the database.
pub(crate) async fn authenticate(
    state: &AppState,
    secret: &str,
) -> Result<Option<Token>, ApiError> {
    if let Some(token) = state.tokens.get(secret) {
        return Ok(Some(token));
    }
    let token = state.store.authenticate(secret).await?;
    if let Some(t) = &token {
        state.tokens.put(secret, t);
    }
    Ok(token)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(secret) = secret_from_header(&parts.headers) else {
            return Err(ApiError::unauthorized(
                "Authentication credentials were not provided: send 'Authorization: Token <key>' (or 'APIKey <key>', 'Bearer <key>'); the web UI's cookie is not accepted by the API",
            ));
        };
        match authenticate(state, &secret).await? {
            Some(token) => Ok(Caller(token)),
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

    /// `found`, unless it belongs to a product this token may not see: then None, so the
    /// caller answers exactly as for an object that does not exist (no existence oracle).
    pub fn visible<T>(&self, found: Option<T>, product_of: impl Fn(&T) -> i64) -> Option<T> {
        found.filter(|x| self.0.sees(product_of(x)))
    }

    pub fn restriction(&self) -> Option<i64> {
        self.0.product_id
    }
}
