//! HTML pages: the signed-in home page, the station list and detail.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};

use super::model::*;
use super::store;
use crate::auth::{Ctx, OrgKind};
use crate::db::tenant_tx;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::orgs::model::{Organization, StationStatus, StationTier, User};
use crate::state::AppState;
use crate::web::{kind_label, parse_id, url_encode, AppQuery, Layout, PageError};

/// A station row as the list shows it, localized.
pub struct StationRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub tier: String,
    pub status: String,
    pub badge: &'static str,
    pub location: String,
    pub department: String,
    pub regulator: String,
}

fn tier_label(lang: Lang, t: StationTier) -> String {
    lang.pick(t.label_zh(), t.label_en()).to_owned()
}

fn status_label(lang: Lang, s: StationStatus) -> String {
    lang.pick(s.label_zh(), s.label_en()).to_owned()
}

impl StationRow {
    fn new(lang: Lang, s: &StationSummary) -> Self {
        StationRow {
            id: s.id.to_string(),
            code: s.code.clone(),
            name: s.name.clone(),
            tier: tier_label(lang, s.tier),
            status: status_label(lang, s.status),
            badge: s.status.badge(),
            location: s.location_name.clone(),
            department: s.department_name.clone().unwrap_or_else(|| "—".into()),
            regulator: s
                .authorizing_regulator_name
                .clone()
                .unwrap_or_else(|| "—".into()),
        }
    }
}

/// One cell row of the counts table: a tier and its count per status.
pub struct CountRow {
    pub tier: String,
    pub tier_key: &'static str,
    pub cells: Vec<(String, i64)>,
    pub total: i64,
}

