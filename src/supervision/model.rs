//! Supervision (Art 17–19): the five inspection areas, inputs and views of
//! inspections, rectification orders, violation cases and referrals.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::i18n::Lang;

/// R17.2: the five Art 17 areas, by key, with their names.
pub const AREAS: [(&str, &str, &str); 5] = [
    (
        "compliance",
        "遵守本办法的情况",
        "Compliance with these measures",
    ),
    (
        "technical_specifications",
        "执行计量技术规范的情况",
        "Application of technical specifications",
    ),
    (
        "standards_management",
        "计量基准、社会公用计量标准和专业计量标准的管理情况",
        "Management of primary, public and professional standards",
    ),
    ("fees", "执行收费规定的情况", "Fee rules"),
    (
        "conduct",
        "工作人员职业道德和业务能力",
        "Professional conduct and capability",
    ),
];

pub fn area_label(key: &str, lang: Lang) -> String {
    AREAS
        .iter()
        .find(|a| a.0 == key)
        .map(|a| lang.pick(a.1, a.2).to_owned())
        .unwrap_or_else(|| key.to_owned())
}

/// Labels for stored words of this module.
pub fn word(w: &str, lang: Lang) -> String {
    let (zh, en) = match w {
        "planned" => ("已安排", "Planned"),
        "recorded" => ("已记录待确认", "Recorded"),
        "completed" => ("已完成", "Completed"),
        "cancelled" => ("已取消", "Cancelled"),
        "conforming" => ("符合", "Conforming"),
        "nonconforming" => ("不符合", "Nonconforming"),
        "not_inspected" => ("未检查", "Not inspected"),
        "cooperated" => ("配合检查", "Cooperated"),
        "refused" => ("拒绝检查", "Refused"),
        "obstructed" => ("阻碍检查", "Obstructed"),
        "open" => ("待整改", "Open"),
        "reported" => ("已报告待审核", "Reported"),
        "closed" => ("已关闭", "Closed"),
        "working_days" => ("个工作日", "working days"),
        "calendar_days" => ("个自然日", "calendar days"),
        "draft" => ("立案", "Opened"),
        "proposed" => ("已提出处理意见", "Proposed"),
        "decided" => ("已决定", "Decided"),
        "withdrawn" => ("已撤回", "Withdrawn"),
        "warning" => ("警告", "Warning"),
        "order_to_correct" => ("责令改正", "Order to correct"),
        "fine" => ("罚款", "Fine"),
        "revocation" => ("撤销授权", "Revocation"),
        "other" => ("其他", "Other"),
        "regulator" => ("市场监管部门检查", "Regulator"),
        "reexamination" => ("复查考核不通过（R14.2）", "Failed re-examination (R14.2)"),
        "closing" => ("已提出关闭意见待审批", "Closure proposed"),
        "department" => (
            "主管部门按本部门规定检查",
            "Department, under its own rules",
        ),
        _ => return area_label(w, lang),
    };
    lang.pick(zh, en).to_owned()
}

/// R19.1: the seven prohibited acts of Art 16, by number.
pub const ART16_ITEMS: [(&str, &str, &str); 7] = [
    (
        "1",
        "擅自改造、拆迁、改变计量基准，或者故意损坏计量基准设备，致使计量基准量值失准、停用或者报废",
        "Altering, moving or changing a primary standard without approval, or damaging it so that it fails, stops or is scrapped",
    ),
    (
        "2",
        "擅自更换、封存、停用、注销、破坏计量标准",
        "Replacing, sealing, stopping, cancelling or damaging a standard without approval",
    ),
    (
        "3",
        "擅自出租、出借或者以其他方式转让计量标准",
        "Leasing, lending or otherwise transferring a standard without approval",
    ),
    (
        "4",
        "妨碍量值传递或者溯源",
        "Obstructing the dissemination or traceability of measurement values",
    ),
    (
        "5",
        "出具虚假、不实证书或者报告",
        "Issuing false or untrue certificates or reports",
    ),
    (
        "6",
        "执行计量检定、型式评价等任务的人员不符合规定",
        "Staff performing verification, type evaluation or similar tasks not meeting the requirements",
    ),
    (
        "7",
        "擅自超过授权的期限、范围或者区域，执行相关计量检定、型式评价任务",
        "Performing verification or type evaluation beyond the authorized period, scope or region",
    ),
];

/// R17.2: one area's finding.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// `conforming`, `nonconforming` or `not_inspected`.
    pub finding: String,
    /// Required for a nonconformity.
    #[serde(default)]
    pub notes: Option<String>,
}

