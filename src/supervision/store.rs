//! SQL and workflow of supervision: inspections (R17.1–R17.4), the random
//! draw (R17.3), rectification orders (R18.1–R18.3), violation cases
//! (R19.1) and referrals (R19.2). Each step checks actor, state and version
//! and writes one audit event in the caller's transaction.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::model::*;
use crate::audit::{self, Event};
use crate::auth::{Ctx, OrgKind, Role};
use crate::db::reference::divisions;
use crate::error::{AppError, FieldError, Result};
use crate::rules::calendar::provisional_note;
use crate::rules::deadlines::{rectification_due, Period};
use crate::rules::draw::{draw, Candidate, DRAW_ALGORITHM_VERSION};
use crate::rules::jurisdiction::{
    competent_department_may_inspect, may_inspect, RegulatorLevel, RegulatorRef,
};
use crate::rules::{DivisionCode, Lang as RLang, Message, Verdict};
use crate::web::{keyset_page, time_key, today, Cursor};

/// Trimmed; empty is none.
use crate::orgs::model::clean as text;

fn illegal(state: &str) -> AppError {
    let zh = word(state, crate::i18n::Lang::Zh);
    let en = word(state, crate::i18n::Lang::En).to_lowercase();
    AppError::Conflict {
        code: "illegal_transition",
        zh: format!("当前状态为“{zh}”，不能办理此步骤（可能已被他人办理，请刷新）"),
        en: format!("The record is {en}; this step is not possible now (someone may have acted first; reload)"),
    }
}

// ------------------------------------------------------------ R17.1

/// What R17.1 looks at for one station the caller can see.
struct InspectFacts {
    station: Uuid,
    name: String,
    code: String,
    location: String,
    department: Uuid,
    region: Vec<String>,
}

/// The facts of the visible authorized stations (all, or one), in one query
/// under the caller's row policies.
async fn inspect_facts(conn: &mut PgConnection, one: Option<Uuid>) -> Result<Vec<InspectFacts>> {
    inspect_facts_where(conn, one, None, None, None).await
}

/// [`inspect_facts`] of the stations whose name or code contains `like`
/// (an escaped ILIKE pattern) or, given `ids`, of those, the first `cap`
/// in pinyin order.
async fn inspect_facts_where(
    conn: &mut PgConnection,
    one: Option<Uuid>,
    like: Option<&str>,
    cap: Option<i64>,
    ids: Option<&[Uuid]>,
) -> Result<Vec<InspectFacts>> {
    let rows: Vec<(Uuid, String, String, String, Uuid, Vec<String>)> = sqlx::query_as(
        // The regions are gathered for the chosen rows only (after the limit).
        "select p.station_id, p.name, p.code, p.location_division, p.department_id,
                coalesce((select array_agg(distinct c) from station_authorization a, unnest(a.region) c
                           where a.station_id = p.station_id and a.status in ('active', 'suspended')), '{}')
           from (select s.station_id, o.name, s.code, s.location_division, s.department_id
                   from station s join organization o on o.organization_id = s.station_id
                  where ($1::uuid is null or s.station_id = $1)
                    and ($1::uuid is not null or s.status in ('authorized', 'suspended'))
                    and ($2::text is null or o.name ilike $2 or s.code ilike $2)
                    and ($4::uuid[] is null or s.station_id = any($4))
                  order by o.name collate zh_pinyin limit $3) p
          order by p.name collate zh_pinyin",
    )
    .bind(one)
    .bind(like)
    .bind(cap)
    .bind(ids)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(station, name, code, location, department, region)| InspectFacts {
                station,
                name,
                code,
                location,
                department,
                region,
            },
        )
        .collect())
}

/// The caller as the rules see a regulator (None for a department).
async fn regulator_ref(conn: &mut PgConnection, ctx: &Ctx) -> Result<Option<RegulatorRef<Uuid>>> {
    if ctx.org_kind != OrgKind::Regulator {
        return Ok(None);
    }
    let (level, division): (String, Option<String>) = sqlx::query_as(
        "select regulator_level, division_code from organization where organization_id = $1",
    )
    .bind(ctx.org_id)
    .fetch_one(conn)
    .await?;
    let level = match level.as_str() {
        "national" => RegulatorLevel::National,
        "provincial" => RegulatorLevel::Provincial,
        "municipal" => RegulatorLevel::Municipal,
        _ => RegulatorLevel::County,
    };
    Ok(Some(RegulatorRef {
        id: ctx.org_id,
        level,
        division: division
            .as_deref()
            .and_then(|d| DivisionCode::parse(d).ok()),
    }))
}

/// R17.1 for one station, by the rules module.
fn decide(
    ctx: &Ctx,
    reg: Option<&RegulatorRef<Uuid>>,
    f: &InspectFacts,
) -> Result<Verdict<crate::rules::jurisdiction::JurisdictionReason>> {
    match (ctx.org_kind, reg) {
        (OrgKind::Regulator, Some(reg)) => {
            let Ok(loc) = DivisionCode::parse(&f.location) else {
                return Err(AppError::NotFound);
            };
            let region: Vec<DivisionCode> = f
                .region
                .iter()
                .filter_map(|c| DivisionCode::parse(c).ok())
                .collect();
            Ok(may_inspect(reg, &loc, &region, divisions()))
        }
        (OrgKind::Department, _) => {
            Ok(competent_department_may_inspect(&ctx.org_id, &f.department))
        }
        _ => Err(AppError::forbidden(
            "只有市场监管部门或主管部门可以检查计量站（R17.1）",
            "Only a regulator or the competent department inspects stations (R17.1)",
        )),
    }
}

/// Whether the caller's organization may inspect a station (R17.1); the
/// station's department when it may. A station the caller cannot see
/// answers 404, like any other record of another tenant (no existence oracle).
pub async fn may_inspect_station(
    conn: &mut PgConnection,
    ctx: &Ctx,
    station: Uuid,
) -> Result<Uuid> {
    let facts = inspect_facts(conn, Some(station)).await?;
    let Some(f) = facts.first() else {
        return Err(AppError::NotFound);
    };
    let reg = regulator_ref(conn, ctx).await?;
    match decide(ctx, reg.as_ref(), f)? {
        Verdict::Allowed { .. } => Ok(f.department),
        Verdict::Refused { reasons } => Err(AppError::forbidden(
            format!(
                "无权检查该计量站：{}（R17.1）",
                reasons
                    .iter()
                    .map(|r| r.message_zh())
                    .collect::<Vec<_>>()
                    .join("；")
            ),
            format!(
                "You may not inspect this station: {} (R17.1)",
                reasons
                    .iter()
                    .map(|r| r.message_en())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        )),
    }
}

/// Stations the caller may inspect (R17.1), for the planning pickers:
/// (id, name, code). Two queries, whatever the number of stations.
/// Stations the caller may inspect (R17.1) whose name or code contains
/// `q`, at most `limit` of them, plus every one in `keep` (a form's
/// choices survive a re-render); and whether more matched. A picker
/// searches instead of listing a country's stations (issue 14).
pub async fn inspectable(
    conn: &mut PgConnection,
    ctx: &Ctx,
    q: Option<&str>,
    keep: &[Uuid],
    limit: usize,
) -> Result<(Vec<(Uuid, String, String)>, bool)> {
    let q = q
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_lowercase);
    let like = q.as_deref().map(crate::web::like_pattern);
    // Nearly every station a caller sees is one it may inspect: read the
    // page and a quarter more in order and stop; only when R17.1 refused
    // too many of them, read the rest (the chosen `keep` ones come from
    // their own query).
    let cap = limit as i64 + 1 + limit as i64 / 4;
    crate::db::custom_plans(&mut *conn).await?;
    let mut facts = inspect_facts_where(conn, None, like.as_deref(), Some(cap), None).await?;
    let reg = regulator_ref(conn, ctx).await?;
    let allowed =
        |f: &InspectFacts| matches!(decide(ctx, reg.as_ref(), f), Ok(Verdict::Allowed { .. }));
    if facts.len() as i64 == cap && facts.iter().filter(|f| allowed(f)).count() <= limit {
        facts = inspect_facts_where(conn, None, like.as_deref(), None, None).await?;
    }
    let missing: Vec<Uuid> = keep
        .iter()
        .filter(|id| !facts.iter().any(|f| f.station == **id))
        .copied()
        .collect();
    if !missing.is_empty() {
        facts.extend(inspect_facts_where(conn, None, None, None, Some(&missing)).await?);
    }
    let mut out = Vec::new();
    let mut more = false;
    for f in facts {
        let kept = keep.contains(&f.station);
        let hit = q
            .as_deref()
            .is_none_or(|q| f.name.to_lowercase().contains(q) || f.code.to_lowercase().contains(q));
        if !(kept || hit) || !allowed(&f) {
            continue;
        }
        // "More" means more stations the caller may inspect, not more rows.
        if !kept && out.len() >= limit {
            more = true;
            continue;
        }
        out.push((f.station, f.name, f.code));
    }
    Ok((out, more))
}

