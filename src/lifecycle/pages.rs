//! Pages of the lifecycle requests: the queue with counts and overdue
//! highlighting, the drafting forms per kind, the request page with the
//! step each party may take, and the version comparison (R13.2).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State as AxState};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use chrono::NaiveDate;
use serde::Deserialize;
use uuid::Uuid;

use super::model::*;
use super::store::{self, DueReexamination, Head};
use super::versions::{self, Diff, Version};
use crate::applications::model::ItemInput;
use crate::auth::{Ctx, OrgKind, Role};
use crate::db::tenant_tx;
use crate::error::{AppError, Result};
use crate::orgs::pages::Errors;
use crate::state::AppState;
use crate::web::{parse_id, AppQuery, Layout, PageError};

fn task_label(t: &str, en: bool) -> &'static str {
    match (t, en) {
        ("verification", false) => "检定",
        ("verification", true) => "Verification",
        ("type_evaluation", false) => "型式评价",
        ("type_evaluation", true) => "Type evaluation",
        ("calibration", false) => "校准",
        ("calibration", true) => "Calibration",
        ("testing", false) => "测试",
        ("testing", true) => "Testing",
        _ => "",
    }
}

const TASKS: [&str; 4] = ["verification", "type_evaluation", "calibration", "testing"];

// ---------------------------------------------------------------- queue

#[derive(Template, WebTemplate)]
#[template(path = "lifecycle/list.html")]
pub struct ListPage {
    layout: Layout,
    requests: Vec<Request>,
    counts: Vec<QueueCount>,
    due: Vec<DueReexamination>,
    q_kind: String,
    q_state: String,
    mine: bool,
    overdue: bool,
    can_draft: bool,
    is_dept: bool,
    is_reviewer: bool,
    next: Option<String>,
    later: bool,
    first: String,
}

impl ListPage {
    pub fn kind_label(&self, k: &str) -> &'static str {
        Kind::parse(k)
            .map(|k| k.label(self.layout.current_lang()))
            .unwrap_or("")
    }
    pub fn label(&self, r: &Request) -> &'static str {
        r.state.label(r.kind, self.layout.current_lang())
    }
    pub fn kinds(&self) -> Vec<(&'static str, &'static str)> {
        Kind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label(self.layout.current_lang())))
            .collect()
    }
    pub fn states(&self) -> Vec<(&'static str, &'static str)> {
        State::ALL
            .iter()
            .map(|s| {
                (
                    s.as_str(),
                    s.label(Kind::Adjustment, self.layout.current_lang()),
                )
            })
            .collect()
    }
}

pub async fn requests_list(
    AxState(app): AxState<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<super::api::RequestQuery>,
) -> std::result::Result<ListPage, PageError> {
    let lang = ctx.lang;
    let r = async {
        let f = q.filter()?;
        let limit = crate::web::list_limit(q.limit)?;
        let after = crate::web::Cursor::parse(q.cursor.as_deref())?;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let requests = store::list(&mut tx, &ctx, &f, after.as_ref(), limit).await?;
        let counts = store::queue_counts(&mut tx, &ctx).await?;
        let due = store::due_reexaminations(&mut tx, &ctx).await?;
        tx.commit().await?;
        Ok::<_, AppError>((requests, counts, due, f))
    }
    .await;
    let ((requests, next), counts, due, f) = r.map_err(|e| PageError::new(e, lang))?;
    let (next, first) = crate::web::page_links("/requests", &q.kept(), next.as_ref());
    Ok(ListPage {
        layout: Layout::new(
            &ctx,
            lang.pick("授权变更与终止", "Lifecycle requests"),
            "/requests",
        ),
        requests,
        counts,
        due,
        q_kind: f.kind.map(|k| k.as_str().to_owned()).unwrap_or_default(),
        q_state: f.state.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        mine: f.mine,
        overdue: f.overdue_only,
        can_draft: matches!(ctx.org_kind, OrgKind::Department | OrgKind::Station),
        is_dept: ctx.org_kind == OrgKind::Department,
        is_reviewer: ctx.org_kind == OrgKind::Regulator && ctx.has(Role::Reviewer),
        next,
        later: q.cursor.as_deref().is_some_and(|c| !c.is_empty()),
        first,
    })
}

// ---------------------------------------------------------------- drafting

/// An existing item as the adjustment form shows it.
#[derive(Debug, Clone, Default)]
pub struct ExistingRow {
    pub seq: i32,
    pub op: String,
    pub item: ItemInput,
}

