//! Applications to establish a station (Art 6–8): states, inputs, the view
//! with the Art 7 report, the receiving regulator and the review clock.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::i18n::Lang;

/// States of an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationState {
    Draft,
    Submitted,
    CorrectionRequested,
    Accepted,
    Assessment,
    Assessed,
    Proposed,
    Granted,
    Refused,
    Withdrawn,
}

impl ApplicationState {
    pub const ALL: [ApplicationState; 10] = [
        ApplicationState::Draft,
        ApplicationState::Submitted,
        ApplicationState::CorrectionRequested,
        ApplicationState::Accepted,
        ApplicationState::Assessment,
        ApplicationState::Assessed,
        ApplicationState::Proposed,
        ApplicationState::Granted,
        ApplicationState::Refused,
        ApplicationState::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationState::Draft => "draft",
            ApplicationState::Submitted => "submitted",
            ApplicationState::CorrectionRequested => "correction_requested",
            ApplicationState::Accepted => "accepted",
            ApplicationState::Assessment => "assessment",
            ApplicationState::Assessed => "assessed",
            ApplicationState::Proposed => "proposed",
            ApplicationState::Granted => "granted",
            ApplicationState::Refused => "refused",
            ApplicationState::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        let (zh, en) = match self {
            ApplicationState::Draft => ("草稿", "Draft"),
            ApplicationState::Submitted => ("已提交待受理", "Submitted"),
            ApplicationState::CorrectionRequested => ("待补正", "Correction requested"),
            ApplicationState::Accepted => ("已受理", "Accepted"),
            ApplicationState::Assessment => ("考核中", "Under assessment"),
            ApplicationState::Assessed => ("考核完成", "Assessed"),
            ApplicationState::Proposed => ("已提出意见待审批", "Proposed"),
            ApplicationState::Granted => ("已授权", "Granted"),
            ApplicationState::Refused => ("不予授权", "Refused"),
            ApplicationState::Withdrawn => ("已撤回", "Withdrawn"),
        };
        lang.pick(zh, en)
    }

    pub fn badge(self) -> &'static str {
        match self {
            ApplicationState::Granted => "badge-ok",
            ApplicationState::Refused => "badge-bad",
            ApplicationState::Draft | ApplicationState::Withdrawn => "badge-muted",
            _ => "badge-warn",
        }
    }
}

/// A requested item (R7.2, R7.4).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    pub name: String,
    /// As written, e.g. `（0～10）MPa`.
    pub range_text: String,
    pub accuracy_text: String,
    /// `verification`, `type_evaluation`, `calibration`, `testing`.
    pub task_types: Vec<String>,
    /// JJG/JJF code, e.g. `JJG 52-2013`.
    pub specification: String,
}

/// Create or edit a draft. Omitted fields keep their value on edit.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationInput {
    /// One of the department's stations that is not authorized yet (R6.1).
    pub station_id: Option<Uuid>,
    /// Or a new station, registered (unauthorized) with the draft (R6.1).
    /// Only on create; give either this or `station_id`.
    pub new_station: Option<NewStationInput>,
    /// Requested region: GB/T 2260 codes.
    pub region: Option<Vec<String>>,
    pub items: Option<Vec<ItemInput>>,
    /// Standards from the station's registry backing the items (R7.2).
    pub standard_ids: Option<Vec<Uuid>>,
    /// Qualified staff from the station's registry (R7.3).
    pub staff_ids: Option<Vec<Uuid>>,
    pub version: Option<i32>,
}

/// A new station registered by its competent department with the
/// application (R6.1). It starts unauthorized; the grant authorizes it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStationInput {
    pub name: Option<String>,
    pub name_en: Option<String>,
    pub address: Option<String>,
    pub contact_phone: Option<String>,
    /// 2–32 uppercase letters, digits or hyphens.
    pub code: Option<String>,
    pub tier: Option<crate::orgs::model::StationTier>,
    /// R3.1: a national branch station's head station.
    pub head_station_id: Option<Uuid>,
    /// GB/T 2260 code of where the station is.
    pub location_division: Option<String>,
    pub field: Option<String>,
    /// R7.1: a legal person gives its credit code; otherwise the parent
    /// entity's name and code (and its consent document on the application).
    pub legal_person: Option<bool>,
    pub credit_code: Option<String>,
    pub parent_entity_name: Option<String>,
    pub parent_entity_credit_code: Option<String>,
}

