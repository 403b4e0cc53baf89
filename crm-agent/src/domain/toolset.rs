//! Toolsets, and the limits a credential puts on the tools its user may use.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// Groups of tools a host can expose on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Toolset {
    /// Customers.
    Customers,
    /// Leads, deals and pipelines.
    Sales,
    /// Issues, orders and payments.
    Support,
    /// Activities.
    Activities,
    /// Stats and analytics.
    Analytics,
    /// Organization, people and roles.
    Admin,
    /// Cross-entity search and the caller's own context.
    General,
}

impl Toolset {
    /// Every toolset.
    pub const ALL: &'static [Toolset] = &[
        Toolset::Customers,
        Toolset::Sales,
        Toolset::Support,
        Toolset::Activities,
        Toolset::Analytics,
        Toolset::Admin,
        Toolset::General,
    ];
}

impl std::fmt::Display for Toolset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = serde_json::to_value(self).ok();
        f.write_str(name.as_ref().and_then(|n| n.as_str()).unwrap_or("?"))
    }
}

impl std::str::FromStr for Toolset {
    type Err = crate::error::Error;

    fn from_str(text: &str) -> crate::error::Result<Self> {
        Toolset::ALL.iter().copied().find(|t| t.to_string() == text).ok_or_else(|| {
            let names: Vec<String> = Toolset::ALL.iter().map(ToString::to_string).collect();
            crate::error::Error::invalid(format!("no toolset `{text}`; the toolsets: {}", names.join(", ")))
        })
    }
}

/// Less than everything its user may do: what a credential (an API token, an OAuth scope) is
/// limited to. Limits only ever take tools away; the user's permissions still decide the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ToolLimits {
    /// Only tools that change nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// Only tools of these toolsets (`None`: of any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toolsets: Option<BTreeSet<Toolset>>,
}

impl ToolLimits {
    /// No limits.
    pub fn is_none(&self) -> bool {
        !self.read_only && self.toolsets.is_none()
    }

    /// Both limits at once: what is inside these *and* inside `other` (read-only if either is,
    /// only the toolsets both allow). Combining never allows more than either alone.
    pub fn and(self, other: &ToolLimits) -> ToolLimits {
        ToolLimits {
            read_only: self.read_only || other.read_only,
            toolsets: match (self.toolsets, &other.toolsets) {
                (Some(mine), Some(theirs)) => Some(mine.intersection(theirs).copied().collect()),
                (mine, theirs) => mine.or_else(|| theirs.clone()),
            },
        }
    }

    /// Why a tool called `name`, in `toolsets`, that writes when `writes`, is outside these
    /// limits, if it is.
    pub fn refusal(&self, name: &str, writes: bool, toolsets: &[Toolset]) -> Option<String> {
        if self.read_only && writes {
            return Some(format!("this credential may only read, and `{name}` changes data"));
        }
        let allowed = self.toolsets.as_ref()?;
        if toolsets.iter().any(|t| allowed.contains(t)) {
            return None;
        }
        let names: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        Some(format!(
            "this credential is limited to the toolsets {}, and `{name}` is in none of them",
            names.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toolsets_read_and_print_their_names() {
        for toolset in Toolset::ALL {
            assert_eq!(toolset.to_string().parse::<Toolset>().unwrap(), *toolset);
        }
        assert!("sales".parse::<Toolset>().is_ok());
        let error = "billing".parse::<Toolset>().unwrap_err().to_string();
        assert!(error.contains("customers, sales, support"), "{error}");
    }

    #[test]
    fn combined_limits_allow_only_what_both_allow() {
        let sales_and_support =
            ToolLimits { read_only: false, toolsets: Some([Toolset::Sales, Toolset::Support].into_iter().collect()) };
        let read_sales = ToolLimits { read_only: true, toolsets: Some([Toolset::Sales].into_iter().collect()) };
        let both = sales_and_support.clone().and(&read_sales);
        assert!(both.read_only);
        assert_eq!(both.toolsets, Some([Toolset::Sales].into_iter().collect()));
        assert_eq!(ToolLimits::default().and(&sales_and_support), sales_and_support);
        assert_eq!(sales_and_support.clone().and(&ToolLimits::default()), sales_and_support);
    }

    #[test]
    fn limits_only_take_tools_away() {
        let none = ToolLimits::default();
        assert!(none.is_none() && none.refusal("create_deal", true, &[Toolset::Sales]).is_none());
        let read_only = ToolLimits { read_only: true, toolsets: None };
        assert!(read_only.refusal("list_deals", false, &[Toolset::Sales]).is_none());
        assert!(read_only.refusal("create_deal", true, &[Toolset::Sales]).unwrap().contains("only read"));
        let sales = ToolLimits { read_only: false, toolsets: Some([Toolset::Sales].into()) };
        assert!(sales.refusal("create_deal", true, &[Toolset::Sales, Toolset::Customers]).is_none());
        assert!(sales.refusal("list_issues", false, &[Toolset::Support]).unwrap().contains("toolsets sales"));
    }
}