/// Plan an inspection by hand.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    pub station_id: Option<Uuid>,
    pub planned_on: Option<NaiveDate>,
    /// Inspectors: users of the inspecting organization.
    #[serde(default)]
    pub inspectors: Vec<Uuid>,
}

/// R17.3: a random draw of stations and inspectors.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrawInput {
    /// The pool of stations (each must be inspectable, R17.1).
    #[serde(default)]
    pub station_ids: Vec<Uuid>,
    /// The pool of inspectors (users of the caller's organization).
    #[serde(default)]
    pub inspector_ids: Vec<Uuid>,
    pub station_count: Option<u32>,
    pub inspectors_per_station: Option<u32>,
    /// A decimal u64; omitted: the system picks one (and records it).
    pub seed: Option<String>,
    pub planned_on: Option<NaiveDate>,
}

/// Record (or re-record) the inspection (R17.2, R17.4).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordInput {
    pub version: Option<i32>,
    pub inspected_from: Option<NaiveDate>,
    pub inspected_to: Option<NaiveDate>,
    /// Every one of the five areas: `compliance`, `technical_specifications`,
    /// `standards_management`, `fees`, `conduct`.
    #[serde(default)]
    pub areas: BTreeMap<String, Finding>,
    /// `cooperated`, `refused` or `obstructed` (R17.4).
    pub cooperation: Option<String>,
    pub cooperation_notes: Option<String>,
    pub summary: Option<String>,
}

/// A step on an inspection, order or case.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SupervisionStepInput)]
pub struct StepInput {
    pub version: Option<i32>,
    /// Reasons (return, reject, extension).
    pub reasons: Option<String>,
    /// Order report text (station).
    pub report: Option<String>,
    /// Extension: the new deadline (once, later than the current one).
    pub new_due_on: Option<NaiveDate>,
    /// Case: `warning`, `order_to_correct`, `fine`, `revocation`, `other`.
    pub decision: Option<String>,
    pub fine_amount: Option<String>,
    pub notes: Option<String>,
}

crate::step_input!(VersionInput => StepInput);
crate::step_input!(
    /// Send an inspection record back to the inspectors.
    InspectionReturnInput => StepInput {
        /// Why it goes back (required).
        reasons: Option<String>,
    }
);
crate::step_input!(
    /// Station: the rectification report (R18.3).
    OrderReportInput => StepInput {
        /// What was corrected and how (required, at most 5,000 characters).
        report: Option<String>,
    }
);
crate::step_input!(
    /// Issuer: reject the report; the order stays open (R18.3).
    OrderRejectInput => StepInput {
        /// Why the report is not accepted (required).
        reasons: Option<String>,
    }
);
crate::step_input!(
    /// Issuer: extend the deadline once (R18.3).
    OrderExtendInput => StepInput {
        /// The new deadline, later than the current one.
        new_due_on: Option<NaiveDate>,
        /// Why (required).
        reasons: Option<String>,
    }
);
crate::step_input!(
    /// Propose the decision of a violation case.
    CaseProposeInput => StepInput {
        /// `warning`, `order_to_correct`, `fine`, `revocation` or `other`.
        decision: Option<String>,
        /// For a fine: the amount in yuan.
        fine_amount: Option<String>,
        /// For `other` (required), or any remark.
        notes: Option<String>,
    }
);

/// R18.1: issue an order for nonconforming areas of a completed inspection.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    /// The nonconforming areas this order covers (one order per finding,
    /// or one listing several).
    #[serde(default)]
    pub areas: Vec<String>,
    pub description: Option<String>,
    /// `working_days` or `calendar_days`.
    pub period_unit: Option<String>,
    pub period_days: Option<u32>,
    /// Defaults to today; an order issued on paper earlier may be entered
    /// with its date (not in the future).
    pub issued_on: Option<NaiveDate>,
}

/// R19.1: open a violation case.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseInput {
    pub station_id: Option<Uuid>,
    /// Art 16 items, `1`–`7`.
    #[serde(default)]
    pub art16_items: Vec<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub inspection_ids: Vec<Uuid>,
    pub evidence: Option<String>,
}

/// R19.2: a referral to a discipline inspection organ.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralInput {
    pub station_id: Option<Uuid>,
    pub case_id: Option<Uuid>,
    pub recipient: Option<String>,
    pub referred_on: Option<NaiveDate>,
    pub reference: Option<String>,
    pub summary: Option<String>,
}

