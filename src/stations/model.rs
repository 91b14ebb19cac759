//! The station registry as people read it: list rows, detail, filters.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::orgs::model::{StationStatus, StationTier};

/// One station in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StationSummary {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub tier: StationTier,
    pub status: StationStatus,
    pub field: String,
    pub location_division: String,
    pub location_name: String,
    pub department_id: Uuid,
    pub department_name: Option<String>,
    pub authorizing_regulator_id: Option<Uuid>,
    pub authorizing_regulator_name: Option<String>,
    pub head_station_id: Option<Uuid>,
    pub head_station_name: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A station with everything the detail page shows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StationDetail {
    #[serde(flatten)]
    pub summary: StationSummary,
    pub legal_person: bool,
    pub credit_code: Option<String>,
    pub parent_entity_name: Option<String>,
    pub parent_entity_credit_code: Option<String>,
    pub address: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    /// Why the caller's organization sees this station.
    pub relations: Vec<String>,
    /// Branch stations (for a national head station), as far as visible.
    pub branches: Vec<StationRef>,
}

/// A link to a station.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct StationRef {
    pub id: Uuid,
    pub code: String,
    pub name: String,
}

/// Sort keys of the station list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StationSort {
    #[default]
    Name,
    Code,
    Tier,
    Status,
    Location,
    Updated,
}

impl StationSort {
    pub fn column(self) -> &'static str {
        match self {
            StationSort::Name => "o.name collate zh_pinyin",
            StationSort::Code => "s.code",
            StationSort::Tier => "s.tier",
            StationSort::Status => "s.status",
            StationSort::Location => "s.location_division",
            StationSort::Updated => "s.updated_at",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StationSort::Name => "name",
            StationSort::Code => "code",
            StationSort::Tier => "tier",
            StationSort::Status => "status",
            StationSort::Location => "location",
            StationSort::Updated => "updated",
        }
    }
}

/// Query of the station list (page and API). Empty strings count as unset.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StationQuery {
    /// Search in name and code.
    pub q: Option<String>,
    /// `national_head`, `national_branch` or `local`.
    pub tier: Option<String>,
    /// `unauthorized`, `authorized`, `suspended` or `terminated`.
    pub status: Option<String>,
    /// A GB/T 2260 code: stations located in it (province covers its cities and counties).
    pub region: Option<String>,
    /// `name`, `code`, `tier`, `status`, `location` or `updated`.
    pub sort: Option<String>,
    /// `asc` or `desc`.
    pub dir: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// A page of stations.
#[derive(Debug, Serialize, ToSchema)]
pub struct StationPage {
    pub items: Vec<StationSummary>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// Visible stations counted by tier and status.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct StationCount {
    pub tier: String,
    pub status: String,
    pub count: i64,
}