/// One step of the workflow; which fields matter depends on the step.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ApplicationStepInput)]
pub struct StepInput {
    pub version: Option<i32>,
    /// submit: codes of unmet conditions declared as to be provided.
    #[serde(default)]
    pub to_be_provided: Vec<String>,
    /// correction: every missing or defective item, all at once (R6.4).
    #[serde(default)]
    pub items: Vec<String>,
    /// assessment: the date and the team.
    pub date: Option<NaiveDate>,
    pub team: Option<String>,
    /// assessment: cooperating national stations (default: as proposed, R8.1/R8.2).
    pub cooperating_station_ids: Option<Vec<Uuid>>,
    /// outcome: `pass`, `pass_after_correction` or `fail` (R8.3).
    pub outcome: Option<String>,
    pub findings: Option<String>,
    pub correction_deadline: Option<NaiveDate>,
    pub correction_evidence: Option<String>,
    /// propose: `grant` or `refuse`.
    pub decision: Option<String>,
    pub reasons: Option<String>,
    /// confirm of a grant: the station's official name on the certificate,
    /// the directory and /verify (e.g. without "（筹建）"); unchanged when absent.
    #[serde(default)]
    pub official_name: Option<String>,
    /// outcome: unmet Art 7 conditions the assessment verified, by key
    /// (`no_covering_standard:2`), with the assessors' evidence.
    #[serde(default)]
    pub verified: std::collections::BTreeMap<String, String>,
    /// confirm of a grant: unmet conditions the approver overrides, by key,
    /// with the reason (requirements §4).
    #[serde(default)]
    pub overrides: std::collections::BTreeMap<String, String>,
}

crate::step_input!(VersionInput => StepInput);
crate::step_input!(
    /// Department: submit the draft (R7, R6.2).
    ApplicationSubmitInput => StepInput {
        /// Codes of unmet conditions declared as to be provided 待补.
        #[serde(default)]
        to_be_provided: Vec<String>,
    }
);
crate::step_input!(
    /// Reviewer: the one correction notice (R6.4).
    ApplicationCorrectionInput => StepInput {
        /// Every missing or defective item, all at once (at least one).
        #[serde(default)]
        items: Vec<String>,
    }
);
crate::step_input!(
    /// Reviewer: schedule the assessment (R8.1, R8.2).
    ApplicationAssessmentInput => StepInput {
        /// The assessment date (required).
        date: Option<NaiveDate>,
        /// The assessment team (required).
        team: Option<String>,
        /// Cooperating national stations; absent: as proposed.
        cooperating_station_ids: Option<Vec<Uuid>>,
    }
);
crate::step_input!(
    /// Reviewer: the assessment outcome (R8.3), not before the scheduled date.
    ApplicationOutcomeInput => StepInput {
        /// `pass`, `pass_after_correction` or `fail`.
        outcome: Option<String>,
        /// Required unless a pass.
        findings: Option<String>,
        /// A pass after correction: the correction deadline.
        correction_deadline: Option<NaiveDate>,
        /// Unmet Art 7 conditions the assessment verified, by key
        /// (`no_covering_standard:2`, see the application's `conditions`),
        /// with the assessors' evidence.
        #[serde(default)]
        verified: std::collections::BTreeMap<String, String>,
    }
);
crate::step_input!(
    /// Reviewer: propose the decision.
    ApplicationProposeInput => StepInput {
        /// `grant` (after a pass, or a pass after correction with
        /// `correction_evidence`) or `refuse` (with `reasons`).
        decision: Option<String>,
        reasons: Option<String>,
        correction_evidence: Option<String>,
    }
);
crate::step_input!(
    /// Approver: send the proposal back to the reviewer.
    ApplicationReturnInput => StepInput {
        /// Why (required).
        reasons: Option<String>,
    }
);
crate::step_input!(
    /// Approver (not the proposer): decide as proposed (R8.4, R8.5).
    ApplicationConfirmInput => StepInput {
        /// A grant: the station's official name on the certificate; unchanged when absent.
        official_name: Option<String>,
        /// A grant: each condition still open, by key, with the approver's
        /// reason for overriding it (requirements §4); the certificate
        /// record keeps them.
        #[serde(default)]
        overrides: std::collections::BTreeMap<String, String>,
    }
);

