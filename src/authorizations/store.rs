//! SQL for authorizations. Signed-in reads go through the tenant
//! transaction; the public pages read with the owner pool through these
//! narrow queries only, which select what a certificate shows and nothing else.

use std::sync::Arc;

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;
use uuid::Uuid;

use super::verify_cache::VerifyCache;
use crate::auth::Ctx;
use crate::error::Result;
use crate::i18n::Lang;
use crate::rules::measure::Range;
use crate::rules::scope::{AuthorizationFacts, AuthorizationStatus, AuthorizedItem, TaskType};
use crate::web::Paging;

/// An authorized item (R13.1).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ToSchema, sqlx::FromRow)]
pub struct Item {
    pub seq: i32,
    pub name: String,
    pub range_text: String,
    pub accuracy_text: String,
    pub task_types: Vec<String>,
    pub specification: String,
}

/// A division of the authorized region, with its full name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegionEntry {
    pub code: String,
    pub name: String,
}

/// An authorization as a certificate shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Authorization {
    pub id: Uuid,
    pub station_id: Uuid,
    pub station_name: String,
    pub station_code: String,
    pub regulator_name: String,
    pub certificate_number: String,
    /// As recorded: `active`, `suspended`, `terminated`, `revoked`.
    pub status: String,
    /// As of today: `valid`, `not_yet_valid`, `expired`, `suspended`,
    /// `terminated`, `revoked`.
    pub effective_status: String,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    pub region: Vec<RegionEntry>,
    pub items: Vec<Item>,
}

#[derive(sqlx::FromRow)]
struct Row {
    authorization_id: Uuid,
    station_id: Uuid,
    station_name: String,
    station_code: String,
    regulator_name: String,
    certificate_number: String,
    status: String,
    valid_from: NaiveDate,
    valid_until: NaiveDate,
    ended_on: Option<NaiveDate>,
    region: Vec<String>,
    /// The items, when the query brought them along ([`ITEMS`]).
    #[sqlx(default)]
    items: Option<sqlx::types::Json<Vec<Item>>>,
}

/// The items of `a` as one JSON column, in order: a key lookup that needs
/// them reads one row instead of running a second statement.
const ITEMS: &str = "coalesce((select json_agg(json_build_object('seq', i.seq, 'name', i.name,
         'range_text', i.range_text, 'accuracy_text', i.accuracy_text, 'task_types', i.task_types,
         'specification', i.specification) order by i.seq)
    from authorization_item i where i.authorization_id = a.authorization_id), '[]') as items";

const SELECT: &str = "select a.authorization_id, a.station_id, so.name as station_name, s.code as station_code,
       ro.name as regulator_name, a.certificate_number, a.status, a.valid_from, a.valid_until, a.ended_on,
       a.region
  from station_authorization a
  join station s on s.station_id = a.station_id
  join organization so on so.organization_id = a.station_id
  join organization ro on ro.organization_id = a.regulator_id";

/// The status a person should read today.
pub fn effective_status(
    status: &str,
    from: NaiveDate,
    until: NaiveDate,
    today: NaiveDate,
) -> &'static str {
    match status {
        "terminated" => "terminated",
        "revoked" => "revoked",
        "suspended" => "suspended",
        _ if today < from => "not_yet_valid",
        _ if today > until => "expired",
        _ => "valid",
    }
}

/// Label and badge of an effective status.
pub fn status_label(status: &str, lang: Lang) -> (&'static str, &'static str) {
    let (zh, en, badge) = match status {
        "valid" => ("有效", "Valid", "badge-ok"),
        "not_yet_valid" => ("尚未生效", "Not yet valid", "badge-warn"),
        "expired" => ("已过期", "Expired", "badge-bad"),
        "suspended" => ("暂停", "Suspended", "badge-warn"),
        "terminated" => ("已终止", "Terminated", "badge-bad"),
        _ => ("已撤销", "Revoked", "badge-bad"),
    };
    (lang.pick(zh, en), badge)
}