#[derive(Template, WebTemplate)]
#[template(path = "lifecycle/form.html")]
pub struct FormPage {
    layout: Layout,
    kind: Kind,
    id: Option<Uuid>,
    version: i32,
    stations: Vec<(String, String)>,
    station_id: String,
    authorizations: Vec<(String, String)>,
    authorization_id: String,
    reason: String,
    // head
    action: String,
    person_name: String,
    current_head: Option<String>,
    // adjustment
    existing: Vec<ExistingRow>,
    added: Vec<ItemInput>,
    region: String,
    current_region: String,
    dissolve: bool,
    merged_into: String,
    // termination
    end_date: String,
    earliest: NaiveDate,
    // re-examination
    scheduled_on: String,
    team: String,
    errors: Errors,
}

impl FormPage {
    pub fn tasks(&self) -> Vec<(&'static str, &'static str)> {
        let en = self.layout.is_en();
        TASKS.iter().map(|t| (*t, task_label(t, en))).collect()
    }
    pub fn err(&self, field: &str) -> Option<String> {
        self.errors.get(field)
    }
    pub fn others(&self) -> Vec<String> {
        self.errors.others(&[
            "station_id",
            "authorization_id",
            "reason",
            "action",
            "person_name",
            "region",
            "end_date",
            "scheduled_on",
            "team",
        ])
    }
    pub fn kind_label(&self) -> &'static str {
        self.kind.label(self.layout.current_lang())
    }
    pub fn has_task(item: &ItemInput, t: &str) -> bool {
        item.task_types.iter().any(|x| x == t)
    }
}

/// The drafting form's fields; items come as parallel repeated fields.
#[derive(Debug, Default, Deserialize)]
pub struct DraftForm {
    #[serde(default)]
    station_id: String,
    #[serde(default)]
    authorization_id: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    person_name: String,
    #[serde(default)]
    ex_seq: Vec<i32>,
    #[serde(default)]
    ex_op: Vec<String>,
    #[serde(default)]
    ex_name: Vec<String>,
    #[serde(default)]
    ex_range: Vec<String>,
    #[serde(default)]
    ex_accuracy: Vec<String>,
    #[serde(default)]
    ex_spec: Vec<String>,
    /// "<seq>:<task>".
    #[serde(default)]
    ex_task: Vec<String>,
    #[serde(default)]
    new_name: Vec<String>,
    #[serde(default)]
    new_range: Vec<String>,
    #[serde(default)]
    new_accuracy: Vec<String>,
    #[serde(default)]
    new_spec: Vec<String>,
    /// "<row>:<task>".
    #[serde(default)]
    new_task: Vec<String>,
    #[serde(default)]
    region: String,
    dissolve: Option<String>,
    #[serde(default)]
    merged_into: String,
    #[serde(default)]
    end_date: String,
    #[serde(default)]
    scheduled_on: String,
    #[serde(default)]
    team: String,
    version: Option<i32>,
}

use crate::web::form_text as opt;

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// Two versions of an item say the same (trimmed texts, same task types).
fn same_item(a: &ItemInput, b: &ItemInput) -> bool {
    let mut ta = a.task_types.clone();
    let mut tb = b.task_types.clone();
    ta.sort();
    tb.sort();
    a.name.trim() == b.name.trim()
        && a.range_text.trim() == b.range_text.trim()
        && a.accuracy_text.trim() == b.accuracy_text.trim()
        && a.specification.trim() == b.specification.trim()
        && ta == tb
}

/// R13.2: an existing item edited while its row still says 不变 (keep) is a
/// change: an edit is never dropped silently.
async fn promote_edited_rows(
    conn: &mut sqlx::PgConnection,
    f: &mut DraftForm,
    auth: Option<Uuid>,
) -> Result<()> {
    let auth = match auth {
        Some(a) => Some(a),
        None => match Uuid::parse_str(f.station_id.trim()) {
            Ok(station) => {
                sqlx::query_scalar(
                    "select authorization_id from station_authorization
                  where station_id = $1 and status in ('active', 'suspended')
                  order by valid_from desc limit 1",
                )
                .bind(station)
                .fetch_optional(&mut *conn)
                .await?
            }
            Err(_) => None,
        },
    };
    let Some(auth) = auth else {
        return Ok(());
    };
    let current = store::current_items(conn, auth).await?;
    let rows = f.existing();
    for (i, row) in rows.iter().enumerate() {
        if row.op != "keep" {
            continue;
        }
        let Some((_, held)) = current.iter().find(|(seq, _)| *seq == row.seq) else {
            continue;
        };
        if !same_item(&row.item, held) {
            while f.ex_op.len() <= i {
                f.ex_op.push("keep".into());
            }
            f.ex_op[i] = "change".into();
        }
    }
    Ok(())
}

