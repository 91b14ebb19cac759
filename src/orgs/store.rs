//! SQL for organizations and users. Every function takes a tenant
//! transaction (`db::tenant_tx`); row-level security is the second line.

use serde_json::json;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::model::*;
use crate::audit::{self, Event};
use crate::auth::{Ctx, OrgKind, Role};
use crate::error::{AppError, FieldError, Result};
use crate::web::Paging;

const ORG_SELECT: &str = "select o.organization_id, o.kind, o.name, o.name_en, o.regulator_level,
       o.division_code, o.credit_code, o.address,
       o.contact_phone, o.active, o.version, o.created_at, o.updated_at,
       s.code as st_code, s.tier as st_tier, s.head_station_id, s.department_id,
       s.authorizing_regulator_id, s.location_division, s.field, s.legal_person,
       s.credit_code as st_credit_code, s.parent_entity_name, s.parent_entity_credit_code,
       s.status as st_status
  from organization o
  left join station s on s.station_id = o.organization_id";

#[derive(sqlx::FromRow)]
struct OrgRow {
    organization_id: Uuid,
    kind: String,
    name: String,
    name_en: Option<String>,
    regulator_level: Option<String>,
    division_code: Option<String>,
    credit_code: Option<String>,
    address: Option<String>,
    contact_phone: Option<String>,
    active: bool,
    version: i32,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
    st_code: Option<String>,
    st_tier: Option<String>,
    head_station_id: Option<Uuid>,
    department_id: Option<Uuid>,
    authorizing_regulator_id: Option<Uuid>,
    location_division: Option<String>,
    field: Option<String>,
    legal_person: Option<bool>,
    st_credit_code: Option<String>,
    parent_entity_name: Option<String>,
    parent_entity_credit_code: Option<String>,
    st_status: Option<String>,
}

impl OrgRow {
    fn into_model(self) -> Organization {
        let station = match (self.st_code, self.st_tier, self.department_id) {
            (Some(code), Some(tier), Some(department_id)) => Some(StationFields {
                code,
                tier: StationTier::parse(&tier).unwrap_or(StationTier::Local),
                head_station_id: self.head_station_id,
                department_id,
                authorizing_regulator_id: self.authorizing_regulator_id,
                location_division: self.location_division.unwrap_or_default(),
                field: self.field.unwrap_or_default(),
                legal_person: self.legal_person.unwrap_or(false),
                credit_code: self.st_credit_code,
                parent_entity_name: self.parent_entity_name,
                parent_entity_credit_code: self.parent_entity_credit_code,
                status: self
                    .st_status
                    .as_deref()
                    .and_then(StationStatus::parse)
                    .unwrap_or(StationStatus::Unauthorized),
            }),
            _ => None,
        };
        Organization {
            id: self.organization_id,
            kind: OrgKind::parse(&self.kind).unwrap_or(OrgKind::Department),
            name: self.name,
            name_en: self.name_en,
            regulator_level: self
                .regulator_level
                .as_deref()
                .and_then(RegulatorLevel::parse),
            // From the cached division table, not a statement (issue 14).
            division_name: self
                .division_code
                .as_deref()
                .and_then(crate::db::reference::division_path)
                .map(str::to_owned),
            division_code: self.division_code,
            credit_code: self.credit_code,
            address: self.address,
            contact_phone: self.contact_phone,
            active: self.active,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
            station,
        }
    }
}

/// Filters of the organization list.
#[derive(Debug, Clone, Default)]
pub struct OrgFilter {
    pub kind: Option<OrgKind>,
    pub q: Option<String>,
}

/// Organizations matching `filter`, one page, with the total count.
pub async fn org_list(
    conn: &mut PgConnection,
    filter: &OrgFilter,
    paging: Paging,
) -> Result<(Vec<Organization>, i64)> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(format!("{ORG_SELECT} where true"));
    push_org_filter(&mut qb, filter);
    qb.push(" order by o.kind, o.name collate zh_pinyin limit ")
        .push_bind(paging.per_page)
        .push(" offset ")
        .push_bind(paging.offset());
    let rows: Vec<OrgRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
    let mut count: QueryBuilder<Postgres> = QueryBuilder::new(
        "select count(*) from organization o left join station s on s.station_id = o.organization_id where true",
    );
    push_org_filter(&mut count, filter);
    let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
    Ok((rows.into_iter().map(OrgRow::into_model).collect(), total))
}