async fn complete(
    conn: &mut PgConnection,
    rows: Vec<Row>,
    today: NaiveDate,
) -> Result<Vec<Authorization>> {
    // The rows that came without their items get them in one statement.
    let ids: Vec<Uuid> = rows
        .iter()
        .filter(|r| r.items.is_none())
        .map(|r| r.authorization_id)
        .collect();
    type ItemRow = (Uuid, i32, String, String, String, Vec<String>, String);
    let items: Vec<ItemRow> = if ids.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(
            "select authorization_id, seq, name, range_text, accuracy_text, task_types, specification
               from authorization_item where authorization_id = any($1) order by seq",
        )
        .bind(&ids)
        .fetch_all(conn)
        .await?
    };
    Ok(rows
        .into_iter()
        .map(|r| Authorization {
            effective_status: effective_status(&r.status, r.valid_from, r.valid_until, today)
                .to_owned(),
            items: match r.items {
                Some(sqlx::types::Json(own)) => own,
                None => items
                    .iter()
                    .filter(|i| i.0 == r.authorization_id)
                    .map(|i| Item {
                        seq: i.1,
                        name: i.2.clone(),
                        range_text: i.3.clone(),
                        accuracy_text: i.4.clone(),
                        task_types: i.5.clone(),
                        specification: i.6.clone(),
                    })
                    .collect(),
            },
            region: r
                .region
                .iter()
                // Names from the cached division table, not a statement
                // per code (issue 14).
                .map(|c| RegionEntry {
                    code: c.clone(),
                    name: crate::db::reference::division_path(c)
                        .unwrap_or(c)
                        .to_owned(),
                })
                .collect(),
            id: r.authorization_id,
            station_id: r.station_id,
            station_name: r.station_name,
            station_code: r.station_code,
            regulator_name: r.regulator_name,
            certificate_number: r.certificate_number,
            status: r.status,
            valid_from: r.valid_from,
            valid_until: r.valid_until,
            ended_on: r.ended_on,
        })
        .collect())
}

/// Authorizations of the stations the caller may see (or of one station).
pub async fn list(
    conn: &mut PgConnection,
    ctx: &Ctx,
    station: Option<Uuid>,
) -> Result<Vec<Authorization>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT} where exists (select 1 from station_access x where x.station_id = a.station_id and x.org_id = $1)
            and ($2::uuid is null or a.station_id = $2)
          order by so.name collate zh_pinyin, a.valid_from desc"
    ))
    .bind(ctx.org_id)
    .bind(station)
    .fetch_all(&mut *conn)
    .await?;
    complete(conn, rows, crate::web::today()).await
}

/// One authorization the caller may see, with its verification token (the
/// token is printed on the certificate, so whoever sees the station may).
pub async fn get_with_token(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
) -> Result<(Authorization, String)> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "{SELECT} where a.authorization_id = $1
            and exists (select 1 from station_access x where x.station_id = a.station_id and x.org_id = $2)"
    ))
    .bind(id)
    .bind(ctx.org_id)
    .fetch_optional(&mut *conn)
    .await?;
    let row = row.ok_or(crate::error::AppError::NotFound)?;
    let token: String = sqlx::query_scalar(
        "select verify_token from station_authorization where authorization_id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    let a = complete(conn, vec![row], crate::web::today())
        .await?
        .pop()
        .ok_or(crate::error::AppError::NotFound)?;
    Ok((a, token))
}

/// The certificate's QR code (SVG) for a URL.
pub fn qr_svg(url: &str) -> Result<String> {
    let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| anyhow::anyhow!("QR code: {e}"))?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(160, 160)
        .quiet_zone(true)
        .build())
}

/// The row version the verification page's cache compares
/// ([`VerifyCache`]): the authorization's `xmin`, which moves with
/// everything the page shows (migration `…19_verify_versions`).
const VERSION: &str = "a.xmin::text::int8 as version_read";

#[derive(sqlx::FromRow)]
struct Versioned {
    #[sqlx(flatten)]
    row: Row,
    version_read: i64,
}

