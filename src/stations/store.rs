//! SQL for the station registry. Queries filter by the caller's visibility
//! (`station_access`) explicitly; row-level security is the second line.

use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::model::*;
use crate::auth::Ctx;
use crate::error::{AppError, FieldError, Result};
use crate::orgs::model::{StationStatus, StationTier};
use crate::web::Paging;

/// The rows the filters and the order apply to (`s`, `o`, `d`); the
/// names of the other organizations and the division path are added by
/// [`NAMED`] around the page only. One query joining five row-policed
/// organizations took 12.5 ms to plan at national size (docs/scale.md).
const INNER: &str = "select s.*, o.name, o.address
  from station s
  join organization o on o.organization_id = s.station_id
  join division d on d.code = s.location_division";

/// `NAMED_HEAD` + an [`INNER`] query + `") p"`: the listed columns.
const NAMED_HEAD: &str =
    "select p.station_id, p.code, p.name, p.tier, p.status, p.field, p.location_division,
       p.department_id,
       (select x.name from organization x where x.organization_id = p.department_id) as department_name,
       p.authorizing_regulator_id,
       (select x.name from organization x where x.organization_id = p.authorizing_regulator_id) as regulator_name,
       p.head_station_id,
       (select x.name from organization x where x.organization_id = p.head_station_id) as head_station_name,
       p.updated_at, p.legal_person, p.credit_code, p.parent_entity_name, p.parent_entity_credit_code,
       p.address, p.version, p.created_at
  from (";

#[derive(sqlx::FromRow)]
struct Row {
    station_id: Uuid,
    code: String,
    name: String,
    tier: String,
    status: String,
    field: String,
    location_division: String,
    department_id: Uuid,
    department_name: Option<String>,
    authorizing_regulator_id: Option<Uuid>,
    regulator_name: Option<String>,
    head_station_id: Option<Uuid>,
    head_station_name: Option<String>,
    updated_at: chrono::DateTime<chrono::Utc>,
    legal_person: bool,
    credit_code: Option<String>,
    parent_entity_name: Option<String>,
    parent_entity_credit_code: Option<String>,
    address: Option<String>,
    version: i32,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl Row {
    fn summary(&self) -> StationSummary {
        StationSummary {
            id: self.station_id,
            code: self.code.clone(),
            name: self.name.clone(),
            tier: StationTier::parse(&self.tier).unwrap_or(StationTier::Local),
            status: StationStatus::parse(&self.status).unwrap_or(StationStatus::Unauthorized),
            field: self.field.clone(),
            location_division: self.location_division.clone(),
            // From the cached division table, not a statement (issue 14).
            location_name: crate::db::reference::division_path(&self.location_division)
                .unwrap_or(&self.location_division)
                .to_owned(),
            department_id: self.department_id,
            department_name: self.department_name.clone(),
            authorizing_regulator_id: self.authorizing_regulator_id,
            authorizing_regulator_name: self.regulator_name.clone(),
            head_station_id: self.head_station_id,
            head_station_name: self.head_station_name.clone(),
            updated_at: self.updated_at,
        }
    }
}

/// The explicit visibility filter (first line of tenancy; RLS is the second).
fn push_visible(qb: &mut QueryBuilder<Postgres>, ctx: &Ctx) {
    if ctx.is_operator() {
        return;
    }
    qb.push(" and ((select app_sees_all_stations()) or exists (select 1 from station_access a where a.station_id = s.station_id and a.org_id = ")
        .push_bind(ctx.org_id)
        .push("))");
}

/// A query's validated filters.
pub struct Filters {
    pub q: Option<String>,
    pub tier: Option<StationTier>,
    pub status: Option<StationStatus>,
    pub region: Option<String>,
    pub sort: StationSort,
    pub desc: bool,
    pub paging: Paging,
}

fn empty_none(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Checks a list query; unknown values are field errors, not silent defaults.
pub fn parse_query(q: &StationQuery) -> Result<Filters> {
    let mut errors = Vec::new();
    let tier = empty_none(&q.tier).and_then(|t| {
        let p = StationTier::parse(t);
        if p.is_none() {
            errors.push(FieldError::new(
                "tier",
                "invalid",
                "层级取值无效",
                "Unknown tier",
            ));
        }
        p
    });
    let status = empty_none(&q.status).and_then(|t| {
        let p = StationStatus::parse(t);
        if p.is_none() {
            errors.push(FieldError::new(
                "status",
                "invalid",
                "状态取值无效",
                "Unknown status",
            ));
        }
        p
    });
    let region = empty_none(&q.region).map(str::to_owned);
    if let Some(r) = &region {
        if !(r.len() == 6 && r.bytes().all(|b| b.is_ascii_digit())) {
            errors.push(FieldError::new(
                "region",
                "invalid_division",
                "行政区划代码应为 6 位数字（GB/T 2260）",
                "A division code has six digits (GB/T 2260)",
            ));
        }
    }
    let sort = match empty_none(&q.sort) {
        None => StationSort::Name,
        Some(s) => match [
            StationSort::Name,
            StationSort::Code,
            StationSort::Tier,
            StationSort::Status,
            StationSort::Location,
            StationSort::Updated,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        {
            Some(k) => k,
            None => {
                errors.push(FieldError::new(
                    "sort",
                    "invalid",
                    "排序字段无效",
                    "Unknown sort key",
                ));
                StationSort::Name
            }
        },
    };
    let desc = match empty_none(&q.dir) {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => {
            errors.push(FieldError::new(
                "dir",
                "invalid",
                "排序方向应为 asc 或 desc",
                "dir is asc or desc",
            ));
            false
        }
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok(Filters {
        q: empty_none(&q.q).map(str::to_owned),
        tier,
        status,
        region,
        sort,
        desc,
        paging: Paging::new(q.page, q.per_page),
    })
}

fn push_filters(qb: &mut QueryBuilder<Postgres>, ctx: &Ctx, f: &Filters) {
    push_visible(qb, ctx);
    if let Some(q) = &f.q {
        let like = crate::web::like_pattern(q);
        qb.push(" and (o.name ilike ")
            .push_bind(like.clone())
            .push(" or s.code ilike ")
            .push_bind(like)
            .push(")");
    }
    if let Some(t) = f.tier {
        qb.push(" and s.tier = ").push_bind(t.as_str());
    }
    if let Some(st) = f.status {
        qb.push(" and s.status = ").push_bind(st.as_str());
    }
    if let Some(r) = &f.region {
        qb.push(" and ")
            .push_bind(r.clone())
            .push(" in (d.code, d.city_code, d.province_code)");
    }
}

/// One page of the stations the caller may see.
pub async fn list(
    conn: &mut PgConnection,
    ctx: &Ctx,
    f: &Filters,
) -> Result<(Vec<StationSummary>, i64)> {
    crate::db::custom_plans(&mut *conn).await?;
    let dir = if f.desc { "desc" } else { "asc" };
    let mut qb = QueryBuilder::new(format!("{NAMED_HEAD}{INNER} where true"));
    push_filters(&mut qb, ctx, f);
    qb.push(format!(
        " order by {} {dir}, s.code limit ",
        f.sort.column()
    ))
    .push_bind(f.paging.per_page)
    .push(" offset ")
    .push_bind(f.paging.offset());
    // The page keeps its order: the same keys on the inner columns.
    let outer = f.sort.column().replace("o.", "p.").replace("s.", "p.");
    qb.push(format!(") p order by {outer} {dir}, p.code"));
    let rows: Vec<Row> = qb.build_query_as().fetch_all(&mut *conn).await?;
    // Only the tables a filter reads: the name (search) and the division
    // (region) join in only when asked.
    let mut count = QueryBuilder::new(format!(
        "select count(*) from station s{}{} where true",
        if f.q.is_some() {
            " join organization o on o.organization_id = s.station_id"
        } else {
            ""
        },
        if f.region.is_some() {
            " join division d on d.code = s.location_division"
        } else {
            ""
        }
    ));
    push_filters(&mut count, ctx, f);
    let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
    Ok((rows.iter().map(Row::summary).collect(), total))
}

/// One station the caller may see, or `NotFound` (never 403: no existence oracle).
pub async fn get(conn: &mut PgConnection, ctx: &Ctx, id: Uuid) -> Result<StationDetail> {
    let mut qb = QueryBuilder::new(format!("{NAMED_HEAD}{INNER} where s.station_id = "));
    qb.push_bind(id);
    push_visible(&mut qb, ctx);
    qb.push(") p");
    let row: Row = qb
        .build_query_as()
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(AppError::NotFound)?;
    let relations: Vec<String> = sqlx::query_scalar(
        "select relation from station_access where org_id = $1 and station_id = $2 order by relation",
    )
    .bind(ctx.org_id)
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let branches: Vec<StationRef> = sqlx::query_as(
        "select s.station_id as id, s.code, o.name from station s
           join organization o on o.organization_id = s.station_id
          where s.head_station_id = $1
            and ($2 or exists (select 1 from station_access a where a.station_id = s.station_id and a.org_id = $3))
          order by s.code",
    )
    .bind(id)
    .bind(ctx.is_operator())
    .bind(ctx.org_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(StationDetail {
        summary: row.summary(),
        legal_person: row.legal_person,
        credit_code: row.credit_code,
        parent_entity_name: row.parent_entity_name,
        parent_entity_credit_code: row.parent_entity_credit_code,
        address: row.address,
        version: row.version,
        created_at: row.created_at,
        relations,
        branches,
    })
}

/// Visible stations counted by tier and status.
pub async fn counts(conn: &mut PgConnection, ctx: &Ctx) -> Result<Vec<StationCount>> {
    let mut qb =
        QueryBuilder::new("select s.tier, s.status, count(*) as count from station s where true");
    push_visible(&mut qb, ctx);
    qb.push(" group by s.tier, s.status order by s.tier, s.status");
    Ok(qb.build_query_as().fetch_all(conn).await?)
}
