//! `Agent.open({...})` options and how they become a model, a policy and [`AgentOptions`].

use crm_agent::domain::ConfirmationMode;
use crm_agent::model::{GeminiClient, GeminiConfig};
use crm_agent::tools::Toolset;
use crm_agent::{AgentOptions, Policy};
use napi_derive::napi;

use crate::errors::{self, napi_result};

/// Options of `Agent.open`. Every one is optional.
#[napi(object)]
#[derive(Default)]
pub struct OpenOptions {
    /// Database URL: `sqlite://FILE`, `sqlite::memory:` (the default) or `postgres://…`.
    /// With a host `store` it keeps the SDK's own records (conversations, audit, …).
    pub database: Option<String>,
    /// The Gemini API key (default: `GEMINI_API_KEY`, else `GOOGLE_API_KEY`).
    pub gemini_api_key: Option<String>,
    /// The Gemini API base URL (default: `GEMINI_BASE_URL`, else the public endpoint).
    pub gemini_base_url: Option<String>,
    /// The model (default: `GEMINI_MODEL`, else a current GA Flash model).
    pub model: Option<String>,
    /// A policy as TOML text (default: the built-in policy; see docs/policy.md).
    pub policy: Option<String>,
    /// A policy TOML file to load instead.
    pub policy_file: Option<String>,
    /// Most model calls in one turn (default 8).
    pub max_steps: Option<u32>,
    /// Offer only these toolsets (`customers`, `sales`, `support`, …).
    pub toolsets: Option<Vec<String>>,
    /// Override every organization's confirmation mode: `never`, `destructive`, `all_writes`.
    pub confirmation: Option<String>,
    /// Roughly how many tokens of stored history go with each turn (default 32,000).
    pub history_token_budget: Option<u32>,
    /// Send compact tool declarations.
    pub compact_tools: Option<bool>,
    /// Longest user message, in characters (default 32,000).
    pub max_message_chars: Option<u32>,
    /// Longest tool result sent to the model, in bytes (default 100,000).
    pub max_tool_result_bytes: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
}

/// A snake_case enum value from its JSON string spelling.
fn parse_enum<T: serde::de::DeserializeOwned>(what: &str, value: &str) -> napi::Result<T> {
    serde_json::from_value(serde_json::Value::String(value.to_owned()))
        .map_err(|e| errors::invalid(format!("`{value}` is not a valid {what}: {e}")))
}

impl OpenOptions {
    /// The Gemini client: the environment's settings, overridden by these options.
    pub(crate) fn model(&self) -> napi::Result<GeminiClient> {
        let mut config = GeminiConfig::from_env();
        if let Some(key) = self.gemini_api_key.as_ref().filter(|k| !k.trim().is_empty()) {
            config.api_key = Some(key.clone());
        }
        if let Some(model) = &self.model {
            config = config.with_model(model);
        }
        if let Some(url) = &self.gemini_base_url {
            config = config.with_base_url(url);
        }
        napi_result(GeminiClient::new(config))
    }

    /// The policy.
    pub(crate) fn policy(&self) -> napi::Result<Policy> {
        match (&self.policy, &self.policy_file) {
            (Some(_), Some(_)) => Err(errors::invalid("give `policy` or `policyFile`, not both")),
            (Some(toml), None) => napi_result(Policy::from_toml(toml)),
            (None, Some(path)) => napi_result(Policy::from_file(std::path::Path::new(path))),
            (None, None) => Ok(Policy::builtin()),
        }
    }

    /// The agent's options.
    pub(crate) fn agent_options(&self) -> napi::Result<AgentOptions> {
        let mut options = AgentOptions::default();
        if let Some(steps) = self.max_steps {
            options.max_steps = steps;
        }
        if let Some(toolsets) = &self.toolsets {
            let parsed: napi::Result<Vec<Toolset>> = toolsets.iter().map(|t| parse_enum("toolset", t)).collect();
            options.toolsets = Some(parsed?);
        }
        if let Some(mode) = &self.confirmation {
            options.confirmation = Some(parse_enum::<ConfirmationMode>("confirmation mode", mode)?);
        }
        if let Some(budget) = self.history_token_budget {
            options.history_token_budget = budget as usize;
        }
        if let Some(compact) = self.compact_tools {
            options.compact_tools = compact;
        }
        if let Some(chars) = self.max_message_chars {
            options.max_message_chars = chars as usize;
        }
        if let Some(bytes) = self.max_tool_result_bytes {
            options.max_tool_result_bytes = bytes as usize;
        }
        // JavaScript numbers are f64; the model takes an f32, rounded to the nearest.
        #[allow(clippy::cast_possible_truncation, reason = "the model's temperature is an f32")]
        let temperature = self.temperature.map(|t| t as f32);
        options.temperature = temperature;
        Ok(options)
    }

    /// The database URL.
    pub(crate) fn database(&self) -> &str {
        self.database.as_deref().filter(|d| !d.is_empty()).unwrap_or("sqlite::memory:")
    }
}
