//! Organizations (regulators, competent departments, stations, the
//! platform) and users: types, input validation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{OrgKind, Role};
use crate::error::FieldError;
use crate::rules::credit_code::CreditCode;
use crate::rules::Message;

/// Level of a market regulation department.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegulatorLevel {
    National,
    Provincial,
    Municipal,
    County,
}

impl RegulatorLevel {
    pub const ALL: [RegulatorLevel; 4] = [
        RegulatorLevel::National,
        RegulatorLevel::Provincial,
        RegulatorLevel::Municipal,
        RegulatorLevel::County,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RegulatorLevel::National => "national",
            RegulatorLevel::Provincial => "provincial",
            RegulatorLevel::Municipal => "municipal",
            RegulatorLevel::County => "county",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        RegulatorLevel::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// The division level a jurisdiction of this level has.
    pub fn division_level(self) -> Option<&'static str> {
        match self {
            RegulatorLevel::National => None,
            RegulatorLevel::Provincial => Some("province"),
            RegulatorLevel::Municipal => Some("city"),
            RegulatorLevel::County => Some("county"),
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            RegulatorLevel::National => "国家级",
            RegulatorLevel::Provincial => "省级",
            RegulatorLevel::Municipal => "市级",
            RegulatorLevel::County => "县级",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            RegulatorLevel::National => "National",
            RegulatorLevel::Provincial => "Provincial",
            RegulatorLevel::Municipal => "Municipal",
            RegulatorLevel::County => "County",
        }
    }
}

/// Tier of a station (R3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StationTier {
    NationalHead,
    NationalBranch,
    Local,
}

impl StationTier {
    pub const ALL: [StationTier; 3] = [
        StationTier::NationalHead,
        StationTier::NationalBranch,
        StationTier::Local,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StationTier::NationalHead => "national_head",
            StationTier::NationalBranch => "national_branch",
            StationTier::Local => "local",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        StationTier::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn is_national(self) -> bool {
        self != StationTier::Local
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            StationTier::NationalHead => "国家专业计量站总站",
            StationTier::NationalBranch => "国家专业计量站分站",
            StationTier::Local => "地方专业计量站",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            StationTier::NationalHead => "National head station",
            StationTier::NationalBranch => "National branch station",
            StationTier::Local => "Local station",
        }
    }
}

/// Authorization status of a station.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StationStatus {
    Unauthorized,
    Authorized,
    Suspended,
    Terminated,
}

impl StationStatus {
    pub const ALL: [StationStatus; 4] = [
        StationStatus::Unauthorized,
        StationStatus::Authorized,
        StationStatus::Suspended,
        StationStatus::Terminated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StationStatus::Unauthorized => "unauthorized",
            StationStatus::Authorized => "authorized",
            StationStatus::Suspended => "suspended",
            StationStatus::Terminated => "terminated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        StationStatus::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            StationStatus::Unauthorized => "未授权",
            StationStatus::Authorized => "已授权",
            StationStatus::Suspended => "暂停",
            StationStatus::Terminated => "已终止",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            StationStatus::Unauthorized => "Not authorized",
            StationStatus::Authorized => "Authorized",
            StationStatus::Suspended => "Suspended",
            StationStatus::Terminated => "Terminated",
        }
    }

    /// CSS class of the status badge (colour always comes with text).
    pub fn badge(self) -> &'static str {
        match self {
            StationStatus::Unauthorized => "badge-muted",
            StationStatus::Authorized => "badge-ok",
            StationStatus::Suspended => "badge-warn",
            StationStatus::Terminated => "badge-bad",
        }
    }
}

/// An organization as the API returns it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Organization {
    pub id: Uuid,
    pub kind: OrgKind,
    pub name: String,
    pub name_en: Option<String>,
    pub regulator_level: Option<RegulatorLevel>,
    pub division_code: Option<String>,
    pub division_name: Option<String>,
    pub credit_code: Option<String>,
    pub address: Option<String>,
    pub contact_phone: Option<String>,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Station details, for organizations of kind `station`.
    pub station: Option<StationFields>,
}

/// The registry fields of a station organization.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StationFields {
    pub code: String,
    pub tier: StationTier,
    pub head_station_id: Option<Uuid>,
    pub department_id: Uuid,
    pub authorizing_regulator_id: Option<Uuid>,
    pub location_division: String,
    pub field: String,
    pub legal_person: bool,
    pub credit_code: Option<String>,
    pub parent_entity_name: Option<String>,
    pub parent_entity_credit_code: Option<String>,
    pub status: StationStatus,
}

/// Create or update an organization. On update `kind` must not change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationInput {
    pub kind: Option<OrgKind>,
    pub name: Option<String>,
    pub name_en: Option<String>,
    pub regulator_level: Option<RegulatorLevel>,
    pub division_code: Option<String>,
    pub credit_code: Option<String>,
    pub address: Option<String>,
    pub contact_phone: Option<String>,
    pub active: Option<bool>,
    pub station: Option<StationInput>,
    /// The version read; required on update (or an `If-Match` header).
    pub version: Option<i32>,
}

/// Station details of an organization of kind `station`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StationInput {
    pub code: Option<String>,
    pub tier: Option<StationTier>,
    pub head_station_id: Option<Uuid>,
    pub department_id: Option<Uuid>,
    pub authorizing_regulator_id: Option<Uuid>,
    pub location_division: Option<String>,
    pub field: Option<String>,
    pub legal_person: Option<bool>,
    pub credit_code: Option<String>,
    pub parent_entity_name: Option<String>,
    pub parent_entity_credit_code: Option<String>,
    pub status: Option<StationStatus>,
}

/// Trims; an empty string is `None` (forms send "" for empty inputs).
pub fn clean(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// R7.1: a unified social credit code (GB 32100-2015), normalized, or a
/// field error saying which part is wrong.
pub fn parse_credit_code(field: &str, raw: &str) -> Result<String, FieldError> {
    CreditCode::parse(raw)
        .map(|c| c.as_str().to_owned())
        .map_err(|e| FieldError::new(field, "invalid_credit_code", e.message_zh(), e.message_en()))
}

/// A user as the API returns it (never the password hash).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub organization_name: String,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub roles: Vec<Role>,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Create or update a user. `password` sets a new password (ends the
/// user's sessions); `organization_id` only on create.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    pub organization_id: Option<Uuid>,
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub roles: Option<Vec<Role>>,
    pub active: Option<bool>,
    pub password: Option<String>,
    pub version: Option<i32>,
}
