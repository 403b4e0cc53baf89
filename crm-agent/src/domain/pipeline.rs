use serde::{Deserialize, Serialize};

use super::{OrganizationId, PipelineId, StageId, Timestamp, check};
use crate::error::{Error, Result};

/// A sales pipeline with its stages in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Pipeline {
    /// Opaque id.
    pub id: PipelineId,
    /// The owning organization.
    pub organization_id: OrganizationId,
    /// Name.
    pub name: String,
    /// The organization's default pipeline.
    pub is_default: bool,
    /// The stages, by position.
    pub stages: Vec<PipelineStage>,
    /// When it was created.
    pub created_at: Timestamp,
}

/// One stage of a pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PipelineStage {
    /// Opaque id.
    pub id: StageId,
    /// The pipeline.
    pub pipeline_id: PipelineId,
    /// Name.
    pub name: String,
    /// Order within the pipeline (ascending).
    pub position: i32,
    /// Win probability of deals in this stage, in percent.
    pub probability: u8,
    /// Deals here are won.
    pub is_closed_won: bool,
    /// Deals here are lost.
    pub is_closed_lost: bool,
}

impl PipelineStage {
    /// Whether deals in this stage are closed (won or lost).
    pub fn is_closed(&self) -> bool {
        self.is_closed_won || self.is_closed_lost
    }
}

/// A pipeline to create, with its stages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPipeline {
    /// Name.
    pub name: String,
    /// Make it the organization's default.
    #[serde(default)]
    pub is_default: bool,
    /// The stages.
    pub stages: Vec<NewPipelineStage>,
}

/// A stage of a new pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPipelineStage {
    /// Name.
    pub name: String,
    /// Order within the pipeline.
    pub position: i32,
    /// Win probability in percent.
    pub probability: u8,
    /// Deals here are won.
    #[serde(default)]
    pub is_closed_won: bool,
    /// Deals here are lost.
    #[serde(default)]
    pub is_closed_lost: bool,
}

impl NewPipeline {
    /// The "Sales Pipeline" every new organization gets.
    pub fn default_sales() -> Self {
        let stage = |position: i32, name: &str, probability: u8, won: bool, lost: bool| NewPipelineStage {
            name: name.into(),
            position,
            probability,
            is_closed_won: won,
            is_closed_lost: lost,
        };
        NewPipeline {
            name: "Sales Pipeline".into(),
            is_default: true,
            stages: vec![
                stage(1, "Lead", 10, false, false),
                stage(2, "Qualified", 25, false, false),
                stage(3, "Proposal", 50, false, false),
                stage(4, "Negotiation", 75, false, false),
                stage(5, "Closed Won", 100, true, false),
                stage(6, "Closed Lost", 0, false, true),
            ],
        }
    }

    /// At least one stage; names given; probabilities 0–100; at most one won and one lost stage.
    pub fn validate(&self) -> Result<()> {
        check::required("name", &self.name)?;
        if self.stages.is_empty() || self.stages.len() > 50 {
            return Err(Error::invalid("`stages` must have between 1 and 50 stages"));
        }
        for stage in &self.stages {
            check::required("stages.name", &stage.name)?;
            check::percent("stages.probability", i64::from(stage.probability))?;
            if stage.is_closed_won && stage.is_closed_lost {
                return Err(Error::invalid(format!(
                    "stage `{}` cannot be both closed-won and closed-lost",
                    stage.name
                )));
            }
        }
        if self.stages.iter().filter(|s| s.is_closed_won).count() > 1
            || self.stages.iter().filter(|s| s.is_closed_lost).count() > 1
        {
            return Err(Error::invalid("a pipeline has at most one closed-won and one closed-lost stage"));
        }
        Ok(())
    }
}