/// An inspection as shown.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Inspection {
    pub id: Uuid,
    pub org_id: Uuid,
    pub org_name: String,
    pub org_kind: String,
    pub station_id: Uuid,
    pub station_name: String,
    pub department_id: Uuid,
    pub draw_id: Option<Uuid>,
    pub state: String,
    pub planned_on: NaiveDate,
    pub inspected_from: Option<NaiveDate>,
    pub inspected_to: Option<NaiveDate>,
    pub inspectors: Vec<Uuid>,
    pub inspector_names: Vec<String>,
    #[schema(value_type = Object)]
    pub areas: sqlx::types::Json<BTreeMap<String, Finding>>,
    pub cooperation: Option<String>,
    pub cooperation_notes: Option<String>,
    pub summary: Option<String>,
    pub recorded_by: Option<Uuid>,
    pub approved_by: Option<Uuid>,
    pub published: bool,
    pub version: i32,
}

impl Inspection {
    pub fn nonconforming(&self) -> Vec<String> {
        self.areas
            .iter()
            .filter(|(_, f)| f.finding == "nonconforming")
            .map(|(k, _)| k.clone())
            .collect()
    }
}

/// A draw as recorded (R17.3).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Draw {
    pub id: Uuid,
    pub org_id: Uuid,
    pub algorithm: String,
    pub seed: String,
    pub station_pool: Vec<Uuid>,
    pub inspector_pool: Vec<Uuid>,
    pub station_count: i32,
    pub inspectors_per_station: i32,
    #[schema(value_type = Object)]
    pub result: serde_json::Value,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Re-running a draw from its record (R17.3).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Rerun {
    pub draw: Draw,
    #[schema(value_type = Object)]
    pub rerun: serde_json::Value,
    /// The re-run gives the recorded result.
    pub same: bool,
}

/// A rectification order as shown.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Order {
    pub id: Uuid,
    pub inspection_id: Option<Uuid>,
    pub station_id: Uuid,
    pub station_name: String,
    pub department_id: Uuid,
    pub issuer_id: Uuid,
    pub issuer_name: String,
    pub areas: Vec<String>,
    pub description: String,
    pub period_unit: String,
    pub period_days: i32,
    pub issued_on: NaiveDate,
    pub due_on: NaiveDate,
    pub extended_due_on: Option<NaiveDate>,
    pub extension_reason: Option<String>,
    pub state: String,
    pub report: Option<String>,
    pub rejection_reasons: Option<String>,
    pub closed_on: Option<NaiveDate>,
    /// Four eyes: who proposed to close.
    pub closure_proposed_by: Option<Uuid>,
    pub version: i32,
    /// The deadline in force lies past the loaded calendar years (R18.1):
    /// computed by the weekday rule with 1 January off, recomputed when the
    /// year is loaded.
    pub due_provisional: bool,
    /// Why it is provisional (one line), when it is.
    #[sqlx(skip)]
    pub due_note: Option<String>,
    #[sqlx(skip)]
    pub due_note_en: Option<String>,
    /// The deadline in force (the extension's, if any).
    #[sqlx(skip)]
    pub effective_due: Option<NaiveDate>,
    /// Open past its deadline (R18.3).
    #[sqlx(skip)]
    pub overdue: bool,
}

/// A violation case as shown.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Case {
    pub id: Uuid,
    pub regulator_id: Uuid,
    pub regulator_name: String,
    pub station_id: Uuid,
    pub station_name: String,
    pub art16_items: Vec<String>,
    pub description: String,
    pub inspection_ids: Vec<Uuid>,
    pub evidence: Option<String>,
    pub state: String,
    pub decision: Option<String>,
    pub fine_amount: Option<String>,
    pub decision_notes: Option<String>,
    pub proposed_by: Option<Uuid>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
    pub version: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A referral (R19.2).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Referral {
    pub id: Uuid,
    pub station_id: Option<Uuid>,
    pub station_name: Option<String>,
    pub case_id: Option<Uuid>,
    pub recipient: String,
    pub referred_on: NaiveDate,
    pub reference: String,
    pub summary: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A completed random inspection as the public sees it (双随机、一公开).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct PublicInspection {
    pub station_name: String,
    pub org_name: String,
    pub inspected_to: Option<NaiveDate>,
    /// `conforming` or `nonconforming` overall.
    pub result: String,
    pub cooperation: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R19.1: the seven items are Art 16's, word for word (the regulation's
    /// text is kept in `reference/`, copied from the seed).
    #[test]
    fn the_art16_items_are_the_regulations_own_words() {
        let text = include_str!("../../reference/order-93-regulation.txt");
        let flat: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let art16 = &flat[flat.find("第十六条").unwrap()..flat.find("第十七条").unwrap()];
        for (n, zh, _) in ART16_ITEMS {
            assert!(
                art16.contains(zh),
                "Art 16 item {n} is not the regulation's text: {zh}"
            );
        }
    }
}
