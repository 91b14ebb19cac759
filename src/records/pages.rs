//! Pages of work records: the station's list and form (with the verdict
//! shown before saving and the approver's override), a record with its
//! void, the regulators' flagged queue, and the public lookup (R16.5).

use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use serde::Deserialize;
use uuid::Uuid;

use super::api::{self, OneRecord, RecordQuery, VoidInput};
use super::model::{kind_name, Reason, RecordInput, RecordRow, WorkRecord};
use super::store;
use crate::auth::{Ctx, OrgKind};
use crate::db::tenant_tx;
use crate::error::{AppError, Result};
use crate::i18n::Lang;
use crate::orgs::pages::Errors;
use crate::rules::records::{RecordKind, PROBLEM_CODES};
use crate::state::AppState;
use crate::web::{page_links, parse_id, today, AppQuery, Layout, PageError};

/// A row of a list as shown.
pub struct Row {
    pub r: RecordRow,
    pub kind: String,
    pub reasons: String,
}

fn rows(lang: Lang, rows: Vec<RecordRow>) -> Vec<Row> {
    rows.into_iter()
        .map(|r| Row {
            kind: kind_name(&r.kind, lang.rules()),
            reasons: r
                .flag_codes
                .iter()
                .map(|c| reason_name(c, lang))
                .collect::<Vec<_>>()
                .join(lang.pick("、", ", ")),
            r,
        })
        .collect()
}

fn reason_name(code: &str, lang: Lang) -> String {
    PROBLEM_CODES
        .iter()
        .find(|c| c.0 == code)
        .map(|c| format!("{} {}", c.1, lang.pick(c.2, c.3)))
        .unwrap_or_else(|| code.to_owned())
}

fn kinds(lang: Lang) -> Vec<(String, String)> {
    RecordKind::ALL
        .iter()
        .map(|k| (k.code().to_owned(), k.name(lang.rules()).to_owned()))
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "records/list.html")]
pub struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
    q: RecordQuery,
    station_code: String,
    is_station: bool,
    kinds: Vec<(String, String)>,
    error: Option<String>,
    next: Option<String>,
    first: String,
    later: bool,
    /// The export's query (the list's filters, the station by id).
    export: Option<String>,
}

impl ListPage {
    fn v(s: &Option<String>) -> &str {
        s.as_deref().unwrap_or("")
    }
}

/// Query of the list page: the API's filters plus a station code.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    pub q: RecordQuery,
    /// A station's code (regulators pick the station by code).
    pub station: Option<String>,
}

/// `/records`: one station's records with filters (a station's own; a
/// regulator or department names the station by code).
pub async fn records_page(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(lq): AppQuery<ListQuery>,
) -> std::result::Result<ListPage, PageError> {
    let lang = ctx.lang;
    let mut q = lq.q;
    let later = q.cursor.as_deref().is_some_and(|c| !c.is_empty());
    let station_code = lq.station.unwrap_or_default().trim().to_uppercase();
    let mut page = ListPage {
        layout: Layout::new(
            &ctx,
            lang.pick("证书/报告记录", "Certificates and reports"),
            "/records",
        ),
        rows: Vec::new(),
        q: RecordQuery::default(),
        station_code: station_code.clone(),
        is_station: ctx.org_kind == OrgKind::Station,
        kinds: kinds(lang),
        error: None,
        next: None,
        first: "/records".into(),
        later,
        export: None,
    };
    let result: Result<()> = async {
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        if !station_code.is_empty() && ctx.org_kind != OrgKind::Station {
            let id: Option<Uuid> =
                sqlx::query_scalar("select station_id from station where code = $1")
                    .bind(&station_code)
                    .fetch_optional(&mut *tx)
                    .await?;
            match id {
                Some(id) => q.station_id = Some(id.to_string()),
                None => {
                    return Err(AppError::field(
                        "station",
                        "unknown",
                        format!("没有您可查看的代码为“{station_code}”的计量站"),
                        format!("No station you may see has the code {station_code:?}"),
                    ))
                }
            }
        }
        if ctx.org_kind != OrgKind::Station && q.station_id.is_none() {
            return Ok(());
        }
        let (filter, cursor, limit) = api::parse_query(&ctx, &q)?;
        let (list, next) = store::list(&mut tx, &filter, cursor.as_ref(), limit).await?;
        tx.commit().await?;
        page.rows = rows(lang, list);
        let mut pairs = vec![("station", Some(station_code.clone()))];
        pairs.extend([
            ("from", q.from.clone()),
            ("to", q.to.clone()),
            ("kind", q.kind.clone()),
            ("flagged", q.flagged.clone()),
            ("q", q.q.clone()),
        ]);
        let (n, f) = page_links("/records", &pairs, next.as_ref());
        page.next = n;
        page.first = f;
        let mut filters = vec![("station_id", filter.station_id.map(|s| s.to_string()))];
        filters.extend(pairs.into_iter().skip(1));
        let (_, export) = page_links("", &filters, None);
        page.export = Some(export);
        Ok(())
    }
    .await;
    page.q = q;
    match result {
        Ok(()) => Ok(page),
        Err(AppError::Validation(f)) => {
            page.error = Some(AppError::fields_text(&f, lang));
            Ok(page)
        }
        Err(e) => Err(PageError::new(e, lang)),
    }
}