fn push_org_filter(qb: &mut QueryBuilder<Postgres>, filter: &OrgFilter) {
    if let Some(kind) = filter.kind {
        qb.push(" and o.kind = ").push_bind(kind.as_str());
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let like = crate::web::like_pattern(q);
        qb.push(" and (o.name ilike ")
            .push_bind(like.clone())
            .push(" or coalesce(o.name_en, '') ilike ")
            .push_bind(like.clone())
            .push(" or coalesce(s.code, '') ilike ")
            .push_bind(like)
            .push(")");
    }
}

/// One organization, or `NotFound` when it does not exist or is not visible.
/// An organization's name (the caller's own, or one its row policy shows),
/// for a notice or a heading.
pub async fn org_name(conn: &mut PgConnection, id: Uuid) -> Result<String> {
    Ok(
        sqlx::query_scalar("select name from organization where organization_id = $1")
            .bind(id)
            .fetch_one(conn)
            .await?,
    )
}

pub async fn org_get(conn: &mut PgConnection, id: Uuid) -> Result<Organization> {
    let row: Option<OrgRow> = sqlx::query_as(&format!("{ORG_SELECT} where o.organization_id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(OrgRow::into_model).ok_or(AppError::NotFound)
}

/// A short reference to an organization, for pickers.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct OrgRef {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub detail: Option<String>,
}

/// Organizations of `kind` (for select boxes): regulators with their level,
/// stations with their tier.
pub async fn org_refs(conn: &mut PgConnection, kind: OrgKind) -> Result<Vec<OrgRef>> {
    Ok(sqlx::query_as(
        "select o.organization_id as id, o.name, o.kind, coalesce(o.regulator_level, s.tier) as detail
           from organization o left join station s on s.station_id = o.organization_id
          where o.kind = $1 and o.active order by o.name collate zh_pinyin",
    )
    .bind(kind.as_str())
    .fetch_all(conn)
    .await?)
}

/// The validated, normalized values of an [`OrganizationInput`].
struct ValidOrg {
    kind: OrgKind,
    name: String,
    name_en: Option<String>,
    regulator_level: Option<RegulatorLevel>,
    division_code: Option<String>,
    credit_code: Option<String>,
    address: Option<String>,
    contact_phone: Option<String>,
    active: bool,
    station: Option<ValidStation>,
}

struct ValidStation {
    code: String,
    tier: StationTier,
    head_station_id: Option<Uuid>,
    department_id: Uuid,
    authorizing_regulator_id: Option<Uuid>,
    location_division: String,
    field: String,
    legal_person: bool,
    credit_code: Option<String>,
    parent_entity_name: Option<String>,
    parent_entity_credit_code: Option<String>,
    status: StationStatus,
}

async fn division_level(conn: &mut PgConnection, code: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("select level from division where code = $1")
            .bind(code)
            .fetch_optional(conn)
            .await?,
    )
}

/// Checks a division code against the GB/T 2260 table; `want` is the level
/// it must have, if any.
async fn check_division(
    conn: &mut PgConnection,
    errors: &mut Vec<FieldError>,
    field: &str,
    code: &str,
    want: Option<&str>,
) -> Result<()> {
    if !(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())) {
        errors.push(FieldError::new(
            field,
            "invalid_division",
            format!("行政区划代码“{code}”格式错误：应为 6 位数字（GB/T 2260）"),
            format!("Division code “{code}” is malformed: six digits expected (GB/T 2260)"),
        ));
        return Ok(());
    }
    match division_level(conn, code).await? {
        None => errors.push(FieldError::new(
            field,
            "invalid_division",
            format!("行政区划代码“{code}”不存在（GB/T 2260）"),
            format!("Division code “{code}” does not exist (GB/T 2260)"),
        )),
        Some(level) => {
            if let Some(want) = want {
                if level != want {
                    let (zh, en) = match want {
                        "province" => ("省级", "a province"),
                        "city" => ("地市级", "a city"),
                        _ => ("县级", "a county"),
                    };
                    errors.push(FieldError::new(
                        field,
                        "division_level",
                        format!("该层级的监管部门辖区须为{zh}行政区划"),
                        format!("A regulator of this level needs {en} as its jurisdiction"),
                    ));
                }
            }
        }
    }
    Ok(())
}

