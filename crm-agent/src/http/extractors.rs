//! Extractors of the `/api` handlers: the authenticated [`Caller`] and a JSON [`Body`] whose
//! rejections are API errors.

use axum::Json;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::Response;

use crate::context::UserContext;

use super::{ApiError, HttpState};

/// The authenticated caller of an `/api` route.
pub(super) struct Caller(pub(super) UserContext);

impl FromRequestParts<HttpState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &HttpState) -> Result<Self, Response> {
        match state.authenticator.authenticate_request(parts).await {
            Ok(user) => {
                tracing::Span::current().record("user", user.user_id.as_str());
                Ok(Caller(user))
            }
            Err(error) => Err(crate::mcp::http::authentication_failed(state.authenticator.as_ref(), parts, &error)),
        }
    }
}

/// A JSON body whose rejections are API errors (`400 invalid_argument`, `413`).
pub(super) struct Body<T>(pub(super) T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<T>::from_request(request, state).await?;
        Ok(Body(value))
    }
}
