//! [`GeminiClient`]: requests, retries, timeouts and error mapping over reqwest.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use rand::Rng;

use super::decode::{Failure, api_failure, decode_stream_item, model_error};
use super::sse::{SseItem, SseParser};
use super::wire::{ApiError, ErrorEnvelope, GenerateContentRequest, GenerateContentResponse};
use crate::error::{Error, Result};
use crate::model::{Model, ResponseStream};

/// The model used when none is configured: a current GA Flash model.
pub const DEFAULT_MODEL: &str = "gemini-3.8-flash";
/// The public Gemini API endpoint.
pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com";

/// How transient failures (408, 429, 500, 502, 503, 504, connection errors) are retried.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = never retry).
    pub max_attempts: u32,
    /// The backoff before the first retry; it doubles for each further retry.
    pub initial_backoff: Duration,
    /// The longest computed backoff.
    pub max_backoff: Duration,
    /// The longest wait the API may ask for (`RetryInfo.retryDelay`) that we still honour;
    /// a longer one is reported to the caller instead of blocking the turn.
    pub max_retry_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
            max_retry_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based): exponential, with "equal jitter" (half
    /// fixed, half random) so that many clients failing together do not retry together.
    fn backoff(&self, retry: u32) -> Duration {
        let exp = self.initial_backoff.saturating_mul(1u32 << retry.saturating_sub(1).min(16));
        let capped = exp.min(self.max_backoff);
        let half = capped / 2;
        half + half.mul_f64(rand::rng().random::<f64>())
    }
}

/// Where and how to reach Gemini.
#[derive(Clone)]
pub struct GeminiConfig {
    /// The API key (`x-goog-api-key`). Without one the client is "not configured".
    pub api_key: Option<String>,
    /// The model, e.g. `gemini-3.8-flash`.
    pub model: String,
    /// The API base URL, without the `/v1beta` path.
    pub base_url: String,
    /// Longest wait for a connection.
    pub connect_timeout: Duration,
    /// Longest silence allowed while waiting for the response head or between two chunks.
    pub idle_timeout: Duration,
    /// Longest wait for a whole `generateContent` answer.
    pub request_timeout: Duration,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
}

impl std::fmt::Debug for GeminiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeminiConfig")
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Default for GeminiConfig {
    fn default() -> Self {
        GeminiConfig {
            api_key: None,
            model: DEFAULT_MODEL.into(),
            base_url: DEFAULT_BASE_URL.into(),
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(120),
            retry: RetryPolicy::default(),
        }
    }
}

impl GeminiConfig {
    /// Defaults with `api_key`.
    pub fn new(api_key: impl Into<String>) -> Self {
        GeminiConfig { api_key: Some(api_key.into()), ..GeminiConfig::default() }
    }

    /// From the environment: `GEMINI_API_KEY` (or `GOOGLE_API_KEY`), `GEMINI_MODEL`,
    /// `GEMINI_BASE_URL`; defaults for what is unset or empty.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        GeminiConfig {
            api_key: var("GEMINI_API_KEY").or_else(|| var("GOOGLE_API_KEY")),
            model: var("GEMINI_MODEL").unwrap_or_else(|| DEFAULT_MODEL.into()),
            base_url: var("GEMINI_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.into()),
            ..GeminiConfig::default()
        }
    }

    /// Replaces the model.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// Replaces the base URL.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Replaces the idle timeout.
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    fn url(&self, method: &str) -> String {
        format!("{}/v1beta/models/{}:{method}", self.base_url.trim_end_matches('/'), self.model)
    }
}

/// The Gemini implementation of [`Model`]. Cheap to clone (one shared connection pool).
#[derive(Clone)]
pub struct GeminiClient {
    http: reqwest::Client,
    config: Arc<GeminiConfig>,
}

impl std::fmt::Debug for GeminiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeminiClient").field("config", &self.config).finish_non_exhaustive()
    }
}

impl GeminiClient {
    /// A client for `config`.
    pub fn new(config: GeminiConfig) -> Result<Self> {
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| Error::Internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(GeminiClient { http, config: Arc::new(config) })
    }

    /// A client configured from the environment ([`GeminiConfig::from_env`]).
    pub fn from_env() -> Result<Self> {
        Self::new(GeminiConfig::from_env())
    }

    /// The configuration.
    pub fn config(&self) -> &GeminiConfig {
        &self.config
    }

    fn api_key(&self) -> Result<&str> {
        self.config.api_key.as_deref().ok_or_else(|| Error::Model {
            message: "the model is not configured: set GEMINI_API_KEY (or pass an API key)".into(),
            retryable: false,
        })
    }

    /// `generateContent`: the whole answer at once (with the same retries).
    pub async fn generate(&self, request: &GenerateContentRequest) -> Result<GenerateContentResponse> {
        let body = Bytes::from(serde_json::to_vec(request).map_err(|e| Error::Internal(e.to_string()))?);
        let response = self.send(&self.config.url("generateContent"), body).await?;
        let bytes = tokio::time::timeout(self.config.request_timeout, response.bytes())
            .await
            .map_err(|_| model_error("the model did not finish its answer in time", true))?
            .map_err(|e| model_error(format!("the model's answer broke off: {e}"), true))?;
        let answer: GenerateContentResponse = serde_json::from_slice(&bytes)
            .map_err(|e| model_error(format!("the model's answer is not valid JSON: {e}"), false))?;
        match answer.error {
            Some(error) => Err(api_failure(&error).error),
            None => Ok(answer),
        }
    }