async fn org_kind_of(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<(String, Option<String>, Option<String>)>> {
    Ok(sqlx::query_as(
        "select o.kind, o.regulator_level, s.tier from organization o
           left join station s on s.station_id = o.organization_id where o.organization_id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

async fn validate_org(
    conn: &mut PgConnection,
    input: &OrganizationInput,
    kind: Option<OrgKind>,
    self_id: Option<Uuid>,
) -> Result<ValidOrg> {
    let mut errors = Vec::new();
    let kind = match kind.or(input.kind) {
        Some(k) => Some(k),
        None => {
            errors.push(FieldError::required("kind"));
            None
        }
    };
    let name = clean(&input.name);
    match &name {
        None => errors.push(FieldError::required("name")),
        Some(n) if n.chars().count() > 200 => errors.push(FieldError::new(
            "name",
            "length",
            "名称不得超过 200 个字符",
            "The name may not exceed 200 characters",
        )),
        _ => {}
    }
    let mut regulator_level = None;
    let mut division_code = clean(&input.division_code);
    if kind == Some(OrgKind::Regulator) {
        regulator_level = input.regulator_level;
        match regulator_level {
            None => errors.push(FieldError::required("regulator_level")),
            Some(RegulatorLevel::National) => division_code = None,
            Some(level) => match &division_code {
                None => errors.push(FieldError::new(
                    "division_code",
                    "required",
                    "请选择辖区行政区划",
                    "Choose the jurisdiction's division",
                )),
                Some(code) => {
                    check_division(
                        conn,
                        &mut errors,
                        "division_code",
                        code,
                        level.division_level(),
                    )
                    .await?
                }
            },
        }
    } else if let Some(code) = &division_code {
        check_division(conn, &mut errors, "division_code", code, None).await?;
    }
    let credit_code = match clean(&input.credit_code) {
        Some(raw) if kind != Some(OrgKind::Station) => match parse_credit_code("credit_code", &raw)
        {
            Ok(c) => Some(c),
            Err(e) => {
                errors.push(e);
                None
            }
        },
        _ => None,
    };
    let station = if kind == Some(OrgKind::Station) {
        let s = input.station.clone().unwrap_or_default();
        validate_station(conn, &mut errors, &s, self_id).await?
    } else {
        None
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok(ValidOrg {
        kind: kind.unwrap_or(OrgKind::Department),
        name: name.unwrap_or_default(),
        name_en: clean(&input.name_en),
        regulator_level,
        division_code,
        credit_code,
        address: clean(&input.address),
        contact_phone: clean(&input.contact_phone),
        active: input.active.unwrap_or(true),
        station,
    })
}

async fn validate_station(
    conn: &mut PgConnection,
    errors: &mut Vec<FieldError>,
    s: &StationInput,
    self_id: Option<Uuid>,
) -> Result<Option<ValidStation>> {
    let before = errors.len();
    let code = clean(&s.code).map(|c| c.to_uppercase());
    match &code {
        None => errors.push(FieldError::required("station.code")),
        Some(c)
            if !(c.len() >= 2
                && c.len() <= 32
                && c.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')) =>
        {
            errors.push(FieldError::new(
                "station.code",
                "format",
                "计量站编号须为 2–32 位大写字母、数字或连字符",
                "Station code: 2–32 uppercase letters, digits or hyphens",
            ))
        }
        _ => {}
    }
    if s.tier.is_none() {
        errors.push(FieldError::required("station.tier"));
    }
    match s.department_id {
        None => errors.push(FieldError::required("station.department_id")),
        Some(id) => match org_kind_of(conn, id).await? {
            Some((kind, _, _)) if kind == "department" => {}
            _ => errors.push(FieldError::new(
                "station.department_id",
                "not_department",
                "主管部门须为已登记的主管部门",
                "The competent department must be a registered competent department",
            )),
        },
    }
    if let Some(id) = s.authorizing_regulator_id {
        match org_kind_of(conn, id).await? {
            Some((kind, level, _)) if kind == "regulator" => {
                if s.tier.is_some_and(StationTier::is_national)
                    && level.as_deref() != Some("national")
                {
                    errors.push(FieldError::new(
                        "station.authorizing_regulator_id",
                        "national_station_regulator",
                        "国家专业计量站由国家市场监督管理总局授权（R6.2）",
                        "National stations are authorized by SAMR (R6.2)",
                    ));
                }
            }
            _ => errors.push(FieldError::new(
                "station.authorizing_regulator_id",
                "not_regulator",
                "授权部门须为市场监督管理部门",
                "The authorizing body must be a market regulator",
            )),
        }
    }
    // R3.1: a head station with branches keeps its tier.
    if let (Some(id), Some(tier)) = (self_id, s.tier) {
        if tier != StationTier::NationalHead {
            let branches: i64 =
                sqlx::query_scalar("select count(*) from station where head_station_id = $1")
                    .bind(id)
                    .fetch_one(&mut *conn)
                    .await?;
            if branches > 0 {
                errors.push(FieldError::new(
                    "station.tier",
                    "head_keeps_tier",
                    format!("该总站下设 {branches} 个分站，不能改变其层级（R3.1）"),
                    format!("This head station has {branches} branch(es); its tier cannot change (R3.1)"),
                ));
            }
        }
    }
    // R3.1: a branch has exactly one head station, which is a national head station.
    match (s.tier, s.head_station_id) {
        (Some(StationTier::NationalBranch), None) => errors.push(FieldError::new(
            "station.head_station_id",
            "head_required",
            "国家专业计量站分站须指定其总站（R3.1）",
            "A national branch station needs its head station (R3.1)",
        )),
        (Some(StationTier::NationalBranch), Some(head)) => {
            let ok = Some(head) != self_id
                && matches!(org_kind_of(conn, head).await?, Some((_, _, Some(t))) if t == "national_head");
            if !ok {
                errors.push(FieldError::new(
                    "station.head_station_id",
                    "not_head_station",
                    "所选总站须为国家专业计量站总站（R3.1）",
                    "The head station must be a national head station (R3.1)",
                ));
            }
        }
        (Some(_), Some(_)) => errors.push(FieldError::new(
            "station.head_station_id",
            "head_not_allowed",
            "只有国家专业计量站分站设总站（R3.1）",
            "Only a national branch station has a head station (R3.1)",
        )),
        _ => {}
    }
    let location = clean(&s.location_division);
    match &location {
        None => errors.push(FieldError::required("station.location_division")),
        Some(code) => check_division(conn, errors, "station.location_division", code, None).await?,
    }
    let legal_person = s.legal_person.unwrap_or(true);
    let mut credit_code = None;
    let mut parent_code = None;
    let parent_name = clean(&s.parent_entity_name);
    if legal_person {
        match clean(&s.credit_code) {
            None => errors.push(FieldError::new(
                "station.credit_code",
                "required",
                "法人单位须填写统一社会信用代码（R7.1）",
                "A legal person needs its unified social credit code (R7.1)",
            )),
            Some(raw) => match parse_credit_code("station.credit_code", &raw) {
                Ok(c) => credit_code = Some(c),
                Err(e) => errors.push(e),
            },
        }
    } else {
        if parent_name.is_none() {
            errors.push(FieldError::required("station.parent_entity_name"));
        }
        match clean(&s.parent_entity_credit_code) {
            None => errors.push(FieldError::new(
                "station.parent_entity_credit_code",
                "required",
                "非法人单位须填写所属法人单位的统一社会信用代码（R7.1）",
                "Without legal personality, give the parent entity's credit code (R7.1)",
            )),
            Some(raw) => match parse_credit_code("station.parent_entity_credit_code", &raw) {
                Ok(c) => parent_code = Some(c),
                Err(e) => errors.push(e),
            },
        }
    }
    if errors.len() > before {
        return Ok(None);
    }
    Ok(Some(ValidStation {
        code: code.unwrap_or_default(),
        tier: s.tier.unwrap_or(StationTier::Local),
        head_station_id: s
            .head_station_id
            .filter(|_| s.tier == Some(StationTier::NationalBranch)),
        department_id: s.department_id.unwrap_or_default(),
        authorizing_regulator_id: s.authorizing_regulator_id,
        location_division: location.unwrap_or_default(),
        field: clean(&s.field).unwrap_or_default(),
        legal_person,
        credit_code,
        parent_entity_name: if legal_person { None } else { parent_name },
        parent_entity_credit_code: parent_code,
        status: s.status.unwrap_or(StationStatus::Unauthorized),
    }))
}

/// Creates an organization (and its station row), audited.
pub async fn org_create(
    conn: &mut PgConnection,
    ctx: &Ctx,
    input: &OrganizationInput,
) -> Result<Organization> {
    let v = validate_org(conn, input, None, None).await?;
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into organization (organization_id, kind, name, name_en, regulator_level, division_code,
           credit_code, address, contact_phone, active)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(v.kind.as_str())
    .bind(&v.name)
    .bind(&v.name_en)
    .bind(v.regulator_level.map(RegulatorLevel::as_str))
    .bind(&v.division_code)
    .bind(&v.credit_code)
    .bind(&v.address)
    .bind(&v.contact_phone)
    .bind(v.active)
    .execute(&mut *conn)
    .await?;
    if let Some(s) = &v.station {
        sqlx::query(
            "insert into station (station_id, code, tier, head_station_id, department_id,
               authorizing_regulator_id, location_division, field, legal_person, credit_code,
               parent_entity_name, parent_entity_credit_code, status)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(id)
        .bind(&s.code)
        .bind(s.tier.as_str())
        .bind(s.head_station_id)
        .bind(s.department_id)
        .bind(s.authorizing_regulator_id)
        .bind(&s.location_division)
        .bind(&s.field)
        .bind(s.legal_person)
        .bind(&s.credit_code)
        .bind(&s.parent_entity_name)
        .bind(&s.parent_entity_credit_code)
        .bind(s.status.as_str())
        .execute(&mut *conn)
        .await?;
    }
    let created = org_get(conn, id).await?;
    audit::record(
        conn,
        ctx,
        Event::new("organization.create", "organization", id).after(&created),
    )
    .await?;
    Ok(created)
}

/// An update's input with every omitted field taken from the record as it
/// is, so that a partial PUT never resets what it did not mention.
fn merge_org_input(before: &Organization, input: &OrganizationInput) -> OrganizationInput {
    let or = |new: &Option<String>, old: &Option<String>| new.clone().or_else(|| old.clone());
    let station = before.station.as_ref().map(|b| {
        let s = input.station.clone().unwrap_or_default();
        StationInput {
            code: s.code.or_else(|| Some(b.code.clone())),
            tier: s.tier.or(Some(b.tier)),
            head_station_id: s.head_station_id.or(b.head_station_id),
            department_id: s.department_id.or(Some(b.department_id)),
            authorizing_regulator_id: s.authorizing_regulator_id.or(b.authorizing_regulator_id),
            location_division: s
                .location_division
                .or_else(|| Some(b.location_division.clone())),
            field: s.field.or_else(|| Some(b.field.clone())),
            legal_person: s.legal_person.or(Some(b.legal_person)),
            credit_code: s.credit_code.or_else(|| b.credit_code.clone()),
            parent_entity_name: s
                .parent_entity_name
                .or_else(|| b.parent_entity_name.clone()),
            parent_entity_credit_code: s
                .parent_entity_credit_code
                .or_else(|| b.parent_entity_credit_code.clone()),
            status: s.status.or(Some(b.status)),
        }
    });
    OrganizationInput {
        kind: Some(before.kind),
        name: or(&input.name, &Some(before.name.clone())),
        name_en: or(&input.name_en, &before.name_en),
        regulator_level: input.regulator_level.or(before.regulator_level),
        division_code: or(&input.division_code, &before.division_code),
        credit_code: or(&input.credit_code, &before.credit_code),
        address: or(&input.address, &before.address),
        contact_phone: or(&input.contact_phone, &before.contact_phone),
        active: input.active.or(Some(before.active)),
        station,
        version: input.version,
    }
}

/// How an update treats fields it does not mention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Omitted {
    /// JSON: an omitted field keeps its value.
    Keep,
    /// A form: it sends every field, and an empty one clears it.
    Clear,
}

/// Updates an organization if `version` is still current (else a stale
/// edit is refused), audited with before and after.
pub async fn org_update(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    version: i32,
    input: &OrganizationInput,
    omitted: Omitted,
) -> Result<Organization> {
    let before = org_get(conn, id).await?;
    if input.kind.is_some_and(|k| k != before.kind) {
        return Err(AppError::field(
            "kind",
            "immutable",
            "组织类型创建后不能更改",
            "An organization's kind cannot change after creation",
        ));
    }
    let merged = match omitted {
        Omitted::Keep => merge_org_input(&before, input),
        Omitted::Clear => input.clone(),
    };
    let v = validate_org(conn, &merged, Some(before.kind), Some(id)).await?;
    let updated = sqlx::query(
        "update organization set name = $3, name_en = $4, regulator_level = $5, division_code = $6,
           credit_code = $7, address = $8, contact_phone = $9, active = $10,
           version = version + 1, updated_at = now()
         where organization_id = $1 and version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(&v.name)
    .bind(&v.name_en)
    .bind(v.regulator_level.map(RegulatorLevel::as_str))
    .bind(&v.division_code)
    .bind(&v.credit_code)
    .bind(&v.address)
    .bind(&v.contact_phone)
    .bind(v.active)
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(AppError::stale());
    }
    if let Some(s) = &v.station {
        sqlx::query(
            "update station set code = $2, tier = $3, head_station_id = $4, department_id = $5,
               authorizing_regulator_id = $6, location_division = $7, field = $8, legal_person = $9,
               credit_code = $10, parent_entity_name = $11, parent_entity_credit_code = $12,
               status = $13, version = version + 1, updated_at = now()
             where station_id = $1",
        )
        .bind(id)
        .bind(&s.code)
        .bind(s.tier.as_str())
        .bind(s.head_station_id)
        .bind(s.department_id)
        .bind(s.authorizing_regulator_id)
        .bind(&s.location_division)
        .bind(&s.field)
        .bind(s.legal_person)
        .bind(&s.credit_code)
        .bind(&s.parent_entity_name)
        .bind(&s.parent_entity_credit_code)
        .bind(s.status.as_str())
        .execute(&mut *conn)
        .await?;
    }
    let after = org_get(conn, id).await?;
    audit::record(
        conn,
        ctx,
        Event::new("organization.update", "organization", id)
            .before(&before)
            .after(&after),
    )
    .await?;
    Ok(after)
}

// ------------------------------------------------------------------ users

const USER_SELECT: &str =
    "select u.user_id, u.organization_id, o.name as organization_name, u.username,
       u.display_name, u.email, u.roles, u.active, u.version, u.created_at, u.updated_at
  from app_user u join organization o using (organization_id)";

#[derive(sqlx::FromRow)]
struct UserRow {
    user_id: Uuid,
    organization_id: Uuid,
    organization_name: String,
    username: String,
    display_name: String,
    email: Option<String>,
    roles: Vec<String>,
    active: bool,
    version: i32,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl UserRow {
    fn into_model(self) -> User {
        User {
            id: self.user_id,
            organization_id: self.organization_id,
            organization_name: self.organization_name,
            username: self.username,
            display_name: self.display_name,
            email: self.email,
            roles: self.roles.iter().filter_map(|r| Role::parse(r)).collect(),
            active: self.active,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// Users of `org` (or of every organization the caller may see), one page.
pub async fn user_list(
    conn: &mut PgConnection,
    org: Option<Uuid>,
    q: Option<&str>,
    paging: Paging,
) -> Result<(Vec<User>, i64)> {
    let like = q
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(crate::web::like_pattern);
    let rows: Vec<UserRow> = sqlx::query_as(&format!(
        "{USER_SELECT} where ($1::uuid is null or u.organization_id = $1)
           and ($2::text is null or u.username ilike $2 or u.display_name ilike $2)
         order by o.name collate zh_pinyin, u.username limit $3 offset $4"
    ))
    .bind(org)
    .bind(&like)
    .bind(paging.per_page)
    .bind(paging.offset())
    .fetch_all(&mut *conn)
    .await?;
    let total: i64 = sqlx::query_scalar(
        "select count(*) from app_user u where ($1::uuid is null or u.organization_id = $1)
           and ($2::text is null or u.username ilike $2 or u.display_name ilike $2)",
    )
    .bind(org)
    .bind(&like)
    .fetch_one(&mut *conn)
    .await?;
    Ok((rows.into_iter().map(UserRow::into_model).collect(), total))
}

/// One user, or `NotFound`.
pub async fn user_get(conn: &mut PgConnection, id: Uuid) -> Result<User> {
    let row: Option<UserRow> = sqlx::query_as(&format!("{USER_SELECT} where u.user_id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(UserRow::into_model).ok_or(AppError::NotFound)
}

fn check_roles(errors: &mut Vec<FieldError>, ctx: &Ctx, kind: OrgKind, roles: &[Role]) {
    if roles.contains(&Role::Operator) && !ctx.is_operator() {
        errors.push(FieldError::new(
            "roles",
            "operator_only",
            "只有平台运营员可以授予“平台运营员”角色",
            "Only a platform operator may grant the operator role",
        ));
    }
    if roles.is_empty() {
        errors.push(FieldError::new(
            "roles",
            "required",
            "请至少选择一个角色",
            "Choose at least one role",
        ));
    }
    for r in roles {
        if !kind.roles().contains(r) {
            errors.push(FieldError::new(
                "roles",
                "role_not_allowed",
                format!("“{}”不是{}可设的角色", r.label_zh(), kind.label_zh()),
                format!(
                    "“{}” is not a role of a {}",
                    r.label_en(),
                    kind.label_en().to_lowercase()
                ),
            ));
        }
    }
}

fn check_display_name(errors: &mut Vec<FieldError>, name: &Option<String>) -> String {
    match clean(name) {
        None => {
            errors.push(FieldError::required("display_name"));
            String::new()
        }
        Some(n) if n.chars().count() > 100 => {
            errors.push(FieldError::new(
                "display_name",
                "length",
                "姓名不得超过 100 个字符",
                "At most 100 characters",
            ));
            n
        }
        Some(n) => n,
    }
}

fn check_password(
    errors: &mut Vec<FieldError>,
    password: &Option<String>,
    required: bool,
) -> Option<String> {
    match password.as_deref().filter(|p| !p.is_empty()) {
        None => {
            if required {
                errors.push(FieldError::required("password"));
            }
            None
        }
        Some(p) => match crate::auth::password::check_strength(p) {
            Ok(()) => Some(p.to_owned()),
            Err((zh, en)) => {
                errors.push(FieldError::new("password", "weak_password", zh, en));
                None
            }
        },
    }
}

/// Creates a user in an organization the caller may manage, audited.
pub async fn user_create(conn: &mut PgConnection, ctx: &Ctx, input: &UserInput) -> Result<User> {
    let mut errors = Vec::new();
    let org_id = input.organization_id.unwrap_or(ctx.org_id);
    let org = match org_get(conn, org_id).await {
        Ok(o) if ctx.may_manage_users_of(o.id) => Some(o),
        Ok(_) | Err(AppError::NotFound) => {
            errors.push(FieldError::new(
                "organization_id",
                "not_allowed",
                "您不能为该组织添加用户",
                "You may not add users to this organization",
            ));
            None
        }
        Err(e) => return Err(e),
    };
    let username = clean(&input.username).map(|u| u.to_lowercase());
    match &username {
        None => errors.push(FieldError::required("username")),
        Some(u)
            if !(u.len() >= 3
                && u.len() <= 64
                && u.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                })
                && u.as_bytes()[0].is_ascii_alphanumeric()) =>
        {
            errors.push(FieldError::new(
                "username",
                "format",
                "用户名须为 3–64 位小写字母、数字、点、下划线或连字符",
                "Username: 3–64 lowercase letters, digits, dots, underscores or hyphens",
            ))
        }
        _ => {}
    }
    let display_name = check_display_name(&mut errors, &input.display_name);
    let roles = input.roles.clone().unwrap_or_default();
    if let Some(o) = &org {
        check_roles(&mut errors, ctx, o.kind, &roles);
    }
    let password = check_password(&mut errors, &input.password, true);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let hash = crate::auth::password::hash(password.unwrap_or_default()).await?;
    let id = Uuid::now_v7();
    let role_names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    sqlx::query(
        "insert into app_user (user_id, organization_id, username, display_name, email, password_hash,
           roles, security_stamp, active)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(org_id)
    .bind(&username)
    .bind(&display_name)
    .bind(clean(&input.email))
    .bind(&hash)
    .bind(&role_names)
    .bind(Uuid::new_v4())
    .bind(input.active.unwrap_or(true))
    .execute(&mut *conn)
    .await?;
    let user = user_get(conn, id).await?;
    audit::record(
        conn,
        ctx,
        Event::new("user.create", "user", id).after(&user),
    )
    .await?;
    Ok(user)
}

/// Updates a user if `version` is current. A new password, a deactivation
/// or a change of roles renews the security stamp: the user's sessions end.
pub async fn user_update(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    version: i32,
    input: &UserInput,
) -> Result<User> {
    let before = user_get(conn, id).await?;
    if !ctx.may_manage_users_of(before.organization_id) {
        return Err(AppError::NotFound);
    }
    let mut errors = Vec::new();
    if input
        .organization_id
        .is_some_and(|o| o != before.organization_id)
    {
        errors.push(FieldError::new(
            "organization_id",
            "immutable",
            "用户不能转到其他组织",
            "A user cannot move to another organization",
        ));
    }
    if input
        .username
        .as_deref()
        .is_some_and(|u| !u.trim().is_empty() && u.trim().to_lowercase() != before.username)
    {
        errors.push(FieldError::new(
            "username",
            "immutable",
            "用户名创建后不能更改",
            "A username cannot change",
        ));
    }
    let display_name = check_display_name(
        &mut errors,
        &input
            .display_name
            .clone()
            .or(Some(before.display_name.clone())),
    );
    let roles = input.roles.clone().unwrap_or_else(|| before.roles.clone());
    let org_kind = org_get(conn, before.organization_id).await?.kind;
    check_roles(&mut errors, ctx, org_kind, &roles);
    if before.roles.contains(&Role::Operator) && !ctx.is_operator() {
        errors.push(FieldError::new(
            "roles",
            "operator_only",
            "只有平台运营员可以修改平台运营员的账户",
            "Only a platform operator may change an operator's account",
        ));
    }
    let active = input.active.unwrap_or(before.active);
    if id == ctx.user_id
        && (!active
            || (before.roles.contains(&Role::Admin) && !roles.contains(&Role::Admin))
            || (before.roles.contains(&Role::Operator) && !roles.contains(&Role::Operator)))
    {
        errors.push(FieldError::new(
            "roles",
            "self_lockout",
            "不能停用自己或取消自己的管理权限",
            "You cannot deactivate yourself or remove your own administration role",
        ));
    }
    let password = check_password(&mut errors, &input.password, false);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let hash = match password {
        Some(p) => Some(crate::auth::password::hash(p).await?),
        None => None,
    };
    let renew_stamp = hash.is_some() || !active || roles != before.roles;
    let role_names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    let email = if input.email.is_some() {
        clean(&input.email)
    } else {
        before.email.clone()
    };
    let done = sqlx::query(
        "update app_user set display_name = $3, email = $4, roles = $5, active = $6,
           password_hash = coalesce($7, password_hash),
           security_stamp = case when $8 then gen_random_uuid() else security_stamp end,
           version = version + 1, updated_at = now()
         where user_id = $1 and version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(&display_name)
    .bind(&email)
    .bind(&role_names)
    .bind(active)
    .bind(&hash)
    .bind(renew_stamp)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::stale());
    }
    let after = user_get(conn, id).await?;
    audit::record(
        conn,
        ctx,
        Event::new("user.update", "user", id)
            .before(&before)
            .after(&json!({ "user": after, "password_changed": hash.is_some() })),
    )
    .await?;
    Ok(after)
}
