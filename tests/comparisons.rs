//! Comparisons (R9.2) and risk reports with warnings (R10.1): sealed
//! values, En by the pure rule, reports and their chart, task lists,
//! warnings reaching exactly their recipients, acknowledgements.

mod common;

use common::{assert_error, created, new_user, okj, Client, TestApp};
use jiliang::rules::comparison::en_number;
use serde_json::{json, Value};
use uuid::Uuid;

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

fn participant<'a>(c: &'a Value, code: &str) -> &'a Value {
    c["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["station_code"] == code)
        .unwrap_or_else(|| panic!("participant {code}"))
}

async fn task_kinds(c: &Client) -> Vec<(String, String)> {
    let (status, body) = c.json("/api/v1/tasks?limit=200").await;
    assert_eq!(status, 200, "{body}");
    body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["kind"].as_str().unwrap().to_owned(),
                t["link"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// SAMR opens a comparison of flow meters among the head station and its
/// two branches (all holding a "流量计" item), the head station piloting.
async fn open_comparison(app: &TestApp, samr: &Client) -> Value {
    let (status, cands) = samr
        .json("/api/v1/comparison-candidates?item=%E6%B5%81%E9%87%8F%E8%AE%A1")
        .await;
    assert_eq!(status, 200, "{cands}");
    let codes: Vec<&str> = cands
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    for code in ["NS-OGF", "NS-OGF-CD", "NS-OGF-NJ"] {
        assert!(codes.contains(&code), "{code} proposed: {codes:?}");
    }
    assert!(
        !codes.contains(&"GD-EP-01"),
        "no matching item, not proposed"
    );
    let due = (jiliang::web::today() + chrono::Days::new(30)).to_string();
    let mut parts = Vec::new();
    for code in ["NS-OGF", "NS-OGF-CD", "NS-OGF-NJ"] {
        parts.push(json!({"station_id": app.station_id(code).await}));
    }
    created(
        samr.post_json(
            "/api/v1/comparisons",
            &json!({"title": "2026 年气体流量计量比对", "item": "流量计", "measurand": "标准状态体积流量",
                    "unit": "m³/h", "pilot_station_id": app.station_id("NS-OGF").await,
                    "transfer_standard": "DN100 涡轮流量计 TS-01", "results_due_on": due,
                    "participants": parts}),
        )
        .await,
    )
    .await
}

async fn submit(c: &Client, id: &str, x: f64, u: f64) -> reqwest::Response {
    c.post_json(
        &format!("/api/v1/comparisons/{id}/submit"),
        &json!({"value": x, "uncertainty": u, "coverage_factor": 2.0}),
    )
    .await
}

#[tokio::test]
async fn values_stay_sealed_until_closing_and_en_is_the_pure_rules_r9_2() {
    let app = TestApp::spawn().await;
    let samr = app.login("samr.reviewer").await;
    let head = app.login("head.staff").await;
    let cd = new_user(
        &app,
        "国家石油天然气大流量计量站成都分站",
        "cd.staff",
        &["staff"],
    )
    .await;
    let nj = new_user(
        &app,
        "国家石油天然气大流量计量站南京分站",
        "nj.staff",
        &["staff"],
    )
    .await;
    let c = open_comparison(&app, &samr).await;
    let cid = id(&c);
    assert_eq!(c["state"], "open");
    // A participant of no matching item is refused; too few participants too.
    assert_error(
        samr.post_json(
            "/api/v1/comparisons",
            &json!({"title": "x", "item": "流量计", "measurand": "x", "unit": "x",
                    "pilot_station_id": app.station_id("NS-OGF").await, "transfer_standard": "x",
                    "results_due_on": "2099-01-01",
                    "participants": [{"station_id": app.station_id("NS-OGF").await},
                                     {"station_id": app.station_id("GD-EP-01").await}]}),
        )
        .await,
        422,
        "validation",
    )
    .await;
    // A station cannot organize (not a head station), nor can a department.
    assert_error(
        cd.post_json("/api/v1/comparisons", &json!({})).await,
        403,
        "forbidden",
    )
    .await;

    // The participants' lists carry what they must do.
    assert!(task_kinds(&cd)
        .await
        .contains(&("comparison_submit".into(), format!("/comparisons/{cid}"))));
    okj(submit(&head, &cid, 10.02, 0.03).await).await;
    okj(submit(&cd, &cid, 10.10, 0.04).await).await;
    // Once only: a second submission is a conflict, asking for a change.
    assert_error(
        submit(&head, &cid, 10.0, 0.03).await,
        409,
        "already_submitted",
    )
    .await;
    assert!(!task_kinds(&cd)
        .await
        .iter()
        .any(|(k, _)| k == "comparison_submit"));

    // Sealed: another participant sees nothing of the head station's
    // value, nor does the organizer before it closes submission.
    for (who, client) in [("cd", &cd), ("samr", &samr), ("nj", &nj)] {
        let (_, view) = client.json(&format!("/api/v1/comparisons/{cid}")).await;
        assert!(
            participant(&view, "NS-OGF")["result"].is_null(),
            "{who} sees no sealed value"
        );
        assert_eq!(participant(&view, "NS-OGF")["submitted"], true);
    }
    let (_, own) = cd.json(&format!("/api/v1/comparisons/{cid}")).await;
    assert_eq!(participant(&own, "NS-OGF-CD")["result"]["value"], 10.10);
    // … and so says the database, under the app role.
    assert!(app
        .as_app_role(
            Some("samr.reviewer"),
            "select value::text from comparison_result"
        )
        .await
        .is_empty());
    assert_eq!(
        app.as_app_role(
            Some("head.staff"),
            "select value::text from comparison_result"
        )
        .await,
        vec!["10.02".to_owned()]
    );

    // A participant cannot score itself, even at the database.
    let err = app
        .as_app_role_result(
            Some("head.staff"),
            "update comparison_participant set satisfactory = true, en = 0 returning lab_code",
        )
        .await;
    assert!(
        err.as_ref()
            .is_err_and(|e| e.contains("does not write this field")),
        "{err:?}"
    );

    // A change after submitting: a request with a reason, decided by the organizer.
    assert_error(
        head.post_json(
            &format!("/api/v1/comparisons/{cid}/change"),
            &json!({"value": 10.01, "uncertainty": 0.03}),
        )
        .await,
        422,
        "validation",
    )
    .await;
    okj(head
        .post_json(
            &format!("/api/v1/comparisons/{cid}/change"),
            &json!({"value": 10.01, "uncertainty": 0.03, "reason": "温度修正遗漏"}),
        )
        .await)
    .await;
    let (_, view) = samr.json(&format!("/api/v1/comparisons/{cid}")).await;
    let p = participant(&view, "NS-OGF");
    assert_eq!(p["change_reason"], "温度修正遗漏");
    assert!(
        p["result"].is_null() && p["pending"].is_null(),
        "still sealed"
    );
    assert!(task_kinds(&samr)
        .await
        .iter()
        .any(|(k, _)| k == "comparison_change"));
    let station = app.station_id("NS-OGF").await;
    // Only the organizer decides.
    assert_error(
        cd.post_json(
            &format!("/api/v1/comparisons/{cid}/decide"),
            &json!({"station_id": station, "accept": true, "version": p["version"]}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    okj(samr
        .post_json(
            &format!("/api/v1/comparisons/{cid}/decide"),
            &json!({"station_id": station, "accept": true, "version": p["version"]}),
        )
        .await)
    .await;

    // A result's report is sealed like its value.
    let doc = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"%PDF-1.4\n%%EOF\n".to_vec()).file_name("cd-report.pdf"),
    );
    let res = cd
        .http
        .post(app.url(&format!("/api/v1/comparisons/{cid}/documents")))
        .header("Origin", &app.base)
        .multipart(doc)
        .send()
        .await
        .unwrap();
    let doc = created(res).await;
    let doc_path = format!("/api/v1/documents/{}", id(&doc));
    assert_eq!(cd.get(&doc_path).await.status(), 200);
    assert_eq!(head.get(&doc_path).await.status(), 404, "sealed");
    assert_eq!(samr.get(&doc_path).await.status(), 404, "sealed");

    // Closing unseals the values to the organizer, not yet to the others.
    let (_, view) = samr.json(&format!("/api/v1/comparisons/{cid}")).await;
    okj(samr
        .post_json(
            &format!("/api/v1/comparisons/{cid}/close"),
            &json!({"version": view["version"]}),
        )
        .await)
    .await;
    assert_error(submit(&nj, &cid, 9.9, 0.05).await, 409, "not_open").await;
    let (_, view) = samr.json(&format!("/api/v1/comparisons/{cid}")).await;
    assert_eq!(
        participant(&view, "NS-OGF")["result"]["value"],
        10.01,
        "the accepted change"
    );
    assert_eq!(samr.get(&doc_path).await.status(), 200);
    let (_, cd_view) = cd.json(&format!("/api/v1/comparisons/{cid}")).await;
    assert!(participant(&cd_view, "NS-OGF")["result"].is_null());

    // The reference value and En (R9.2): Draft A to the participants.
    assert_error(
        samr.post_json(
            &format!("/api/v1/comparisons/{cid}/reference"),
            &json!({"version": view["version"], "method": "assigned", "reference_value": 10.0}),
        )
        .await,
        422,
        "validation",
    )
    .await;
    let drafted = okj(samr
        .post_json(
            &format!("/api/v1/comparisons/{cid}/reference"),
            &json!({"version": view["version"], "method": "assigned", "reference_value": 10.0,
                    "reference_uncertainty": 0.02, "notes": "主导实验室校准值"}),
        )
        .await)
    .await;
    assert_eq!(drafted["state"], "draft_a");
    for (code, x, u) in [("NS-OGF", 10.01, 0.03), ("NS-OGF-CD", 10.10, 0.04)] {
        let expected = en_number(x, u, 10.0, 0.02).unwrap();
        let p = participant(&drafted, code);
        let en = p["en"].as_f64().unwrap();
        assert!(
            (en - expected.en()).abs() < 1e-12,
            "{code}: En {en} is the rule's"
        );
        assert_eq!(p["satisfactory"], expected.is_satisfactory(), "{code}");
    }
    assert_eq!(participant(&drafted, "NS-OGF")["satisfactory"], true);
    assert_eq!(participant(&drafted, "NS-OGF-CD")["satisfactory"], false);
    assert!(
        participant(&drafted, "NS-OGF-NJ")["en"].is_null(),
        "no result, no En"
    );
    // Draft A: the participants see each other's values now.
    let (_, cd_view) = cd.json(&format!("/api/v1/comparisons/{cid}")).await;
    assert_eq!(participant(&cd_view, "NS-OGF")["result"]["value"], 10.01);
    assert_eq!(cd_view["reference_value"], 10.0);
    let (_, inbox) = cd.json("/api/v1/notifications").await;
    let subjects: Vec<&str> = inbox
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["subject"].as_str().unwrap())
        .collect();
    assert!(
        subjects.contains(&"比对报告征求意见稿：2026 年气体流量计量比对"),
        "{subjects:?}"
    );
    assert!(
        subjects.contains(&"计量比对邀请：2026 年气体流量计量比对"),
        "{subjects:?}"
    );

    // The chart: one point per result, the reference line.
    let res = cd
        .get(&format!("/api/v1/comparisons/{cid}/chart.svg"))
        .await;
    assert_eq!(res.status(), 200);
    let svg = res.text().await.unwrap();
    assert_eq!(svg.matches("<circle").count(), 2);
    assert!(svg.contains("X_ref = 10 ± 0.02"));

    let final_ = okj(samr
        .post_json(
            &format!("/api/v1/comparisons/{cid}/final"),
            &json!({"version": drafted["version"]}),
        )
        .await)
    .await;
    assert_eq!(final_["state"], "final");
    // The unsatisfactory result is on the participant's list and on its
    // authorizing regulator's (SAMR authorizes the national stations),
    // not on another regulator's.
    assert!(task_kinds(&cd).await.contains(&(
        "comparison_corrective".into(),
        format!("/comparisons/{cid}")
    )));
    assert!(task_kinds(&samr)
        .await
        .contains(&("comparison_follow_up".into(), format!("/comparisons/{cid}"))));
    let gd = app.login("gd.reviewer").await;
    assert!(!task_kinds(&gd)
        .await
        .iter()
        .any(|(k, _)| k.starts_with("comparison")));
    assert_eq!(
        gd.get(&format!("/api/v1/comparisons/{cid}")).await.status(),
        404
    );
    let other = app.login("station.staff").await;
    assert_eq!(
        other
            .get(&format!("/api/v1/comparisons/{cid}"))
            .await
            .status(),
        404
    );

    // The station states its corrective action; the regulator notes it.
    let p = participant(&final_, "NS-OGF-CD").clone();
    okj(cd
        .post_json(
            &format!("/api/v1/comparisons/{cid}/corrective"),
            &json!({"version": p["version"], "corrective_action": "更换温度变送器并复测"}),
        )
        .await)
    .await;
    let (_, view) = samr.json(&format!("/api/v1/comparisons/{cid}")).await;
    let p = participant(&view, "NS-OGF-CD");
    okj(samr
        .post_json(
            &format!("/api/v1/comparisons/{cid}/follow_up"),
            &json!({"version": p["version"], "station_id": p["station_id"], "follow_up": "noted"}),
        )
        .await)
    .await;
    assert!(!task_kinds(&cd)
        .await
        .iter()
        .any(|(k, _)| k.starts_with("comparison")));
    assert!(!task_kinds(&samr)
        .await
        .iter()
        .any(|(k, _)| k.starts_with("comparison")));

    // The pages: the report with its chart.
    let page = samr.get(&format!("/comparisons/{cid}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<svg") && html.contains("正式报告"));
}

#[tokio::test]
async fn fifty_parallel_submissions_store_one_result_r9_2() {
    let app = TestApp::spawn().await;
    let samr = app.login("samr.reviewer").await;
    let head = app.login("head.staff").await;
    let c = open_comparison(&app, &samr).await;
    let cid = id(&c);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let head = head.clone();
        let cid = cid.clone();
        set.spawn(async move { submit(&head, &cid, 10.0, 0.03).await.status().as_u16() });
    }
    let mut codes = Vec::new();
    while let Some(r) = set.join_next().await {
        codes.push(r.unwrap());
    }
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "{codes:?}");
    assert!(codes.iter().all(|c| *c == 200 || *c == 409), "{codes:?}");
    let n: i64 = sqlx::query_scalar("select count(*) from comparison_result")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn a_warning_reaches_exactly_its_recipients_who_acknowledge_r10_1() {
    let app = TestApp::spawn().await;
    let station = app.login("station.staff").await; // GD-EP-01, authorized by 广东
    let gd = app.login("gd.reviewer").await;
    let samr = app.login("samr.reviewer").await;
    let js = app.login("station2.staff").await;
    assert_error(
        station
            .post_json(
                "/api/v1/risk-reports",
                &json!({"title": "电能表批次误差偏大"}),
            )
            .await,
        422,
        "validation",
    )
    .await;
    let r = created(
        station
            .post_json(
                "/api/v1/risk-reports",
                &json!({"title": "电能表批次误差偏大", "severity": "high",
                        "description": "某批次三相电能表在轻载下误差超差", "affected": "三相智能电能表"}),
            )
            .await,
    )
    .await;
    let rid = id(&r);
    assert_eq!(r["state"], "received");
    assert_eq!(r["regulator_name"], "广东省市场监督管理局");
    // Its station and its regulator only.
    for c in [&samr, &js] {
        assert_eq!(
            c.get(&format!("/api/v1/risk-reports/{rid}")).await.status(),
            404
        );
    }
    assert!(task_kinds(&gd)
        .await
        .contains(&("risk_triage".into(), format!("/risks/{rid}"))));
    // A regulator may not publish from an unconfirmed report; the station may not triage.
    assert_error(
        station
            .post_json(
                &format!("/api/v1/risk-reports/{rid}/confirm"),
                &json!({"version": r["version"]}),
            )
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_error(
        gd.post_json(
            &format!("/api/v1/risk-reports/{rid}/dismiss"),
            &json!({"version": r["version"]}),
        )
        .await,
        422,
        "validation",
    )
    .await;
    let r = okj(gd
        .post_json(
            &format!("/api/v1/risk-reports/{rid}/assess"),
            &json!({"version": r["version"]}),
        )
        .await)
    .await;
    let r = okj(gd
        .post_json(
            &format!("/api/v1/risk-reports/{rid}/confirm"),
            &json!({"version": r["version"], "reason": "经核实"}),
        )
        .await)
    .await;
    assert_eq!(r["state"], "confirmed");
    assert!(!task_kinds(&gd)
        .await
        .iter()
        .any(|(k, _)| k == "risk_triage"));

    // The audience: stations located in 广东 that 广东 sees, and their departments.
    let expected: Vec<Uuid> = sqlx::query_scalar(
        "with s as (select st.station_id, st.department_id from station st
                     join station_access a on a.station_id = st.station_id and a.org_id = $1
                     join division d on d.code = st.location_division
                    where d.province_code = '440000' and st.status in ('authorized', 'suspended'))
         select station_id from s union select department_id from s order by 1",
    )
    .bind(app.org_id("广东省市场监督管理局").await)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(!expected.is_empty());
    let (_, preview) = gd
        .json("/api/v1/warning-audience?stations=true&departments=true&region=440000")
        .await;
    let audience = json!({"stations": true, "departments": true, "region": "440000"});
    let w = created(
        gd.post_json(
            "/api/v1/warnings",
            &json!({"risk_report_id": rid, "title": "电能表轻载误差预警", "severity": "high",
                    "body": "请核查同批次电能表", "valid_until": "2099-12-31", "audience": audience}),
        )
        .await,
    )
    .await;
    let wid = id(&w);
    assert_eq!(
        w["recipients"].as_i64().unwrap(),
        preview["stations"].as_i64().unwrap() + preview["departments"].as_i64().unwrap()
    );
    let (_, list) = gd
        .json(&format!("/api/v1/warnings/{wid}/recipients?limit=200"))
        .await;
    let mut got: Vec<Uuid> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["org_id"].as_str().unwrap().parse().unwrap())
        .collect();
    got.sort();
    assert_eq!(got, expected, "exactly its recipients");
    // Once per risk report.
    assert_error(
        gd.post_json(
            "/api/v1/warnings",
            &json!({"risk_report_id": rid, "title": "again", "severity": "low", "body": "x",
                    "valid_until": "2099-12-31", "audience": audience}),
        )
        .await,
        409,
        "already_published",
    )
    .await;

    // A recipient sees it on its task list and acknowledges once; a
    // non-recipient sees nothing.
    let dept = app.login("dept.officer").await; // 国家电网, GD-EP-01's department
    for c in [&station, &dept] {
        assert!(task_kinds(c)
            .await
            .contains(&("warning_acknowledge".into(), format!("/warnings/{wid}"))));
    }
    assert_eq!(
        js.get(&format!("/api/v1/warnings/{wid}")).await.status(),
        404
    );
    let (_, js_list) = js.json("/api/v1/warnings").await;
    assert!(js_list.as_array().unwrap().is_empty());
    assert_eq!(
        station
            .get(&format!("/api/v1/warnings/{wid}/recipients"))
            .await
            .status(),
        404,
        "who acknowledged is the issuer's"
    );
    // … and on its home page until it acknowledges.
    let home = station.get("/").await.text().await.unwrap();
    assert!(home.contains(&format!("/warnings/{wid}")) && home.contains("待确认的预警"));
    let acked = okj(station
        .post_json(&format!("/api/v1/warnings/{wid}/acknowledge"), &json!({}))
        .await)
    .await;
    assert!(acked["my_acknowledged_at"].is_string());
    assert_error(
        station
            .post_json(&format!("/api/v1/warnings/{wid}/acknowledge"), &json!({}))
            .await,
        409,
        "already_acknowledged",
    )
    .await;
    assert!(!task_kinds(&station)
        .await
        .iter()
        .any(|(k, _)| k == "warning_acknowledge"));
    let home = station.get("/").await.text().await.unwrap();
    assert!(!home.contains("待确认的预警"));
    let (_, done) = gd
        .json(&format!(
            "/api/v1/warnings/{wid}/recipients?acknowledged=true"
        ))
        .await;
    let done = done.as_array().unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(
        done[0]["org_id"].as_str().unwrap(),
        app.station_id("GD-EP-01").await.to_string()
    );
    assert!(done[0]["acknowledged_by_name"].is_string());
    // The acknowledgement is the recipient's own, and only it changes: the
    // database refuses another organization's or another column.
    let err = app
        .as_app_role_result(
            Some("dept.officer"),
            &format!("update warning_recipient set org_id = org_id where warning_id = '{wid}'"),
        )
        .await;
    assert!(err.is_err(), "no update of other columns");
}

