//! Gemini's answers and errors as crm-agent results: the decoding of one streamed event, and
//! the classification of an API error (what to tell the user, whether a retry can help).
//! Shared by [`GeminiClient`](super::GeminiClient) and by anything else reading a recorded
//! stream; needs no HTTP client.

use std::time::Duration;

use super::sse::SseItem;
use super::wire::{ApiError, ErrorEnvelope, GenerateContentResponse};
use crate::error::{Error, Result};

/// What one failed attempt tells the retry loop.
#[cfg_attr(not(feature = "gemini"), allow(dead_code))]
pub(crate) struct Failure {
    pub(crate) error: Error,
    pub(crate) retry: bool,
    pub(crate) wait: Option<Duration>,
}

/// Turns one parsed SSE item into a response chunk, or the error it carries.
pub fn decode_stream_item(item: SseItem) -> Result<GenerateContentResponse> {
    match item {
        SseItem::Data(data) => {
            let chunk: GenerateContentResponse = serde_json::from_slice(&data).map_err(|e| {
                model_error(format!("the model sent a malformed chunk ({e}); the answer is incomplete"), true)
            })?;
            match &chunk.error {
                Some(error) => Err(api_failure(error).error),
                None => Ok(chunk),
            }
        }
        SseItem::Raw(raw) => match serde_json::from_slice::<ErrorEnvelope>(&raw) {
            Ok(envelope) => Err(api_failure(&envelope.error).error),
            Err(_) => {
                Err(model_error("the model stream held data that is not an event; the answer is incomplete", true))
            }
        },
    }
}

pub(crate) fn model_error(message: impl Into<String>, retryable: bool) -> Error {
    Error::Model { message: message.into(), retryable }
}

/// Classifies an API error: what to tell the user, whether to retry, and how long to wait.
pub(crate) fn api_failure(api: &ApiError) -> Failure {
    let status = if api.status.is_empty() { String::new() } else { format!(" {}", api.status) };
    let detail = format!("({}{status}): {}", api.code, api.message);
    let (message, retry) = match api.code {
        429 if api.is_daily_quota() => {
            (format!("the daily Gemini API quota is exhausted; it resets tomorrow, or raise the quota {detail}"), false)
        }
        429 => (format!("the Gemini API is rate limiting requests {detail}"), true),
        408 | 500 | 502 | 503 | 504 => (format!("the Gemini API is temporarily unavailable {detail}"), true),
        400 => (format!("the Gemini API rejected the request {detail}"), false),
        401 | 403 => (format!("the Gemini API refused the API key {detail}"), false),
        404 => (format!("the model was not found {detail}"), false),
        _ => (format!("the Gemini API failed {detail}"), false),
    };
    Failure { error: model_error(message, retry), retry, wait: api.retry_delay() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified() {
        let api =
            |code, details: Vec<serde_json::Value>| ApiError { code, message: "m".into(), status: "S".into(), details };
        assert!(api_failure(&api(503, vec![])).retry);
        assert!(api_failure(&api(429, vec![])).retry);
        for code in [400, 403, 404] {
            assert!(!api_failure(&api(code, vec![])).retry, "{code} must not be retried");
        }
        let daily = serde_json::json!({"@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]});
        let failure = api_failure(&api(429, vec![daily]));
        assert!(!failure.retry);
        assert!(failure.error.to_string().contains("daily"));
        let retry_info = serde_json::json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"});
        assert_eq!(api_failure(&api(429, vec![retry_info])).wait, Some(Duration::from_secs(2)));
    }
}
