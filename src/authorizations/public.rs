//! The public side (no sign-in): `/verify/{token}` shows a certificate's
//! current status, items, region and validity, and answers "was this item
//! authorized on date D?" (R13.1); `/directory` lists authorized stations
//! (R8.5). Pages show the minimum, are never cached (a revocation shows at
//! once), log every lookup and are rate-limited per client address.

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::store::{self, Authorization, DirectoryRow};
use crate::auth::Ctx;
use crate::db::tenant_tx;
use crate::error::{AppError, ErrorBody, Result};
use crate::i18n::Lang;
use crate::rules::Message;
use crate::state::AppState;
use crate::web::{today, url_encode, AppJson, AppQuery, Layout, PageError, Paging};

pub use super::lookups::LOOKUPS_PER_MINUTE;

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Logs the lookup and enforces the rate limit; returns the authorization.
async fn lookup(app: &AppState, token: &str, addr: &str) -> Result<Option<Arc<Authorization>>> {
    // Counted in memory and logged in batches: no write on this path. A
    // lookup that could not be logged (the writer is behind: the database
    // is away) is not answered, so every answered lookup is logged.
    if !app.lookups.has_room() {
        return Err(AppError::Unavailable {
            retry_after_secs: 5,
        });
    }
    if !app.lookups.allow(addr) {
        return Err(AppError::bad_request(
            "rate_limited",
            "查询过于频繁，请一分钟后再试",
            "Too many lookups; try again in a minute",
        ));
    }
    // Tokens are hex; anything else cannot exist.
    let plausible =
        token.len() >= 32 && token.len() <= 128 && token.bytes().all(|b| b.is_ascii_hexdigit());
    let found = if plausible {
        store::by_token(&app.public_db, &app.verify_cache, token).await?
    } else {
        None
    };
    app.lookups.record(token, found.is_some(), addr);
    Ok(found)
}

/// The answer to "was this item authorized on date D?".
pub struct Answer {
    pub item: String,
    pub date: String,
    pub yes: bool,
    pub reasons: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "public/verify.html")]
pub struct VerifyPage {
    layout: Layout,
    a: Arc<Authorization>,
    status: String,
    badge: &'static str,
    item: String,
    date: String,
    answer: Option<Answer>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    /// An authorized item's name.
    pub item: Option<String>,
    /// YYYY-MM-DD.
    pub date: Option<String>,
}

fn answer(a: &Authorization, q: &VerifyQuery, lang: Lang) -> (Option<Answer>, Option<String>) {
    let (Some(item), Some(date)) = (
        q.item.as_deref().map(str::trim).filter(|s| !s.is_empty()),
        q.date.as_deref().map(str::trim).filter(|s| !s.is_empty()),
    ) else {
        return (None, None);
    };
    let Ok(day) = NaiveDate::parse_from_str(date, "%Y-%m-%d") else {
        return (
            None,
            Some(
                lang.pick("日期格式应为 YYYY-MM-DD", "Use YYYY-MM-DD")
                    .into(),
            ),
        );
    };
    let verdict =
        crate::rules::scope::item_authorized_on(&store::facts(a), a.ended_on, item, day, today());
    let reasons = verdict
        .reasons()
        .iter()
        .map(|r| {
            r.message(if lang.is_en() {
                crate::rules::Lang::En
            } else {
                crate::rules::Lang::Zh
            })
        })
        .collect();
    (
        Some(Answer {
            item: item.to_owned(),
            date: day.to_string(),
            yes: verdict.is_allowed(),
            reasons,
        }),
        None,
    )
}

/// The public verification page behind the certificate's QR code.
pub async fn verify_page(
    State(app): State<AppState>,
    lang: Lang,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    Query(q): Query<VerifyQuery>,
) -> Response {
    let result = lookup(&app, &token, &addr.ip().to_string()).await;
    let res = match result {
        Ok(Some(a)) => {
            let (label, badge) = store::status_label(&a.effective_status, lang);
            let (answer, error) = answer(&a, &q, lang);
            VerifyPage {
                layout: Layout::anon(
                    lang,
                    lang.pick("计量授权证书查验", "Verify a metrology authorization"),
                    &format!("/verify/{}", url_encode(&token)),
                ),
                status: label.to_owned(),
                badge,
                item: q.item.clone().unwrap_or_default(),
                date: q.date.clone().unwrap_or_else(|| today().to_string()),
                answer,
                error,
                a,
            }
            .into_response()
        }
        Ok(None) => PageError::new(AppError::NotFound, lang).into_response(),
        Err(e @ AppError::BadRequest { .. }) => {
            let mut r = PageError::new(e, lang).into_response();
            *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            r
        }
        Err(e) => PageError::new(e, lang).into_response(),
    };
    no_store(res)
}