    /// Sends one POST, retrying transient failures; returns a `200` response.
    async fn send(&self, url: &str, body: Bytes) -> Result<reqwest::Response> {
        let key = self.api_key()?;
        let policy = &self.config.retry;
        let mut attempt = 1;
        loop {
            let failure = match self.attempt(url, key, body.clone()).await {
                Ok(response) => return Ok(response),
                Err(failure) => failure,
            };
            let wait = failure.wait.unwrap_or_else(|| policy.backoff(attempt));
            if !failure.retry || attempt >= policy.max_attempts.max(1) {
                return Err(if failure.retry { exhausted(failure.error, attempt) } else { failure.error });
            }
            if wait > policy.max_retry_delay {
                let message = format!("{} (the API asks to retry in {}s)", failure.error, wait.as_secs());
                return Err(model_error(message, true));
            }
            tracing::warn!(attempt, wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), error = %failure.error, "retrying the model request");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn attempt(&self, url: &str, key: &str, body: Bytes) -> Result<reqwest::Response, Failure> {
        let sent = self
            .http
            .post(url)
            .header("x-goog-api-key", key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send();
        let response = match tokio::time::timeout(self.config.idle_timeout, sent).await {
            Err(_) => {
                let error = model_error("the model did not answer in time", true);
                return Err(Failure { error, retry: true, wait: None });
            }
            Ok(Err(e)) => {
                let error = model_error(format!("cannot reach the model endpoint: {}", without_url(&e)), true);
                return Err(Failure { error, retry: true, wait: None });
            }
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = tokio::time::timeout(self.config.idle_timeout, response.bytes()).await.ok().and_then(|b| b.ok());
        let api = body
            .as_deref()
            .and_then(|b| serde_json::from_slice::<ErrorEnvelope>(b).ok())
            .map(|e| e.error)
            .unwrap_or_else(|| ApiError { code: status.as_u16(), message: status.to_string(), ..ApiError::default() });
        Err(api_failure(&ApiError { code: status.as_u16(), ..api }))
    }

    fn open_stream(&self, response: reqwest::Response) -> ResponseStream {
        let state = StreamState {
            body: Box::pin(response.bytes_stream()),
            parser: SseParser::new(),
            queue: VecDeque::new(),
            done: false,
            idle: self.config.idle_timeout,
        };
        futures::stream::unfold(state, StreamState::next_item).boxed()
    }
}

type ByteStream = std::pin::Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// The state of one response stream: the body, the parser, and items parsed but not yet
/// handed out.
struct StreamState {
    body: ByteStream,
    parser: SseParser,
    queue: VecDeque<SseItem>,
    done: bool,
    idle: Duration,
}

impl StreamState {
    async fn next_item(mut self) -> Option<(Result<GenerateContentResponse>, Self)> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                let decoded = decode_stream_item(item);
                if decoded.is_err() {
                    // The first error ends the response.
                    self.done = true;
                    self.queue.clear();
                }
                return Some((decoded, self));
            }
            if self.done {
                return None;
            }
            let mut items = Vec::new();
            match tokio::time::timeout(self.idle, self.body.next()).await {
                Err(_) => {
                    self.done = true;
                    let message = format!("the model stream went silent for {}s", self.idle.as_secs_f32());
                    return Some((Err(model_error(message, true)), self));
                }
                Ok(Some(Err(e))) => {
                    self.done = true;
                    let message = format!("the model stream broke off: {}", without_url(&e));
                    return Some((Err(model_error(message, true)), self));
                }
                Ok(Some(Ok(bytes))) => self.parser.feed(&bytes, &mut items),
                Ok(None) => {
                    self.done = true;
                    self.parser.finish(&mut items);
                }
            }
            self.queue.extend(items);
        }
    }
}

fn exhausted(error: Error, attempts: u32) -> Error {
    match error {
        Error::Model { message, retryable } => {
            Error::Model { message: format!("{message} (after {attempts} attempts)"), retryable }
        }
        other => other,
    }
}

/// reqwest errors name the URL; ours may carry a key in a query string, so leave it out.
fn without_url(e: &reqwest::Error) -> String {
    let mut message = e.to_string();
    if let Some(url) = e.url() {
        message = message.replace(url.as_str(), "the model endpoint");
    }
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    message
}

#[async_trait]
impl Model for GeminiClient {
    fn model_name(&self) -> &str {
        &self.config.model
    }

    fn is_configured(&self) -> bool {
        self.config.api_key.is_some()
    }

    async fn stream_generate(&self, request: GenerateContentRequest) -> Result<ResponseStream> {
        let body = Bytes::from(serde_json::to_vec(&request).map_err(|e| Error::Internal(e.to_string()))?);
        let url = format!("{}?alt=sse", self.config.url("streamGenerateContent"));
        let response = self.send(&url, body).await?;
        Ok(self.open_stream(response))
    }

    async fn probe(&self) -> Result<()> {
        let key = self.api_key()?;
        let url = format!("{}/v1beta/models/{}", self.config.base_url.trim_end_matches('/'), self.config.model);
        let response =
            tokio::time::timeout(self.config.connect_timeout, self.http.get(url).header("x-goog-api-key", key).send())
                .await
                .map_err(|_| model_error("the model endpoint did not answer in time", true))?
                .map_err(|e| model_error(format!("cannot reach the model endpoint: {}", without_url(&e)), true))?;
        if response.status().is_success() {
            return Ok(());
        }
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap_or_default();
        let api = serde_json::from_slice::<ErrorEnvelope>(&body).map(|e| e.error).unwrap_or_default();
        Err(api_failure(&ApiError { code: status, ..api }).error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_bounds() {
        let policy = RetryPolicy::default();
        for retry in 1..10 {
            let wait = policy.backoff(retry);
            let full = policy.initial_backoff.saturating_mul(1 << (retry - 1)).min(policy.max_backoff);
            assert!(wait >= full / 2 && wait <= full, "retry {retry}: {wait:?} not in [{:?}, {full:?}]", full / 2);
        }
    }
}