/// The form's fields as typed (standards as repeated checkboxes).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RecordForm {
    #[serde(default)]
    pub number: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub instrument_name: String,
    #[serde(default)]
    pub instrument_model: String,
    #[serde(default)]
    pub instrument_serial: String,
    #[serde(default)]
    pub manufacturer: String,
    #[serde(default)]
    pub customer_name: String,
    #[serde(default)]
    pub customer_credit_code: String,
    #[serde(default)]
    pub customer_division: String,
    #[serde(default)]
    pub item_name: String,
    #[serde(default)]
    pub range_text: String,
    #[serde(default)]
    pub specification: String,
    #[serde(default)]
    pub standards: Vec<String>,
    #[serde(default)]
    pub performer: String,
    #[serde(default)]
    pub checker: String,
    #[serde(default)]
    pub approver: String,
    #[serde(default)]
    pub work_date: String,
    #[serde(default)]
    pub issue_date: String,
    #[serde(default)]
    pub conclusion: String,
    #[serde(default)]
    pub valid_until: String,
    #[serde(default)]
    pub reissue_of: String,
    #[serde(default)]
    pub override_reason: String,
    /// `check` previews the verdict; anything else saves.
    #[serde(default)]
    pub intent: String,
}

impl RecordForm {
    fn input(&self) -> RecordInput {
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.to_owned());
        RecordInput {
            number: self.number.clone(),
            kind: self.kind.clone(),
            instrument_name: self.instrument_name.clone(),
            instrument_model: self.instrument_model.clone(),
            instrument_serial: self.instrument_serial.clone(),
            manufacturer: self.manufacturer.clone(),
            customer_name: self.customer_name.clone(),
            customer_credit_code: opt(&self.customer_credit_code),
            customer_division: self.customer_division.clone(),
            item_name: self.item_name.clone(),
            range_text: self.range_text.clone(),
            specification: self.specification.clone(),
            standards: self.standards.clone(),
            performer: self.performer.clone(),
            checker: self.checker.clone(),
            approver: self.approver.clone(),
            work_date: self.work_date.clone(),
            issue_date: self.issue_date.clone(),
            conclusion: self.conclusion.clone(),
            valid_until: opt(&self.valid_until),
            reissue_of: opt(&self.reissue_of),
        }
    }
}

/// A choice of a picker: (value, label).
pub type Choice = (String, String);

#[derive(Template, WebTemplate)]
#[template(path = "records/form.html")]
pub struct FormPage {
    layout: Layout,
    f: RecordForm,
    errors: Errors,
    kinds: Vec<Choice>,
    items: Vec<Choice>,
    standards: Vec<Choice>,
    people: Vec<Choice>,
    /// The verdict of a check: (flagged, reasons).
    verdict: Option<(bool, Vec<Reason>)>,
}

impl FormPage {
    /// Messages of fields the form does not show beside an input.
    fn other_errors(&self) -> Vec<String> {
        self.errors.others(&[
            "number",
            "kind",
            "instrument_",
            "manufacturer",
            "customer_",
            "item_name",
            "range_text",
            "specification",
            "standards",
            "performer",
            "checker",
            "approver",
            "work_date",
            "issue_date",
            "conclusion",
            "valid_until",
            "reissue_of",
            "override_reason",
        ])
    }

    fn flagged(&self) -> bool {
        self.verdict.as_ref().is_some_and(|v| v.0)
    }