/// What the public JSON verification returns.
#[derive(Serialize, ToSchema)]
pub struct Verification {
    pub authorization: Authorization,
    /// For `?item=&date=`: whether the item was authorized that day, with reasons.
    pub item_authorized: Option<bool>,
    pub reasons: Vec<String>,
}

/// Public JSON of the verification page (no sign-in).
#[utoipa::path(get, path = "/api/v1/public/verify/{token}", tag = "public",
    params(("token" = String, Path), VerifyQuery),
    responses((status = 200, body = Verification), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn verify_json(
    State(app): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    AppQuery(q): AppQuery<VerifyQuery>,
) -> Response {
    let res = match lookup(&app, &token, &addr.ip().to_string()).await {
        Ok(Some(a)) => {
            let (ans, err) = answer(&a, &q, Lang::Zh);
            if let Some(e) = err {
                AppError::field("date", "invalid_date", e, "Use YYYY-MM-DD").into_response()
            } else {
                AppJson(Verification {
                    item_authorized: ans.as_ref().map(|x| x.yes),
                    reasons: ans.map(|x| x.reasons).unwrap_or_default(),
                    authorization: (*a).clone(),
                })
                .into_response()
            }
        }
        Ok(None) => AppError::NotFound.into_response(),
        Err(e @ AppError::BadRequest { .. }) => {
            let mut r = e.into_response();
            *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            r
        }
        Err(e) => e.into_response(),
    };
    no_store(res)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DirectoryQuery {
    /// Station name or code, certificate number or item.
    pub q: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// A page of the public directory.
#[derive(Serialize, ToSchema)]
pub struct DirectoryPage {
    pub items: Vec<DirectoryRow>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "public/directory.html")]
pub struct DirectoryHtml {
    layout: Layout,
    rows: Vec<(DirectoryRow, String)>,
    q: String,
    total: i64,
    page: i64,
    pages: i64,
}

impl DirectoryHtml {
    pub fn page_href(&self, page: i64) -> String {
        format!("/directory?q={}&page={page}", url_encode(&self.q))
    }
}

/// The public directory of authorized stations (R8.5).
pub async fn directory_page(
    State(app): State<AppState>,
    lang: Lang,
    AppQuery(q): AppQuery<DirectoryQuery>,
) -> Response {
    let paging = Paging::new(q.page, Some(20));
    let res = match store::directory(&app.public_db, q.q.as_deref(), paging).await {
        Ok((rows, total)) => DirectoryHtml {
            layout: Layout::anon(
                lang,
                lang.pick("已授权专业计量站名录", "Directory of authorized stations"),
                "/directory",
            ),
            rows: rows
                .into_iter()
                .map(|r| {
                    let tier = crate::orgs::model::StationTier::parse(&r.tier)
                        .map(|t| lang.pick(t.label_zh(), t.label_en()).to_owned())
                        .unwrap_or_default();
                    (r, tier)
                })
                .collect(),
            q: q.q.unwrap_or_default(),
            total,
            page: paging.page,
            pages: paging.pages(total),
        }
        .into_response(),
        Err(e) => PageError::new(e, lang).into_response(),
    };
    no_store(res)
}

/// Public JSON of the directory (no sign-in).
#[utoipa::path(get, path = "/api/v1/public/directory", tag = "public", params(DirectoryQuery),
    responses((status = 200, body = DirectoryPage)))]
