//! JSON endpoints of the station registry.

use axum::extract::{Path, State};

use super::model::*;
use super::store;
use crate::auth::Ctx;
use crate::db::tenant_tx;
use crate::error::{ErrorBody, Result};
use crate::state::AppState;
use crate::web::{parse_id, AppJson, AppQuery};

/// The stations the caller's organization may see: search, filter, sort, paginate.
#[utoipa::path(get, path = "/api/v1/stations", tag = "stations",
    params(StationQuery),
    responses(
        (status = 200, description = "One page of visible stations", body = StationPage),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 422, description = "Invalid filter", body = ErrorBody),
    ))]
pub async fn stations_list(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<StationQuery>,
) -> Result<AppJson<StationPage>> {
    let filters = store::parse_query(&q)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let (items, total) = store::list(&mut tx, &ctx, &filters).await?;
    tx.commit().await?;
    Ok(AppJson(StationPage {
        items,
        total,
        page: filters.paging.page,
        per_page: filters.paging.per_page,
    }))
}

/// One station; another tenant's station answers 404.
#[utoipa::path(get, path = "/api/v1/stations/{id}", tag = "stations",
    params(("id" = uuid::Uuid, Path, description = "Station id")),
    responses(
        (status = 200, description = "The station", body = StationDetail),
        (status = 404, description = "No such station, or not visible", body = ErrorBody),
    ))]
pub async fn station_get(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<AppJson<StationDetail>> {
    let id = parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let station = store::get(&mut tx, &ctx, id).await?;
    tx.commit().await?;
    Ok(AppJson(station))
}