    fn has_standard(&self, id: &str) -> bool {
        self.f.standards.iter().any(|s| s == id)
    }
}

async fn form_page(
    app: &AppState,
    ctx: &Ctx,
    f: RecordForm,
    errors: Errors,
    verdict: Option<(bool, Vec<Reason>)>,
) -> Result<FormPage> {
    api::require_station_writer(ctx)?;
    let lang = ctx.lang;
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let items: Vec<String> = sqlx::query_scalar(
        "select distinct i.name from authorization_item i join station_authorization a using (authorization_id)
          where a.station_id = $1 and a.status in ('active', 'suspended') order by 1 limit 500",
    )
    .bind(ctx.org_id)
    .fetch_all(&mut *tx)
    .await?;
    let standards: Vec<(Uuid, String, String, String)> = sqlx::query_as(
        "select standard_id, name, cert_number, status from measurement_standard where station_id = $1
          order by name limit 500",
    )
    .bind(ctx.org_id)
    .fetch_all(&mut *tx)
    .await?;
    let people: Vec<(Uuid, String, String)> = sqlx::query_as(
        "select staff_member_id, name, title from staff_member where station_id = $1 and active
          order by name limit 1000",
    )
    .bind(ctx.org_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(FormPage {
        layout: Layout::new(
            ctx,
            lang.pick("登记证书/报告", "Record a certificate or report"),
            "/records",
        ),
        f,
        errors,
        kinds: kinds(lang),
        items: items.into_iter().map(|n| (n.clone(), n)).collect(),
        standards: standards
            .into_iter()
            .map(|(id, name, cert, status)| {
                let note = if status == "in_service" {
                    String::new()
                } else {
                    format!(
                        "（{}）",
                        crate::standards::model::StandardStatus::parse(&status)
                            .map(|s| s.label(lang).to_owned())
                            .unwrap_or(status)
                    )
                };
                (id.to_string(), format!("{name}{note} · {cert}"))
            })
            .collect(),
        people: people
            .into_iter()
            .map(|(id, name, title)| {
                (
                    id.to_string(),
                    if title.is_empty() {
                        name
                    } else {
                        format!("{name}（{title}）")
                    },
                )
            })
            .collect(),
        verdict,
    })
}

/// `/records/new`: the form with pickers from the station's registries.
pub async fn record_new(
    State(app): State<AppState>,
    ctx: Ctx,
) -> std::result::Result<FormPage, PageError> {
    let d = today().to_string();
    let f = RecordForm {
        kind: "verification_certificate".into(),
        work_date: d.clone(),
        issue_date: d,
        conclusion: "合格".into(),
        ..RecordForm::default()
    };
    form_page(&app, &ctx, f, Errors::none(ctx.lang), None)
        .await
        .map_err(|e| PageError::new(e, ctx.lang))
}

/// Saves the form, or with `intent=check` shows the verdict first. A
/// flagged record is saved only with the approver's override reason.
pub async fn record_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Form(f): Form<RecordForm>,
) -> Response {
    let lang = ctx.lang;
    let input = f.input();
    if f.intent == "check" {
        let result = async {
            api::require_station_writer(&ctx)?;
            let mut tx = tenant_tx(&app.db, &ctx).await?;
            let (_, checked) =
                api::check_all(&mut tx, &ctx, std::slice::from_ref(&input), false).await?;
            tx.commit().await?;
            Ok::<_, AppError>((checked[0].flagged(), checked[0].reasons.clone()))
        }
        .await;
        return match result {
            Ok(v) => match form_page(&app, &ctx, f, Errors::none(lang), Some(v)).await {
                Ok(p) => p.into_response(),
                Err(e) => PageError::new(e, lang).into_response(),
            },
            Err(e) => {
                Errors::rerender(lang, e, |errors| {
                    form_page(&app, &ctx, f.clone(), errors, None)
                })
                .await
            }
        };
    }
    let one = OneRecord {
        record: input,
        override_reason: Some(f.override_reason.clone()),
    };
    let result = async {
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let item =
            api::create_one(&mut tx, &ctx, &one.record, one.override_reason.as_deref()).await?;
        tx.commit().await?;
        Ok::<_, AppError>(item)
    }
    .await;
    match result {
        Ok(item) => Redirect::to(&format!("/records/{}", item.record_id)).into_response(),
        Err(e) => {
            // A flagged record without the reason: show the verdict beside the form.
            let verdict = match &e {
                AppError::Validation(fields) if fields.iter().any(|x| x.code == "flagged") => {
                    preview(&app, &ctx, &one.record).await
                }
                _ => None,
            };
            Errors::rerender(lang, e, |errors| {
                form_page(&app, &ctx, f.clone(), errors, verdict)
            })
            .await
        }
    }
}

