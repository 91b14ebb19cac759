//! What waits, read from the workflow tables as they are (nothing copied):
//! one statement per kind of deadline, for one organization (the task list,
//! in the caller's tenant transaction) or for every organization (the
//! daily job, as the owner). Each raw task names the organization and the
//! roles that act, the users it is assigned to (inspectors), and an
//! organization it escalates to (R18.2: an overdue order's department).

use chrono::NaiveDate;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::auth::{OrgKind, Role};
use crate::error::Result;
use crate::rules::calendar::{sub_months, Calendar};

/// A task before it is placed on a user's list.
#[derive(Debug, Clone)]
pub struct RawTask {
    pub kind: &'static str,
    pub entity: Uuid,
    pub org_id: Uuid,
    /// Who in the organization acts.
    pub roles: &'static [Role],
    /// The users it is assigned to (else anyone with one of the roles).
    pub assignees: Vec<Uuid>,
    /// The organization that also sees it once escalated (R18.2).
    pub escalate_org: Option<Uuid>,
    pub subject: String,
    pub link: String,
    pub due_on: Option<NaiveDate>,
}

/// One kind: its code, rule, what to do (Chinese, English).
pub struct KindInfo {
    pub code: &'static str,
    pub rule: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
}

/// Every kind of task, in the order they are explained.
pub const KINDS: &[KindInfo] = &[
    KindInfo {
        code: "application_accept",
        rule: "R6.4",
        zh: "受理建站申请或发出补正通知",
        en: "Accept the application or send a correction notice",
    },
    KindInfo {
        code: "application_assess",
        rule: "R7.1",
        zh: "组织考核并记录考核结果",
        en: "Assess the station and record the outcome",
    },
    KindInfo {
        code: "application_propose",
        rule: "R8.1",
        zh: "提出审批意见",
        en: "Propose a decision",
    },
    KindInfo {
        code: "application_decide",
        rule: "R8.1",
        zh: "作出审批决定",
        en: "Decide the application",
    },
    KindInfo {
        code: "application_correct",
        rule: "R6.4",
        zh: "补正申请材料后重新提交",
        en: "Correct the application and resubmit it",
    },
    KindInfo {
        code: "request_propose",
        rule: "R11.1",
        zh: "审查申请并提出意见",
        en: "Review the request and propose",
    },
    KindInfo {
        code: "request_decide",
        rule: "R11.1",
        zh: "对申请作出决定",
        en: "Decide the request",
    },
    KindInfo {
        code: "request_acknowledge",
        rule: "R3.1",
        zh: "确认站长任命备案",
        en: "Acknowledge the head's appointment",
    },
    KindInfo {
        code: "inspection_record",
        rule: "R17.2",
        zh: "开展检查并记录结果",
        en: "Inspect and record the findings",
    },
    KindInfo {
        code: "inspection_approve",
        rule: "R17.2",
        zh: "审核检查记录",
        en: "Approve the inspection record",
    },
    KindInfo {
        code: "order_report",
        rule: "R18.1",
        zh: "完成整改并报告",
        en: "Rectify and report",
    },
    KindInfo {
        code: "order_accept",
        rule: "R18.2",
        zh: "验收整改报告",
        en: "Review the rectification report",
    },
    KindInfo {
        code: "order_close",
        rule: "R18.2",
        zh: "批准关闭整改通知",
        en: "Approve closing the order",
    },
    KindInfo {
        code: "change_propose",
        rule: "R9.1",
        zh: "审查计量标准变更并提出意见",
        en: "Review the standard's change and propose",
    },
    KindInfo {
        code: "change_decide",
        rule: "R9.1",
        zh: "对计量标准变更作出决定",
        en: "Decide the standard's change",
    },
    KindInfo {
        code: "standard_reassessment",
        rule: "R12.3",
        zh: "申请计量标准复查（证书到期前 6 个月）",
        en: "Apply for the standard's re-assessment (6 months before expiry)",
    },
    KindInfo {
        code: "standard_traceability",
        rule: "R16.4",
        zh: "计量标准送检溯源",
        en: "Have the standard calibrated (traceability)",
    },
    KindInfo {
        code: "qualification_expiry",
        rule: "R16.6",
        zh: "人员资格证书到期，办理复核",
        en: "Renew the expiring qualification",
    },
    KindInfo {
        code: "reexamination",
        rule: "R14.1",
        zh: "授权到期前安排复查",
        en: "Schedule the re-examination before the authorization expires",
    },
    KindInfo {
        code: "termination_effective",
        rule: "R15.2",
        zh: "授权终止生效，停止相应工作",
        en: "The termination takes effect: stop the work",
    },
    KindInfo {
        code: "comparison_submit",
        rule: "R9.2",
        zh: "提交计量比对结果（测量结果及扩展不确定度）",
        en: "Submit the comparison result (value and expanded uncertainty)",
    },
    KindInfo {
        code: "comparison_change",
        rule: "R9.2",
        zh: "决定参比实验室的结果更改申请",
        en: "Decide a participant's request to change its result",
    },
    KindInfo {
        code: "comparison_close",
        rule: "R9.2",
        zh: "截止比对结果提交",
        en: "Close the comparison's submission",
    },
    KindInfo {
        code: "comparison_report",
        rule: "R9.2",
        zh: "确定参考值并出具比对报告",
        en: "Set the reference value and issue the comparison report",
    },
    KindInfo {
        code: "comparison_corrective",
        rule: "R9.2",
        zh: "比对结果不满意：分析原因并说明纠正措施",
        en: "Unsatisfactory comparison result: state the causes and corrective action",
    },
    KindInfo {
        code: "comparison_follow_up",
        rule: "R9.2",
        zh: "跟进计量站不满意的比对结果（可安排检查）",
        en: "Follow up a station's unsatisfactory comparison result (an inspection, or noted)",
    },
    KindInfo {
        code: "risk_triage",
        rule: "R10.1",
        zh: "研判计量站报送的风险报告",
        en: "Triage a station's risk report",
    },
    KindInfo {
        code: "warning_acknowledge",
        rule: "R10.1",
        zh: "阅读预警并确认收到",
        en: "Read the warning and acknowledge it",
    },
    KindInfo {
        code: "calendar_load",
        rule: "R18.1",
        zh: "载入下一年度节假日安排",
        en: "Load next year's holiday calendar",
    },
];