/// Users of the caller's organization who may inspect: (id, name).
pub async fn inspectors(conn: &mut PgConnection, ctx: &Ctx) -> Result<Vec<(Uuid, String)>> {
    Ok(sqlx::query_as(
        "select user_id, display_name from app_user where organization_id = $1 and active
           and (roles && array['inspector', 'reviewer', 'officer']) order by display_name",
    )
    .bind(ctx.org_id)
    .fetch_all(conn)
    .await?)
}

fn may_plan(ctx: &Ctx) -> Result<()> {
    let ok = match ctx.org_kind {
        OrgKind::Regulator => ctx.has(Role::Inspector) || ctx.has(Role::Reviewer),
        OrgKind::Department => ctx.has(Role::Officer),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "只有检查员、审查员或主管部门经办人可以安排检查",
            "Only an inspector, a reviewer or a department officer plans inspections",
        ))
    }
}

async fn check_inspectors(
    conn: &mut PgConnection,
    ctx: &Ctx,
    ids: &[Uuid],
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Result<()> {
    let own: Vec<Uuid> = inspectors(conn, ctx)
        .await?
        .into_iter()
        .map(|i| i.0)
        .collect();
    if ids.is_empty() {
        errors.push(FieldError::new(
            field,
            "required",
            "请至少选择一名检查人员",
            "Choose at least one inspector",
        ));
    }
    if ids.iter().any(|i| !own.contains(i)) {
        errors.push(FieldError::new(
            field,
            "not_own_inspector",
            "检查人员须为本单位具有检查职责的人员",
            "Inspectors must be users of your organization who inspect",
        ));
    }
    Ok(())
}

// ------------------------------------------------------------ inspections

const INSPECTION: &str =
    "select i.inspection_id as id, i.org_id, og.name as org_name, i.org_kind, i.station_id,
       so.name as station_name, i.department_id, i.draw_id, i.state, i.planned_on, i.inspected_from,
       i.inspected_to, i.inspectors,
       coalesce((select array_agg(u.display_name order by u.display_name) from app_user u
                  where u.user_id = any(i.inspectors)), '{}') as inspector_names,
       i.areas, i.cooperation, i.cooperation_notes, i.summary, i.recorded_by, i.approved_by,
       i.published, i.version
  from inspection i
  join organization og on og.organization_id = i.org_id
  join organization so on so.organization_id = i.station_id";

/// Who sees an inspection, stated in the query as well as by the row policy:
/// the inspecting organization; the station and its department once completed.
const INSPECTION_VISIBLE: &str =
    "(i.org_id = $9 or (i.state = 'completed' and (i.station_id = $9 or i.department_id = $9
       or exists (select 1 from station h where h.station_id = i.station_id and h.head_station_id = $9))))";

pub async fn inspection_get(conn: &mut PgConnection, ctx: &Ctx, id: Uuid) -> Result<Inspection> {
    let row: Option<Inspection> = sqlx::query_as(&format!(
        "{INSPECTION} where i.inspection_id = $1 and {}",
        INSPECTION_VISIBLE.replace("$9", "$2")
    ))
    .bind(id)
    .bind(ctx.org_id)
    .fetch_optional(conn)
    .await?;
    row.ok_or(AppError::NotFound)
}

