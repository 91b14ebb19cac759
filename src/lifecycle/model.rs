//! Lifecycle requests (Art 11, 13, 14, 15): kinds, states, the explicit
//! state machine, inputs and the view.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::applications::model::{ItemInput, Problem};
use crate::i18n::Lang;

/// The four request kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// R11.1: appointment or removal of the station's head.
    Head,
    /// R13.2: add/remove/change items, change the region, merge/dissolve.
    Adjustment,
    /// R14.1, R14.2: re-examination before expiry.
    Reexamination,
    /// R15.1, R15.2: termination at the station's request.
    Termination,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Head,
        Kind::Adjustment,
        Kind::Reexamination,
        Kind::Termination,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Head => "head",
            Kind::Adjustment => "adjustment",
            Kind::Reexamination => "reexamination",
            Kind::Termination => "termination",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        let (zh, en) = match self {
            Kind::Head => ("站长任免", "Head appointment"),
            Kind::Adjustment => ("授权调整", "Adjustment"),
            Kind::Reexamination => ("复查考核", "Re-examination"),
            Kind::Termination => ("终止授权", "Termination"),
        };
        lang.pick(zh, en)
    }

    pub fn rule(self) -> &'static str {
        match self {
            Kind::Head => "R11.1",
            Kind::Adjustment => "R13.2",
            Kind::Reexamination => "R14.1",
            Kind::Termination => "R15.1",
        }
    }
}

/// Request states. Not every kind passes through every state; see [`next`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Draft,
    Submitted,
    Proposed,
    Approved,
    Refused,
    Withdrawn,
    /// Head: the department recorded the appointment and its effective date.
    Recorded,
    /// Head: the regulator acknowledged the filing (备案); the head changed.
    Filed,
    /// Termination: the end date came and the job ended the authorization.
    Completed,
}

impl State {
    pub const ALL: [State; 9] = [
        State::Draft,
        State::Submitted,
        State::Proposed,
        State::Approved,
        State::Refused,
        State::Withdrawn,
        State::Recorded,
        State::Filed,
        State::Completed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Submitted => "submitted",
            State::Proposed => "proposed",
            State::Approved => "approved",
            State::Refused => "refused",
            State::Withdrawn => "withdrawn",
            State::Recorded => "recorded",
            State::Filed => "filed",
            State::Completed => "completed",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self, kind: Kind, lang: Lang) -> &'static str {
        let (zh, en) = match (self, kind) {
            (State::Draft, _) => ("草稿", "Draft"),
            (State::Submitted, Kind::Reexamination) => ("已安排", "Scheduled"),
            (State::Submitted, _) => ("已提交待审查", "Submitted"),
            (State::Proposed, _) => ("已提出意见待审批", "Proposed"),
            (State::Approved, Kind::Head) => ("已同意", "Consented"),
            (State::Approved, Kind::Termination) => ("已批准待终止", "Approved, end scheduled"),
            (State::Approved, _) => ("已批准", "Approved"),
            (State::Refused, Kind::Head) => ("不同意", "Consent withheld"),
            (State::Refused, _) => ("不予批准", "Refused"),
            (State::Withdrawn, _) => ("已撤回", "Withdrawn"),
            (State::Recorded, _) => ("已任命待备案", "Recorded, awaiting filing"),
            (State::Filed, _) => ("已备案", "Filed"),
            (State::Completed, _) => ("已终止", "Ended"),
        };
        lang.pick(zh, en)
    }

    pub fn badge(self) -> &'static str {
        match self {
            State::Approved | State::Filed | State::Completed => "badge-ok",
            State::Refused => "badge-bad",
            State::Draft | State::Withdrawn => "badge-muted",
            _ => "badge-warn",
        }
    }

    pub fn is_open(self) -> bool {
        matches!(
            self,
            State::Draft | State::Submitted | State::Proposed | State::Recorded
        )
    }
}

/// The steps of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Department: file the draft.
    Submit,
    /// Department (regulator for a re-examination): withdraw while open.
    Withdraw,
    /// Regulator's reviewer: record an assessment of an adjustment.
    Assessment,
    /// Regulator's reviewer: propose approval or refusal (a re-examination's result).
    Propose,
    /// Regulator's approver: send a proposal back to the reviewer.
    Return,
    /// Regulator's approver (not the proposer): decide as proposed.
    Confirm,
    /// Department: record the consented appointment with its effective date (R11.1).
    Record,
    /// Regulator: acknowledge the filing (备案); the head changes (R11.1).
    Acknowledge,
}

