//! The audit log (requirements.md §4): one insert-only, hash-chained event
//! per state change, in the same transaction; `audit-verify` finds breaks.

mod common;

use common::TestApp;
use serde_json::json;

#[tokio::test]
async fn each_state_change_writes_one_audit_event_with_before_and_after() {
    let app = TestApp::spawn().await;
    let c = app.login("operator").await;
    let before = app.audit_count().await;
    let res = c
        .post_json(
            "/api/v1/organizations",
            &json!({"kind": "department", "name": "审计测试集团"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let id = res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.audit_count().await, before + 1);
    let res = c
        .put_json(
            &format!("/api/v1/organizations/{id}"),
            &json!({"name": "审计测试集团（改）", "version": 1}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let (action, b, a): (String, serde_json::Value, serde_json::Value) = sqlx::query_as(
        "select action, before, after from audit_event where entity_id = $1 order by occurred_at desc limit 1",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(action, "organization.update");
    assert_eq!(b["name"], "审计测试集团");
    assert_eq!(a["name"], "审计测试集团（改）");
}

#[tokio::test]
async fn a_refused_change_writes_neither_the_change_nor_an_audit_event() {
    let app = TestApp::spawn().await;
    let c = app.login("operator").await;
    let before = app.audit_count().await;
    let res = c
        .post_json("/api/v1/organizations", &json!({"kind": "regulator", "name": "坏辖区", "regulator_level": "county", "division_code": "000000"}))
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(app.audit_count().await, before);
}

#[tokio::test]
async fn audit_verify_passes_after_edits_and_fails_after_a_row_is_altered_by_hand() {
    let app = TestApp::spawn().await;
    let c = app.login("operator").await;
    for i in 0..3 {
        let res = c
            .post_json(
                "/api/v1/organizations",
                &json!({"kind": "department", "name": format!("链测试 {i}")}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    app.login("station.staff").await;
    let report = jiliang::audit::verify(&app.pool).await.unwrap();
    assert!(report.breaks.is_empty(), "{:?}", report.breaks);
    assert!(report.events >= 5 && report.chains >= 2);

    // The database owner alters a row with the triggers switched off.
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("alter table audit_event disable trigger audit_event_no_update")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "update audit_event set after = '{\"name\": \"篡改\"}'
          where audit_event_id = (select audit_event_id from audit_event where action = 'organization.create' limit 1)",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query("alter table audit_event enable trigger audit_event_no_update")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let report = jiliang::audit::verify(&app.pool).await.unwrap();
    assert_eq!(report.breaks.len(), 1, "{:?}", report.breaks);
    assert!(report.breaks[0].contains("content does not match"));
}

#[tokio::test]
async fn deleting_an_audit_row_by_hand_breaks_the_chain() {
    let app = TestApp::spawn().await;
    let c = app.login("operator").await;
    for i in 0..3 {
        c.post_json(
            "/api/v1/organizations",
            &json!({"kind": "department", "name": format!("删除测试 {i}")}),
        )
        .await;
    }
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("set local session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "delete from audit_event where audit_event_id = (select audit_event_id from audit_event
           where action = 'organization.create' order by seq limit 1 offset 1)",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let report = jiliang::audit::verify(&app.pool).await.unwrap();
    assert!(!report.breaks.is_empty());
}

#[tokio::test]
async fn the_owner_cannot_update_audit_rows_while_the_triggers_stand() {
    let app = TestApp::spawn().await;
    let err = sqlx::query("update audit_event set action = 'x'")
        .execute(&app.pool)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("insert-only"), "{err}");
    let err = sqlx::query("truncate audit_event")
        .execute(&app.pool)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("insert-only"), "{err}");
}