fn count_rows(lang: Lang, counts: &[StationCount]) -> Vec<CountRow> {
    StationTier::ALL
        .into_iter()
        .map(|t| {
            let cells: Vec<(String, i64)> = StationStatus::ALL
                .into_iter()
                .map(|st| {
                    let n = counts
                        .iter()
                        .filter(|c| c.tier == t.as_str() && c.status == st.as_str())
                        .map(|c| c.count)
                        .sum();
                    (st.as_str().to_owned(), n)
                })
                .collect();
            CountRow {
                tier: tier_label(lang, t),
                tier_key: t.as_str(),
                total: cells.iter().map(|c| c.1).sum(),
                cells,
            }
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    layout: Layout,
    org: Organization,
    org_kind: String,
    org_detail: String,
    users: Vec<User>,
    users_total: i64,
    status_headers: Vec<(String, String)>,
    counts: Vec<CountRow>,
    stations_total: i64,
    is_operator: bool,
    org_kind_counts: Vec<(String, i64)>,
    /// Registry warnings (R12.3, R16.4, R16.6): (link, subject, message, badge).
    warnings: Vec<(String, String, String, &'static str)>,
    /// Change requests waiting for the caller's organization: (state, label, count).
    waiting: Vec<(String, String, i64)>,
    /// The organization's inbox (R8.5).
    inbox: Vec<crate::tasks::inbox::Notification>,
    /// Lifecycle requests per kind: (kind, label, open, for me, overdue).
    lifecycle: Vec<(String, String, i64, i64, i64)>,
    /// Applications whose current step is past its clock.
    applications_overdue: i64,
    /// Applications waiting for the caller.
    applications_awaiting: i64,
    /// A station's rectification orders to report on.
    orders_awaiting: i64,
    org_kind_is_regulator_or_department: bool,
    is_station_home: bool,
    /// R18.1: next year's holiday arrangement is not loaded although it is
    /// due (operator and regulators, from 1 October).
    calendar_warning: Option<crate::calendar::model::CalendarWarning>,
    /// My work (issue 16): the first ten of my tasks and the counts.
    tasks: crate::tasks::api::TaskList,
    /// R10.1: warnings to acknowledge.
    alerts: Vec<(uuid::Uuid, String, String, chrono::NaiveDate)>,
}

impl HomePage {
    fn severity(&self, s: &str) -> &'static str {
        crate::risks::store::severity_label(s, self.layout.is_en())
    }
}

/// The home page for the signed-in user's kind of organization.
pub async fn home(State(app): State<AppState>, ctx: Ctx) -> Result<HomePage, PageError> {
    let lang = ctx.lang;
    let page = async {
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let org = crate::orgs::store::org_get(&mut tx, ctx.org_id).await?;
        let (users, users_total) = crate::orgs::store::user_list(
            &mut tx,
            Some(ctx.org_id),
            None,
            crate::web::Paging::new(Some(1), Some(10)),
        )
        .await?;
        let counts = store::counts(&mut tx, &ctx).await?;
        let org_kind_counts = if ctx.is_operator() {
            let rows: Vec<(String, i64)> = sqlx::query_as(
                "select kind, count(*) from organization group by kind order by kind",
            )
            .fetch_all(&mut *tx)
            .await?;
            rows.into_iter()
                .map(|(k, n)| {
                    let label = OrgKind::parse(&k)
                        .map(|k| kind_label(lang, k))
                        .unwrap_or("?");
                    (label.to_owned(), n)
                })
                .collect()
        } else {
            Vec::new()
        };
        // My work (issue 16): the work queue, the inbox and my first tasks.
        let crate::tasks::queue::WorkQueue {
            warnings,
            waiting,
            inbox,
            lifecycle,
            applications_overdue,
            applications_awaiting,
            orders_awaiting,
            calendar_warning,
            tasks,
            alerts,
        } = crate::tasks::queue::work_queue(&mut tx, &ctx).await?;
        tx.commit().await?;
        let org_detail = match (&org.regulator_level, &org.station, &org.division_name) {
            (Some(level), _, div) => format!(
                "{}{}",
                lang.pick(level.label_zh(), level.label_en()),
                div.as_ref().map(|d| format!(" · {d}")).unwrap_or_default()
            ),
            (None, Some(st), _) => format!("{} · {}", st.code, tier_label(lang, st.tier)),
            _ => String::new(),
        };
        let rows = count_rows(lang, &counts);
        Ok::<_, AppError>(HomePage {
            layout: Layout::new(&ctx, lang.t("home-title"), "/"),
            org_kind: kind_label(lang, org.kind).to_owned(),
            org,
            org_detail,
            users,
            users_total,
            status_headers: StationStatus::ALL
                .into_iter()
                .map(|s| (s.as_str().to_owned(), status_label(lang, s)))
                .collect(),
            stations_total: rows.iter().map(|r| r.total).sum(),
            counts: rows,
            is_operator: ctx.is_operator(),
            org_kind_counts,
            warnings,
            waiting,
            inbox,
            lifecycle,
            applications_overdue,
            applications_awaiting,
            orders_awaiting,
            org_kind_is_regulator_or_department: matches!(
                ctx.org_kind,
                OrgKind::Regulator | OrgKind::Department
            ),
            is_station_home: ctx.org_kind == OrgKind::Station,
            calendar_warning,
            tasks,
            alerts,
        })
    }
    .await;
    page.map_err(|e| PageError::new(e, lang))
}

#[derive(Template, WebTemplate)]
#[template(path = "stations/list.html")]
pub struct StationListPage {
    layout: Layout,
    rows: Vec<StationRow>,
    total: i64,
    page: i64,
    pages: i64,
    q: String,
    tier: String,
    status: String,
    region: String,
    sort: String,
    desc: bool,
    tiers: Vec<(String, String)>,
    statuses: Vec<(String, String)>,
    error: Option<String>,
}

impl StationListPage {
    fn query(&self, sort: &str, desc: bool, page: i64) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("q", &self.q),
            ("tier", &self.tier),
            ("status", &self.status),
            ("region", &self.region),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k}={}", url_encode(v)));
            }
        }
        parts.push(format!("sort={sort}"));
        if desc {
            parts.push("dir=desc".into());
        }
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        format!("/stations?{}", parts.join("&"))
    }

    /// Link of a sortable header: same key toggles the direction.
    pub fn sort_href(&self, key: &str) -> String {
        let desc = self.sort == key && !self.desc;
        self.query(key, desc, 1)
    }

    /// `aria-sort` value of a header.
    pub fn aria_sort(&self, key: &str) -> &'static str {
        match (self.sort == key, self.desc) {
            (false, _) => "none",
            (true, false) => "ascending",
            (true, true) => "descending",
        }
    }

    pub fn arrow(&self, key: &str) -> &'static str {
        match (self.sort == key, self.desc) {
            (false, _) => "",
            (true, false) => "▲",
            (true, true) => "▼",
        }
    }

    pub fn page_href(&self, page: i64) -> String {
        self.query(&self.sort, self.desc, page)
    }
}