pub async fn directory_json(
    State(app): State<AppState>,
    AppQuery(q): AppQuery<DirectoryQuery>,
) -> Result<AppJson<DirectoryPage>> {
    let paging = Paging::new(q.page, q.per_page);
    let (items, total) = store::directory(&app.public_db, q.q.as_deref(), paging).await?;
    Ok(AppJson(DirectoryPage {
        items,
        total,
        page: paging.page,
        per_page: paging.per_page,
    }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuthorizationQuery {
    pub station_id: Option<Uuid>,
}

/// Authorizations (certificates) of the stations the caller may see.
#[utoipa::path(get, path = "/api/v1/authorizations", tag = "authorizations", params(AuthorizationQuery),
    responses((status = 200, body = [Authorization])))]
pub async fn authorizations_list(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<AuthorizationQuery>,
) -> Result<AppJson<Vec<Authorization>>> {
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let list = store::list(&mut tx, &ctx, q.station_id).await?;
    tx.commit().await?;
    Ok(AppJson(list))
}

#[derive(Template, WebTemplate)]
#[template(path = "public/certificate.html")]
pub struct CertificatePage {
    layout: Layout,
    a: Authorization,
    url: String,
    qr: String,
    /// Conditions verified or overridden at the decisions behind it (not printed).
    conds: Vec<crate::applications::conditions::ConditionAtDecision>,
}

/// The printable certificate (A4) with the QR code of its verification page (R8.4).
pub async fn certificate_page(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let lang = ctx.lang;
    let result = async {
        let id = crate::web::parse_id(&id)?;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let (a, token) = store::get_with_token(&mut tx, &ctx, id).await?;
        let conds = crate::applications::conditions::of_authorization(&mut tx, id).await?;
        tx.commit().await?;
        let url = format!("{}/verify/{token}", app.config.public_base());
        let qr = store::qr_svg(&url)?;
        Ok::<_, AppError>(CertificatePage {
            conds,
            layout: Layout::new(
                &ctx,
                format!(
                    "{} · {}",
                    lang.pick("计量授权证书", "Authorization certificate"),
                    a.certificate_number
                ),
                "/stations",
            ),
            a,
            url,
            qr,
        })
    }
    .await;
    match result {
        Ok(p) => no_store(p.into_response()),
        Err(e) => PageError::new(e, lang).into_response(),
    }
}

/// The certificate record's conditions: every Art 7 condition that was
/// verified by an assessment or overridden by the deciding approver when
/// the authorization was granted or adjusted (requirements §4).
#[utoipa::path(get, path = "/api/v1/authorizations/{id}/conditions", tag = "authorizations",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = [crate::applications::conditions::ConditionAtDecision]), (status = 404, body = ErrorBody)))]
pub async fn authorization_conditions(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<crate::web::AppJson<Vec<crate::applications::conditions::ConditionAtDecision>>> {
    let id = crate::web::parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    // The authorization must be the caller's to see (404 otherwise).
    store::get_with_token(&mut tx, &ctx, id).await?;
    let conds = crate::applications::conditions::of_authorization(&mut tx, id).await?;
    tx.commit().await?;
    Ok(crate::web::AppJson(conds))
}

/// The CJK faces the certificate PDF is set in, read and parsed once;
/// every render shares them (a clone copies no font bytes).
fn pdf_fonts(dir: &std::path::Path) -> Result<certificate_pdf::Fonts> {
    static FONTS: std::sync::OnceLock<std::result::Result<certificate_pdf::Fonts, String>> =
        std::sync::OnceLock::new();
    FONTS
        .get_or_init(|| {
            let names = [
                "NotoSerifCJK-Regular.ttc",
                "NotoSerifCJK-Bold.ttc",
                "NotoSansCJK-Regular.ttc",
            ];
            let files: Vec<Vec<u8>> = names
                .iter()
                .filter_map(|n| std::fs::read(dir.join(n)).ok())
                .collect();
            certificate_pdf::Fonts::from_files(files)
                .ok_or_else(|| format!("no Noto CJK fonts in {}", dir.display()))
        })
        .clone()
        .map_err(|e| {
            AppError::Internal(anyhow::anyhow!(
                "{e}: install the Debian package fonts-noto-cjk or set JILIANG_FONT_DIR"
            ))
        })
}

/// The certificate as a PDF (A4, Chinese), with the QR code of its
/// verification page (R8.4).
#[utoipa::path(get, path = "/api/v1/authorizations/{id}/certificate.pdf", tag = "authorizations",
    params(("id" = Uuid, Path)),
    responses((status = 200, description = "application/pdf"), (status = 404, body = ErrorBody)))]
pub async fn certificate_pdf(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = crate::web::parse_id(&id)?;
    let mut tx = tenant_tx(&app.db, &ctx).await?;
    let (a, token) = store::get_with_token(&mut tx, &ctx, id).await?;
    tx.commit().await?;
    let url = format!("{}/verify/{token}", app.config.public_base());
    let cert = certificate_pdf::Certificate {
        number: a.certificate_number.clone(),
        station: a.station_name.clone(),
        regulator: a.regulator_name.clone(),
        valid_from: a.valid_from.to_string(),
        valid_until: a.valid_until.to_string(),
        region: a
            .region
            .iter()
            .map(|r| r.name.clone())
            .collect::<Vec<_>>()
            .join("、"),
        items: a
            .items
            .iter()
            .map(|i| certificate_pdf::Item {
                seq: i.seq.to_string(),
                name: i.name.clone(),
                range: i.range_text.clone(),
                accuracy: i.accuracy_text.clone(),
                spec: i.specification.clone(),
            })
            .collect(),
        qr_svg: store::qr_svg(&url)?,
        url,
    };
    // The slot first: a request waiting for it holds nothing large.
    let slot = crate::web::bounds::Work::Pdf.slot().await?;
    let fonts = pdf_fonts(&app.config.font_dir)?;
    let pdf = tokio::task::spawn_blocking(move || {
        let pdf = certificate_pdf::render(&cert, &fonts);
        drop(slot);
        pdf
    })
    .await
    .map_err(|e| anyhow::anyhow!("PDF task: {e}"))?
    .map_err(|e| anyhow::anyhow!(e))?;
    let mut res = pdf.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "inline; filename=\"certificate.pdf\"; filename*=UTF-8''{}.pdf",
        url_encode(&a.certificate_number).replace('+', "%20")
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(no_store(res))
}