impl Step {
    pub const ALL: [Step; 8] = [
        Step::Submit,
        Step::Withdraw,
        Step::Assessment,
        Step::Propose,
        Step::Return,
        Step::Confirm,
        Step::Record,
        Step::Acknowledge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Submit => "submit",
            Step::Withdraw => "withdraw",
            Step::Assessment => "assessment",
            Step::Propose => "propose",
            Step::Return => "return",
            Step::Confirm => "confirm",
            Step::Record => "record",
            Step::Acknowledge => "acknowledge",
        }
    }

    pub fn parse(s: &str) -> Option<Step> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Who acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The competent department's officer.
    Department,
    /// The authorizing regulator's reviewer.
    Reviewer,
    /// The authorizing regulator's approver.
    Approver,
}

/// The state machine: for a kind, a step and the current state, who may act
/// and which state follows (a confirm's result depends on the proposal, so
/// it answers with the approving state; refusal is decided in the store).
/// `None`: the step is not possible now.
pub fn next(kind: Kind, step: Step, from: State) -> Option<(Actor, State)> {
    use State::*;
    match (kind, step, from) {
        (Kind::Reexamination, Step::Submit, _) => None,
        (_, Step::Submit, Draft) => Some((Actor::Department, Submitted)),
        (Kind::Reexamination, Step::Withdraw, Submitted) => Some((Actor::Reviewer, Withdrawn)),
        (Kind::Reexamination, Step::Withdraw, _) => None,
        (_, Step::Withdraw, Draft | Submitted) => Some((Actor::Department, Withdrawn)),
        (Kind::Adjustment, Step::Assessment, Submitted) => Some((Actor::Reviewer, Submitted)),
        (_, Step::Propose, Submitted) => Some((Actor::Reviewer, Proposed)),
        (_, Step::Return, Proposed) => Some((Actor::Approver, Submitted)),
        (_, Step::Confirm, Proposed) => Some((Actor::Approver, Approved)),
        (Kind::Head, Step::Record, Approved) => Some((Actor::Department, Recorded)),
        (Kind::Head, Step::Acknowledge, Recorded) => Some((Actor::Reviewer, Filed)),
        _ => None,
    }
}

/// One change to the items of an authorization (R13.2).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ItemChange {
    /// `add`, `remove` or `change`.
    pub op: String,
    /// The authorized item's number (remove, change).
    pub seq: Option<i32>,
    /// The item as it should be (add, change).
    pub item: Option<ItemInput>,
}

/// Create or edit a request. Which fields matter depends on the kind.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestInput {
    /// The station (head, adjustment, termination).
    pub station_id: Option<Uuid>,
    /// The authorization (re-examination; otherwise the station's current one).
    pub authorization_id: Option<Uuid>,
    /// Why: required for every kind.
    pub reason: Option<String>,
    /// Head: `appoint` or `remove`.
    pub action: Option<String>,
    /// Head: the person appointed or removed.
    pub person_name: Option<String>,
    /// Adjustment: item changes.
    pub changes: Option<Vec<ItemChange>>,
    /// Adjustment: the new region (GB/T 2260 codes), if it changes.
    pub region: Option<Vec<String>>,
    /// Adjustment: merger or dissolution (撤并) ends the authorization.
    pub dissolve: Option<bool>,
    /// Adjustment: the station it merges into, if any.
    pub merged_into: Option<String>,
    /// Termination: the requested end date (R15.1: ≥ filing date + 6 months).
    pub end_date: Option<NaiveDate>,
    /// Re-examination: the scheduled date and the team.
    pub scheduled_on: Option<NaiveDate>,
    pub team: Option<String>,
    /// The version read (edit only).
    pub version: Option<i32>,
}

/// One step; which fields matter depends on the step and kind.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = LifecycleStepInput)]
pub struct StepInput {
    pub version: Option<i32>,
    /// propose: `approve` or `refuse`.
    pub decision: Option<String>,
    /// propose (refusal), return: the reasons.
    pub reasons: Option<String>,
    /// propose on a re-examination: `pass` or `fail` (R14.2).
    pub result: Option<String>,
    /// propose on a failed re-examination: `rectify` (with a deadline) or `end`.
    pub fail_action: Option<String>,
    pub rectification_deadline: Option<NaiveDate>,
    pub findings: Option<String>,
    /// assessment (adjustment): date, team, outcome `pass`/`fail`.
    pub date: Option<NaiveDate>,
    pub team: Option<String>,
    pub outcome: Option<String>,
    /// record (head): the appointment's effective date.
    pub effective_on: Option<NaiveDate>,
    /// assessment (adjustment): unmet Art 7 conditions the assessment
    /// verified, by key, with the assessors' evidence (R13.2).
    #[serde(default)]
    pub verified: std::collections::BTreeMap<String, String>,
    /// confirm (adjustment approval): conditions still open, by key, with
    /// the approver's reason for overriding them (requirements §4).
    #[serde(default)]
    pub overrides: std::collections::BTreeMap<String, String>,
}

