//! Risk reports and warnings in the database (R10.1).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::audit::{self, Event};
use crate::auth::{Ctx, OrgKind, Role};
use crate::error::{AppError, FieldError, Result};
use crate::standards::documents::DocumentInfo;

/// Severities, mildest first.
pub const SEVERITIES: [&str; 4] = ["low", "medium", "high", "critical"];
/// The stages of a risk report.
pub const REPORT_STATES: [&str; 4] = ["received", "assessing", "dismissed", "confirmed"];

pub fn severity_label(s: &str, en: bool) -> &'static str {
    match (s, en) {
        ("low", false) => "低",
        ("low", true) => "Low",
        ("medium", false) => "中",
        ("medium", true) => "Medium",
        ("high", false) => "高",
        ("high", true) => "High",
        ("critical", false) => "严重",
        ("critical", true) => "Critical",
        _ => "",
    }
}

pub fn state_label(s: &str, en: bool) -> &'static str {
    match (s, en) {
        ("received", false) => "已收到",
        ("received", true) => "Received",
        ("assessing", false) => "评估中",
        ("assessing", true) => "Under assessment",
        ("dismissed", false) => "不予采纳",
        ("dismissed", true) => "Dismissed",
        ("confirmed", false) => "已确认",
        ("confirmed", true) => "Confirmed",
        _ => "",
    }
}

/// A risk report as read.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct RiskReport {
    pub id: Uuid,
    pub station_id: Uuid,
    pub station_code: String,
    pub station_name: String,
    pub regulator_id: Uuid,
    pub regulator_name: String,
    pub field: String,
    /// low, medium, high, critical.
    pub severity: String,
    pub title: String,
    pub description: String,
    /// Affected items or instruments.
    pub affected: String,
    /// received, assessing, dismissed, confirmed.
    pub state: String,
    pub decision_reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub version: i32,
    /// The warning published from it, if any.
    pub warning_id: Option<Uuid>,
    #[sqlx(skip)]
    pub documents: Vec<DocumentInfo>,
}

/// Filing a risk report (a station).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskReportInput {
    /// Defaults to the station's field.
    pub field: Option<String>,
    pub severity: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub affected: Option<String>,
}

/// A triage step: assess, dismiss (with `reason`), confirm.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriageInput {
    pub version: Option<i32>,
    pub reason: Option<String>,
}

/// Who receives a warning: stations and/or their competent departments,
/// among the stations the regulator supervises, by field and region.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Audience {
    #[serde(default)]
    pub stations: bool,
    #[serde(default)]
    pub departments: bool,
    /// The stations' field, exactly (empty: any).
    pub field: Option<String>,
    /// A GB/T 2260 code: stations located in it (empty: anywhere).
    pub region: Option<String>,
}

/// Publishing a warning 预警.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WarningInput {
    /// The confirmed risk report it comes from (optional).
    pub risk_report_id: Option<Uuid>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub severity: Option<String>,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    #[serde(default)]
    pub audience: Audience,
}

/// A warning as its issuer or a recipient sees it.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Warning {
    pub id: Uuid,
    pub regulator_id: Uuid,
    pub regulator_name: String,
    pub risk_report_id: Option<Uuid>,
    pub title: String,
    pub body: String,
    pub severity: String,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    #[schema(value_type = Object)]
    pub audience: serde_json::Value,
    pub created_at: DateTime<Utc>,
    /// Recipients (the issuer sees every one; a recipient only itself).
    pub recipients: i64,
    pub acknowledged: i64,
    /// The caller's organization's acknowledgement, when a recipient.
    pub my_acknowledged_at: Option<DateTime<Utc>>,
    pub is_recipient: bool,
}

/// A recipient and its acknowledgement (the issuer's view).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Recipient {
    pub org_id: Uuid,
    pub name: String,
    /// station, department.
    pub kind: String,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by_name: Option<String>,
}