/// Inspections the caller sees, latest planned first, one keyset page of
/// `limit` after `after` (issue 14).
pub async fn inspections(
    conn: &mut PgConnection,
    ctx: &Ctx,
    state: Option<&str>,
    station: Option<Uuid>,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<(Vec<Inspection>, Option<Cursor>)> {
    let rows = sqlx::query_as(&format!(
        "{INSPECTION} where ($1::text is null or i.state = $1) and ($2::uuid is null or i.station_id = $2)
           and {} and ($4::date is null or (i.planned_on, i.inspection_id) < ($4, $5))
          order by i.planned_on desc, i.inspection_id desc limit $6",
        INSPECTION_VISIBLE.replace("$9", "$3")
    ))
    .bind(state)
    .bind(station)
    .bind(ctx.org_id)
    .bind(after.map(Cursor::date).transpose()?)
    .bind(after.map(|c| c.id).unwrap_or_default())
    .bind(limit + 1)
    .fetch_all(conn)
    .await?;
    Ok(keyset_page(rows, limit, |i: &Inspection| {
        Cursor::new(i.planned_on, i.id)
    }))
}

async fn insert_inspection(
    conn: &mut PgConnection,
    ctx: &Ctx,
    station: Uuid,
    department: Uuid,
    planned_on: NaiveDate,
    inspectors: &[Uuid],
    draw_id: Option<Uuid>,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into inspection (inspection_id, org_id, org_kind, station_id, department_id, draw_id,
           planned_on, inspectors, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(ctx.org_id)
    .bind(ctx.org_kind.as_str())
    .bind(station)
    .bind(department)
    .bind(draw_id)
    .bind(planned_on)
    .bind(inspectors)
    .bind(ctx.user_id)
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        ctx,
        Event::new("inspection.plan", "inspection", id).after(&json!({
            "station_id": station, "planned_on": planned_on, "inspectors": inspectors, "draw_id": draw_id,
            "under_own_rules": ctx.org_kind == OrgKind::Department})),
    )
    .await?;
    Ok(id)
}

/// Plans one inspection by hand (R17.1 decides whether the station may be chosen).
pub async fn plan(conn: &mut PgConnection, ctx: &Ctx, input: &PlanInput) -> Result<Inspection> {
    may_plan(ctx)?;
    let Some(station) = input.station_id else {
        return Err(AppError::field(
            "station_id",
            "required",
            "请选择计量站",
            "Choose the station",
        ));
    };
    let department = may_inspect_station(conn, ctx, station).await?;
    let mut errors = Vec::new();
    crate::web::check_date("planned_on", input.planned_on, &mut errors);
    if input.planned_on.is_none() {
        errors.push(FieldError::required("planned_on"));
    }
    check_inspectors(conn, ctx, &input.inspectors, "inspectors", &mut errors).await?;
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let id = insert_inspection(
        conn,
        ctx,
        station,
        department,
        input.planned_on.unwrap_or_else(today),
        &input.inspectors,
        None,
    )
    .await?;
    inspection_get(conn, ctx, id).await
}

/// The draw's result as stored: assignments with user ids.
fn run_draw(
    stations: &[Uuid],
    inspectors: &[Uuid],
    inspector_orgs: &BTreeMap<Uuid, Uuid>,
    seed: u64,
    station_count: usize,
    per_station: usize,
) -> std::result::Result<serde_json::Value, String> {
    let station_pool: Vec<Candidate<Uuid, Uuid>> = stations
        .iter()
        .map(|s| Candidate { id: *s, org: *s })
        .collect();
    let inspector_pool: Vec<Candidate<Uuid, Uuid>> = inspectors
        .iter()
        .map(|i| Candidate {
            id: *i,
            org: inspector_orgs.get(i).copied().unwrap_or_default(),
        })
        .collect();
    draw(
        &station_pool,
        &inspector_pool,
        seed,
        station_count,
        per_station,
    )
    .map(|r| serde_json::to_value(&r).unwrap_or_default())
    .map_err(|e| e.message_zh())
}

/// R17.3: draws stations and inspectors from the pools with a recorded seed
/// and plans one inspection per drawn station.
pub async fn random_draw(
    conn: &mut PgConnection,
    ctx: &Ctx,
    input: &DrawInput,
) -> Result<(Draw, Vec<Inspection>)> {
    may_plan(ctx)?;
    let mut errors = Vec::new();
    let mut stations = input.station_ids.clone();
    stations.sort();
    stations.dedup();
    let mut pool_inspectors = input.inspector_ids.clone();
    pool_inspectors.sort();
    pool_inspectors.dedup();
    if stations.is_empty() {
        errors.push(FieldError::new(
            "station_ids",
            "required",
            "请选择被抽取的计量站名录",
            "Choose the pool of stations",
        ));
    }
    let mut departments = BTreeMap::new();
    for s in &stations {
        match may_inspect_station(conn, ctx, *s).await {
            Ok(d) => {
                departments.insert(*s, d);
            }
            Err(e) => {
                errors.push(FieldError::new(
                    "station_ids",
                    "not_inspectable",
                    e.summary(crate::i18n::Lang::Zh),
                    e.summary(crate::i18n::Lang::En),
                ));
                break;
            }
        }
    }
    check_inspectors(conn, ctx, &pool_inspectors, "inspector_ids", &mut errors).await?;
    let station_count = input.station_count.unwrap_or(0);
    let per_station = input.inspectors_per_station.unwrap_or(2);
    if station_count == 0 || station_count > 500 {
        errors.push(FieldError::new(
            "station_count",
            "range",
            "抽取数量应为 1–500",
            "Draw 1–500 stations",
        ));
    }
    if per_station == 0 || per_station > 10 {
        errors.push(FieldError::new(
            "inspectors_per_station",
            "range",
            "每站检查人员数应为 1–10",
            "1–10 inspectors per station",
        ));
    } else if (pool_inspectors.len() as u64) < u64::from(per_station) {
        // R17.3: each station gets the inspectors asked for, or the draw says why not.
        errors.push(FieldError::new(
            "inspectors_per_station",
            "pool_too_small",
            format!(
                "检查人员库只有 {} 人，少于每站所需的 {} 人：请增加检查人员或减少每站人数",
                pool_inspectors.len(),
                per_station
            ),
            format!(
                "The inspector pool has {} people, fewer than the {} per station asked for: add inspectors or ask for fewer",
                pool_inspectors.len(),
                per_station
            ),
        ));
    }
    let seed: u64 = match text(&input.seed) {
        None => {
            use rand_core::{OsRng, TryRngCore};
            OsRng
                .try_next_u64()
                .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?
        }
        Some(s) => match s.parse::<u64>() {
            Ok(v) => v,
            Err(_) => {
                errors.push(FieldError::new(
                    "seed",
                    "invalid",
                    "随机种子应为 0 至 18446744073709551615 之间的整数",
                    "The seed is a whole number from 0 to 18446744073709551615",
                ));
                0
            }
        },
    };
    if input.planned_on.is_none() {
        errors.push(FieldError::required("planned_on"));
    }
    crate::web::check_date("planned_on", input.planned_on, &mut errors);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let orgs: BTreeMap<Uuid, Uuid> = sqlx::query_as::<_, (Uuid, Uuid)>(
        "select user_id, organization_id from app_user where user_id = any($1)",
    )
    .bind(&pool_inspectors)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let result = run_draw(
        &stations,
        &pool_inspectors,
        &orgs,
        seed,
        station_count as usize,
        per_station as usize,
    )
    .map_err(|m| AppError::field("station_ids", "draw", m.clone(), m))?;
    let draw_id = Uuid::now_v7();
    sqlx::query(
        "insert into inspection_draw (draw_id, org_id, algorithm, seed, station_pool, inspector_pool,
           station_count, inspectors_per_station, result, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(draw_id)
    .bind(ctx.org_id)
    .bind(DRAW_ALGORITHM_VERSION)
    .bind(seed.to_string())
    .bind(&stations)
    .bind(&pool_inspectors)
    .bind(station_count as i32)
    .bind(per_station as i32)
    .bind(&result)
    .bind(ctx.user_id)
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        ctx,
        Event::new("inspection.draw", "inspection_draw", draw_id).after(&json!({
            "algorithm": DRAW_ALGORITHM_VERSION, "seed": seed.to_string(), "result": result})),
    )
    .await?;
    let mut planned = Vec::new();
    for a in result["assignments"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let station: Uuid = serde_json::from_value(a["station"].clone()).unwrap_or_default();
        let inspectors: Vec<Uuid> =
            serde_json::from_value(a["inspectors"].clone()).unwrap_or_default();
        let id = insert_inspection(
            conn,
            ctx,
            station,
            departments.get(&station).copied().unwrap_or_default(),
            input.planned_on.unwrap_or_else(today),
            &inspectors,
            Some(draw_id),
        )
        .await?;
        planned.push(inspection_get(conn, ctx, id).await?);
    }
    Ok((draw_get(conn, draw_id).await?, planned))
}

pub async fn draw_get(conn: &mut PgConnection, id: Uuid) -> Result<Draw> {
    let d: Option<Draw> = sqlx::query_as(
        "select draw_id as id, org_id, algorithm, seed, station_pool, inspector_pool, station_count,
                inspectors_per_station, result, created_at from inspection_draw where draw_id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    d.ok_or(AppError::NotFound)
}

/// R17.3: re-runs a recorded draw from its pools and seed.
pub async fn rerun(conn: &mut PgConnection, id: Uuid) -> Result<Rerun> {
    let d = draw_get(conn, id).await?;
    if d.algorithm != DRAW_ALGORITHM_VERSION {
        return Err(AppError::Conflict {
            code: "algorithm_version",
            zh: format!(
                "该抽取使用算法 {}，本系统现为 {}",
                d.algorithm, DRAW_ALGORITHM_VERSION
            ),
            en: format!(
                "This draw used {}; this system runs {}",
                d.algorithm, DRAW_ALGORITHM_VERSION
            ),
        });
    }
    // Inspectors' organizations as recorded in the pool: the caller may not
    // see other organizations' users, so they are taken from the result's
    // own organization (a draw's inspectors all belong to its organization).
    let orgs: BTreeMap<Uuid, Uuid> = d.inspector_pool.iter().map(|i| (*i, d.org_id)).collect();
    let seed: u64 = d.seed.parse().unwrap_or_default();
    let again = run_draw(
        &d.station_pool,
        &d.inspector_pool,
        &orgs,
        seed,
        d.station_count as usize,
        d.inspectors_per_station as usize,
    )
    .map_err(|m| AppError::field("draw", "draw", m.clone(), m))?;
    Ok(Rerun {
        same: again == d.result,
        rerun: again,
        draw: d,
    })
}

/// R17.2, R17.4: records the findings; nonconforming areas need notes.
pub async fn record(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    input: &RecordInput,
) -> Result<Inspection> {
    let i = inspection_get(conn, ctx, id).await?;
    if i.org_id != ctx.org_id {
        return Err(AppError::NotFound);
    }
    let may = i.inspectors.contains(&ctx.user_id) || ctx.has(Role::Reviewer);
    if !may {
        return Err(AppError::forbidden(
            "只有本次检查的检查人员可以记录",
            "Only this inspection's inspectors record it",
        ));
    }
    if !matches!(i.state.as_str(), "planned" | "recorded") {
        return Err(illegal(&i.state));
    }
    let version = crate::web::need_version(input.version)?;
    let mut errors = Vec::new();
    let mut areas = BTreeMap::new();
    for (key, _, _) in AREAS {
        match input.areas.get(key) {
            None => errors.push(FieldError::new(
                &format!("areas.{key}"),
                "required",
                "请给出该项检查结论（符合、不符合或未检查）",
                "Give this area's finding (conforming, nonconforming or not inspected)",
            )),
            Some(f) => {
                if !matches!(
                    f.finding.as_str(),
                    "conforming" | "nonconforming" | "not_inspected"
                ) {
                    errors.push(FieldError::new(
                        &format!("areas.{key}"),
                        "invalid",
                        "结论应为符合、不符合或未检查",
                        "Finding: conforming, nonconforming or not_inspected",
                    ));
                }
                let notes = text(&f.notes);
                if f.finding == "nonconforming" && notes.is_none() {
                    errors.push(FieldError::new(
                        &format!("areas.{key}"),
                        "notes_required",
                        "不符合项须写明具体问题",
                        "A nonconformity needs notes",
                    ));
                }
                areas.insert(
                    key.to_owned(),
                    Finding {
                        finding: f.finding.clone(),
                        notes,
                    },
                );
            }
        }
    }
    if let Some(k) = input
        .areas
        .keys()
        .find(|k| !AREAS.iter().any(|a| a.0 == k.as_str()))
    {
        errors.push(FieldError::new(
            &format!("areas.{k}"),
            "unknown_area",
            "检查项目应为第十七条所列五项之一",
            "Areas are the five of Art 17",
        ));
    }
    crate::web::check_lengths(
        &[
            ("summary", input.summary.as_deref(), 5000),
            (
                "cooperation_notes",
                input.cooperation_notes.as_deref(),
                2000,
            ),
        ],
        &mut errors,
    );
    for (k, f) in &input.areas {
        crate::web::check_lengths(
            &[(&format!("areas.{k}"), f.notes.as_deref(), 2000)],
            &mut errors,
        );
    }
    crate::web::check_date("inspected_from", input.inspected_from, &mut errors);
    crate::web::check_date("inspected_to", input.inspected_to, &mut errors);
    match (input.inspected_from, input.inspected_to) {
        (None, _) => errors.push(FieldError::required("inspected_from")),
        (Some(a), Some(b)) if b < a => errors.push(FieldError::new(
            "inspected_to",
            "before_start",
            "结束日期不得早于开始日期",
            "The end cannot be before the start",
        )),
        (Some(a), _) if a > today() => errors.push(FieldError::new(
            "inspected_from",
            "future",
            "检查日期不能晚于今天",
            "The inspection date cannot be in the future",
        )),
        _ => {}
    }
    let cooperation = input.cooperation.as_deref().unwrap_or("");
    if !matches!(cooperation, "cooperated" | "refused" | "obstructed") {
        errors.push(FieldError::new(
            "cooperation",
            "invalid",
            "请记录计量站是否配合、拒绝或阻碍检查（R17.4）",
            "Record whether the station cooperated, refused or obstructed (R17.4)",
        ));
    } else if cooperation != "cooperated" && text(&input.cooperation_notes).is_none() {
        errors.push(FieldError::new(
            "cooperation_notes",
            "required",
            "拒绝或阻碍检查的，须写明经过（R17.4）",
            "Describe the refusal or obstruction (R17.4)",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let done = sqlx::query(
        "update inspection set state = 'recorded', inspected_from = $3, inspected_to = $4, areas = $5,
           cooperation = $6, cooperation_notes = $7, summary = $8, recorded_by = $9, recorded_at = now(),
           version = version + 1, updated_at = now()
         where inspection_id = $1 and version = $2 and state in ('planned', 'recorded')",
    )
    .bind(id)
    .bind(version)
    .bind(input.inspected_from)
    .bind(input.inspected_to.or(input.inspected_from))
    .bind(sqlx::types::Json(&areas))
    .bind(cooperation)
    .bind(text(&input.cooperation_notes))
    .bind(text(&input.summary))
    .bind(ctx.user_id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::stale());
    }
    audit::record(
        conn,
        ctx,
        Event::new("inspection.record", "inspection", id)
            .before(&json!({"state": i.state, "version": version}))
            .after(&json!({"areas": areas, "cooperation": cooperation})),
    )
    .await?;
    inspection_get(conn, ctx, id).await
}

/// Steps on an inspection: `approve` (four eyes), `return`, `cancel`, `publish`.
pub async fn inspection_step(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    step: &str,
    input: &StepInput,
) -> Result<Inspection> {
    let i = inspection_get(conn, ctx, id).await?;
    if i.org_id != ctx.org_id {
        return Err(AppError::NotFound);
    }
    if input
        .reasons
        .as_deref()
        .is_some_and(|r| r.chars().count() > 2000)
    {
        return Err(AppError::field(
            "reasons",
            "length",
            "不得超过 2000 字",
            "At most 2000 characters",
        ));
    }
    let version = crate::web::need_version(input.version)?;
    let approver = match ctx.org_kind {
        OrgKind::Regulator => ctx.has(Role::Approver),
        OrgKind::Department => ctx.has(Role::Officer) || ctx.has(Role::Admin),
        _ => false,
    };
    let (from, to): (&[&str], &str) = match step {
        "approve" => (&["recorded"], "completed"),
        "return" => (&["recorded"], "planned"),
        "cancel" => (&["planned"], "cancelled"),
        "publish" => (&["completed"], "completed"),
        _ => return Err(AppError::NotFound),
    };
    if !from.contains(&i.state.as_str()) {
        return Err(illegal(&i.state));
    }
    match step {
        "approve" | "return" if !approver => {
            return Err(AppError::forbidden(
                "只有审批人可以确认检查记录",
                "Only an approver confirms the record",
            ))
        }
        "approve" if i.recorded_by == Some(ctx.user_id) => {
            return Err(AppError::forbidden(
                "检查记录须由记录人以外的审批人确认（双人复核）",
                "Four eyes: someone other than the recorder confirms",
            ))
        }
        "return" if text(&input.reasons).is_none() => {
            return Err(AppError::field(
                "reasons",
                "required",
                "退回须说明理由",
                "Give the reasons",
            ))
        }
        "publish" if i.draw_id.is_none() => {
            return Err(AppError::Conflict {
                code: "not_random",
                zh: "只公开随机抽查（双随机）的结果".into(),
                en: "Only random (double-random) inspections are published".into(),
            })
        }
        "cancel" | "publish" if !(approver || ctx.has(Role::Reviewer)) => {
            return Err(AppError::forbidden(
                "只有审查员或审批人可以办理",
                "Only a reviewer or approver may do this",
            ))
        }
        _ => {}
    }
    let done = sqlx::query(
        "update inspection set state = $3,
           approved_by = case when $4 = 'approve' then $5 else approved_by end,
           approved_at = case when $4 = 'approve' then now() else approved_at end,
           published = published or $4 = 'publish',
           summary = case when $4 = 'return' then coalesce(summary, '') || ' [退回：' || $6 || ']' else summary end,
           version = version + 1, updated_at = now()
         where inspection_id = $1 and version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(to)
    .bind(step)
    .bind(ctx.user_id)
    .bind(text(&input.reasons).unwrap_or_default())
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::stale());
    }
    audit::record(
        conn,
        ctx,
        Event::new(&format!("inspection.{step}"), "inspection", id)
            .before(&json!({"state": i.state, "version": version}))
            .after(&json!({"state": to})),
    )
    .await?;
    inspection_get(conn, ctx, id).await
}

/// 双随机、一公开: completed, published random inspections, without notes.
pub async fn public_inspections(pool: &PgPool) -> Result<Vec<PublicInspection>> {
    Ok(sqlx::query_as(
        "select so.name as station_name, og.name as org_name, i.inspected_to,
                case when exists (select 1 from jsonb_each(i.areas) e where e.value->>'finding' = 'nonconforming')
                     then 'nonconforming' else 'conforming' end as result,
                i.cooperation
           from inspection i
           join organization so on so.organization_id = i.station_id
           join organization og on og.organization_id = i.org_id
          where i.state = 'completed' and i.published and i.draw_id is not null
          order by i.inspected_to desc nulls last limit 200",
    )
    .fetch_all(pool)
    .await?)
}

// ------------------------------------------------------------ orders

const ORDER: &str = "select o.order_id as id, o.inspection_id, o.station_id, so.name as station_name, o.department_id,
       o.issuer_id, og.name as issuer_name, o.areas, o.description, o.period_unit, o.period_days,
       o.issued_on, o.due_on, o.extended_due_on, o.extension_reason, o.state, o.report,
       o.rejection_reasons, o.closed_on, o.closure_proposed_by, o.version, o.due_provisional
  from rectification_order o
  join organization so on so.organization_id = o.station_id
  join organization og on og.organization_id = o.issuer_id";

fn finish(mut o: Order, today: NaiveDate) -> Order {
    let due = o.extended_due_on.unwrap_or(o.due_on);
    o.effective_due = Some(due);
    // An extension is a date the issuer chose: never provisional.
    o.due_provisional = o.due_provisional && o.extended_due_on.is_none();
    if o.due_provisional {
        o.due_note = Some(provisional_note(due.year(), RLang::Zh));
        o.due_note_en = Some(provisional_note(due.year(), RLang::En));
    }
    // R18.3: overdue the day after the deadline, while not closed.
    o.overdue = o.state != "closed" && crate::rules::deadlines::is_overdue(due, today).is_overdue();
    o
}

pub async fn order_get(conn: &mut PgConnection, ctx: &Ctx, id: Uuid) -> Result<Order> {
    let o: Option<Order> = sqlx::query_as(&format!(
        "{ORDER} where o.order_id = $1 and (o.issuer_id = $2 or o.station_id = $2 or o.department_id = $2
           or exists (select 1 from station h where h.station_id = o.station_id and h.head_station_id = $2))"
    ))
    .bind(id)
    .bind(ctx.org_id)
        .fetch_optional(conn)
        .await?;
    o.map(|o| finish(o, today())).ok_or(AppError::NotFound)
}

/// What an order list is filtered by.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrderFilter<'a> {
    pub state: Option<&'a str>,
    pub station: Option<Uuid>,
    pub inspection: Option<Uuid>,
    /// R18.3: past the (extended) deadline and not closed.
    pub overdue_only: bool,
    /// Not closed.
    pub open_only: bool,
}

/// The orders the caller sees (issuer, station, department, head station),
/// as a `where` clause on `o` with the filter in `$1`–`$6`.
const ORDER_WHERE: &str = "($1::text is null or o.state = $1) and ($2::uuid is null or o.station_id = $2)
    and (o.issuer_id = $3 or o.station_id = $3 or o.department_id = $3
      or exists (select 1 from station h where h.station_id = o.station_id and h.head_station_id = $3))
    and ($4::uuid is null or o.inspection_id = $4)
    and (not $5 or (o.state <> 'closed' and coalesce(o.extended_due_on, o.due_on) < $6))
    and (not $7 or o.state <> 'closed')";

/// Orders the caller sees, filtered, earliest deadline first, one keyset
/// page of `limit` after `after` (issue 14).
pub async fn orders(
    conn: &mut PgConnection,
    ctx: &Ctx,
    f: &OrderFilter<'_>,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<(Vec<Order>, Option<Cursor>)> {
    let today = today();
    let rows: Vec<Order> = sqlx::query_as(&format!(
        "{ORDER} where {ORDER_WHERE}
           and ($8::date is null or (coalesce(o.extended_due_on, o.due_on), o.order_id) > ($8, $9))
          order by coalesce(o.extended_due_on, o.due_on), o.order_id limit $10"
    ))
    .bind(f.state)
    .bind(f.station)
    .bind(ctx.org_id)
    .bind(f.inspection)
    .bind(f.overdue_only)
    .bind(today)
    .bind(f.open_only)
    .bind(after.map(Cursor::date).transpose()?)
    .bind(after.map(|c| c.id).unwrap_or_default())
    .bind(limit + 1)
    .fetch_all(conn)
    .await?;
    let rows = rows.into_iter().map(|o| finish(o, today)).collect();
    Ok(keyset_page(rows, limit, |o: &Order| {
        Cursor::new(o.extended_due_on.unwrap_or(o.due_on), o.id)
    }))
}

/// How many orders the caller sees under `f`, counted in SQL (the home
/// page's and the list's overdue figures, R18.3).
pub async fn order_count(conn: &mut PgConnection, ctx: &Ctx, f: &OrderFilter<'_>) -> Result<i64> {
    Ok(sqlx::query_scalar(&format!(
        "select count(*) from rectification_order o where {ORDER_WHERE}"
    ))
    .bind(f.state)
    .bind(f.station)
    .bind(ctx.org_id)
    .bind(f.inspection)
    .bind(f.overdue_only)
    .bind(today())
    .bind(f.open_only)
    .fetch_one(conn)
    .await?)
}

/// R18.1: issues an order for nonconforming areas of a completed inspection;
/// the due date comes from the rules module on the official calendar.
pub async fn order_issue(
    conn: &mut PgConnection,
    ctx: &Ctx,
    inspection: Uuid,
    input: &OrderInput,
) -> Result<Order> {
    let i = inspection_get(conn, ctx, inspection).await?;
    if i.org_id != ctx.org_id {
        return Err(AppError::NotFound);
    }
    if !(ctx.has(Role::Inspector) || ctx.has(Role::Reviewer) || ctx.has(Role::Officer)) {
        return Err(AppError::forbidden(
            "只有检查人员或审查员可以下达整改通知",
            "Only an inspector or reviewer issues orders",
        ));
    }
    if i.state != "completed" {
        return Err(AppError::Conflict {
            code: "not_completed",
            zh: "检查记录经审批确认后才能下达整改通知".into(),
            en: "Orders follow a confirmed inspection record".into(),
        });
    }
    // "Never the same area twice" holds under concurrency: orders on one
    // inspection are issued one at a time (a row lock, not check-then-insert).
    sqlx::query("select 1 from inspection where inspection_id = $1 for update")
        .bind(inspection)
        .execute(&mut *conn)
        .await?;
    let mut errors = Vec::new();
    let nonconforming = i.nonconforming();
    let already: Vec<String> = sqlx::query_scalar(
        "select distinct unnest(areas) from rectification_order where inspection_id = $1",
    )
    .bind(inspection)
    .fetch_all(&mut *conn)
    .await?;
    if input.areas.is_empty() {
        errors.push(FieldError::new(
            "areas",
            "required",
            "请选择本通知涵盖的不符合项",
            "Choose the nonconformities this order covers",
        ));
    }
    for a in &input.areas {
        if !nonconforming.contains(a) {
            errors.push(FieldError::new(
                "areas",
                "not_nonconforming",
                format!(
                    "“{}”不是本次检查的不符合项",
                    area_label(a, crate::i18n::Lang::Zh)
                ),
                format!(
                    "“{}” is not a nonconformity of this inspection",
                    area_label(a, crate::i18n::Lang::En)
                ),
            ));
        } else if already.contains(a) {
            errors.push(FieldError::new(
                "areas",
                "already_ordered",
                format!("“{}”已下达过整改通知", area_label(a, crate::i18n::Lang::Zh)),
                format!(
                    "An order already covers “{}”",
                    area_label(a, crate::i18n::Lang::En)
                ),
            ));
        }
    }
    crate::web::check_lengths(
        &[("description", input.description.as_deref(), 2000)],
        &mut errors,
    );
    let description = text(&input.description);
    if description.is_none() {
        errors.push(FieldError::new(
            "description",
            "required",
            "请写明整改要求",
            "Describe what is to be corrected",
        ));
    }
    let days = input.period_days.unwrap_or(0);
    if !(1..=365).contains(&days) {
        errors.push(FieldError::new(
            "period_days",
            "range",
            "整改期限应为 1–365 天",
            "The period is 1–365 days",
        ));
    }
    let period = match input.period_unit.as_deref() {
        Some("working_days") => Some(Period::WorkingDays(days)),
        Some("calendar_days") => Some(Period::CalendarDays(days)),
        _ => {
            errors.push(FieldError::new(
                "period_unit",
                "invalid",
                "期限单位应为工作日或自然日",
                "Unit: working_days or calendar_days",
            ));
            None
        }
    };
    crate::web::check_date("issued_on", input.issued_on, &mut errors);
    let issued = input.issued_on.unwrap_or_else(today);
    if issued > today() {
        errors.push(FieldError::new(
            "issued_on",
            "future",
            "下达日期不能晚于今天",
            "The issue date cannot be in the future",
        ));
    }
    let cal = crate::calendar::store::current(conn).await?;
    // R18.1: past the loaded years the due date is provisional 暂定 and is
    // recomputed when the year is loaded.
    let due = match period {
        Some(p) if errors.is_empty() => {
            match cal.or_provisional(|c| rectification_due(issued, p, c)) {
                Ok(d) => Some(d),
                Err(e) => {
                    errors.push(FieldError::new(
                        "period_days",
                        "calendar",
                        e.message_zh(),
                        e.message_en(),
                    ));
                    None
                }
            }
        }
        _ => None,
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into rectification_order (order_id, inspection_id, station_id, department_id, issuer_id, areas,
           description, period_unit, period_days, issued_on, due_on, due_provisional, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(id)
    .bind(inspection)
    .bind(i.station_id)
    .bind(i.department_id)
    .bind(ctx.org_id)
    .bind(&input.areas)
    .bind(&description)
    .bind(input.period_unit.as_deref())
    .bind(days as i32)
    .bind(issued)
    .bind(due.map(|d| d.0))
    .bind(due.is_some_and(|d| d.1))
    .bind(ctx.user_id)
    .execute(&mut *conn)
    .await?;
    let provisional = due.is_some_and(|d| d.1);
    let due = due.map(|d| d.0);
    // R18.2: the competent department (and the station) are notified.
    notify(
        conn,
        &[i.station_id, i.department_id],
        crate::notifications::Note::new("order.issued", "")
            .p("station", &i.station_name)
            .p("issuer", &i.org_name)
            .p("due", due.map(|d| d.to_string()).unwrap_or_default())
            .p2(
                "provisional",
                if provisional {
                    "（暂定，该年节假日安排导入后重算）"
                } else {
                    ""
                },
                if provisional {
                    " (provisional: recomputed when that year's holidays are loaded)"
                } else {
                    ""
                },
            ),
        &format!("/rectification-orders/{id}"),
    )
    .await?;
    audit::record(
        conn,
        ctx,
        Event::new("rectification_order.issue", "rectification_order", id).after(&json!({
            "inspection_id": inspection, "areas": input.areas, "issued_on": issued, "due_on": due,
            "due_provisional": provisional,
            "period": {"unit": input.period_unit, "days": days}})),
    )
    .await?;
    order_get(conn, ctx, id).await
}

/// Steps on an order: `report` (station), `accept`, `reject`, `extend` (issuer).
pub async fn order_step(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    step: &str,
    input: &StepInput,
) -> Result<Order> {
    let o = order_get(conn, ctx, id).await?;
    let version = crate::web::need_version(input.version)?;
    let issuer = ctx.org_id == o.issuer_id
        && (ctx.has(Role::Reviewer)
            || ctx.has(Role::Approver)
            || ctx.has(Role::Inspector)
            || ctx.has(Role::Officer));
    // Four eyes (requirements §2): a reviewer proposes to close, another
    // user with the deciding role closes.
    let proposer = ctx.org_id == o.issuer_id
        && (ctx.has(Role::Reviewer) || ctx.has(Role::Inspector) || ctx.has(Role::Officer));
    let decider = ctx.org_id == o.issuer_id
        && match ctx.org_kind {
            OrgKind::Regulator => ctx.has(Role::Approver),
            _ => ctx.has(Role::Officer) || ctx.has(Role::Admin),
        };
    let station = ctx.org_id == o.station_id;
    let (actor_ok, from, to): (bool, &[&str], &str) = match step {
        "report" => (station, &["open"], "reported"),
        "accept" => (proposer, &["reported"], "closing"),
        "close" => (decider, &["closing"], "closed"),
        "reject" => (issuer, &["reported", "closing"], "open"),
        "extend" => (issuer, &["open", "reported", "closing"], o.state.as_str()),
        _ => return Err(AppError::NotFound),
    };
    if step == "close" && o.closure_proposed_by == Some(ctx.user_id) {
        return Err(AppError::forbidden(
            "关闭整改通知须由提出关闭意见以外的另一人审批（双人复核）",
            "Four eyes: someone other than the one who proposed closing closes the order",
        ));
    }
    if !actor_ok {
        return Err(AppError::forbidden(
            if step == "report" {
                "只有被检查的计量站可以提交整改报告"
            } else {
                "只有下达通知的单位可以办理"
            },
            if step == "report" {
                "Only the station reports on its rectification"
            } else {
                "Only the issuing organization may do this"
            },
        ));
    }
    if !from.contains(&o.state.as_str()) {
        return Err(illegal(&o.state));
    }
    let mut errors = Vec::new();
    crate::web::check_lengths(
        &[
            ("reasons", input.reasons.as_deref(), 2000),
            ("report", input.report.as_deref(), 5000),
        ],
        &mut errors,
    );
    let reasons = text(&input.reasons);
    let report = text(&input.report);
    match step {
        "report" if report.is_none() => errors.push(FieldError::new(
            "report",
            "required",
            "请填写整改报告",
            "Write the rectification report",
        )),
        "reject" if reasons.is_none() => errors.push(FieldError::new(
            "reasons",
            "required",
            "不予通过须说明理由",
            "Give the reasons for rejecting",
        )),
        "extend" => {
            if o.extended_due_on.is_some() {
                return Err(AppError::Conflict {
                    code: "already_extended",
                    zh: "整改期限只能延长一次（R18.3）".into(),
                    en: "The deadline can be extended once only (R18.3)".into(),
                });
            }
            crate::web::check_date("new_due_on", input.new_due_on, &mut errors);
            match input.new_due_on {
                Some(d) if d > o.due_on => {}
                _ => errors.push(FieldError::new(
                    "new_due_on",
                    "invalid",
                    format!("新的整改期限须晚于 {}", o.due_on),
                    format!("The new deadline must be after {}", o.due_on),
                )),
            }
            if reasons.is_none() {
                errors.push(FieldError::new(
                    "reasons",
                    "required",
                    "请说明延期理由",
                    "Give the reasons for the extension",
                ));
            }
        }
        _ => {}
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let done = sqlx::query(
        "update rectification_order set state = $3,
           report = case when $4 = 'report' then $5 else report end,
           reported_at = case when $4 = 'report' then now() else reported_at end,
           rejection_reasons = case when $4 = 'reject' then $6 else rejection_reasons end,
           extended_due_on = case when $4 = 'extend' then $7 else extended_due_on end,
           extension_reason = case when $4 = 'extend' then $6 else extension_reason end,
           closure_proposed_by = case when $4 = 'accept' then $9 when $4 = 'reject' then null else closure_proposed_by end,
           closed_on = case when $4 = 'close' then $8 else closed_on end,
           closed_by = case when $4 = 'close' then $9 else closed_by end,
           version = version + 1, updated_at = now()
         where order_id = $1 and version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(to)
    .bind(step)
    .bind(&report)
    .bind(&reasons)
    .bind(input.new_due_on)
    .bind(today())
    .bind(ctx.user_id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::stale());
    }
    // R18.2: the handling result goes to the competent department.
    use crate::notifications::Note;
    let code = match step {
        "report" => "order.reported",
        "accept" => "order.accepted",
        "close" => "order.closed",
        "reject" => "order.rejected",
        _ => "order.extended",
    };
    let note = Note::new(code, format!("/rectification-orders/{id}"))
        .p("station", &o.station_name)
        .p("issuer", &o.issuer_name)
        .p("reasons", reasons.clone().unwrap_or_default())
        .p(
            "due",
            input.new_due_on.map(|d| d.to_string()).unwrap_or_default(),
        )
        .p("version", version + 1);
    if step == "report" {
        // The issuer's reviewers act on a report; the department is told.
        crate::notifications::send(
            conn,
            &[o.issuer_id],
            &note.clone().for_role(crate::auth::Role::Reviewer),
        )
        .await?;
        crate::notifications::send(conn, &[o.department_id], &note).await?;
    } else {
        crate::notifications::send(conn, &[o.station_id, o.department_id], &note).await?;
    }
    audit::record(
        conn,
        ctx,
        Event::new(
            &format!("rectification_order.{step}"),
            "rectification_order",
            id,
        )
        .before(&json!({"state": o.state, "version": version}))
        .after(&json!({"state": to, "extended_due_on": input.new_due_on, "reasons": reasons})),
    )
    .await?;
    order_get(conn, ctx, id).await
}

async fn notify(
    conn: &mut PgConnection,
    orgs: &[Uuid],
    note: crate::notifications::Note,
    link: &str,
) -> Result<()> {
    crate::notifications::send(conn, orgs, &note.at(link)).await
}

// ------------------------------------------------------------ cases

/// A positive amount of yuan: up to 12 digits, at most two decimals.
fn valid_amount(s: &str) -> bool {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    !int.is_empty()
        && int.len() <= 12
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.len() <= 2
        && frac.bytes().all(|b| b.is_ascii_digit())
        && (int.bytes().any(|b| b != b'0') || frac.bytes().any(|b| b != b'0'))
}

const CASE: &str = "select c.case_id as id, c.regulator_id, g.name as regulator_name, c.station_id,
       so.name as station_name, c.art16_items, c.description, c.inspection_ids, c.evidence, c.state,
       c.decision, c.fine_amount::text as fine_amount, c.decision_notes, c.proposed_by, c.decided_by,
       c.decided_at, c.version, c.created_at
  from violation_case c
  join organization g on g.organization_id = c.regulator_id
  join organization so on so.organization_id = c.station_id";

/// The regulator's cases; the station and department see decided ones.
const CASE_VISIBLE: &str = "(c.regulator_id = $9 or (c.state = 'decided' and (c.station_id = $9 or c.department_id = $9)))";

pub async fn case_get(conn: &mut PgConnection, ctx: &Ctx, id: Uuid) -> Result<Case> {
    let c: Option<Case> = sqlx::query_as(&format!(
        "{CASE} where c.case_id = $1 and {}",
        CASE_VISIBLE.replace("$9", "$2")
    ))
    .bind(id)
    .bind(ctx.org_id)
    .fetch_optional(conn)
    .await?;
    c.ok_or(AppError::NotFound)
}

/// The caller's cases, newest first, one keyset page (issue 14).
pub async fn cases(
    conn: &mut PgConnection,
    ctx: &Ctx,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<(Vec<Case>, Option<Cursor>)> {
    let rows = sqlx::query_as(&format!(
        "{CASE} where {} and ($2::timestamptz is null or (c.created_at, c.case_id) < ($2, $3))
          order by c.created_at desc, c.case_id desc limit $4",
        CASE_VISIBLE.replace("$9", "$1")
    ))
    .bind(ctx.org_id)
    .bind(after.map(Cursor::time).transpose()?)
    .bind(after.map(|c| c.id).unwrap_or_default())
    .bind(limit + 1)
    .fetch_all(conn)
    .await?;
    Ok(keyset_page(rows, limit, |c: &Case| {
        Cursor::new(time_key(c.created_at), c.id)
    }))
}

/// R19.1: opens a case (regulator's reviewer or inspector).
pub async fn case_create(conn: &mut PgConnection, ctx: &Ctx, input: &CaseInput) -> Result<Case> {
    if ctx.org_kind != OrgKind::Regulator || !(ctx.has(Role::Reviewer) || ctx.has(Role::Inspector))
    {
        return Err(AppError::forbidden(
            "违法案件由市场监管部门的审查员或检查员立案",
            "A regulator's reviewer or inspector opens violation cases",
        ));
    }
    let Some(station) = input.station_id else {
        return Err(AppError::field(
            "station_id",
            "required",
            "请选择计量站",
            "Choose the station",
        ));
    };
    let department = may_inspect_station(conn, ctx, station).await?;
    let mut errors = Vec::new();
    let mut items = input.art16_items.clone();
    items.sort();
    items.dedup();
    if items.is_empty() || items.iter().any(|i| !ART16_ITEMS.iter().any(|a| a.0 == i)) {
        errors.push(FieldError::new(
            "art16_items",
            "invalid",
            "请从第十六条所列七项中选择违反的条款",
            "Choose the breached items among the seven of Art 16",
        ));
    }
    crate::web::check_lengths(
        &[
            ("description", input.description.as_deref(), 5000),
            ("evidence", input.evidence.as_deref(), 5000),
        ],
        &mut errors,
    );
    let description = text(&input.description);
    if description.is_none() {
        errors.push(FieldError::new(
            "description",
            "required",
            "请写明违法事实",
            "Describe the facts",
        ));
    }
    if !input.inspection_ids.is_empty() {
        let n: i64 = sqlx::query_scalar(
            "select count(*) from inspection where inspection_id = any($1) and station_id = $2 and org_id = $3",
        )
        .bind(&input.inspection_ids)
        .bind(station)
        .bind(ctx.org_id)
        .fetch_one(&mut *conn)
        .await?;
        if n as usize != input.inspection_ids.len() {
            errors.push(FieldError::new(
                "inspection_ids",
                "unknown",
                "所引检查须为本单位对该站的检查",
                "Linked inspections must be your own of this station",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into violation_case (case_id, regulator_id, station_id, department_id, art16_items, description,
           inspection_ids, evidence, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(ctx.org_id)
    .bind(station)
    .bind(department)
    .bind(&items)
    .bind(&description)
    .bind(&input.inspection_ids)
    .bind(text(&input.evidence))
    .bind(ctx.user_id)
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        ctx,
        Event::new("violation_case.open", "violation_case", id)
            .after(&json!({"station_id": station, "art16_items": items})),
    )
    .await?;
    case_get(conn, ctx, id).await
}

/// Steps on a case: `propose` (decision), `decide` (another approver), `withdraw`.
pub async fn case_step(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    step: &str,
    input: &StepInput,
) -> Result<Case> {
    let c = case_get(conn, ctx, id).await?;
    if c.regulator_id != ctx.org_id {
        return Err(AppError::NotFound);
    }
    let version = crate::web::need_version(input.version)?;
    let (role_ok, from, to): (bool, &[&str], &str) = match step {
        "propose" => (
            ctx.has(Role::Reviewer) || ctx.has(Role::Inspector),
            &["draft"],
            "proposed",
        ),
        "decide" => (ctx.has(Role::Approver), &["proposed"], "decided"),
        "withdraw" => (
            ctx.has(Role::Reviewer) || ctx.has(Role::Approver),
            &["draft", "proposed"],
            "withdrawn",
        ),
        _ => return Err(AppError::NotFound),
    };
    if !role_ok {
        return Err(AppError::forbidden(
            if step == "decide" {
                "只有审批人可以作出处理决定"
            } else {
                "只有审查员或检查员可以提出处理意见"
            },
            if step == "decide" {
                "Only an approver decides"
            } else {
                "Only a reviewer or inspector proposes"
            },
        ));
    }
    if !from.contains(&c.state.as_str()) {
        if step == "decide" && c.state == "decided" {
            return Err(AppError::Conflict {
                code: "already_decided",
                zh: "该案件已作出处理决定".into(),
                en: "This case was already decided".into(),
            });
        }
        return Err(illegal(&c.state));
    }
    if step == "decide" && c.proposed_by == Some(ctx.user_id) {
        return Err(AppError::forbidden(
            "处理意见须由提出人以外的审批人决定（双人复核）",
            "Four eyes: someone other than the proposer decides",
        ));
    }
    let mut errors = Vec::new();
    crate::web::check_lengths(&[("notes", input.notes.as_deref(), 2000)], &mut errors);
    let mut fine: Option<String> = None;
    if step == "propose" {
        match input.decision.as_deref() {
            Some("fine") => match text(&input.fine_amount).map(|f| f.replace([',', '，'], "")) {
                // Yuan with at most two decimals, above zero, within numeric(14, 2).
                Some(f) if valid_amount(&f) => fine = Some(f),
                _ => errors.push(FieldError::new(
                    "fine_amount",
                    "invalid",
                    "罚款金额应为大于 0 的金额（元，最多两位小数）",
                    "The fine is an amount above 0 (yuan, at most two decimals)",
                )),
            },
            Some("revocation") => {
                // R19.1: revocation is for the regulator that granted an
                // authorization still in force.
                let granted: i64 = sqlx::query_scalar(
                    "select count(*) from station_authorization where station_id = $1 and regulator_id = $2
                       and status in ('active', 'suspended')",
                )
                .bind(c.station_id)
                .bind(ctx.org_id)
                .fetch_one(&mut *conn)
                .await?;
                if granted == 0 {
                    errors.push(FieldError::new(
                        "decision",
                        "not_authorizer",
                        "只有授权部门可以撤销其颁发的有效授权；请将案件移交授权部门",
                        "Only the authorizing regulator revokes its authorization; refer the case to it",
                    ));
                }
            }
            Some("warning" | "order_to_correct" | "other") => {}
            _ => errors.push(FieldError::new(
                "decision",
                "invalid",
                "处理决定应为警告、责令改正、罚款、撤销授权或其他",
                "Decision: warning, order_to_correct, fine, revocation or other",
            )),
        }
        if input.decision.as_deref() == Some("other") && text(&input.notes).is_none() {
            errors.push(FieldError::new(
                "notes",
                "required",
                "请写明处理决定",
                "Describe the decision",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let done = sqlx::query(
        "update violation_case set state = $3,
           decision = case when $4 = 'propose' then $5 else decision end,
           fine_amount = case when $4 = 'propose' then $6::numeric else fine_amount end,
           decision_notes = case when $4 = 'propose' then $7 else decision_notes end,
           proposed_by = case when $4 = 'propose' then $8 else proposed_by end,
           decided_by = case when $4 = 'decide' then $8 else decided_by end,
           decided_at = case when $4 = 'decide' then now() else decided_at end,
           version = version + 1, updated_at = now()
         where case_id = $1 and version = $2 and state = $9",
    )
    .bind(id)
    .bind(version)
    .bind(to)
    .bind(step)
    .bind(input.decision.as_deref())
    .bind(&fine)
    .bind(text(&input.notes))
    .bind(ctx.user_id)
    .bind(&c.state)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::stale());
    }
    if step == "decide" {
        if c.decision.as_deref() == Some("revocation") {
            // R19.1: a revocation ends the authorization at once.
            sqlx::query("select revoke_authorization($1, $2)")
                .bind(id)
                .bind(today())
                .execute(&mut *conn)
                .await?;
        }
        let dept: Uuid =
            sqlx::query_scalar("select department_id from violation_case where case_id = $1")
                .bind(id)
                .fetch_one(&mut *conn)
                .await?;
        notify(
            conn,
            &[c.station_id, dept],
            crate::notifications::Note::new("case.decided", "")
                .p("station", &c.station_name)
                .p("regulator", &c.regulator_name),
            &format!("/cases/{id}"),
        )
        .await?;
    }
    audit::record(
        conn,
        ctx,
        Event::new(&format!("violation_case.{step}"), "violation_case", id)
            .before(&json!({"state": c.state, "version": version}))
            .after(&json!({"state": to, "decision": input.decision, "fine_amount": fine})),
    )
    .await?;
    case_get(conn, ctx, id).await
}

// ------------------------------------------------------------ referrals

const REFERRAL: &str =
    "select r.referral_id as id, r.station_id, so.name as station_name, r.case_id,
       r.recipient, r.referred_on, r.reference, r.summary, r.created_at
  from referral r left join organization so on so.organization_id = r.station_id";

/// The regulator's referrals, latest first, one keyset page (issue 14).
pub async fn referrals(
    conn: &mut PgConnection,
    ctx: &Ctx,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<(Vec<Referral>, Option<Cursor>)> {
    if !ctx.has(Role::Approver) || ctx.org_kind != OrgKind::Regulator {
        return Err(AppError::NotFound);
    }
    let rows = sqlx::query_as(&format!(
        "{REFERRAL} where ($1::date is null or (r.referred_on, r.referral_id) < ($1, $2))
          order by r.referred_on desc, r.referral_id desc limit $3"
    ))
    .bind(after.map(Cursor::date).transpose()?)
    .bind(after.map(|c| c.id).unwrap_or_default())
    .bind(limit + 1)
    .fetch_all(conn)
    .await?;
    Ok(keyset_page(rows, limit, |r: &Referral| {
        Cursor::new(r.referred_on, r.id)
    }))
}

/// R19.2: records a referral (the regulator's approvers only).
pub async fn referral_create(
    conn: &mut PgConnection,
    ctx: &Ctx,
    input: &ReferralInput,
) -> Result<Referral> {
    if ctx.org_kind != OrgKind::Regulator || !ctx.has(Role::Approver) {
        return Err(AppError::forbidden(
            "线索移送只能由市场监管部门的审批人登记（R19.2）",
            "Referrals are recorded by a regulator's approvers only (R19.2)",
        ));
    }
    let mut errors = Vec::new();
    let recipient = text(&input.recipient);
    let reference = text(&input.reference);
    let summary = text(&input.summary);
    if recipient.is_none() {
        errors.push(FieldError::new(
            "recipient",
            "required",
            "请填写接收的纪检监察机关",
            "Name the recipient",
        ));
    }
    if reference.is_none() {
        errors.push(FieldError::new(
            "reference",
            "required",
            "请填写移送文号",
            "Give the reference number",
        ));
    }
    if summary.is_none() {
        errors.push(FieldError::new(
            "summary",
            "required",
            "请概述移送的问题线索",
            "Summarize the clues",
        ));
    }
    crate::web::check_date("referred_on", input.referred_on, &mut errors);
    if recipient.as_ref().is_some_and(|r| r.chars().count() > 200) {
        errors.push(FieldError::new(
            "recipient",
            "length",
            "接收机关名称不得超过 200 字",
            "At most 200 characters",
        ));
    }
    if reference.as_ref().is_some_and(|r| r.chars().count() > 100) {
        errors.push(FieldError::new(
            "reference",
            "length",
            "文号不得超过 100 字",
            "At most 100 characters",
        ));
    }
    if summary.as_ref().is_some_and(|r| r.chars().count() > 5000) {
        errors.push(FieldError::new(
            "summary",
            "length",
            "概要不得超过 5000 字",
            "At most 5,000 characters",
        ));
    }
    if let Some(st) = input.station_id {
        let seen: Option<Uuid> =
            sqlx::query_scalar("select station_id from station where station_id = $1")
                .bind(st)
                .fetch_optional(&mut *conn)
                .await?;
        if seen.is_none() {
            errors.push(FieldError::new(
                "station_id",
                "unknown",
                "所选计量站不存在",
                "Unknown station",
            ));
        }
    }
    match input.referred_on {
        None => errors.push(FieldError::required("referred_on")),
        Some(d) if d > today() => errors.push(FieldError::new(
            "referred_on",
            "future",
            "移送日期不能晚于今天",
            "The date cannot be in the future",
        )),
        _ => {}
    }
    if let Some(case) = input.case_id {
        if case_get(conn, ctx, case)
            .await
            .map(|c| c.regulator_id != ctx.org_id)
            .unwrap_or(true)
        {
            errors.push(FieldError::new(
                "case_id",
                "unknown",
                "所引案件不存在",
                "Unknown case",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into referral (referral_id, regulator_id, station_id, case_id, recipient, referred_on, reference,
           summary, created_by) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(ctx.org_id)
    .bind(input.station_id)
    .bind(input.case_id)
    .bind(&recipient)
    .bind(input.referred_on)
    .bind(&reference)
    .bind(&summary)
    .bind(ctx.user_id)
    .execute(&mut *conn)
    .await?;
    // The audit event names the referral, not its contents.
    audit::record(
        conn,
        ctx,
        Event::new("referral.record", "referral", id).after(&json!({"reference": reference})),
    )
    .await?;
    let r: Option<Referral> = sqlx::query_as(&format!("{REFERRAL} where r.referral_id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    r.ok_or(AppError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_is_overdue_the_day_after_its_deadline_and_not_before_r18_3() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let order = |state: &str, due: &str, ext: Option<&str>| Order {
            id: Uuid::nil(),
            inspection_id: None,
            station_id: Uuid::nil(),
            station_name: String::new(),
            department_id: Uuid::nil(),
            issuer_id: Uuid::nil(),
            issuer_name: String::new(),
            areas: vec!["fees".into()],
            description: String::new(),
            period_unit: "working_days".into(),
            period_days: 10,
            issued_on: d("2025-09-26"),
            due_on: d(due),
            extended_due_on: ext.map(d),
            extension_reason: None,
            state: state.into(),
            report: None,
            rejection_reasons: None,
            closed_on: None,
            closure_proposed_by: None,
            version: 1,
            due_provisional: false,
            due_note: None,
            due_note_en: None,
            effective_due: None,
            overdue: false,
        };
        assert!(!finish(order("open", "2025-10-16", None), d("2025-10-16")).overdue);
        assert!(finish(order("open", "2025-10-16", None), d("2025-10-17")).overdue);
        assert!(!finish(order("closed", "2025-10-16", None), d("2025-10-17")).overdue);
        let extended = finish(
            order("reported", "2025-10-16", Some("2025-10-31")),
            d("2025-10-17"),
        );
        assert!(!extended.overdue);
        assert_eq!(extended.effective_due, Some(d("2025-10-31")));
    }
}