/// One unmet Art 7 condition, as shown and as declared.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    pub code: String,
    /// The condition's key: the code, and the item's index or the
    /// document type (`no_covering_standard:2`); verifications and
    /// overrides name it.
    pub key: String,
    pub rule: String,
    pub message: String,
    pub message_en: String,
    /// Declared as to be provided at submission.
    pub declared: bool,
}

/// A step's clock in working days on the official calendar: acceptance
/// (R6.4), assessment, decision.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Clock {
    /// `acceptance`, `assessment` or `decision`.
    pub step: String,
    /// The step's name as shown.
    pub label: String,
    pub label_en: String,
    /// The step is over (its clock stopped when it ended).
    pub done: bool,
    pub limit: u32,
    pub used: u32,
    pub left: u32,
    pub paused: bool,
    pub overdue: bool,
    pub due: Option<NaiveDate>,
    /// The due date lies past the loaded calendar years: computed by the
    /// weekday rule with 1 January off, recomputed when the year is loaded.
    pub due_provisional: bool,
    /// Why the date is provisional (one line), when it is.
    pub due_note: Option<String>,
    pub due_note_en: Option<String>,
    pub message: String,
    pub message_en: String,
}

/// A proposed cooperating national station, with why (R8.1, R8.2).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Cooperator {
    pub station_id: Uuid,
    pub name: String,
    pub reasons: Vec<String>,
}

/// An application with everything its page shows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Application {
    pub id: Uuid,
    pub station_id: Uuid,
    pub station_name: String,
    pub station_tier: String,
    pub department_id: Uuid,
    pub department_name: String,
    pub regulator_id: Option<Uuid>,
    pub regulator_name: Option<String>,
    pub state: ApplicationState,
    pub region: Vec<String>,
    pub items: Vec<ItemInput>,
    pub standard_ids: Vec<Uuid>,
    pub staff_ids: Vec<Uuid>,
    pub to_be_provided: Vec<String>,
    pub submitted_on: Option<NaiveDate>,
    pub correction_items: Option<Vec<String>>,
    pub correction_on: Option<NaiveDate>,
    pub resubmitted_on: Option<NaiveDate>,
    pub accepted_on: Option<NaiveDate>,
    pub assessment_on: Option<NaiveDate>,
    pub assessment_team: Option<String>,
    pub cooperating_station_ids: Vec<Uuid>,
    pub assessment_outcome: Option<String>,
    pub assessment_findings: Option<String>,
    pub correction_deadline: Option<NaiveDate>,
    pub correction_evidence: Option<String>,
    pub proposal: Option<String>,
    pub proposal_reasons: Option<String>,
    pub proposed_by: Option<Uuid>,
    /// Why the approver sent the last proposal back, if so.
    pub returned_reasons: Option<String>,
    pub decided_by: Option<Uuid>,
    pub authorization_id: Option<Uuid>,
    pub version: i32,
    /// R6.2: who receives it and why (computed while drafting; fixed at submission).
    pub receiving: Option<String>,
    pub receiving_en: Option<String>,
    /// R7.1–R7.4: every unmet condition.
    pub problems: Vec<Problem>,
    /// The clock of the step the application is in (or of its last step).
    pub clock: Option<Clock>,
    /// Every step's clock so far: acceptance (R6.4), assessment, decision.
    pub clocks: Vec<Clock>,
    pub assessed_on: Option<NaiveDate>,
    pub proposed_on: Option<NaiveDate>,
    /// R8.1/R8.2: proposed cooperating national stations.
    pub proposed_cooperators: Vec<Cooperator>,
    pub documents: Vec<crate::standards::documents::DocumentInfo>,
    /// Every Art 7 condition unmet along the way and its standing at the
    /// decision: met, verified by the assessment, overridden by the
    /// approver, or open (blocks a grant). On the single application only.
    pub conditions: Vec<super::conditions::ConditionAtDecision>,
}