/// Public: the authorization behind a verification token, from `cache`
/// when its rows are the versions the kept entry was read at (one indexed
/// statement on the token's unique index, no join, no items), else read
/// again with its items and version in one statement and kept. `effective_status` is as of today
/// either way.
pub async fn by_token(
    pool: &PgPool,
    cache: &VerifyCache,
    token: &str,
) -> Result<Option<Arc<Authorization>>> {
    static CURRENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!("select {VERSION} from station_authorization a where a.verify_token = $1")
    });
    static BY_TOKEN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let from = "\n  from station_authorization a";
        format!(
            "{} where a.verify_token = $1",
            SELECT.replacen(from, &format!(", {ITEMS}, {VERSION}{from}"), 1)
        )
    });
    let today = crate::web::today();
    let fresh = |a: Arc<Authorization>| {
        let status = effective_status(&a.status, a.valid_from, a.valid_until, today);
        if a.effective_status == status {
            a
        } else {
            Arc::new(Authorization {
                effective_status: status.to_owned(),
                ..(*a).clone()
            })
        }
    };
    let mut conn = pool.acquire().await?;
    let current: Option<i64> = sqlx::query_scalar(CURRENT.as_str())
        .bind(token)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(version) = current else {
        return Ok(None);
    };
    if let Some(kept) = cache.get(token, &version) {
        return Ok(Some(fresh(kept)));
    }
    let rows: Vec<Versioned> = sqlx::query_as(BY_TOKEN.as_str())
        .bind(token)
        .fetch_all(&mut *conn)
        .await?;
    let Some(v) = rows.into_iter().next() else {
        return Ok(None);
    };
    let versions = v.version_read;
    let Some(read) = complete(&mut conn, vec![v.row], today).await?.pop() else {
        return Ok(None);
    };
    let read = Arc::new(read);
    cache.put(token, versions, read.clone());
    Ok(Some(fresh(read)))
}

/// One row of the public directory.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct DirectoryRow {
    pub station_name: String,
    pub station_code: String,
    pub tier: String,
    pub regulator_name: String,
    pub certificate_number: String,
    pub valid_until: NaiveDate,
    pub location: String,
    pub items: Vec<String>,
}

/// Public: stations whose authorization is in force today (R8.5), searchable.
pub async fn directory(
    pool: &PgPool,
    q: Option<&str>,
    paging: Paging,
) -> Result<(Vec<DirectoryRow>, i64)> {
    let like = q
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(crate::web::like_pattern);
    let filter = "from station_authorization a
        join station s on s.station_id = a.station_id
        join organization so on so.organization_id = a.station_id
        join organization ro on ro.organization_id = a.regulator_id
       where a.status = 'active' and a.valid_from <= $1 and a.valid_until >= $1
         and ($2::text is null or so.name ilike $2 or s.code ilike $2 or a.certificate_number ilike $2
              or exists (select 1 from authorization_item i where i.authorization_id = a.authorization_id and i.name ilike $2))";
    let today = crate::web::today();
    let rows: Vec<DirectoryRow> = sqlx::query_as(&format!(
        "select so.name as station_name, s.code as station_code, s.tier, ro.name as regulator_name,
                a.certificate_number, a.valid_until, s.location_division as location,
                array(select i.name from authorization_item i where i.authorization_id = a.authorization_id order by i.seq) as items
         {filter} order by so.name collate zh_pinyin limit $3 offset $4"
    ))
    .bind(today)
    .bind(&like)
    .bind(paging.per_page)
    .bind(paging.offset())
    .fetch_all(pool)
    .await?;
    // The division's name from the cached table (issue 14).
    let rows = rows
        .into_iter()
        .map(|r| DirectoryRow {
            location: crate::db::reference::division_path(&r.location)
                .unwrap_or_default()
                .to_owned(),
            ..r
        })
        .collect();
    let total: i64 = sqlx::query_scalar(&format!("select count(*) {filter}"))
        .bind(today)
        .bind(&like)
        .fetch_one(pool)
        .await?;
    Ok((rows, total))
}

/// The facts the scope rules need (R13.1).
pub fn facts(a: &Authorization) -> AuthorizationFacts {
    AuthorizationFacts {
        valid_from: a.valid_from,
        valid_until: a.valid_until,
        status: match a.status.as_str() {
            "suspended" => AuthorizationStatus::Suspended,
            "terminated" => AuthorizationStatus::Terminated,
            "revoked" => AuthorizationStatus::Revoked,
            _ => AuthorizationStatus::Active,
        },
        items: a
            .items
            .iter()
            .filter_map(|i| {
                Some(AuthorizedItem {
                    name: i.name.clone(),
                    spec_code: crate::rules::spec_code::SpecCode::parse(&i.specification).ok(),
                    range: Range::parse(&i.range_text).ok()?,
                    task_types: i
                        .task_types
                        .iter()
                        .filter_map(|t| match t.as_str() {
                            "verification" => Some(TaskType::Verification),
                            "type_evaluation" => Some(TaskType::TypeEvaluation),
                            "calibration" => Some(TaskType::Calibration),
                            "testing" => Some(TaskType::Testing),
                            _ => None,
                        })
                        .collect(),
                })
            })
            .collect(),
        region: a
            .region
            .iter()
            .filter_map(|r| crate::rules::DivisionCode::parse(&r.code).ok())
            .collect(),
    }
}