async fn preview(app: &AppState, ctx: &Ctx, input: &RecordInput) -> Option<(bool, Vec<Reason>)> {
    let mut tx = tenant_tx(&app.db, ctx).await.ok()?;
    let (_, checked) = api::check_all(&mut tx, ctx, std::slice::from_ref(input), false)
        .await
        .ok()?;
    tx.commit().await.ok()?;
    Some((checked[0].flagged(), checked[0].reasons.clone()))
}

#[derive(Template, WebTemplate)]
#[template(path = "records/detail.html")]
pub struct DetailPage {
    layout: Layout,
    r: WorkRecord,
    kind: String,
    division: String,
    can_void: bool,
    qr: String,
    verify_url: String,
    error: Option<String>,
    /// Each standard's status, by label.
    statuses: Vec<String>,
    source: String,
    created: String,
}

async fn detail(app: &AppState, ctx: &Ctx, id: Uuid, error: Option<String>) -> Result<DetailPage> {
    let lang = ctx.lang;
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let r = store::get(&mut tx, id).await?;
    tx.commit().await?;
    let verify_url = format!(
        "{}/records/verify?station={}&number={}",
        app.config.public_base(),
        crate::web::url_encode(&r.station_code),
        crate::web::url_encode(&r.number)
    );
    let qr = crate::authorizations::store::qr_svg(&verify_url)?;
    Ok(DetailPage {
        layout: Layout::new(
            ctx,
            format!("{} {}", lang.pick("证书/报告", "Record"), r.number),
            "/records",
        ),
        kind: kind_name(&r.kind, lang.rules()),
        division: crate::db::reference::division_path(&r.customer_division)
            .unwrap_or(&r.customer_division)
            .to_owned(),
        can_void: ctx.org_kind == OrgKind::Station
            && ctx.org_id == r.station_id
            && r.state == "valid",
        statuses: r
            .standards
            .iter()
            .map(|s| {
                crate::standards::model::StandardStatus::parse(&s.status)
                    .map(|x| x.label(lang).to_owned())
                    .unwrap_or_else(|| s.status.clone())
            })
            .collect(),
        source: match r.source.as_str() {
            "form" => lang.pick("逐份登记", "form"),
            "api" => lang.pick("LIMS 接口", "LIMS batch"),
            "import" => lang.pick("文件导入", "file import"),
            _ => lang.pick("历史迁移", "migration"),
        }
        .to_owned(),
        created: crate::web::shanghai(r.created_at),
        qr,
        verify_url,
        r,
        error,
    })
}

