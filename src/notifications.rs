//! Notifications: R8.5, R14.1, R14.2, R15.2, R18.1–R18.3 and every other
//! "is told". Each is stored as a code with parameters and rendered in the
//! reader's language when read (the `subject`/`body` columns keep the
//! Chinese rendering for readers of older rows); an organization gets one
//! per event, however often the event is sent (a unique index, not a
//! check); and a note meant for one role (something waits for review) is
//! shown only to that role's users.

use serde_json::{Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::auth::Role;
use crate::error::Result;
use crate::i18n::Lang;

/// One notification to send: its code, its parameters, the record it
/// links to and, optionally, the one role it is for.
#[derive(Debug, Clone)]
pub struct Note {
    code: &'static str,
    params: Map<String, Value>,
    link: String,
    role: Option<Role>,
}

impl Note {
    /// A note of `code` (one of [`TEMPLATES`]) about the record at `link`.
    pub fn new(code: &'static str, link: impl Into<String>) -> Self {
        Self {
            code,
            params: Map::new(),
            link: link.into(),
            role: None,
        }
    }

    /// A parameter shown in both languages.
    pub fn p(mut self, key: &str, value: impl ToString) -> Self {
        self.params
            .insert(key.to_owned(), Value::String(value.to_string()));
        self
    }

    /// A parameter with its English form (`{key}` renders `key_en` in English).
    pub fn p2(mut self, key: &str, zh: impl ToString, en: impl ToString) -> Self {
        self.params
            .insert(key.to_owned(), Value::String(zh.to_string()));
        self.params
            .insert(format!("{key}_en"), Value::String(en.to_string()));
        self
    }

    /// The record it links to.
    pub fn at(mut self, link: impl Into<String>) -> Self {
        self.link = link.into();
        self
    }

    /// Only the users of this role in the receiving organizations see it.
    pub fn for_role(mut self, role: Role) -> Self {
        self.role = Some(role);
        self
    }
}

/// Every notification code: (code, Chinese subject, Chinese body, English
/// subject, English body), with `{param}` placeholders.
pub const TEMPLATES: &[(&str, &str, &str, &str, &str)] = &[
    ("application.decided", "{station}：计量授权申请{verdict}", "{regulator}作出决定：{verdict}。{reasons}",
     "{station}: authorization application {verdict}", "{regulator} decided: {verdict}. {reasons}"),
    ("application.due_recomputed", "办理期限已按节假日安排重算：{station}", "授权申请“{step}”环节的期限由 {before}（暂定）改为 {after}。",
     "Deadline recomputed with the holiday calendar: {station}", "The application's {step} deadline moved from {before} (provisional) to {after}."),
    ("request.submitted", "{kind}待审查：{station}", "{department} 提出了{kind}申请。",
     "{kind} request to review: {station}", "{department} filed a {kind} request."),
    ("request.decided", "{kind}{verdict}：{station}", "{regulator} 对 {station} 的{kind}申请作出决定：{verdict}。",
     "{kind} request {verdict}: {station}", "{regulator} decided {station}'s {kind} request: {verdict}."),
    ("request.due_recomputed", "办理期限已按节假日安排重算：{station}", "{kind}申请的办理期限由 {before}（暂定）改为 {after}。",
     "Due date recomputed with the holiday calendar: {station}", "The {kind} request's due date moved from {before} (provisional) to {after}."),
    ("reexamination.scheduled", "复查考核已安排：{station}", "{regulator} 已安排对 {station} 的授权（{number}）进行复查考核，日期 {date}。",
     "Re-examination scheduled: {station}", "{regulator} scheduled the re-examination of {station}'s authorization ({number}) for {date}."),
    ("reexamination.failed", "复查考核未通过，限期整改：{station}", "复查发现：{findings}。整改期限：{deadline}（R14.2）。",
     "Re-examination failed, rectification due: {station}", "Findings: {findings}. Deadline: {deadline} (R14.2)."),
    ("reexamination.reminder", "复查考核提醒：{number}", "授权证书 {number} 将于 {until} 到期，应安排复查考核（R14.1）。",
     "Re-examination reminder: {number}", "Certificate {number} expires on {until}; its re-examination is due (R14.1)."),
    ("termination.completed", "授权已终止", "经批准的终止申请于 {end} 生效，授权已终止（R15.2）。",
     "Authorization ended", "The approved termination took effect on {end}; the authorization has ended (R15.2)."),
    ("order.issued", "整改通知：{station}", "{issuer} 对 {station} 下达整改通知，整改期限至 {due}{provisional}（R18.1）。",
     "Rectification order: {station}", "{issuer} ordered {station} to rectify by {due}{provisional} (R18.1)."),
    ("order.reported", "整改报告已提交：{station}", "{station} 提交了整改报告，待审核。",
     "Rectification report filed: {station}", "{station} filed its rectification report; it waits for review."),
    ("order.accepted", "整改报告已审核，待审批关闭：{station}", "{issuer} 审核通过 {station} 的整改报告，待审批人确认关闭。",
     "Rectification report accepted, closing: {station}", "{issuer} accepted {station}'s report; an approver closes the order."),
    ("order.closed", "整改已通过：{station}", "{issuer} 确认 {station} 整改完成，通知关闭（R18.2）。",
     "Rectification completed: {station}", "{issuer} confirmed that {station} has rectified; the order is closed (R18.2)."),
    ("order.rejected", "整改未通过：{station}", "{issuer} 未通过 {station} 的整改报告：{reasons}（R18.2）。",
     "Rectification report rejected: {station}", "{issuer} rejected {station}'s report: {reasons} (R18.2)."),
    ("order.extended", "整改期限已延长：{station}", "整改期限延长至 {due}（R18.3）。",
     "Rectification deadline extended: {station}", "The deadline is extended to {due} (R18.3)."),
    ("order.due_recomputed", "整改期限已按节假日安排重算：{station}", "整改通知的期限由 {before}（暂定）改为 {after}{still}。",
     "Rectification deadline recomputed: {station}", "The rectification deadline moved from {before} (provisional) to {after}{still}."),
    ("comparison.opened", "计量比对邀请：{title}", "{organizer} 组织计量比对“{title}”（{item}），本站为参比实验室，结果提交截止 {due}（R9.2）。",
     "Comparison invitation: {title}", "{organizer} organizes the comparison “{title}” ({item}); your station takes part; results are due by {due} (R9.2)."),
    ("comparison.draft_a", "比对报告征求意见稿：{title}", "计量比对“{title}”的参考值已确定，报告征求意见稿（Draft A）已发出，请核对本站结果和 En 值。",
     "Comparison Draft A: {title}", "The reference value of “{title}” is set and Draft A is out: check your result and its En."),
    ("comparison.final", "比对正式报告：{title}", "计量比对“{title}”的正式报告已发布（R9.2）。",
     "Comparison final report: {title}", "The final report of “{title}” is published (R9.2)."),
    ("risk.filed", "风险报告待研判：{station}", "{station} 报送风险报告“{title}”（{severity}），请研判（R10.1）。",
     "Risk report to triage: {station}", "{station} filed the risk report “{title}” ({severity}); triage it (R10.1)."),
    ("risk.decided", "风险报告研判结果：{title}", "{regulator} 对风险报告“{title}”的研判结论：{verdict}。{reason}",
     "Risk report triaged: {title}", "{regulator} triaged “{title}”: {verdict}. {reason}"),
    ("warning.published", "预警：{title}", "{regulator} 发布预警（{severity}），有效期至 {until}；请阅读并确认收到（R10.1）。",
     "Warning: {title}", "{regulator} published a warning ({severity}), valid until {until}; read and acknowledge it (R10.1)."),
    ("case.decided", "违法案件处理决定：{station}", "{regulator} 对 {station} 作出处理决定。",
     "Decision on a violation case: {station}", "{regulator} decided the case concerning {station}."),
];

/// The subject and body of a note in `lang`; `None` for an unknown code.
pub fn render(code: &str, params: &Value, lang: Lang) -> Option<(String, String)> {
    let (_, zs, zb, es, eb) = TEMPLATES.iter().find(|t| t.0 == code)?;
    let (s, b) = if lang.is_en() { (es, eb) } else { (zs, zb) };
    let fill = |t: &str| {
        let mut out = String::with_capacity(t.len() + 32);
        let mut rest = t;
        while let Some(i) = rest.find('{') {
            out.push_str(&rest[..i]);
            let Some(j) = rest[i..].find('}') else {
                out.push_str(&rest[i..]);
                rest = "";
                break;
            };
            let key = &rest[i + 1..i + j];
            let en = params.get(format!("{key}_en")).filter(|_| lang.is_en());
            let v = en.or_else(|| params.get(key)).and_then(Value::as_str);
            out.push_str(v.unwrap_or(""));
            rest = &rest[i + j + 1..];
        }
        out.push_str(rest);
        out.trim().to_owned()
    };
    Some((fill(s), fill(b)))
}

/// Puts the note in each organization's inbox (each once, however often
/// it is listed or sent again), in the caller's transaction.
pub async fn send(conn: &mut PgConnection, orgs: &[Uuid], note: &Note) -> Result<()> {
    let params = Value::Object(note.params.clone());
    let (subject, body) = render(note.code, &params, Lang::Zh)
        .unwrap_or_else(|| (note.code.to_owned(), String::new()));
    let mut seen: Vec<Uuid> = Vec::new();
    for org in orgs {
        if seen.contains(org) {
            continue;
        }
        seen.push(*org);
        sqlx::query(
            "insert into notification (notification_id, org_id, subject, body, link, code, params, for_role)
             values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict do nothing",
        )
        .bind(Uuid::now_v7())
        .bind(org)
        .bind(&subject)
        .bind(&body)
        .bind(&note.link)
        .bind(note.code)
        .bind(&params)
        .bind(note.role.map(|r| r.as_str()))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_renders_in_each_language_with_its_parameters() {
        let n = Note::new("request.submitted", "/requests/x")
            .p("station", "广东省电力计量站")
            .p("department", "广东电网")
            .p2("kind", "终止", "termination");
        let params = Value::Object(n.params.clone());
        let (s, b) = render("request.submitted", &params, Lang::Zh).unwrap();
        assert_eq!(s, "终止待审查：广东省电力计量站");
        assert_eq!(b, "广东电网 提出了终止申请。");
        let (s, b) = render("request.submitted", &params, Lang::En).unwrap();
        assert_eq!(s, "termination request to review: 广东省电力计量站");
        assert_eq!(b, "广东电网 filed a termination request.");
        assert!(render("no.such.code", &params, Lang::Zh).is_none());
    }

    #[test]
    fn every_template_is_complete_and_codes_are_unique() {
        for (i, t) in TEMPLATES.iter().enumerate() {
            assert!(TEMPLATES[..i].iter().all(|u| u.0 != t.0), "{} twice", t.0);
            for text in [t.1, t.2, t.3, t.4] {
                assert!(!text.is_empty(), "{}", t.0);
                assert_eq!(
                    text.matches('{').count(),
                    text.matches('}').count(),
                    "{}",
                    t.0
                );
            }
        }
    }
}
