//! Sessions and sign-in security: id rotation, server-side sign-out,
//! cross-origin refusal, throttling, same answer for unknown users,
//! absolute lifetime, security stamp.

mod common;

use common::{assert_error, TestApp, PASSWORD};
use serde_json::json;

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("jiliang_session="))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

#[tokio::test]
async fn the_session_id_changes_at_sign_in() {
    let app = TestApp::spawn().await;
    let c = app.client();
    // An anonymous session first (a failed sign-in keeps none, so make one by
    // signing in, out, and in again).
    let first = c
        .post_json(
            "/api/v1/session",
            &json!({"username": "station.staff", "password": PASSWORD}),
        )
        .await;
    let a = session_cookie(&first).expect("a session cookie");
    let second = c
        .post_json(
            "/api/v1/session",
            &json!({"username": "station.staff", "password": PASSWORD}),
        )
        .await;
    let b = session_cookie(&second).expect("a new session cookie");
    assert_ne!(a, b, "the id is rotated at every sign-in");
}

#[tokio::test]
async fn the_old_cookie_is_refused_after_sign_out() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let res = c
        .post_json(
            "/api/v1/session",
            &json!({"username": "station.staff", "password": PASSWORD}),
        )
        .await;
    let cookie = session_cookie(&res).unwrap();
    let raw = reqwest::Client::new();
    let me = raw
        .get(app.url("/api/v1/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let out = c
        .http
        .delete(app.url("/api/v1/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let me = raw
        .get(app.url("/api/v1/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_error(me, 401, "unauthenticated").await;
}

#[tokio::test]
async fn a_cross_origin_post_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let c = app.login("operator").await;
    let before = app.audit_count().await;
    let res = c
        .http
        .post(app.url("/api/v1/organizations"))
        .header("origin", "http://evil.example")
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"kind": "department", "name": "跨站创建"}))
        .send()
        .await
        .unwrap();
    assert_error(res, 403, "forbidden").await;
    let res = c
        .http
        .post(app.url("/api/v1/organizations"))
        .header("origin", "http://evil.example")
        .json(&json!({"kind": "department", "name": "跨站创建"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        403,
        "Origin alone from another site is refused too"
    );
    let n: i64 = sqlx::query_scalar("select count(*) from organization where name = '跨站创建'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(app.audit_count().await, before);
    // The same request from the site itself is accepted.
    let res = c
        .http
        .post(app.url("/api/v1/organizations"))
        .header("origin", &app.base)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"kind": "department", "name": "同源创建"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

#[tokio::test]
async fn no_state_changes_on_get() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let res = c.get("/logout").await;
    assert_eq!(res.status(), 405, "sign-out is POST only");
    let res = c.get("/lang?lang=en").await;
    assert_eq!(res.status(), 405, "the language switch is POST only");
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let a = c
        .post_json(
            "/api/v1/session",
            &json!({"username": "no.such.user", "password": "whatever-1"}),
        )
        .await;
    let a = assert_error(a, 401, "invalid_credentials").await;
    let b = c
        .post_json(
            "/api/v1/session",
            &json!({"username": "station.staff", "password": "whatever-1"}),
        )
        .await;
    let b = assert_error(b, 401, "invalid_credentials").await;
    assert_eq!(a, b);
}

#[tokio::test]
async fn throttling_engages_after_repeated_failures_with_a_clear_message() {
    let app = TestApp::spawn().await;
    let c = app.client();
    for _ in 0..5 {
        let res = c
            .post_json(
                "/api/v1/session",
                &json!({"username": "gd.reviewer", "password": "wrong-pass-1"}),
            )
            .await;
        assert_eq!(res.status(), 401);
    }
    // Locked now, even with the right password.
    let res = c
        .post_json(
            "/api/v1/session",
            &json!({"username": "gd.reviewer", "password": PASSWORD}),
        )
        .await;
    assert!(res.headers().get("retry-after").is_some());
    let body = assert_error(res, 429, "throttled").await;
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("分钟后再试"));
    // Another account from the same address still signs in (per-account lock).
    let other = c
        .post_json(
            "/api/v1/session",
            &json!({"username": "gd.approver", "password": PASSWORD}),
        )
        .await;
    assert_eq!(other.status(), 200);
}

#[tokio::test]
async fn throttling_per_client_address_engages_across_accounts() {
    let app = TestApp::spawn_with(|c| c.login_max_failures_address = 3).await;
    let c = app.client();
    for name in ["a.one", "b.two", "c.three"] {
        let res = c
            .post_json(
                "/api/v1/session",
                &json!({"username": name, "password": "wrong-pass-1"}),
            )
            .await;
        assert_eq!(res.status(), 401);
    }
    let res = c
        .post_json(
            "/api/v1/session",
            &json!({"username": "station.staff", "password": PASSWORD}),
        )
        .await;
    assert_error(res, 429, "throttled").await;
}

#[tokio::test]
async fn a_session_past_its_absolute_lifetime_is_refused() {
    let app = TestApp::spawn_with(|c| c.session_absolute_hours = 0).await;
    let c = app.client();
    let res = c
        .post_json(
            "/api/v1/session",
            &json!({"username": "station.staff", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_error(c.get("/api/v1/me").await, 401, "unauthenticated").await;
}

#[tokio::test]
async fn deactivating_a_user_ends_their_sessions() {
    let app = TestApp::spawn().await;
    let victim = app.login("station.staff").await;
    assert_eq!(victim.get("/api/v1/me").await.status(), 200);
    let op = app.login("operator").await;
    let id: uuid::Uuid =
        sqlx::query_scalar("select user_id from app_user where username = 'station.staff'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let res = op
        .put_json(
            &format!("/api/v1/users/{id}"),
            &json!({"active": false, "version": 1}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_error(victim.get("/api/v1/me").await, 401, "unauthenticated").await;
}

#[tokio::test]
async fn a_page_without_a_session_redirects_to_sign_in_keeping_the_target() {
    let app = TestApp::spawn().await;
    let res = app.client().get("/stations?tier=local").await;
    assert_eq!(res.status(), 303);
    let loc = res.headers()["location"].to_str().unwrap();
    assert!(loc.starts_with("/login?next=%2Fstations"), "{loc}");
}

#[tokio::test]
async fn the_sign_in_page_keeps_the_username_and_refuses_open_redirects() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let res = c
        .post_form(
            "/login",
            &[
                ("username", "station.staff"),
                ("password", "nope-nope-1"),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(res.status(), 401);
    let html = res.text().await.unwrap();
    assert!(html.contains("value=\"station.staff\""));
    assert!(html.contains("用户名或密码错误"));
    let res = c
        .post_form(
            "/login",
            &[
                ("username", "station.staff"),
                ("password", PASSWORD),
                ("next", "//evil.example/x"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/");
}

#[tokio::test]
async fn responses_carry_the_security_headers() {
    let app = TestApp::spawn().await;
    let res = app.client().get("/login").await;
    let h = res.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h.get("referrer-policy").is_some());
    let cookie_flags = app
        .client()
        .post_json(
            "/api/v1/session",
            &json!({"username": "station.staff", "password": PASSWORD}),
        )
        .await;
    let set_cookie = cookie_flags
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("jiliang_session="))
        .unwrap();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
}

#[tokio::test]
async fn secure_mode_uses_the_host_prefix_and_secure_cookies_and_hsts() {
    let app = TestApp::spawn_with(|c| c.secure_cookies = Some(true)).await;
    let res = app
        .client()
        .post_json(
            "/api/v1/session",
            &json!({"username": "station.staff", "password": PASSWORD}),
        )
        .await;
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("__Host-jiliang="))
        .expect("a __Host- cookie");
    assert!(cookie.contains("Secure") && cookie.contains("Path=/") && !cookie.contains("Domain"));
    assert!(res.headers().get("strict-transport-security").is_some());
}
