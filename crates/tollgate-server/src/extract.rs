//! axum's extractors with one difference: a request they cannot read is answered with the API's
//! error shape (`{"detail": …}`, application/json) instead of axum's text/plain. Handlers use
//! these, never `axum::extract::{Path, Query, Json, Form, Multipart}` directly.

use crate::error::ApiError;
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// A path parameter. One that does not parse (`/findings/abc/`, an id past i64) names nothing
/// that exists: 404, like an unknown id.
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(e) => Err(path_error(parts, e)),
        }
    }
}

fn path_error(parts: &Parts, e: PathRejection) -> ApiError {
    match e {
        PathRejection::FailedToDeserializePathParams(_) => ApiError::not_found(format!(
            "{}: no such resource (the id in the path is not a valid id)",
            parts.uri.path()
        )),
        other => {
            tracing::error!(error = %other.body_text(), "path parameters missing");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error: routing")
        }
    }
}

/// The query string. A repeated key, an unknown value type or a string that is not
/// percent-decodable UTF-8: 400.
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if let Some(query) = parts.uri.query() {
            check_utf8(query)?;
        }
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(e) => Err(query_error(e)),
        }
    }
}

/// serde_urlencoded decodes `%FF` lossily (to U+FFFD): a name sent as `bad%FF%FEname` would be
/// looked up as "bad��name". Refuse any key or value whose bytes are not UTF-8.
fn check_utf8(query: &str) -> Result<(), ApiError> {
    for pair in query.split('&') {
        let bytes = tollgate_model::percent_decode_bytes(pair);
        if std::str::from_utf8(&bytes).is_err() {
            let key = pair.split('=').next().unwrap_or_default();
            return Err(ApiError::bad_request(format!(
                "query string: {key}: the value is not UTF-8 text"
            )));
        }
    }
    Ok(())
}

fn query_error(e: QueryRejection) -> ApiError {
    // serde_urlencoded's words: "duplicate field `test`", "invalid utf-8 sequence …".
    let text = e.body_text();
    let text = text
        .strip_prefix("Failed to deserialize query string: ")
        .unwrap_or(&text);
    ApiError::bad_request(format!("query string: {text}"))
}

/// A JSON body: 415 without `Content-Type: application/json`, 413 past the body limit, 400 for
/// anything else it cannot read (syntax, or a field of the wrong type).
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(e) => Err(json_error(e)),
        }
    }
}

fn json_error(e: JsonRejection) -> ApiError {
    let status = match &e {
        JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        JsonRejection::BytesRejection(b) => b.status(),
        _ => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, format!("request body: {}", e.body_text()))
}

/// A urlencoded form (the web UI's sign-in): 415 for another content type, else 400.
pub struct Form<T>(pub T);

impl<T, S> FromRequest<S> for Form<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(Form(v)),
            Err(e) => Err(form_error(e)),
        }
    }
}

fn form_error(e: FormRejection) -> ApiError {
    let status = match &e {
        FormRejection::InvalidFormContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        FormRejection::BytesRejection(b) => b.status(),
        _ => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, format!("form: {}", e.body_text()))
}

/// A multipart/form-data body. A missing or broken boundary, or another content type: 400.
pub struct Multipart(pub axum::extract::Multipart);

impl<S> FromRequest<S> for Multipart
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Multipart::from_request(req, state).await {
            Ok(m) => Ok(Multipart(m)),
            Err(e) => Err(ApiError::bad_request(format!(
                "request body: {} (send the form as multipart/form-data)",
                e.body_text()
            ))),
        }
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_must_decode_to_utf8() {
        assert!(check_utf8("name=caf%C3%A9&limit=2").is_ok());
        assert!(check_utf8("name=%zz&x=%").is_ok());
        let e = check_utf8("limit=1&name=bad%FF%FEname").unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.detail.contains("name"), "{}", e.detail);
        assert!(check_utf8("%C3=1").is_err());
    }
}