impl DraftForm {
    fn existing(&self) -> Vec<ExistingRow> {
        self.ex_seq
            .iter()
            .enumerate()
            .map(|(i, seq)| ExistingRow {
                seq: *seq,
                op: self.ex_op.get(i).cloned().unwrap_or_else(|| "keep".into()),
                item: ItemInput {
                    name: self.ex_name.get(i).cloned().unwrap_or_default(),
                    range_text: self.ex_range.get(i).cloned().unwrap_or_default(),
                    accuracy_text: self.ex_accuracy.get(i).cloned().unwrap_or_default(),
                    task_types: self
                        .ex_task
                        .iter()
                        .filter_map(|t| t.split_once(':'))
                        .filter(|(s, _)| s.parse::<i32>().ok() == Some(*seq))
                        .map(|(_, t)| t.to_owned())
                        .collect(),
                    specification: self.ex_spec.get(i).cloned().unwrap_or_default(),
                },
            })
            .collect()
    }

    fn added(&self) -> Vec<ItemInput> {
        (0..self.new_name.len())
            .map(|i| ItemInput {
                name: self.new_name.get(i).cloned().unwrap_or_default(),
                range_text: self.new_range.get(i).cloned().unwrap_or_default(),
                accuracy_text: self.new_accuracy.get(i).cloned().unwrap_or_default(),
                task_types: self
                    .new_task
                    .iter()
                    .filter_map(|t| t.split_once(':'))
                    .filter(|(r, _)| r.parse::<usize>().ok() == Some(i))
                    .map(|(_, t)| t.to_owned())
                    .collect(),
                specification: self.new_spec.get(i).cloned().unwrap_or_default(),
            })
            .filter(|i| {
                !(i.name.trim().is_empty()
                    && i.range_text.trim().is_empty()
                    && i.specification.trim().is_empty())
            })
            .collect()
    }