/// The station list with search, filters, sorting and pagination.
pub async fn stations_list(
    State(app): State<AppState>,
    ctx: Ctx,
    AppQuery(q): AppQuery<StationQuery>,
) -> Result<StationListPage, PageError> {
    let lang = ctx.lang;
    let tiers = StationTier::ALL
        .into_iter()
        .map(|t| (t.as_str().to_owned(), tier_label(lang, t)))
        .collect();
    let statuses = StationStatus::ALL
        .into_iter()
        .map(|s| (s.as_str().to_owned(), status_label(lang, s)))
        .collect();
    let mut page = StationListPage {
        layout: Layout::new(&ctx, lang.t("stations-title"), "/stations"),
        rows: Vec::new(),
        total: 0,
        page: 1,
        pages: 1,
        q: q.q.clone().unwrap_or_default(),
        tier: q.tier.clone().unwrap_or_default(),
        status: q.status.clone().unwrap_or_default(),
        region: q.region.clone().unwrap_or_default(),
        sort: q.sort.clone().unwrap_or_else(|| "name".into()),
        desc: q.dir.as_deref() == Some("desc"),
        tiers,
        statuses,
        error: None,
    };
    let filters = match store::parse_query(&q) {
        Ok(f) => f,
        Err(AppError::Validation(fields)) => {
            // Keep the input; say what is wrong above the table.
            page.error = Some(AppError::fields_text(&fields, lang));
            return Ok(page);
        }
        Err(e) => return Err(PageError::new(e, lang)),
    };
    let result = async {
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let r = store::list(&mut tx, &ctx, &filters).await?;
        tx.commit().await?;
        Ok::<_, AppError>(r)
    }
    .await;
    let (items, total) = result.map_err(|e| PageError::new(e, lang))?;
    page.rows = items.iter().map(|s| StationRow::new(lang, s)).collect();
    page.total = total;
    page.page = filters.paging.page;
    page.pages = filters.paging.pages(total);
    page.sort = filters.sort.as_str().to_owned();
    Ok(page)
}

#[derive(Template, WebTemplate)]
#[template(path = "stations/detail.html")]
pub struct StationDetailPage {
    layout: Layout,
    s: StationDetail,
    row: StationRow,
    relations: Vec<String>,
    /// (id, number, status label, badge, validity)
    certificates: Vec<(String, String, String, &'static str, String)>,
    /// R11.1: the history of heads.
    heads: Vec<crate::lifecycle::store::Head>,
    /// R18.3: rectification orders not yet closed, overdue ones marked.
    orders: Vec<crate::supervision::model::Order>,
    /// R15.2: approved terminations and the day each takes effect.
    terminations: Vec<(uuid::Uuid, Option<chrono::NaiveDate>)>,
}

fn relation_label(lang: Lang, r: &str) -> String {
    let (zh, en) = match r {
        "self" => ("本站", "This station"),
        "department" => ("主管部门", "Competent department"),
        "authorizer" => ("授权部门", "Authorizing regulator"),
        "supervisor" => (
            "属地监管（第十七条）",
            "Supervision in jurisdiction (Art 17)",
        ),
        "head" => ("总站指导（第三条）", "Head station guidance (Art 3)"),
        _ => (r, r),
    };
    lang.pick(zh, en).to_owned()
}

/// A station's detail page; another tenant's station answers 404.
pub async fn station_show(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<StationDetailPage, PageError> {
    let lang = ctx.lang;
    let result = async {
        let id = parse_id(&id)?;
        let mut tx = tenant_tx(&app.db, &ctx).await?;
        let s = store::get(&mut tx, &ctx, id).await?;
        let auths = crate::authorizations::store::list(&mut tx, &ctx, Some(id)).await?;
        let heads = crate::lifecycle::store::heads(&mut tx, id).await?;
        // A station has few open orders; the list page has the rest.
        let (orders, _) = crate::supervision::store::orders(
            &mut tx,
            &ctx,
            &crate::supervision::store::OrderFilter {
                station: Some(id),
                open_only: true,
                ..Default::default()
            },
            None,
            crate::web::LIST_LIMIT_MAX,
        )
        .await?;
        // The row policy decides who sees them, as for the request pages.
        let terminations: Vec<(uuid::Uuid, Option<chrono::NaiveDate>)> = sqlx::query_as(
            "select request_id, effective_on from lifecycle_request
              where station_id = $1 and kind = 'termination' and state = 'approved' order by effective_on",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, AppError>((s, auths, heads, orders, terminations))
    }
    .await;
    let (s, auths, heads, orders, terminations) = result.map_err(|e| PageError::new(e, lang))?;
    let certificates = auths
        .iter()
        .map(|a| {
            let (label, badge) =
                crate::authorizations::store::status_label(&a.effective_status, lang);
            (
                a.id.to_string(),
                a.certificate_number.clone(),
                label.to_owned(),
                badge,
                format!("{} — {}", a.valid_from, a.valid_until),
            )
        })
        .collect();
    Ok(StationDetailPage {
        layout: Layout::new(&ctx, s.summary.name.clone(), "/stations"),
        row: StationRow::new(lang, &s.summary),
        relations: s
            .relations
            .iter()
            .map(|r| relation_label(lang, r))
            .collect(),
        certificates,
        heads,
        orders,
        terminations,
        s,
    })
}