crate::step_input!(VersionInput => StepInput);
crate::step_input!(
    /// Reviewer: the assessment of an adjustment (R13.2, R8.3).
    RequestAssessmentInput => StepInput {
        /// The assessment date (not in the future).
        date: Option<NaiveDate>,
        /// The assessment team (required).
        team: Option<String>,
        /// `pass` or `fail`.
        outcome: Option<String>,
        findings: Option<String>,
        /// Unmet Art 7 conditions of added or changed items that the
        /// assessment verified, by key (see the request's `conditions`),
        /// with the assessors' evidence.
        #[serde(default)]
        verified: std::collections::BTreeMap<String, String>,
    }
);
crate::step_input!(
    /// Approver (not the proposer): decide as proposed.
    RequestConfirmInput => StepInput {
        /// An adjustment's approval: each condition still open, by key,
        /// with the approver's reason for overriding it (requirements §4).
        #[serde(default)]
        overrides: std::collections::BTreeMap<String, String>,
    }
);
crate::step_input!(
    /// Reviewer: the proposal. For a re-examination `result` (and on a fail
    /// `fail_action`, R14.2); otherwise `decision`.
    RequestProposeInput => StepInput {
        /// `approve` or `refuse` (refusal needs `reasons`).
        decision: Option<String>,
        reasons: Option<String>,
        /// Re-examination: `pass` or `fail`.
        result: Option<String>,
        /// Failed re-examination: `rectify` (with `rectification_deadline`) or `end`.
        fail_action: Option<String>,
        rectification_deadline: Option<NaiveDate>,
        /// Re-examination: the findings (required on a fail).
        findings: Option<String>,
    }
);
crate::step_input!(
    /// Approver: send the proposal back to the reviewer.
    RequestReturnInput => StepInput {
        /// Why (required).
        reasons: Option<String>,
    }
);
crate::step_input!(
    /// Department: record the consented head appointment (R11.1).
    RequestRecordInput => StepInput {
        /// The date the appointment takes effect (required).
        effective_on: Option<NaiveDate>,
    }
);

/// A request with everything its page shows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Request {
    pub id: Uuid,
    pub kind: Kind,
    pub station_id: Uuid,
    pub station_name: String,
    pub department_id: Uuid,
    pub department_name: String,
    pub regulator_id: Uuid,
    pub regulator_name: String,
    pub authorization_id: Option<Uuid>,
    pub certificate_number: Option<String>,
    pub state: State,
    /// What is asked (kind-specific; see [`RequestInput`]).
    pub payload: serde_json::Value,
    pub reason: String,
    pub filed_on: Option<NaiveDate>,
    /// Termination: the requested end date; head: the effective date.
    pub effective_on: Option<NaiveDate>,
    /// Termination: the earliest end date allowed today or at filing (R15.1).
    pub earliest_end_date: Option<NaiveDate>,
    pub assessment: Option<serde_json::Value>,
    pub proposal: Option<String>,
    pub proposal_reasons: Option<String>,
    pub proposal_data: Option<serde_json::Value>,
    pub proposed_by: Option<Uuid>,
    pub proposed_on: Option<NaiveDate>,
    pub returned_reasons: Option<String>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The authorization's revision the approval created (R13.2, R14.2).
    pub new_revision: Option<i32>,
    pub version: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The date the current step is due, and whether it is past.
    pub due: Option<NaiveDate>,
    pub overdue: bool,
    /// The due date lies past the loaded calendar years (R18.1): computed
    /// by the weekday rule with 1 January off, recomputed when the year is loaded.
    pub due_provisional: bool,
    /// Why it is provisional (one line), when it is.
    pub due_note: Option<String>,
    pub due_note_en: Option<String>,
    /// Adjustment: Art 7 problems of the added or changed items (R13.2).
    pub problems: Vec<Problem>,
    /// Adjustment: every condition unmet along the way and its standing at
    /// the approval (met, verified, overridden, open). On the single request only.
    pub conditions: Vec<crate::applications::conditions::ConditionAtDecision>,
}

/// Counts for a queue.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct QueueCount {
    pub kind: String,
    pub open: i64,
    pub awaiting_me: i64,
    pub overdue: i64,
}
