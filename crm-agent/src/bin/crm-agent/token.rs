//! The `token` command: API tokens for MCP clients and other programs acting as a user, created,
//! listed and revoked.

use clap::Subcommand;
use crm_agent::Store;
use crm_agent::domain::ApiTokenId;

use crate::args::ActAs;
use crate::output::to_json;

#[derive(Subcommand)]
pub(crate) enum TokenAction {
    /// Create a token acting as USER; prints the secret once.
    Create {
        #[command(flatten)]
        who: ActAs,
        /// A name to recognise it by.
        #[arg(long, default_value = "api token")]
        name: String,
        /// Expire after this many days (default: never).
        #[arg(long)]
        expires: Option<u32>,
        /// Only tools that change nothing (whatever USER may do).
        #[arg(long)]
        read_only: bool,
        /// Only tools of this toolset (repeatable): customers, sales, support, activities,
        /// analytics, admin, general.
        #[arg(long = "toolset")]
        toolsets: Vec<crm_agent::domain::Toolset>,
    },
    /// List USER's tokens (never their secrets).
    List {
        #[command(flatten)]
        who: ActAs,
    },
    /// Revoke one of USER's tokens.
    Revoke {
        /// The token's id (from `token list`).
        id: String,
        #[command(flatten)]
        who: ActAs,
    },
}

/// `crm-agent token`.
pub(crate) async fn token(action: TokenAction) -> crm_agent::Result<()> {
    match action {
        TokenAction::Create { who, name, expires, read_only, toolsets } => {
            let (store, ctx) = who.open().await?;
            let expires = expires.map(|days| chrono::Duration::days(i64::from(days)));
            let toolsets = (!toolsets.is_empty()).then(|| toolsets.into_iter().collect());
            let limits = crm_agent::domain::ToolLimits { read_only, toolsets };
            let issued = crm_agent::auth::create_limited_token(store.as_ref(), &ctx, &name, expires, limits).await?;
            eprintln!(
                "token {} for {} in {} — the secret is shown only now:",
                issued.token.id, ctx.user_id, ctx.organization_id
            );
            out!("{}", issued.secret);
        }
        TokenAction::List { who } => {
            let (store, ctx) = who.open().await?;
            out!("{}", to_json(&store.list_api_tokens(&ctx.scope()?, &ctx.user_id).await?, true)?);
        }
        TokenAction::Revoke { id, who } => {
            let (store, ctx) = who.open().await?;
            let authenticator = crm_agent::auth::TokenAuthenticator::new(store);
            out!("{}", to_json(&authenticator.revoke(&ctx, &ApiTokenId::from(id)).await?, true)?);
        }
    }
    Ok(())
}