fn text(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn severity_ok(v: &Option<String>, errors: &mut Vec<FieldError>) {
    match text(v) {
        Some(s) if SEVERITIES.contains(&s) => {}
        Some(_) => errors.push(FieldError::new(
            "severity",
            "invalid",
            "严重程度应为 low、medium、high 或 critical",
            "severity is one of low, medium, high, critical",
        )),
        None => errors.push(FieldError::required("severity")),
    }
}

/// R10.1: a station files a risk report to its authorizing regulator.
pub async fn report_create(
    conn: &mut PgConnection,
    ctx: &Ctx,
    input: &RiskReportInput,
) -> Result<Uuid> {
    if ctx.org_kind != OrgKind::Station || !(ctx.has(Role::Staff) || ctx.has(Role::Admin)) {
        return Err(AppError::forbidden(
            "风险报告由计量站工作人员填报",
            "A station's staff files risk reports",
        ));
    }
    let mut errors = Vec::new();
    severity_ok(&input.severity, &mut errors);
    for f in ["title", "description"] {
        let v = if f == "title" {
            &input.title
        } else {
            &input.description
        };
        if text(v).is_none() {
            errors.push(FieldError::required(f));
        }
    }
    crate::web::check_lengths(
        &[
            ("field", input.field.as_deref(), 100),
            ("title", input.title.as_deref(), 200),
            ("description", input.description.as_deref(), 5000),
            ("affected", input.affected.as_deref(), 2000),
        ],
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let (regulator, field): (Option<Uuid>, String) =
        sqlx::query_as("select authorizing_regulator_id, field from station where station_id = $1")
            .bind(ctx.org_id)
            .fetch_one(&mut *conn)
            .await?;
    let Some(regulator) = regulator else {
        return Err(AppError::Conflict {
            code: "no_regulator",
            zh: "本站尚无授权机关，无法报送风险报告".into(),
            en: "The station has no authorizing regulator to report to".into(),
        });
    };
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into risk_report (risk_report_id, station_id, regulator_id, field, severity, title,
            description, affected, filed_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(ctx.org_id)
    .bind(regulator)
    .bind(text(&input.field).unwrap_or(&field))
    .bind(text(&input.severity))
    .bind(text(&input.title))
    .bind(text(&input.description))
    .bind(input.affected.as_deref().unwrap_or("").trim())
    .bind(ctx.user_id)
    .execute(&mut *conn)
    .await?;
    let station = crate::orgs::store::org_name(&mut *conn, ctx.org_id).await?;
    let sev = text(&input.severity).unwrap_or_default();
    let note = crate::notifications::Note::new("risk.filed", format!("/risks/{id}"))
        .p("station", station)
        .p("title", text(&input.title).unwrap_or_default())
        .p2(
            "severity",
            severity_label(sev, false),
            severity_label(sev, true),
        );
    crate::notifications::send(conn, &[regulator], &note).await?;
    audit::record(
        conn,
        ctx,
        Event::new("risk_report.file", "risk_report", id).after(&serde_json::json!({
            "severity": input.severity, "title": input.title, "regulator": regulator,
        })),
    )
    .await?;
    Ok(id)
}

const REPORT_SELECT: &str =
    "select r.risk_report_id as id, r.station_id, s.code as station_code, so.name as station_name,
            r.regulator_id, ro.name as regulator_name, r.field, r.severity, r.title, r.description,
            r.affected, r.state, r.decision_reason, r.decided_at, r.created_at, r.version,
            (select w.warning_id from warning w where w.risk_report_id = r.risk_report_id) as warning_id
       from risk_report r
       join station s on s.station_id = r.station_id
       join organization so on so.organization_id = r.station_id
       join organization ro on ro.organization_id = r.regulator_id";

/// One risk report the caller may see (its station, its regulator).
pub async fn report_get(conn: &mut PgConnection, id: Uuid) -> Result<RiskReport> {
    let mut r: RiskReport = sqlx::query_as(&format!("{REPORT_SELECT} where r.risk_report_id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(AppError::NotFound)?;
    r.documents = crate::standards::documents::list(conn, "risk_report", id).await?;
    Ok(r)
}

/// The risk reports the caller may see, newest first (keyset on the id).
pub async fn reports(
    conn: &mut PgConnection,
    state: Option<&str>,
    severity: Option<&str>,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<RiskReport>> {
    Ok(sqlx::query_as(&format!(
        "{REPORT_SELECT}
          where ($1::text is null or r.state = $1) and ($2::text is null or r.severity = $2)
            and ($3::uuid is null or r.risk_report_id < $3)
          order by r.risk_report_id desc limit $4"
    ))
    .bind(state)
    .bind(severity)
    .bind(before)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// R10.1 triage by the authorizing regulator: assess (received →
/// assessing), dismiss (with reasons), confirm.
pub async fn report_step(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    step: &str,
    input: &TriageInput,
) -> Result<()> {
    let r = report_get(conn, id).await?;
    if !matches!(step, "assess" | "dismiss" | "confirm") {
        return Err(AppError::NotFound);
    }
    if r.regulator_id != ctx.org_id || !(ctx.has(Role::Reviewer) || ctx.has(Role::Approver)) {
        return Err(AppError::forbidden(
            "风险报告由计量站的授权机关审查员或审批人研判",
            "The station's authorizing regulator (a reviewer or approver) triages",
        ));
    }
    let v = crate::web::need_version(input.version)?;
    let from: &[&str] = if step == "assess" {
        &["received"]
    } else {
        &["received", "assessing"]
    };
    if !from.contains(&r.state.as_str()) {
        return Err(AppError::Conflict {
            code: "wrong_state",
            zh: "风险报告当前状态不能办理此步骤".into(),
            en: "The report is not at a stage for this step".into(),
        });
    }
    let mut errors = Vec::new();
    crate::web::check_lengths(&[("reason", input.reason.as_deref(), 2000)], &mut errors);
    if step == "dismiss" && text(&input.reason).is_none() {
        errors.push(FieldError::new(
            "reason",
            "required",
            "不予采纳须说明理由",
            "Say why the report is dismissed",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let state = match step {
        "assess" => "assessing",
        "dismiss" => "dismissed",
        _ => "confirmed",
    };
    let decided = step != "assess";
    let n = sqlx::query(
        "update risk_report set state = $3,
            decision_reason = case when $4 then $5 else decision_reason end,
            decided_by = case when $4 then $6 else decided_by end,
            decided_at = case when $4 then now() else decided_at end,
            updated_at = now(), version = version + 1
          where risk_report_id = $1 and version = $2",
    )
    .bind(id)
    .bind(v)
    .bind(state)
    .bind(decided)
    .bind(text(&input.reason))
    .bind(ctx.user_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::stale());
    }
    if decided {
        let note = crate::notifications::Note::new("risk.decided", format!("/risks/{id}"))
            .p("title", &r.title)
            .p("regulator", &r.regulator_name)
            .p2(
                "verdict",
                state_label(state, false),
                state_label(state, true),
            )
            .p("reason", text(&input.reason).unwrap_or_default());
        crate::notifications::send(conn, &[r.station_id], &note).await?;
    }
    audit::record(
        conn,
        ctx,
        Event::new(
            match step {
                "assess" => "risk_report.assess",
                "dismiss" => "risk_report.dismiss",
                _ => "risk_report.confirm",
            },
            "risk_report",
            id,
        )
        .before(&serde_json::json!({"state": r.state}))
        .after(&serde_json::json!({"state": state, "reason": input.reason})),
    )
    .await?;
    Ok(())
}

/// A region code as typed: six digits, a known division.
async fn region_of(conn: &mut PgConnection, a: &Audience) -> Result<Option<String>> {
    let Some(code) = text(&a.region) else {
        return Ok(None);
    };
    let known: bool = sqlx::query_scalar("select exists (select 1 from division where code = $1)")
        .bind(code)
        .fetch_one(&mut *conn)
        .await?;
    if !known {
        return Err(AppError::field(
            "region",
            "unknown",
            format!("“{code}”不是有效的行政区划代码（GB/T 2260）"),
            format!("“{code}” is not a GB/T 2260 division code"),
        ));
    }
    Ok(Some(code.to_owned()))
}

/// The recipients an audience names, among the stations the caller
/// supervises or authorizes (station_access): stations and/or their
/// competent departments.
const AUDIENCE_SQL: &str = "with s as (
      select distinct st.station_id, st.department_id
        from station_access a
        join station st on st.station_id = a.station_id
        join division d on d.code = st.location_division
       where a.org_id = $1 and st.status in ('authorized', 'suspended')
         and ($2::text is null or st.field = $2)
         and ($3::text is null or $3 in (d.code, d.city_code, d.province_code)))
    select station_id as org_id from s where $4
    union
    select department_id from s where $5";

/// How many organizations an audience reaches (a preview before publishing).
pub async fn audience_count(
    conn: &mut PgConnection,
    ctx: &Ctx,
    a: &Audience,
) -> Result<(i64, i64)> {
    let region = region_of(conn, a).await?;
    let field = text(&a.field);
    let row: (i64, i64) = sqlx::query_as(&format!(
        "select count(*) filter (where o.kind = 'station'), count(*) filter (where o.kind = 'department')
           from ({AUDIENCE_SQL}) x join organization o on o.organization_id = x.org_id"
    ))
    .bind(ctx.org_id)
    .bind(field)
    .bind(region.as_deref())
    .bind(a.stations)
    .bind(a.departments)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row)
}

/// R10.1: a regulator publishes a warning to the organizations its
/// audience names (at least one).
pub async fn warning_publish(
    conn: &mut PgConnection,
    ctx: &Ctx,
    input: &WarningInput,
) -> Result<Uuid> {
    if ctx.org_kind != OrgKind::Regulator || !(ctx.has(Role::Reviewer) || ctx.has(Role::Approver)) {
        return Err(AppError::forbidden(
            "预警由市场监管部门的审查员或审批人发布",
            "A regulator's reviewer or approver publishes warnings",
        ));
    }
    let mut errors = Vec::new();
    severity_ok(&input.severity, &mut errors);
    if text(&input.title).is_none() {
        errors.push(FieldError::required("title"));
    }
    if text(&input.body).is_none() {
        errors.push(FieldError::required("body"));
    }
    crate::web::check_lengths(
        &[
            ("title", input.title.as_deref(), 200),
            ("body", input.body.as_deref(), 5000),
            ("field", input.audience.field.as_deref(), 100),
        ],
        &mut errors,
    );
    let from = input.valid_from.unwrap_or_else(crate::web::today);
    crate::web::check_date("valid_from", Some(from), &mut errors);
    match input.valid_until {
        None => errors.push(FieldError::required("valid_until")),
        Some(u) if u < from => errors.push(FieldError::new(
            "valid_until",
            "before_start",
            "有效期截止日期不能早于开始日期",
            "The warning ends on or after it starts",
        )),
        u => crate::web::check_date("valid_until", u, &mut errors),
    }
    if !input.audience.stations && !input.audience.departments {
        errors.push(FieldError::new(
            "audience",
            "required",
            "请选择接收对象：计量站、主管部门或两者",
            "Choose the recipients: stations, competent departments or both",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if let Some(rid) = input.risk_report_id {
        let r = report_get(conn, rid).await?;
        if r.regulator_id != ctx.org_id || r.state != "confirmed" {
            return Err(AppError::Conflict {
                code: "not_confirmed",
                zh: "只能依据本机关已确认的风险报告发布预警".into(),
                en: "A warning comes from a risk report this regulator confirmed".into(),
            });
        }
    }
    let region = region_of(conn, &input.audience).await?;
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into warning (warning_id, regulator_id, risk_report_id, title, body, severity,
            valid_from, valid_until, audience, published_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(ctx.org_id)
    .bind(input.risk_report_id)
    .bind(text(&input.title))
    .bind(text(&input.body))
    .bind(text(&input.severity))
    .bind(from)
    .bind(input.valid_until)
    .bind(serde_json::to_value(&input.audience).unwrap_or_default())
    .bind(ctx.user_id)
    .execute(&mut *conn)
    .await?;
    let n = sqlx::query(&format!(
        "insert into warning_recipient (warning_id, org_id) select $6, org_id from ({AUDIENCE_SQL}) x"
    ))
    .bind(ctx.org_id)
    .bind(text(&input.audience.field))
    .bind(region.as_deref())
    .bind(input.audience.stations)
    .bind(input.audience.departments)
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::field(
            "audience",
            "empty",
            "没有符合条件的接收单位：请放宽专业领域或地区",
            "No organization matches: widen the field or the region",
        ));
    }
    let recipients: Vec<Uuid> =
        sqlx::query_scalar("select org_id from warning_recipient where warning_id = $1")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    let regulator = crate::orgs::store::org_name(&mut *conn, ctx.org_id).await?;
    let sev = text(&input.severity).unwrap_or_default();
    let note = crate::notifications::Note::new("warning.published", format!("/warnings/{id}"))
        .p("title", text(&input.title).unwrap_or_default())
        .p("regulator", regulator)
        .p2(
            "severity",
            severity_label(sev, false),
            severity_label(sev, true),
        )
        .p(
            "until",
            input.valid_until.map(|d| d.to_string()).unwrap_or_default(),
        );
    crate::notifications::send(conn, &recipients, &note).await?;
    audit::record(
        conn,
        ctx,
        Event::new("warning.publish", "warning", id).after(&serde_json::json!({
            "title": input.title, "severity": input.severity, "risk_report": input.risk_report_id,
            "audience": input.audience, "recipients": n,
        })),
    )
    .await?;
    Ok(id)
}

const WARNING_SELECT: &str = "select w.warning_id as id, w.regulator_id, o.name as regulator_name, w.risk_report_id,
        w.title, w.body, w.severity, w.valid_from, w.valid_until, w.audience, w.created_at,
        (select count(*) from warning_recipient r where r.warning_id = w.warning_id) as recipients,
        (select count(*) from warning_recipient r where r.warning_id = w.warning_id
           and r.acknowledged_at is not null) as acknowledged,
        (select r.acknowledged_at from warning_recipient r where r.warning_id = w.warning_id
           and r.org_id = $1) as my_acknowledged_at,
        exists (select 1 from warning_recipient r where r.warning_id = w.warning_id and r.org_id = $1) as is_recipient
   from warning w join organization o on o.organization_id = w.regulator_id";

/// One warning the caller issued or received.
pub async fn warning_get(conn: &mut PgConnection, ctx: &Ctx, id: Uuid) -> Result<Warning> {
    sqlx::query_as(&format!("{WARNING_SELECT} where w.warning_id = $2"))
        .bind(ctx.org_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(AppError::NotFound)
}

/// The warnings the caller issued or received, newest first;
/// `pending` keeps those its organization has not acknowledged.
pub async fn warnings(
    conn: &mut PgConnection,
    ctx: &Ctx,
    pending: bool,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Warning>> {
    Ok(sqlx::query_as(&format!(
        "{WARNING_SELECT}
          where ($2::uuid is null or w.warning_id < $2)
            and (not $3 or exists (select 1 from warning_recipient r where r.warning_id = w.warning_id
                                     and r.org_id = $1 and r.acknowledged_at is null))
          order by w.warning_id desc limit $4"
    ))
    .bind(ctx.org_id)
    .bind(before)
    .bind(pending)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// The recipients of a warning (its issuer only; others see none),
/// keyset on the organization id; `ack` all, pending or done.
pub async fn recipients(
    conn: &mut PgConnection,
    id: Uuid,
    ack: Option<bool>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Recipient>> {
    Ok(sqlx::query_as(
        "select r.org_id, o.name, o.kind, r.acknowledged_at, r.acknowledged_by_name
           from warning_recipient r
           join organization o on o.organization_id = r.org_id
          where r.warning_id = $1 and warning_is_issuer(r.warning_id)
            and ($2::boolean is null or (r.acknowledged_at is not null) = $2)
            and ($3::uuid is null or r.org_id > $3)
          order by r.org_id limit $4",
    )
    .bind(id)
    .bind(ack)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// R10.1: a recipient acknowledges a warning, once.
pub async fn acknowledge(conn: &mut PgConnection, ctx: &Ctx, id: Uuid) -> Result<()> {
    let w = warning_get(conn, ctx, id).await?;
    if !w.is_recipient {
        return Err(AppError::NotFound);
    }
    let n = sqlx::query(
        "update warning_recipient set acknowledged_at = now(), acknowledged_by = $3,
            acknowledged_by_name = $4
          where warning_id = $1 and org_id = $2 and acknowledged_at is null",
    )
    .bind(id)
    .bind(ctx.org_id)
    .bind(ctx.user_id)
    .bind(ctx.display_name.chars().take(100).collect::<String>())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::Conflict {
            code: "already_acknowledged",
            zh: "本单位已确认收到该预警".into(),
            en: "Your organization has already acknowledged this warning".into(),
        });
    }
    audit::record(
        conn,
        ctx,
        Event::new("warning.acknowledge", "warning", id)
            .after(&serde_json::json!({"org": ctx.org_id})),
    )
    .await?;
    Ok(())
}

/// Evidence of a risk report: its station, while it is being triaged.
pub async fn upload(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    filename: &str,
    bytes: &[u8],
) -> Result<DocumentInfo> {
    let content_type = crate::standards::documents::sniff(filename, bytes)?;
    let r = report_get(conn, id).await?;
    if r.station_id != ctx.org_id || !matches!(r.state.as_str(), "received" | "assessing") {
        return Err(AppError::forbidden(
            "只有报送的计量站在研判结束前可以上传文件",
            "Only the reporting station uploads, before the triage ends",
        ));
    }
    crate::standards::documents::insert_document(
        conn,
        ctx,
        r.station_id,
        "risk_report",
        id,
        None,
        filename,
        content_type,
        bytes,
    )
    .await
}
