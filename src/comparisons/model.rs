//! What a comparison is made of, as read and as typed (R9.2).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::standards::documents::DocumentInfo;

/// The stages of a comparison.
pub const STATES: [&str; 5] = ["open", "closed", "draft_a", "final", "cancelled"];

/// A stage's name.
pub fn state_label(state: &str, en: bool) -> &'static str {
    match (state, en) {
        ("open", false) => "接收结果中",
        ("open", true) => "Open for results",
        ("closed", false) => "已截止，待定参考值",
        ("closed", true) => "Closed: reference value to set",
        ("draft_a", false) => "报告征求意见稿（Draft A）",
        ("draft_a", true) => "Draft A issued",
        ("final", false) => "正式报告已发布",
        ("final", true) => "Final report published",
        ("cancelled", false) => "已取消",
        ("cancelled", true) => "Cancelled",
        _ => "",
    }
}

/// A comparison as its reader may see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ComparisonDetail)]
pub struct Comparison {
    pub id: Uuid,
    pub organizer_id: Uuid,
    pub organizer_name: String,
    pub title: String,
    pub field: String,
    /// The authorized item compared (participants hold a matching one).
    pub item: String,
    pub measurand: String,
    pub unit: String,
    /// 主导实验室.
    pub pilot_station_id: Uuid,
    pub pilot_name: String,
    pub transfer_standard: String,
    /// The plan of the transfer standard's circulation, in words.
    pub schedule_notes: String,
    pub results_due_on: NaiveDate,
    /// open, closed, draft_a, final, cancelled.
    pub state: String,
    /// X_ref, once set (closed and later: the organizer; Draft A on: all).
    pub reference_value: Option<f64>,
    /// U_ref (k = 2).
    pub reference_uncertainty: Option<f64>,
    /// assigned, participants.
    pub reference_method: Option<String>,
    pub reference_note: String,
    pub closed_at: Option<DateTime<Utc>>,
    pub draft_a_at: Option<DateTime<Utc>>,
    pub final_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub version: i32,
    /// The caller's part: organizer, participant, pilot, regulator.
    pub my_role: String,
    pub participants: Vec<Participant>,
    /// The plan 比对方案 and other documents of the organizer.
    pub documents: Vec<DocumentInfo>,
}

/// A participant and, when the caller may see it, its result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Participant {
    pub station_id: Uuid,
    pub station_code: String,
    pub station_name: String,
    pub lab_code: String,
    /// The circulation slot: when the transfer standard arrives and leaves.
    pub receive_on: Option<NaiveDate>,
    pub return_on: Option<NaiveDate>,
    /// Whether a value was submitted (never the value itself while sealed).
    pub submitted: bool,
    pub submitted_at: Option<DateTime<Utc>>,
    /// A change asked for, with its reason (decided by the organizer).
    pub change_reason: Option<String>,
    pub in_reference: bool,
    /// R9.2, from Draft A on.
    pub en: Option<f64>,
    pub satisfactory: Option<bool>,
    pub corrective_action: Option<String>,
    /// inspection, noted: the authorizing regulator's follow-up.
    pub follow_up: Option<String>,
    pub follow_up_inspection_id: Option<Uuid>,
    pub version: i32,
    /// The current result, when the caller may see it (R9.2 sealing).
    pub result: Option<ResultValue>,
    /// The participant's own pending change (the participant only).
    pub pending: Option<ResultValue>,
}

/// One submitted value.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResultValue {
    pub id: Uuid,
    pub value: f64,
    /// Expanded uncertainty U.
    pub uncertainty: f64,
    /// Coverage factor k.
    pub coverage_factor: f64,
    pub notes: String,
    /// current, pending, superseded, refused.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub documents: Vec<DocumentInfo>,
}

/// A comparison in a list.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct ComparisonRow {
    pub id: Uuid,
    pub title: String,
    pub item: String,
    pub organizer_name: String,
    pub state: String,
    pub results_due_on: NaiveDate,
    pub participants: i64,
    pub submitted: i64,
}

/// A participant as chosen by the organizer.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParticipantInput {
    pub station_id: Uuid,
    pub receive_on: Option<NaiveDate>,
    pub return_on: Option<NaiveDate>,
}

/// Opening a comparison.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComparisonInput {
    pub title: Option<String>,
    pub field: Option<String>,
    pub item: Option<String>,
    pub measurand: Option<String>,
    pub unit: Option<String>,
    pub pilot_station_id: Option<Uuid>,
    pub transfer_standard: Option<String>,
    pub schedule_notes: Option<String>,
    pub results_due_on: Option<NaiveDate>,
    #[serde(default)]
    pub participants: Vec<ParticipantInput>,
}

/// A step on a comparison: which fields a step reads is said per step.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepInput {
    /// The comparison's version read (close, reference, final, cancel) or
    /// the participant row's (change, corrective, follow_up, decide).
    pub version: Option<i32>,
    /// submit, change: the value x.
    pub value: Option<f64>,
    /// submit, change: the expanded uncertainty U.
    pub uncertainty: Option<f64>,
    /// submit, change: the coverage factor k (default 2).
    pub coverage_factor: Option<f64>,
    pub notes: Option<String>,
    /// change: why; decide, cancel: the decision's note.
    pub reason: Option<String>,
    /// decide: the participant station whose change is decided.
    pub station_id: Option<Uuid>,
    /// decide: accept or refuse.
    pub accept: Option<bool>,
    /// reference: assigned (give value and U) or participants (the mean of
    /// the chosen participants' values).
    pub method: Option<String>,
    pub reference_value: Option<f64>,
    pub reference_uncertainty: Option<f64>,
    /// reference: the participants whose values make the reference.
    #[serde(default)]
    pub reference_stations: Vec<Uuid>,
    /// corrective: the station's analysis and action.
    pub corrective_action: Option<String>,
    /// follow_up: inspection or noted; planned_on for an inspection.
    pub follow_up: Option<String>,
    pub planned_on: Option<NaiveDate>,
}

/// A station proposed as a participant: it holds a matching authorized item.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Candidate {
    pub station_id: Uuid,
    pub code: String,
    pub name: String,
    pub field: String,
    /// The matching authorized item.
    pub item: String,
    pub range_text: String,
}