/// A head station organizes among its branches and measures too (R9.2);
/// the stages only move forward, even at the database.
#[tokio::test]
async fn a_head_station_organizes_takes_part_and_stages_move_forward_only_r9_2() {
    let app = TestApp::spawn().await;
    let head = app.login("head.staff").await;
    let c = open_comparison(&app, &head).await;
    let cid = id(&c);
    assert_eq!(c["my_role"], "organizer");
    assert_eq!(c["organizer_name"], "国家石油天然气大流量计量站");
    okj(submit(&head, &cid, 10.0, 0.03).await).await;
    let (_, view) = head.json(&format!("/api/v1/comparisons/{cid}")).await;
    assert_eq!(participant(&view, "NS-OGF")["result"]["value"], 10.0);
    okj(head
        .post_json(
            &format!("/api/v1/comparisons/{cid}/close"),
            &json!({"version": view["version"]}),
        )
        .await)
    .await;
    let back = app
        .as_app_role_result(
            Some("head.staff"),
            &format!("update comparison set state = 'open' where comparison_id = '{cid}' returning state"),
        )
        .await;
    assert!(
        back.as_ref()
            .is_err_and(|e| e.contains("does not go from closed to open")),
        "{back:?}"
    );
    // Nobody rewrites a value in place, the organizer included.
    let rewrite = app
        .as_app_role_result(
            Some("head.staff"),
            "update comparison_result set value = 1 returning status",
        )
        .await;
    assert!(rewrite.is_err(), "{rewrite:?}");
}