/// `/records/{id}`.
pub async fn record_show(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> std::result::Result<DetailPage, PageError> {
    let lang = ctx.lang;
    let id = parse_id(&id).map_err(|e| PageError::new(e, lang))?;
    detail(&app, &ctx, id, None)
        .await
        .map_err(|e| PageError::new(e, lang))
}

/// The void form's fields.
#[derive(Debug, Default, Deserialize)]
pub struct VoidForm {
    #[serde(default)]
    pub reason: String,
    /// The confirmation checkbox (`yes`).
    #[serde(default)]
    pub confirmed: String,
    #[serde(default)]
    pub version: String,
}

/// Voids a record (the page asks to confirm first).
pub async fn void_submit(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<VoidForm>,
) -> Response {
    let lang = ctx.lang;
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return PageError::new(e, lang).into_response(),
    };
    let result = async {
        if f.confirmed != "yes" {
            return Err(AppError::field(
                "confirmed",
                "required",
                "请勾选确认作废",
                "Tick the box to confirm voiding",
            ));
        }
        let version = f.version.trim().parse::<i32>().map_err(|_| {
            AppError::field(
                "version",
                "required",
                "请刷新页面后重试",
                "Reload the page and try again",
            )
        })?;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        api::void_one(
            &mut tx,
            &ctx,
            id,
            &VoidInput {
                reason: f.reason.clone(),
                version,
            },
        )
        .await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/records/{id}")).into_response(),
        Err(e @ (AppError::Validation(_) | AppError::Conflict { .. })) => {
            let msg = match &e {
                AppError::Validation(f) => AppError::fields_text(f, lang),
                other => {
                    let d = other.detail();
                    if lang.is_en() {
                        d.message_en
                    } else {
                        d.message
                    }
                }
            };
            match detail(&app, &ctx, id, Some(msg)).await {
                Ok(p) => (axum::http::StatusCode::UNPROCESSABLE_ENTITY, p).into_response(),
                Err(e) => PageError::new(e, lang).into_response(),
            }
        }
        Err(e) => PageError::new(e, lang).into_response(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "records/flagged.html")]
pub struct FlaggedPage {
    layout: Layout,
    counts: Vec<api::ReasonCount>,
    rows: Vec<Row>,
    reason: String,
    error: Option<String>,
    next: Option<String>,
    first: String,
    later: bool,
}

/// `/records/flagged`: the queue of flagged records of the stations the
/// caller sees, grouped by reason (R16.7, R17.1).
pub async fn flagged_page(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<RecordQuery>,
) -> std::result::Result<FlaggedPage, PageError> {
    let lang = ctx.lang;
    let mut page = FlaggedPage {
        layout: Layout::new(
            &ctx,
            lang.pick("被标记的证书/报告", "Flagged certificates and reports"),
            "/records/flagged",
        ),
        counts: Vec::new(),
        rows: Vec::new(),
        reason: q.reason.clone().unwrap_or_default(),
        error: None,
        next: None,
        first: "/records/flagged".into(),
        later: q.cursor.as_deref().is_some_and(|c| !c.is_empty()),
    };
    let result: Result<()> = async {
        let (filter, cursor, limit) = api::parse_query(&ctx, &q)?;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        page.counts = api::reason_counts(store::queue_counts(&mut tx).await?);
        let (list, next) = store::queue(
            &mut tx,
            filter.station_id,
            filter.reason.as_deref(),
            cursor.as_ref(),
            limit,
        )
        .await?;
        tx.commit().await?;
        page.rows = rows(lang, list);
        let (n, f) = page_links(
            "/records/flagged",
            &[("reason", q.reason.clone())],
            next.as_ref(),
        );
        page.next = n;
        page.first = f;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Ok(page),
        Err(AppError::Validation(f)) => {
            page.error = Some(AppError::fields_text(&f, lang));
            Ok(page)
        }
        Err(e) => Err(PageError::new(e, lang)),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "public/record.html")]
pub struct PublicPage {
    layout: Layout,
    station: String,
    number: String,
    asked: bool,
    found: Option<store::PublicRecord>,
    kind: String,
    error: Option<String>,
}

/// `/records/verify`: does this certificate exist? (R16.5; no sign-in,
/// logged and rate-limited like `/verify`, never cached.)
pub async fn public_page(
    State(app): State<AppState>,
    lang: Lang,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    AppQuery(q): AppQuery<api::PublicQuery>,
) -> Response {
    let asked = q.station.is_some() || q.number.is_some();
    let mut page = PublicPage {
        layout: Layout::anon(
            lang,
            lang.pick("证书/报告真伪查询", "Check a certificate or report"),
            "/records/verify",
        ),
        station: q.station.clone().unwrap_or_default(),
        number: q.number.clone().unwrap_or_default(),
        asked,
        found: None,
        kind: String::new(),
        error: None,
    };
    if asked {
        match api::public_params(&q) {
            Err(AppError::Validation(f)) => page.error = Some(AppError::fields_text(&f, lang)),
            Err(e) => return PageError::new(e, lang).into_response(),
            Ok((station, number)) => {
                match api::public_find(&app, &station, &number, &addr.ip().to_string()).await {
                    Ok(found) => {
                        page.kind = found
                            .as_ref()
                            .map(|r| kind_name(&r.kind, lang.rules()))
                            .unwrap_or_default();
                        page.found = found;
                    }
                    Err(e @ AppError::BadRequest { .. }) => {
                        let d = e.detail();
                        page.error = Some(if lang.is_en() {
                            d.message_en
                        } else {
                            d.message
                        });
                    }
                    Err(e) => return PageError::new(e, lang).into_response(),
                }
            }
        }
    }
    let mut res = page.into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