pub fn kind_info(code: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|k| k.code == code)
}

use Role::*;

/// How far ahead dated deadlines are listed (the longest lead time).
pub const HORIZON_DAYS: u64 = 366;

/// Everything that waits for `org` (`None`: every organization): only the
/// kinds an organization of its kind can have are read.
pub async fn collect(
    conn: &mut PgConnection,
    org: Option<(Uuid, OrgKind)>,
    cal: &Calendar,
    today: NaiveDate,
) -> Result<Vec<RawTask>> {
    let mut out = Vec::new();
    let horizon = today
        .checked_add_days(chrono::Days::new(HORIZON_DAYS))
        .unwrap_or(today);
    if org.is_none_or(|o| o.1 != OrgKind::Platform) {
        deadlines(conn, org, cal, today, horizon, &mut out).await?;
    }
    Ok(out)
}

fn request_kind_name(kind: &str) -> &'static str {
    match kind {
        "head" => "站长任命",
        "adjustment" => "授权调整",
        "reexamination" => "复查",
        "termination" => "终止授权",
        _ => "申请",
    }
}

/// Every kind, in one statement (one round trip for a task list):
/// applications (R6.4–R8.1), lifecycle requests (R11.1, R3.1), a station's
/// standards (R12.3, R16.4) and qualifications (R16.6), inspections
/// (R17.2), rectification orders (R18.1, R18.2), standards' change requests
/// (R9.1), re-examinations due (R14.1), terminations taking effect (R15.2),
/// comparisons (R9.2), risk reports and warnings (R10.1). Each row: kind,
/// record, the organization that acts and its kind, subject, link, due
/// date, assignees, the organization it escalates to, and for an
/// application or a request the dates and details its clock is computed
/// from here (on the working-day calendar).
async fn deadlines(
    conn: &mut PgConnection,
    org: Option<(Uuid, OrgKind)>,
    cal: &Calendar,
    today: NaiveDate,
    horizon: NaiveDate,
    out: &mut Vec<RawTask>,
) -> Result<()> {
    type Row = (
        String,
        Uuid,
        Uuid,
        String,
        String,
        String,
        Option<NaiveDate>,
        Vec<Uuid>,
        Option<Uuid>,
        Option<Vec<Option<NaiveDate>>>,
        Option<Vec<Option<String>>>,
    );
    let reassessment = crate::rules::standards::ReassessmentPolicy::default();
    let window = crate::rules::calendar::add_months(
        today,
        crate::lifecycle::store::REEXAMINATION_WINDOW_MONTHS,
    );
    // A branch whose records an organization of the caller's kind never
    // acts on is `false`: the planner drops it from the statement.
    use OrgKind::{Department, Regulator, Station};
    let acts = |kinds: &[OrgKind], cond: &str| match org {
        Some((_, k)) if !kinds.contains(&k) => "false".to_owned(),
        _ => by_org(org.map(|o| o.0), cond),
    };
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "select u.kind, u.entity, u.org, u.org_kind,
                case when u.station is null then u.subject when u.subject is null then o.name
                     else o.name || ' · ' || u.subject end,
                u.link, u.due_on, u.assignees, u.escalate_org, u.dates, u.detail
           from (
         -- R6.4, R7.1, R8.1: the regulator's step on an application; R6.4:
         -- the department corrects it (its clock paused, no due date).
         select case a.state when 'submitted' then 'application_accept'
                  when 'accepted' then 'application_assess' when 'assessment' then 'application_assess'
                  when 'assessed' then 'application_propose' when 'proposed' then 'application_decide'
                  else 'application_correct' end as kind,
                a.application_id as entity,
                case a.state when 'correction_requested' then a.department_id else a.regulator_id end as org,
                case a.state when 'correction_requested' then 'department' else 'regulator' end as org_kind,
                a.station_id as station, null::text as subject, '/applications/' || a.application_id as link,
                null::date as due_on, '{{}}'::uuid[] as assignees, null::uuid as escalate_org,
                array[a.submitted_on, a.correction_on, a.resubmitted_on, a.accepted_on, a.assessed_on,
                      a.correction_deadline] as dates,
                array[a.state, a.assessment_outcome] as detail
           from application a
          where a.state in ('submitted', 'accepted', 'assessment', 'assessed', 'proposed', 'correction_requested')
            and (a.state = 'correction_requested' or a.regulator_id is not null) and {application}
         union all
         -- R11.1: a request to propose or decide; R3.1: a head's
         -- appointment recorded, to acknowledge.
         select case r.state when 'submitted' then 'request_propose' when 'proposed' then 'request_decide'
                  else 'request_acknowledge' end,
                r.request_id, r.regulator_id, 'regulator', r.station_id, null, '/requests/' || r.request_id,
                null::date, '{{}}'::uuid[], null::uuid, array[r.filed_on],
                array[r.state, r.kind, r.payload->>'scheduled_on']
           from lifecycle_request r
          where r.state in ('submitted', 'proposed', 'recorded') and {request}
         union all
         -- R12.3: apply for re-assessment {months} months before the
         -- certificate expires (the date computed here, with the rule's
         -- month arithmetic); R16.4: the latest traceability's due date (none
         -- yet: due now). Standards in service, within the horizon or past.
         select 'standard_reassessment', m.standard_id, m.station_id, 'station', null, m.name,
                '/standards/' || m.standard_id, null::date, '{{}}'::uuid[], null::uuid,
                array[m.cert_expires_on], null
           from measurement_standard m
          where m.status = 'in_service' and {standard}
            -- A superset (every expiry before the month after horizon + N
            -- months); the rule's month-end arithmetic decides in Rust.
            and m.cert_expires_on < (date_trunc('month', $4::date) + interval '{months_after} months')::date
         union all
         select 'standard_traceability', m.standard_id, m.station_id, 'station', null, m.name,
                '/standards/' || m.standard_id, coalesce(t.due_on, $2), '{{}}'::uuid[], null::uuid, null, null
           from measurement_standard m
           left join lateral (select max(t.due_on) as due_on from traceability_record t
                               where t.standard_id = m.standard_id) t on true
          where m.status = 'in_service' and coalesce(t.due_on, $2) <= $4 and {standard}
         union all
         -- R16.6: a qualification expiring (the latest of a serving person
         -- of its kind; an expired one stays until renewed).
         select 'qualification_expiry', q.qualification_id, p.station_id, 'station', null,
                p.name || ' · ' || q.certificate_number, '/staff', q.expires_on, '{{}}'::uuid[],
                null::uuid, null, null
           from qualification q join staff_member p on p.staff_member_id = q.staff_member_id
          where q.expires_on <= $4 and p.active and {staff}
            and not exists (select 1 from qualification n where n.staff_member_id = q.staff_member_id
                              and n.kind = q.kind and n.expires_on > q.expires_on)
         union all
         select case i.state when 'planned' then 'inspection_record' else 'inspection_approve' end,
                i.inspection_id, i.org_id, i.org_kind, i.station_id, null, '/inspections/' || i.inspection_id,
                case i.state when 'planned' then i.planned_on end,
                case i.state when 'planned' then i.inspectors else '{{}}'::uuid[] end, null::uuid, null, null
           from inspection i
          where i.state in ('planned', 'recorded') and {inspection}
         union all
         -- R18.1: the station reports by the due date in force; R18.2: an
         -- overdue one escalates to its competent department.
         select case r.state when 'open' then 'order_report' when 'reported' then 'order_accept' else 'order_close' end,
                r.order_id, case r.state when 'open' then r.station_id else r.issuer_id end,
                case r.state when 'open' then 'station' else io.kind end, r.station_id, null,
                '/rectification-orders/' || r.order_id,
                case r.state when 'open' then coalesce(r.extended_due_on, r.due_on) end,
                '{{}}'::uuid[], case r.state when 'open' then r.department_id end, null, null
           from rectification_order r
           join organization io on io.organization_id = r.issuer_id
          where r.state in ('open', 'reported', 'closing') and {order}
         union all
         select case c.state when 'submitted' then 'change_propose' else 'change_decide' end,
                c.change_request_id, c.decider_org_id, 'regulator', c.station_id, m.name,
                '/change-requests/' || c.change_request_id, null::date, '{{}}'::uuid[], null::uuid, null, null
           from standard_change_request c
           join measurement_standard m on m.standard_id = c.standard_id
          where c.state in ('submitted', 'proposed') and {change}
         union all
         -- R14.1: an active authorization expiring within the window with
         -- no re-examination under way: both sides are reminded.
         select 'reexamination', a.authorization_id, x.org, x.kind, a.station_id, null,
                '/authorizations/' || a.authorization_id || '/versions', a.valid_until, '{{}}'::uuid[],
                null::uuid, null, null
           from station_authorization a
           cross join lateral (values (a.station_id, 'station'), (a.regulator_id, 'regulator')) x(org, kind)
          where a.status = 'active' and a.valid_until <= $3 and {reexamination}
            and not exists (select 1 from lifecycle_request r where r.authorization_id = a.authorization_id
                              and r.kind = 'reexamination'
                              and r.state not in ('refused', 'withdrawn', 'completed'))
         union all
         -- R15.2: an approved termination taking effect.
         select 'termination_effective', r.request_id, x.org, x.kind, r.station_id, null,
                '/requests/' || r.request_id, r.effective_on, '{{}}'::uuid[], null::uuid, null, null
           from lifecycle_request r
           cross join lateral (values (r.station_id, 'station'), (r.department_id, 'department')) x(org, kind)
          where r.kind = 'termination' and r.state = 'approved' and r.effective_on >= $2 and {termination}
         union all
         select 'comparison_submit', c.comparison_id, p.station_id, 'station', null, c.title,
                '/comparisons/' || c.comparison_id, c.results_due_on, '{{}}'::uuid[], null::uuid, null, null
           from comparison c join comparison_participant p on p.comparison_id = c.comparison_id
          where c.state = 'open' and p.submitted_at is null and {participant}
         union all
         select 'comparison_change', c.comparison_id, c.organizer_id, o.kind,
                null, c.title || ' · ' || string_agg(p.lab_code, '、' order by p.lab_code),
                '/comparisons/' || c.comparison_id, null::date, '{{}}'::uuid[], null::uuid, null, null
           from comparison c join comparison_participant p on p.comparison_id = c.comparison_id
           join organization o on o.organization_id = c.organizer_id
          where c.state in ('open', 'closed') and p.change_requested_at is not null and {organizer}
          group by c.comparison_id, c.organizer_id, o.kind, c.title
         union all
         select case c.state when 'open' then 'comparison_close' else 'comparison_report' end,
                c.comparison_id, c.organizer_id, o.kind, null, c.title, '/comparisons/' || c.comparison_id,
                case c.state when 'open' then c.results_due_on end, '{{}}'::uuid[], null::uuid, null, null
           from comparison c join organization o on o.organization_id = c.organizer_id
          where c.state in ('open', 'closed', 'draft_a') and {organizer}
         union all
         select 'comparison_corrective', c.comparison_id, p.station_id, 'station', null, c.title,
                '/comparisons/' || c.comparison_id, null::date, '{{}}'::uuid[], null::uuid, null, null
           from comparison c join comparison_participant p on p.comparison_id = c.comparison_id
          where c.state = 'final' and p.satisfactory = false and p.corrective_action is null and {participant}
         union all
         select 'comparison_follow_up', c.comparison_id, s.authorizing_regulator_id, 'regulator',
                null, c.title || ' · ' || string_agg(so.name, '、' order by so.name),
                '/comparisons/' || c.comparison_id, null::date, '{{}}'::uuid[], null::uuid, null, null
           from comparison c join comparison_participant p on p.comparison_id = c.comparison_id
           join station s on s.station_id = p.station_id
           join organization so on so.organization_id = p.station_id
          where c.state = 'final' and p.satisfactory = false and p.follow_up is null
            and s.authorizing_regulator_id is not null and {authorizer}
          group by c.comparison_id, s.authorizing_regulator_id, c.title
         union all
         select 'risk_triage', r.risk_report_id, r.regulator_id, 'regulator', r.station_id, r.title,
                '/risks/' || r.risk_report_id, null::date, '{{}}'::uuid[], null::uuid, null, null
           from risk_report r
          where r.state in ('received', 'assessing') and {regulator}
         union all
         select 'warning_acknowledge', w.warning_id, x.org_id, o.kind, null, w.title,
                '/warnings/' || w.warning_id, w.valid_until, '{{}}'::uuid[], null::uuid, null, null
           from warning_recipient x join warning w on w.warning_id = x.warning_id
           join organization o on o.organization_id = x.org_id
          where x.acknowledged_at is null and w.valid_until >= $2 and {recipient}
         ) u
         -- The station a record is about, named once for the whole list
         -- (not joined in every branch, each building the row policy's
         -- visible set again); a record of a station the caller does not
         -- see is not listed. A lookup by key per listed row: the limit
         -- keeps the planner from scanning every organization to hash them
         -- (0.9 ms at national scale).
         left join lateral (select o.organization_id, o.name from organization o
                             where o.organization_id = u.station limit 1) o on true
          where u.station is null or o.organization_id is not null",
        application = acts(&[Regulator, Department], "a.regulator_id = $1 or a.department_id = $1"),
        request = acts(&[Regulator], "r.regulator_id = $1"),
        standard = acts(&[Station], "m.station_id = $1"),
        staff = acts(&[Station], "p.station_id = $1"),
        months = reassessment.months_before_expiry,
        months_after = reassessment.months_before_expiry + 1,
        inspection = acts(&[Regulator, Department], "i.org_id = $1"),
        order = acts(
            &[Station, Regulator, Department],
            "r.station_id = $1 or r.issuer_id = $1 or r.department_id = $1"
        ),
        change = acts(&[Regulator], "c.decider_org_id = $1"),
        reexamination = acts(
            &[Station, Regulator],
            "x.org = $1 and (a.station_id = $1 or a.regulator_id = $1)"
        ),
        termination = acts(
            &[Station, Department],
            "x.org = $1 and (r.station_id = $1 or r.department_id = $1)"
        ),
        participant = acts(&[Station], "p.station_id = $1"),
        organizer = acts(&[Station, Regulator], "c.organizer_id = $1"),
        authorizer = acts(&[Regulator], "s.authorizing_regulator_id = $1"),
        regulator = acts(&[Regulator], "r.regulator_id = $1"),
        recipient = acts(&[Station, Department], "x.org_id = $1"),
    ))
    .bind(org.map(|o| o.0))
    .bind(today)
    .bind(window)
    .bind(horizon)
    .fetch_all(&mut *conn)
    .await?;
    for (
        kind,
        entity,
        org_id,
        org_kind,
        subject,
        link,
        due_on,
        assignees,
        escalate_org,
        dates,
        detail,
    ) in rows
    {
        let regulator = org_kind == "regulator";
        let (subject, due_on) = match (kind.as_str(), dates, detail) {
            // The clock pauses while the department corrects (R6.4).
            ("application_correct", _, _) => (subject, None),
            ("standard_reassessment", Some(dates), _) => {
                let Some(expires) = dates.first().copied().flatten() else {
                    continue;
                };
                let apply_by = sub_months(expires, reassessment.months_before_expiry);
                if apply_by > horizon {
                    continue;
                }
                (format!("{subject}（证书 {expires} 到期）"), Some(apply_by))
            }
            (k, Some(dates), Some(detail)) if k.starts_with("application_") => {
                let d = |i: usize| dates.get(i).copied().flatten();
                let dates = [d(0), d(1), d(2), d(3), d(4), d(5)];
                let text = |i: usize| detail.get(i).cloned().flatten();
                let state = text(0).unwrap_or_default();
                let outcome = text(1);
                let due = crate::applications::store::current_due(
                    cal,
                    &state,
                    dates,
                    outcome.as_deref(),
                    today,
                );
                (subject, due)
            }
            (k, Some(dates), Some(detail)) if k.starts_with("request_") => {
                let text = |i: usize| detail.get(i).cloned().flatten();
                let request_kind = text(1).unwrap_or_default();
                let due = if k == "request_acknowledge" {
                    None
                } else {
                    let scheduled = text(2).and_then(|s| s.parse().ok());
                    let filed = dates.first().copied().flatten();
                    crate::lifecycle::store::due_date_of(cal, &request_kind, filed, scheduled)
                };
                (
                    format!("{subject} · {}", request_kind_name(&request_kind)),
                    due,
                )
            }
            _ => (subject, due_on),
        };
        let roles: &'static [Role] = match (kind.as_str(), org_kind.as_str()) {
            ("application_accept" | "application_assess" | "application_propose", _) => &[Reviewer],
            ("application_decide" | "request_decide", _) => &[Approver],
            ("application_correct", _) => &[Officer, Admin],
            ("request_propose", _) => &[Reviewer],
            ("request_acknowledge", _) => &[Reviewer, Approver],
            ("inspection_record", "regulator") => &[Inspector, Reviewer],
            ("inspection_approve" | "order_close", "regulator") => &[Approver],
            ("order_accept", "regulator") => &[Reviewer, Inspector],
            ("inspection_record" | "inspection_approve" | "order_accept" | "order_close", _) => {
                &[Officer, Admin]
            }
            ("order_report", _) => &[Staff, Admin],
            ("change_propose" | "comparison_follow_up", _) => &[Reviewer],
            ("change_decide", _) => &[Approver],
            ("reexamination", "regulator") => &[Reviewer],
            ("reexamination" | "termination_effective", "station") => &[Admin, Staff],
            ("termination_effective", _) => &[Officer, Admin],
            ("warning_acknowledge", "department") => &[Officer, Admin],
            ("warning_acknowledge", _) => &[Staff, Admin, Head],
            _ if regulator => &[Reviewer, Approver],
            _ => &[Staff, Admin],
        };
        out.push(RawTask {
            kind: static_kind(&kind),
            entity,
            org_id,
            roles,
            assignees,
            escalate_org,
            subject,
            link,
            due_on,
        });
    }
    Ok(())
}

/// The organization filter of a collector: for one organization its
/// condition, for every one a test that is always true (so that each form
/// is one statement text, planned well for what it is).
fn by_org(org: Option<Uuid>, cond: &str) -> String {
    match org {
        Some(_) => format!("({cond})"),
        None => "$1::uuid is null".into(),
    }
}

/// The code as the static string of [`KINDS`].
fn static_kind(code: &str) -> &'static str {
    kind_info(code).map_or("unknown", |k| k.code)
}
