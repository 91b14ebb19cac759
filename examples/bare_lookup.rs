//! The denominator of the public page's ratio in `benches/scale.sh`
//! (issue 14): the least an axum + sqlx server can do for a verification
//! link, one primary-key-like lookup by the certificate's token, with no
//! session, tenancy, template or log. The app's `/verify/{token}` is
//! measured against this in the same run.
//!
//!   DATABASE_URL=postgres://… BARE_ADDR=127.0.0.1:18252 cargo run --release --example bare_lookup

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

async fn verify(State(pool): State<PgPool>, Path(token): Path<String>) -> (StatusCode, String) {
    let row: Result<Option<(String,)>, _> = sqlx::query_as(
        "select certificate_number from station_authorization where verify_token = $1",
    )
    .bind(&token)
    .fetch_optional(&pool)
    .await;
    match row {
        Ok(Some((number,))) => (StatusCode::OK, number),
        Ok(None) => (StatusCode::NOT_FOUND, String::new()),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The work records' denominator (`benches/records.sh`, issue 15): one
/// row of the record table by its unique (station, number) key.
async fn record(
    State(pool): State<PgPool>,
    Path((station, number)): Path<(uuid::Uuid, String)>,
) -> (StatusCode, String) {
    let row: Result<Option<(String, String)>, _> = sqlx::query_as(
        "select number, conclusion from work_record where station_id = $1 and number = $2",
    )
    .bind(station)
    .bind(&number)
    .fetch_optional(&pool)
    .await;
    match row {
        Ok(Some((number, conclusion))) => (StatusCode::OK, format!("{number} {conclusion}")),
        Ok(None) => (StatusCode::NOT_FOUND, String::new()),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL")?;
    let addr = std::env::var("BARE_ADDR").unwrap_or_else(|_| "127.0.0.1:18252".into());
    let pool = PgPoolOptions::new()
        .max_connections(20)
        .connect(&url)
        .await?;
    let app = Router::new()
        .route("/verify/{token}", get(verify))
        .route("/record/{station}/{number}", get(record))
        .with_state(pool);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
