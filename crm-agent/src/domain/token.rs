//! API tokens: how MCP clients (and other programs) act as a user.
//!
//! A token carries exactly its creator's identity in one organization — never more: each use
//! resolves the creator's membership as it is now, so a demoted or removed user's tokens shrink
//! or stop with them. Only a hash of the secret is stored.

use serde::{Deserialize, Serialize};

use super::{OrganizationId, Timestamp, ToolLimits, check, id_type};
use crate::error::{Error, Result};

id_type!(
    /// An API token id (not its secret).
    ApiTokenId
);

/// An API token, without its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApiToken {
    /// Opaque id.
    pub id: ApiTokenId,
    /// The organization it acts in.
    pub organization_id: OrganizationId,
    /// The user it acts as (its creator).
    pub user_id: String,
    /// A name to recognise it by ("Claude Desktop on my laptop").
    pub name: String,
    /// The first characters of the secret, to recognise it in a list.
    pub prefix: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// After this it no longer works (`None`: never expires).
    pub expires_at: Option<Timestamp>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// Less than its user may do: only reads, or only some toolsets.
    #[serde(default, skip_serializing_if = "ToolLimits::is_none")]
    pub limits: ToolLimits,
}

impl ApiToken {
    /// Whether it may be used at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|expiry| now < expiry)
    }
}

/// A token to record. The store keeps the hash, never the secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewApiToken {
    /// The user it acts as.
    pub user_id: String,
    /// Its name.
    pub name: String,
    /// SHA-256 of the secret, lowercase hex (64 characters); unique.
    pub secret_hash: String,
    /// The first characters of the secret.
    pub prefix: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it expires.
    pub expires_at: Option<Timestamp>,
    /// What it is limited to.
    #[serde(default, skip_serializing_if = "ToolLimits::is_none")]
    pub limits: ToolLimits,
}

impl NewApiToken {
    /// Checks the fields.
    pub fn validate(&self) -> Result<()> {
        check::required("user_id", &self.user_id)?;
        check::short("name", &self.name)?;
        check::required("name", &self.name)?;
        if self.secret_hash.len() != 64 || !self.secret_hash.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::invalid("`secret_hash` must be 64 hex digits (SHA-256)"));
        }
        if self.expires_at.is_some_and(|expiry| expiry <= self.created_at) {
            return Err(Error::invalid("a token must expire after it is created"));
        }
        if self.limits.toolsets.as_ref().is_some_and(|sets| sets.is_empty()) {
            return Err(Error::invalid("a token limited to toolsets needs at least one"));
        }
        Ok(())
    }
}
