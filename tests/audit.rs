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

// ------------------------------------------------------------------ anchors

use jiliang::audit::anchor;

/// A scratch directory outside any data directory, removed by the caller.
fn scratch() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("jiliang-anchor-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Creates `n` organizations as the operator, so the operator's chain grows.
async fn grow_operator_chain(app: &TestApp, n: usize) -> String {
    let c = app.login("operator").await;
    for i in 0..n {
        let res = c
            .post_json(
                "/api/v1/organizations",
                &json!({"kind": "department", "name": format!("锚定测试 {i} {}", uuid::Uuid::new_v4())}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    app.org_of("operator").await.0.to_string()
}

async fn head_of(app: &TestApp, chain: &str) -> i64 {
    sqlx::query_scalar("select last_seq from audit_chain where chain = $1")
        .bind(chain)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// What the database owner can do with the triggers off: delete a chain's
/// rows after `keep` and set its head to the row that is now last.
async fn shorten_as_owner(app: &TestApp, chain: &str, keep: i64) {
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("set local session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    let deleted = sqlx::query("delete from audit_event where chain = $1 and seq > $2")
        .bind(chain)
        .bind(keep)
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    assert!(deleted > 0);
    sqlx::query(
        "update audit_chain c set last_seq = e.seq, last_hash = e.hash
           from audit_event e where e.chain = c.chain and c.chain = $1 and e.seq = $2",
    )
    .bind(chain)
    .bind(keep)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn deleting_a_chains_last_rows_and_rewriting_its_head_passes_the_chain_check_but_not_the_anchors(
) {
    let app = TestApp::spawn().await;
    let chain = grow_operator_chain(&app, 4).await;
    let dir = scratch();
    let file = dir.join("anchors.jsonl");
    let key = anchor::generate_key();
    let written = anchor::anchor_once(&app.pool, &key, &file).await.unwrap();
    let last = head_of(&app, &chain).await;
    assert!(written
        .chains
        .iter()
        .any(|c| c.chain == chain && c.seq == last));

    shorten_as_owner(&app, &chain, last - 2).await;

    // The chains alone still recompute: this is what the anchors are for.
    let report = jiliang::audit::verify(&app.pool).await.unwrap();
    assert!(report.breaks.is_empty(), "{:?}", report.breaks);
    let text = std::fs::read_to_string(&file).unwrap();
    let r = anchor::verify_against(&app.pool, &text, &key.verifying_key())
        .await
        .unwrap();
    assert_eq!(r.anchors, 1);
    assert_eq!(r.breaks.len(), 1, "{:?}", r.breaks);
    assert!(
        r.breaks[0].contains(&chain)
            && r.breaks[0].contains("shortened")
            && r.breaks[0].contains(&format!("anchored at seq {last}"))
            && r.breaks[0].contains(&format!("ends at seq {}", last - 2)),
        "{:?}",
        r.breaks
    );

    // Anchoring the shortened chain afterwards does not launder it.
    anchor::anchor_once(&app.pool, &key, &file).await.unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    let r = anchor::verify_against(&app.pool, &text, &key.verifying_key())
        .await
        .unwrap();
    assert!(
        r.breaks.iter().any(|b| b.contains("shortened between")),
        "{:?}",
        r.breaks
    );
    assert!(r.breaks.iter().any(|b| b.contains("ends at seq")));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn rewriting_an_anchored_row_and_recomputing_every_later_hash_is_caught_by_the_anchors() {
    let app = TestApp::spawn().await;
    let chain = grow_operator_chain(&app, 3).await;
    let dir = scratch();
    let file = dir.join("anchors.jsonl");
    let key = anchor::generate_key();
    anchor::anchor_once(&app.pool, &key, &file).await.unwrap();
    let last = head_of(&app, &chain).await;

    // The owner alters the row before the anchored one and recomputes the
    // hashes from there on, and the head.
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("set local session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "update audit_event set after = '{\"name\": \"篡改\"}' where chain = $1 and seq = $2",
    )
    .bind(&chain)
    .bind(last - 1)
    .execute(&mut *tx)
    .await
    .unwrap();
    for seq in (last - 1)..=last {
        sqlx::query(
            "update audit_event e set
                prev_hash = coalesce((select p.hash from audit_event p where p.chain = e.chain and p.seq = e.seq - 1), ''),
                hash = ''
              where chain = $1 and seq = $2",
        )
        .bind(&chain)
        .bind(seq)
        .execute(&mut *tx)
        .await
        .unwrap();
        sqlx::query(
            "update audit_event e set hash = encode(sha256(convert_to(e.prev_hash || '|' || audit_payload(e), 'UTF8')), 'hex')
              where chain = $1 and seq = $2",
        )
        .bind(&chain)
        .bind(seq)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    sqlx::query(
        "update audit_chain c set last_hash = e.hash from audit_event e
          where e.chain = c.chain and c.chain = $1 and e.seq = c.last_seq",
    )
    .bind(&chain)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let report = jiliang::audit::verify(&app.pool).await.unwrap();
    assert!(report.breaks.is_empty(), "{:?}", report.breaks);
    let text = std::fs::read_to_string(&file).unwrap();
    let r = anchor::verify_against(&app.pool, &text, &key.verifying_key())
        .await
        .unwrap();
    assert_eq!(r.breaks.len(), 1, "{:?}", r.breaks);
    assert!(
        r.breaks[0].contains(&format!("chain {chain} seq {last}"))
            && r.breaks[0].contains("hash differs"),
        "{:?}",
        r.breaks
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn an_untampered_log_passes_against_every_anchor_while_it_grows() {
    let app = TestApp::spawn().await;
    grow_operator_chain(&app, 2).await;
    let dir = scratch();
    let file = dir.join("anchors.jsonl");
    let key = anchor::generate_key();
    anchor::anchor_once(&app.pool, &key, &file).await.unwrap();
    grow_operator_chain(&app, 2).await;
    app.login("station.staff").await;
    let second = anchor::anchor_once(&app.pool, &key, &file).await.unwrap();
    grow_operator_chain(&app, 1).await;

    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), 2);
    let r = anchor::verify_against(&app.pool, &text, &key.verifying_key())
        .await
        .unwrap();
    assert!(r.breaks.is_empty(), "{:?}", r.breaks);
    assert_eq!(r.anchors, 2);
    assert_eq!(r.chains, second.chains.len());
    assert!(r.chains >= 2);
    let report = jiliang::audit::verify(&app.pool).await.unwrap();
    assert!(report.breaks.is_empty(), "{:?}", report.breaks);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_modified_or_foreign_anchor_line_is_reported_as_a_signature_break() {
    let app = TestApp::spawn().await;
    let chain = grow_operator_chain(&app, 2).await;
    let dir = scratch();
    let file = dir.join("anchors.jsonl");
    let key = anchor::generate_key();
    anchor::anchor_once(&app.pool, &key, &file).await.unwrap();
    let text = std::fs::read_to_string(&file).unwrap();

    // Someone lowers the anchored seq to match a shortened chain.
    let mut line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    for c in line["chains"].as_array_mut().unwrap() {
        if c["chain"] == chain.as_str() {
            c["seq"] = json!(c["seq"].as_i64().unwrap() - 1);
        }
    }
    let r = anchor::verify_against(&app.pool, &format!("{line}\n"), &key.verifying_key())
        .await
        .unwrap();
    assert_eq!(r.anchors, 0);
    assert_eq!(r.breaks.len(), 1, "{:?}", r.breaks);
    assert!(
        r.breaks[0].contains("anchors line 1") && r.breaks[0].contains("signature"),
        "{:?}",
        r.breaks
    );

    // A line signed by another key, naming that key, is no anchor either.
    let other = dir.join("other.jsonl");
    anchor::anchor_once(&app.pool, &anchor::generate_key(), &other)
        .await
        .unwrap();
    let foreign = std::fs::read_to_string(&other).unwrap();
    let r = anchor::verify_against(&app.pool, &format!("{text}{foreign}"), &key.verifying_key())
        .await
        .unwrap();
    assert_eq!(r.anchors, 1);
    assert_eq!(r.breaks.len(), 1, "{:?}", r.breaks);
    assert!(
        r.breaks[0].contains("anchors line 2") && r.breaks[0].contains("another key"),
        "{:?}",
        r.breaks
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn an_anchored_chain_deleted_whole_by_the_owner_is_reported_missing() {
    let app = TestApp::spawn().await;
    let chain = grow_operator_chain(&app, 1).await;
    let dir = scratch();
    let file = dir.join("anchors.jsonl");
    let key = anchor::generate_key();
    anchor::anchor_once(&app.pool, &key, &file).await.unwrap();
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("set local session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("delete from audit_event where chain = $1")
        .bind(&chain)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("delete from audit_chain where chain = $1")
        .bind(&chain)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let report = jiliang::audit::verify(&app.pool).await.unwrap();
    assert!(report.breaks.is_empty(), "{:?}", report.breaks);
    let text = std::fs::read_to_string(&file).unwrap();
    let r = anchor::verify_against(&app.pool, &text, &key.verifying_key())
        .await
        .unwrap();
    assert_eq!(r.breaks.len(), 1, "{:?}", r.breaks);
    assert!(
        r.breaks[0].contains(&chain) && r.breaks[0].contains("missing from the database"),
        "{:?}",
        r.breaks
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_signing_key_is_created_beside_the_data_dir_with_mode_600_and_refused_inside_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch();
    let mut config = jiliang::Config::for_database(String::new());
    config.data_dir = dir.join("data");
    std::fs::create_dir_all(&config.data_dir).unwrap();
    let path = dir.join("data.audit-key");
    assert_eq!(config.audit_key_path(), path);
    assert!(
        anchor::load_key(&config, false).is_err(),
        "not created unasked"
    );
    let key = anchor::load_key(&config, true).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let again = anchor::load_key(&config, true).unwrap();
    assert_eq!(key.to_bytes(), again.to_bytes());

    config.audit_key_file = Some(dir.join("data/../data/audit.key"));
    let err = anchor::load_key(&config, true).unwrap_err().to_string();
    assert!(err.contains("inside the data directory"), "{err}");
    config.audit_anchors = Some(dir.join("data/anchors.jsonl"));
    assert!(anchor::anchors_path(&config).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