    fn input(&self, kind: Kind) -> RequestInput {
        let mut input = RequestInput {
            station_id: Uuid::parse_str(self.station_id.trim()).ok(),
            authorization_id: Uuid::parse_str(self.authorization_id.trim()).ok(),
            reason: opt(&self.reason),
            version: self.version,
            ..Default::default()
        };
        match kind {
            Kind::Head => {
                input.action = opt(&self.action);
                input.person_name = opt(&self.person_name);
            }
            Kind::Adjustment => {
                let mut changes: Vec<ItemChange> = self
                    .existing()
                    .into_iter()
                    .filter(|r| r.op == "remove" || r.op == "change")
                    .map(|r| ItemChange {
                        seq: Some(r.seq),
                        item: (r.op == "change").then_some(r.item),
                        op: r.op,
                    })
                    .collect();
                changes.extend(self.added().into_iter().map(|i| ItemChange {
                    op: "add".into(),
                    seq: None,
                    item: Some(i),
                }));
                input.changes = Some(changes);
                let region: Vec<String> = self
                    .region
                    .split(|c: char| c == ',' || c == '，' || c.is_whitespace() || c == '、')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                input.region = (!region.is_empty()).then_some(region);
                input.dissolve = Some(self.dissolve.is_some());
                input.merged_into = opt(&self.merged_into);
            }
            Kind::Termination => input.end_date = date(&self.end_date),
            Kind::Reexamination => {
                input.scheduled_on = date(&self.scheduled_on);
                input.team = opt(&self.team);
            }
        }
        input
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    station_id: Option<String>,
    authorization_id: Option<String>,
}

async fn form_page(
    app: &AppState,
    ctx: &Ctx,
    kind: Kind,
    id: Option<Uuid>,
    f: &DraftForm,
    fresh: bool,
    errors: Errors,
) -> Result<FormPage> {
    let lang = ctx.lang;
    let mut tx = tenant_tx(&app.db, ctx).await?;
    // Stations the caller may draft for: its own (station) or its department's authorized ones.
    let stations: Vec<(Uuid, String, String)> = sqlx::query_as(
        "select s.station_id, o.name, s.code from station s join organization o on o.organization_id = s.station_id
          where (s.station_id = $1 or s.department_id = $1) and s.authorizing_regulator_id is not null
            and s.status in ('authorized', 'suspended')
          order by o.name collate zh_pinyin",
    )
    .bind(ctx.org_id)
    .fetch_all(&mut *tx)
    .await?;
    let station = Uuid::parse_str(f.station_id.trim())
        .ok()
        .filter(|s| stations.iter().any(|x| x.0 == *s))
        .or(stations.first().map(|s| s.0));
    let due = if kind == Kind::Reexamination {
        store::due_reexaminations(&mut tx, ctx).await?
    } else {
        Vec::new()
    };
    let mut existing = Vec::new();
    let mut current_region = String::new();
    let mut current_head = None;
    if let Some(st) = station {
        let auth: Option<(Uuid, Vec<String>)> = sqlx::query_as(
            "select authorization_id, region from station_authorization where station_id = $1
               and status in ('active', 'suspended') order by valid_until desc limit 1",
        )
        .bind(st)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((a, region)) = auth {
            current_region = region.join(" ");
            let items: Vec<crate::authorizations::store::Item> = sqlx::query_as(
                "select seq, name, range_text, accuracy_text, task_types, specification from authorization_item
                  where authorization_id = $1 order by seq",
            )
            .bind(a)
            .fetch_all(&mut *tx)
            .await?;
            let typed = f.existing();
            existing = items
                .into_iter()
                .map(|i| {
                    typed
                        .iter()
                        .find(|r| r.seq == i.seq && !fresh)
                        .cloned()
                        .unwrap_or(ExistingRow {
                            seq: i.seq,
                            op: "keep".into(),
                            item: ItemInput {
                                name: i.name,
                                range_text: i.range_text,
                                accuracy_text: i.accuracy_text,
                                task_types: i.task_types,
                                specification: i.specification,
                            },
                        })
                })
                .collect();
        }
        current_head = sqlx::query_scalar(
            "select person_name from station_head where station_id = $1 and removed_on is null",
        )
        .bind(st)
        .fetch_optional(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let mut added = f.added();
    added.push(ItemInput {
        name: String::new(),
        range_text: String::new(),
        accuracy_text: String::new(),
        task_types: Vec::new(),
        specification: String::new(),
    });
    let today = crate::web::today();
    let earliest = crate::rules::termination::earliest_end_date(today);
    Ok(FormPage {
        layout: Layout::new(
            ctx,
            format!(
                "{}{}",
                if id.is_some() {
                    lang.pick("修改：", "Edit: ")
                } else {
                    lang.pick("起草：", "Draft: ")
                },
                kind.label(lang)
            ),
            "/requests",
        ),
        kind,
        id,
        version: f.version.unwrap_or(0),
        stations: stations
            .into_iter()
            .map(|s| (s.0.to_string(), format!("{}（{}）", s.1, s.2)))
            .collect(),
        station_id: station.map(|s| s.to_string()).unwrap_or_default(),
        authorizations: due
            .iter()
            .map(|d| {
                (
                    d.authorization_id.to_string(),
                    format!(
                        "{} · {} · {} {}",
                        d.station_name,
                        d.certificate_number,
                        lang.pick("有效期至", "valid until"),
                        d.valid_until
                    ),
                )
            })
            .collect(),
        authorization_id: f.authorization_id.clone(),
        reason: f.reason.clone(),
        action: if f.action.is_empty() {
            "appoint".into()
        } else {
            f.action.clone()
        },
        person_name: f.person_name.clone(),
        current_head,
        existing,
        added,
        region: f.region.clone(),
        current_region,
        dissolve: f.dissolve.is_some(),
        merged_into: f.merged_into.clone(),
        end_date: if f.end_date.is_empty() && fresh {
            earliest.to_string()
        } else {
            f.end_date.clone()
        },
        earliest,
        scheduled_on: f.scheduled_on.clone(),
        team: f.team.clone(),
        errors,
    })
}

fn parse_kind(s: &str) -> Result<Kind> {
    Kind::parse(s).ok_or(AppError::NotFound)
}

pub async fn request_new(
    AxState(app): AxState<AppState>,
    ctx: Ctx,
    Path(kind): Path<String>,
    AppQuery(q): AppQuery<NewQuery>,
) -> std::result::Result<FormPage, PageError> {
    let lang = ctx.lang;
    let r = async {
        let kind = parse_kind(&kind)?;
        let f = DraftForm {
            station_id: q.station_id.unwrap_or_default(),
            authorization_id: q.authorization_id.unwrap_or_default(),
            ..Default::default()
        };
        form_page(&app, &ctx, kind, None, &f, true, Errors::none(lang)).await
    }
    .await;
    r.map_err(|e| PageError::new(e, lang))
}

pub async fn request_create_submit(
    AxState(app): AxState<AppState>,
    ctx: Ctx,
    Path(kind): Path<String>,
    Form(mut f): Form<DraftForm>,
) -> Response {
    let lang = ctx.lang;
    let kind = match parse_kind(&kind) {
        Ok(k) => k,
        Err(e) => return PageError::new(e, lang).into_response(),
    };
    let result = async {
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        if kind == Kind::Adjustment {
            let auth = Uuid::parse_str(f.authorization_id.trim()).ok();
            promote_edited_rows(&mut tx, &mut f, auth).await?;
        }
        let r = store::create(&mut tx, &ctx, kind, &f.input(kind)).await?;
        tx.commit().await?;
        Ok::<_, AppError>(r)
    }
    .await;
    match result {
        Ok(r) => Redirect::to(&format!("/requests/{}", r.id)).into_response(),
        Err(e) => {
            Errors::rerender(lang, e, |errors| {
                form_page(&app, &ctx, kind, None, &f, false, errors)
            })
            .await
        }
    }
}

pub async fn request_edit(
    AxState(app): AxState<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> std::result::Result<FormPage, PageError> {
    let lang = ctx.lang;
    let r = async {
        let id = parse_id(&id)?;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let req = store::get(&mut tx, &ctx, id).await?;
        tx.commit().await?;
        let p = &req.payload;
        let s = |k: &str| p.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
        let changes: Vec<ItemChange> = p
            .get("changes")
            .and_then(|c| serde_json::from_value(c.clone()).ok())
            .unwrap_or_default();
        let mut f = DraftForm {
            station_id: req.station_id.to_string(),
            authorization_id: req
                .authorization_id
                .map(|a| a.to_string())
                .unwrap_or_default(),
            reason: req.reason.clone(),
            action: s("action"),
            person_name: s("person_name"),
            region: p
                .get("region")
                .and_then(|r| r.as_array())
                .map(|r| {
                    r.iter()
                        .filter_map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default(),
            dissolve: (p.get("dissolve") == Some(&serde_json::json!(true))).then(|| "on".into()),
            merged_into: s("merged_into"),
            end_date: req.effective_on.map(|d| d.to_string()).unwrap_or_default(),
            version: Some(req.version),
            ..Default::default()
        };
        for c in &changes {
            match (c.op.as_str(), c.seq, &c.item) {
                ("add", _, Some(i)) => {
                    let row = f.new_name.len();
                    f.new_name.push(i.name.clone());
                    f.new_range.push(i.range_text.clone());
                    f.new_accuracy.push(i.accuracy_text.clone());
                    f.new_spec.push(i.specification.clone());
                    f.new_task
                        .extend(i.task_types.iter().map(|t| format!("{row}:{t}")));
                }
                (op, Some(seq), item) => {
                    f.ex_seq.push(seq);
                    f.ex_op.push(op.to_owned());
                    let i = item.clone().unwrap_or(ItemInput {
                        name: String::new(),
                        range_text: String::new(),
                        accuracy_text: String::new(),
                        task_types: Vec::new(),
                        specification: String::new(),
                    });
                    f.ex_name.push(i.name);
                    f.ex_range.push(i.range_text);
                    f.ex_accuracy.push(i.accuracy_text);
                    f.ex_spec.push(i.specification);
                    f.ex_task
                        .extend(i.task_types.iter().map(|t| format!("{seq}:{t}")));
                }
                _ => {}
            }
        }
        let mut page = form_page(
            &app,
            &ctx,
            req.kind,
            Some(id),
            &f,
            false,
            Errors::none(lang),
        )
        .await?;
        // Rows the draft leaves unchanged show the current item.
        for row in page.existing.iter_mut() {
            if row.op == "remove" && row.item.name.is_empty() {
                if let Some(c) = changes.iter().find(|c| c.seq == Some(row.seq)) {
                    row.op = c.op.clone();
                }
            }
        }
        Ok::<_, AppError>(page)
    }
    .await;
    r.map_err(|e| PageError::new(e, lang))
}

pub async fn request_update_submit(
    AxState(app): AxState<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(mut f): Form<DraftForm>,
) -> Response {
    let lang = ctx.lang;
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return PageError::new(e, lang).into_response(),
    };
    let result = async {
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let before = store::get(&mut tx, &ctx, id).await?;
        if before.kind == Kind::Adjustment {
            promote_edited_rows(&mut tx, &mut f, before.authorization_id).await?;
        }
        let r = store::update(&mut tx, &ctx, id, &f.input(before.kind)).await?;
        tx.commit().await?;
        Ok::<_, AppError>(r)
    }
    .await;
    match result {
        Ok(r) => Redirect::to(&format!("/requests/{}", r.id)).into_response(),
        Err(e) => {
            let kind = {
                let mut tx = match tenant_tx(&app.db, &ctx).await {
                    Ok(t) => t,
                    Err(e) => return PageError::new(e, lang).into_response(),
                };
                match store::get(&mut tx, &ctx, id).await {
                    Ok(r) => r.kind,
                    Err(e) => return PageError::new(e, lang).into_response(),
                }
            };
            Errors::rerender(lang, e, |errors| {
                form_page(&app, &ctx, kind, Some(id), &f, false, errors)
            })
            .await
        }
    }
}

// ---------------------------------------------------------------- detail

#[derive(Template, WebTemplate)]
#[template(path = "lifecycle/detail.html")]
pub struct DetailPage {
    layout: Layout,
    r: Request,
    current_items: Vec<crate::authorizations::store::Item>,
    heads: Vec<Head>,
    is_dept: bool,
    is_drafter: bool,
    is_reviewer: bool,
    is_approver: bool,
    own_proposal: bool,
    error: Option<String>,
}

impl DetailPage {
    /// The conditions still open at the approval: each needs the
    /// approver's reason on the decision form.
    pub fn open_conditions(&self) -> Vec<&crate::applications::conditions::ConditionAtDecision> {
        self.r.conditions.iter().filter(|c| c.is_open()).collect()
    }
    pub fn state_label(&self) -> &'static str {
        self.r.state.label(self.r.kind, self.layout.current_lang())
    }
    /// 下一步：what happens next and who does it.
    pub fn next_step(&self) -> String {
        let head = self.r.kind == Kind::Head;
        let (zh, en) = match (self.r.state.as_str(), self.r.kind) {
            ("draft", _) => (
                "主管部门以主管部门名义提出",
                "the competent department files it",
            ),
            ("submitted", Kind::Reexamination) => (
                "授权部门审查员按期复查并提出复查结论",
                "a reviewer of the regulator re-examines and proposes the result",
            ),
            ("submitted", _) => (
                "授权部门审查员审查并提出意见",
                "a reviewer of the regulator reviews it and proposes",
            ),
            ("proposed", _) => (
                "提出意见者以外的另一位审批人审批（双人复核）",
                "an approver other than the proposer decides (four eyes)",
            ),
            ("approved", Kind::Termination) => (
                "终止日期到达时由系统终止授权（R15.2）",
                "the system ends the authorization on the end date (R15.2)",
            ),
            ("approved", _) if head => (
                "主管部门记录任命及生效日期后报备案",
                "the competent department records the appointment and its date, and files it",
            ),
            ("recorded", _) => (
                "授权部门确认备案，站长随即变更",
                "the regulator acknowledges the filing; the head changes then",
            ),
            _ => ("无：此申请已办结", "nothing: this request is closed"),
        };
        format!(
            "{}{}",
            self.layout.pick("下一步：", "Next: "),
            self.layout.pick(zh, en)
        )
    }
    pub fn kind_label(&self) -> &'static str {
        self.r.kind.label(self.layout.current_lang())
    }
    pub fn is(&self, s: &str) -> bool {
        self.r.state.as_str() == s
    }
    pub fn is_kind(&self, k: &str) -> bool {
        self.r.kind.as_str() == k
    }
    pub fn can(&self, step: &str) -> bool {
        let Some(step) = Step::parse(step) else {
            return false;
        };
        match next(self.r.kind, step, self.r.state) {
            None => false,
            Some((Actor::Department, _)) => self.is_dept,
            Some((Actor::Reviewer, _)) if step == Step::Acknowledge => {
                self.is_reviewer || self.is_approver
            }
            Some((Actor::Reviewer, _)) => self.is_reviewer,
            Some((Actor::Approver, _)) => self.is_approver,
        }
    }
    pub fn p(&self, key: &str) -> String {
        match self.r.payload.get(key) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None => String::new(),
            Some(v) => v.to_string(),
        }
    }
    pub fn pd(&self, key: &str) -> String {
        match self.r.proposal_data.as_ref().and_then(|d| d.get(key)) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None => String::new(),
            Some(v) => v.to_string(),
        }
    }
    pub fn assessment_field(&self, key: &str) -> String {
        match self.r.assessment.as_ref().and_then(|d| d.get(key)) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None => String::new(),
            Some(v) => v.to_string(),
        }
    }
    pub fn changes(&self) -> Vec<ItemChange> {
        self.r
            .payload
            .get("changes")
            .and_then(|c| serde_json::from_value(c.clone()).ok())
            .unwrap_or_default()
    }
    pub fn region_codes(&self) -> Vec<String> {
        self.r
            .payload
            .get("region")
            .and_then(|r| r.as_array())
            .map(|r| {
                r.iter()
                    .filter_map(|c| c.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
    pub fn region_text(&self, codes: &[String]) -> String {
        codes
            .iter()
            .map(|c| crate::web::division_label(c))
            .collect::<Vec<_>>()
            .join("、")
    }
    pub fn item_before(&self, seq: &Option<i32>) -> Option<crate::authorizations::store::Item> {
        let seq = (*seq)?;
        self.current_items.iter().find(|i| i.seq == seq).cloned()
    }
    pub fn op_label(&self, op: &str) -> &'static str {
        let en = self.layout.is_en();
        match (op, en) {
            ("add", false) => "增加",
            ("add", true) => "Add",
            ("remove", false) => "取消",
            ("remove", true) => "Remove",
            ("change", false) => "变更",
            ("change", true) => "Change",
            _ => "",
        }
    }
    pub fn tasks_text(&self, tasks: &[String]) -> String {
        let en = self.layout.is_en();
        tasks
            .iter()
            .map(|t| task_label(t, en))
            .collect::<Vec<_>>()
            .join("、")
    }
}

async fn detail(app: &AppState, ctx: &Ctx, id: Uuid, error: Option<String>) -> Result<DetailPage> {
    let mut tx = tenant_tx(&app.db, ctx).await?;
    let r = store::get(&mut tx, ctx, id).await?;
    let current_items = match r.authorization_id {
        Some(a) => sqlx::query_as(
            "select seq, name, range_text, accuracy_text, task_types, specification from authorization_item
              where authorization_id = $1 order by seq",
        )
        .bind(a)
        .fetch_all(&mut *tx)
        .await?,
        None => Vec::new(),
    };
    let heads = if r.kind == Kind::Head {
        store::heads(&mut tx, r.station_id).await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    let reg = ctx.org_kind == OrgKind::Regulator && ctx.org_id == r.regulator_id;
    Ok(DetailPage {
        layout: Layout::new(
            ctx,
            format!("{} · {}", r.station_name, r.kind.label(ctx.lang)),
            "/requests",
        ),
        is_dept: ctx.org_kind == OrgKind::Department
            && ctx.org_id == r.department_id
            && ctx.has(Role::Officer),
        is_drafter: ctx.org_id == r.department_id || ctx.org_id == r.station_id,
        is_reviewer: reg && ctx.has(Role::Reviewer),
        is_approver: reg && ctx.has(Role::Approver),
        own_proposal: r.proposed_by == Some(ctx.user_id),
        current_items,
        heads,
        error,
        r,
    })
}

pub async fn request_show(
    AxState(app): AxState<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> std::result::Result<DetailPage, PageError> {
    let lang = ctx.lang;
    let id = parse_id(&id).map_err(|e| PageError::new(e, lang))?;
    detail(&app, &ctx, id, None)
        .await
        .map_err(|e| PageError::new(e, lang))
}

#[derive(Debug, Default, Deserialize)]
pub struct StepForm {
    version: Option<i32>,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reasons: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    fail_action: String,
    #[serde(default)]
    rectification_deadline: String,
    #[serde(default)]
    findings: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    team: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    effective_on: String,
    confirmed: Option<String>,
    /// Conditions settled on this form: keys and, in the same order, the
    /// evidence (assessment) or the reason (approval).
    #[serde(default)]
    settle_key: Vec<String>,
    #[serde(default)]
    settle_text: Vec<String>,
}

pub async fn request_step_submit(
    AxState(app): AxState<AppState>,
    ctx: Ctx,
    Path((id, step)): Path<(String, String)>,
    Form(f): Form<StepForm>,
) -> Response {
    let lang = ctx.lang;
    let (Ok(id), Some(step)) = (parse_id(&id), Step::parse(&step)) else {
        return PageError::new(AppError::NotFound, lang).into_response();
    };
    let result = async {
        // Irreversible steps are confirmed: filing as the department, the
        // decision, the acknowledgement that changes the head, a withdrawal.
        if matches!(
            step,
            Step::Confirm | Step::Withdraw | Step::Submit | Step::Acknowledge
        ) && f.confirmed.is_none()
        {
            return Err(AppError::field(
                "confirmed",
                "confirm",
                "此操作不可撤销，请勾选确认",
                "This cannot be undone: tick the confirmation box",
            ));
        }
        let input = StepInput {
            version: f.version,
            decision: opt(&f.decision),
            reasons: opt(&f.reasons),
            result: opt(&f.result),
            fail_action: opt(&f.fail_action),
            rectification_deadline: date(&f.rectification_deadline),
            findings: opt(&f.findings),
            date: date(&f.date),
            team: opt(&f.team),
            outcome: opt(&f.outcome),
            effective_on: date(&f.effective_on),
            verified: if step == Step::Assessment {
                crate::web::settled(&f.settle_key, &f.settle_text)
            } else {
                Default::default()
            },
            overrides: if step == Step::Confirm {
                crate::web::settled(&f.settle_key, &f.settle_text)
            } else {
                Default::default()
            },
        };
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        store::step(&mut tx, &app.db, &ctx, id, step, &input).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    crate::web::step_response(
        lang,
        result,
        &format!("/requests/{id}?done={}", step.as_str()),
        |msg| detail(&app, &ctx, id, Some(msg)),
    )
    .await
}

// ---------------------------------------------------------------- versions

#[derive(Template, WebTemplate)]
#[template(path = "lifecycle/versions.html")]
pub struct VersionsPage {
    layout: Layout,
    authorization_id: Uuid,
    versions: Vec<Version>,
    diff: Option<Diff>,
}

impl VersionsPage {
    /// Only the newest version is the one in force; earlier ones are
    /// superseded whatever their snapshot said.
    pub fn is_current(&self, revision: &i32) -> bool {
        self.versions.iter().map(|v| v.revision).max() == Some(*revision)
    }
    pub fn reason_label(&self, r: &str) -> &'static str {
        let en = self.layout.is_en();
        match (r, en) {
            ("grant", false) => "授权",
            ("grant", true) => "Grant",
            ("adjustment", false) => "调整",
            ("adjustment", true) => "Adjustment",
            ("renewal", false) => "复查续期",
            ("renewal", true) => "Renewal",
            ("termination", false) => "终止",
            ("termination", true) => "Termination",
            ("revocation", false) => "撤销",
            ("revocation", true) => "Revocation",
            _ => "",
        }
    }
    pub fn change_label(&self, c: &str) -> &'static str {
        let en = self.layout.is_en();
        match (c, en) {
            ("added", false) => "新增",
            ("added", true) => "Added",
            ("removed", false) => "取消",
            ("removed", true) => "Removed",
            ("changed", false) => "变更",
            ("changed", true) => "Changed",
            (_, false) => "未变",
            (_, true) => "Same",
        }
    }
    pub fn tasks_text(&self, tasks: &[String]) -> String {
        let en = self.layout.is_en();
        tasks
            .iter()
            .map(|t| task_label(t, en))
            .collect::<Vec<_>>()
            .join("、")
    }
    pub fn region_text(&self, codes: &[String]) -> String {
        codes
            .iter()
            .map(|c| crate::web::division_label(c))
            .collect::<Vec<_>>()
            .join("、")
    }
    pub fn status_text(&self, status: &str) -> &'static str {
        // Recorded statuses: `active` reads as valid.
        let status = if status == "active" { "valid" } else { status };
        crate::authorizations::store::status_label(status, self.layout.current_lang()).0
    }
    pub fn differs(&self, d: &versions::ItemDiff, field: &str) -> bool {
        d.fields.iter().any(|f| f == field)
    }
}

pub async fn versions_page(
    AxState(app): AxState<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    AppQuery(q): AppQuery<super::api::DiffQuery>,
) -> std::result::Result<VersionsPage, PageError> {
    let lang = ctx.lang;
    let r = async {
        let id = parse_id(&id)?;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let all = versions::list(&mut tx, id).await?;
        let latest = all.last().map(|v| v.revision).unwrap_or(1);
        let to = q.to.unwrap_or(latest);
        let from = q.from.unwrap_or(to.saturating_sub(1).max(1));
        let diff = if all.len() > 1 {
            Some(versions::compare(&mut tx, id, from, to).await?)
        } else {
            None
        };
        tx.commit().await?;
        Ok::<_, AppError>((id, all, diff))
    }
    .await;
    let (id, versions, diff) = r.map_err(|e| PageError::new(e, lang))?;
    let number = versions
        .last()
        .map(|v| v.certificate_number.clone())
        .unwrap_or_default();
    Ok(VersionsPage {
        layout: Layout::new(
            &ctx,
            format!("{} · {}", number, lang.pick("授权版本", "Versions")),
            "/requests",
        ),
        authorization_id: id,
        versions,
        diff,
    })
}
