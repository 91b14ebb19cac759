//! Authorizations and the public side: verification behind the QR code
//! (R13.1), the directory (R8.5), supervision where a station works (R17.1).

mod common;

use common::{assert_error, TestApp};
use serde_json::Value;

async fn token_of(app: &TestApp, code: &str) -> String {
    sqlx::query_scalar(
        "select a.verify_token from station_authorization a join station s using (station_id) where s.code = $1",
    )
    .bind(code)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_verification_page_shows_the_certificate_without_sign_in() {
    let app = TestApp::spawn().await;
    let token = token_of(&app, "GD-EP-01").await;
    let res = app.client().get(&format!("/verify/{token}")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = res.text().await.unwrap();
    assert!(
        html.contains("广东省电力工业电能计量站") && html.contains("(粤)法计("),
        "{html}"
    );
    assert!(html.contains("有效") && html.contains("电流互感器"));
    assert!(!html.contains("credit"), "the minimum only");
    let res = app.client().get("/verify/not-a-real-token-0000").await;
    assert_eq!(res.status(), 404);
    let res = app
        .client()
        .get(&format!("/verify/{}", "0".repeat(40)))
        .await;
    assert_eq!(res.status(), 404);
    // Logged in batches off the request path (issue 14): wait for the writer.
    app.state.lookups.flush().await;
    let logged: i64 = sqlx::query_scalar("select count(*) from verification_lookup")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(logged, 3, "every lookup is logged");
}

#[tokio::test]
async fn was_an_item_authorized_on_a_date_is_answered_with_reasons_r13_1() {
    let app = TestApp::spawn().await;
    let token = token_of(&app, "GD-EP-01").await;
    let c = app.client();
    let today = jiliang::web::today();
    let (status, body) = c
        .json(&format!(
            "/api/v1/public/verify/{token}?item=%E7%94%B5%E8%83%BD%E8%A1%A8&date={today}"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["item_authorized"], true);
    let long_ago = today - chrono::Days::new(365 * 10);
    let (_, body) = c
        .json(&format!(
            "/api/v1/public/verify/{token}?item=%E7%94%B5%E8%83%BD%E8%A1%A8&date={long_ago}"
        ))
        .await;
    assert_eq!(body["item_authorized"], false);
    assert!(
        body["reasons"][0].as_str().unwrap().contains("有效期"),
        "{body}"
    );
    let (_, body) = c
        .json(&format!(
            "/api/v1/public/verify/{token}?item=%E5%8E%8B%E5%8A%9B%E8%A1%A8&date={today}"
        ))
        .await;
    assert_eq!(
        body["item_authorized"], false,
        "压力表 is not an item of this station"
    );
    let html = c
        .get(&format!(
            "/verify/{token}?item=%E7%94%B5%E8%83%BD%E8%A1%A8&date={today}"
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("在授权范围内"));
}

#[tokio::test]
async fn a_revocation_shows_at_once_on_the_public_pages() {
    let app = TestApp::spawn().await;
    let token = token_of(&app, "GZ-TH-GAS").await;
    let c = app.client();
    let html = c.get("/directory").await.text().await.unwrap();
    assert!(html.contains("广州市天河区燃气计量站"));
    sqlx::query(
        "update station_authorization set status = 'revoked', ended_on = current_date
          where verify_token = $1",
    )
    .bind(&token)
    .execute(&app.pool)
    .await
    .unwrap();
    let html = c
        .get(&format!("/verify/{token}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("已撤销"));
    let html = c.get("/directory").await.text().await.unwrap();
    assert!(
        !html.contains("广州市天河区燃气计量站"),
        "no longer in the directory"
    );
}

#[tokio::test]
async fn the_directory_lists_authorized_stations_searchably_without_tokens() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let (status, body) = c.json("/api/v1/public/directory").await;
    assert_eq!(status, 200);
    assert_eq!(
        body["total"], 6,
        "the six authorized demo stations; not the one in preparation"
    );
    let (_, body) = c
        .json("/api/v1/public/directory?q=%E7%94%B5%E8%83%BD%E8%A1%A8")
        .await;
    assert_eq!(body["total"], 2, "search by item: 电能表");
    let html = c.get("/directory?q=NS-OGF").await.text().await.unwrap();
    assert!(html.contains("国家石油天然气大流量计量站"));
    let tokens: Vec<String> = sqlx::query_scalar("select verify_token from station_authorization")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let all = c.get("/directory").await.text().await.unwrap();
    assert!(
        tokens.iter().all(|t| !all.contains(t.as_str())),
        "tokens stay on the certificates"
    );
}

#[tokio::test]
async fn lookups_are_rate_limited_per_client_address() {
    let app = TestApp::spawn().await;
    let c = app.client();
    for _ in 0..60 {
        assert_eq!(c.get("/verify/not-a-real-token-0000").await.status(), 404);
    }
    assert_eq!(c.get("/verify/not-a-real-token-0000").await.status(), 429);
    assert_error(c.get("/api/v1/public/verify/x").await, 429, "rate_limited").await;
}

#[tokio::test]
async fn a_regulator_supervises_a_station_working_in_its_jurisdiction_r17_1() {
    let app = TestApp::spawn().await;
    // NS-OGF is located in 北京 but authorized to work in 广东 too.
    let gd = app.login("gd.reviewer").await;
    assert!(gd.station_codes().await.contains("NS-OGF"));
    let rows = app
        .as_app_role(Some("gd.reviewer"), "select relation from station_access a join station s using (station_id) where s.code = 'NS-OGF'")
        .await;
    assert_eq!(rows, vec!["supervisor".to_owned()]);
    // Signed-in users see the authorizations of the stations they see.
    let st = app.login("station.staff").await;
    let (_, list) = st.json("/api/v1/authorizations").await;
    let list: &Vec<Value> = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["station_code"], "GD-EP-01");
    assert_eq!(list[0]["effective_status"], "valid");
}

/// Rasterizes the SVG the qrcode crate writes ("M{x} {y}h{w}v{h}H{x}V{y}" runs).
fn decode_qr_svg(svg: &str) -> String {
    let attr = |name: &str| -> usize {
        let start = svg.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        svg[start..].split('"').next().unwrap().parse().unwrap()
    };
    let (w, h) = (attr("width"), attr("height"));
    let mut dark = vec![false; w * h];
    let d_start = svg.find(" d=\"").unwrap() + 4;
    let d = svg[d_start..].split('"').next().unwrap();
    for run in d.split('M').filter(|r| !r.is_empty()) {
        let nums: Vec<usize> = run
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        let (x, y, rw, rh) = (nums[0], nums[1], nums[2], nums[3]);
        for yy in y..y + rh {
            for xx in x..x + rw {
                dark[yy * w + xx] = true;
            }
        }
    }
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(
            w,
            h,
            |x, y| if dark[y * w + x] { 0 } else { 255 },
        );
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().unwrap().1
}

#[tokio::test]
async fn the_printable_certificate_carries_a_qr_code_of_its_verification_url_r8_4() {
    let app =
        TestApp::spawn_with(|c| c.public_url = Some("https://jiliang.example.gov.cn/".into()))
            .await;
    let (id, token): (uuid::Uuid, String) = sqlx::query_as(
        "select a.authorization_id, a.verify_token from station_authorization a join station s using (station_id) where s.code = 'GD-EP-01'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let st = app.login("station.staff").await;
    let res = st.get(&format!("/authorizations/{id}/certificate")).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("计量授权证书") && html.contains("电流互感器"));
    let svg_start = html.find("<svg").unwrap();
    let svg_end = html[svg_start..].find("</svg>").unwrap() + svg_start + 6;
    let url = decode_qr_svg(&html[svg_start..svg_end]);
    assert_eq!(
        url,
        format!("https://jiliang.example.gov.cn/verify/{token}")
    );
    // Another station's certificate is not found; the station page links its own.
    let other = app.login("station2.staff").await;
    assert_eq!(
        other
            .get(&format!("/authorizations/{id}/certificate"))
            .await
            .status(),
        404
    );
    let station = app.station_id("GD-EP-01").await;
    let page = st
        .get(&format!("/stations/{station}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("/authorizations/{id}/certificate")));
}

/// Reads a binary PGM (P5), as pdftoppm -gray writes it.
fn read_pgm(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..i]).to_string());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    (w, h, bytes[i + 1..i + 1 + w * h].to_vec())
}

#[tokio::test]
async fn the_certificate_pdf_renders_chinese_and_its_qr_code_decodes_to_the_verification_url_r8_4()
{
    let app =
        TestApp::spawn_with(|c| c.public_url = Some("https://jiliang.example.gov.cn".into())).await;
    let (id, token): (uuid::Uuid, String) = sqlx::query_as(
        "select a.authorization_id, a.verify_token from station_authorization a join station s using (station_id) where s.code = 'GD-EP-01'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let st = app.login("station.staff").await;
    let res = st
        .get(&format!("/api/v1/authorizations/{id}/certificate.pdf"))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let pdf = res.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let dir = std::env::temp_dir().join(format!("jiliang-pdf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cert.pdf");
    std::fs::write(&file, &pdf).unwrap();
    // The text is real Chinese text (pdftotext, poppler-utils).
    let text = std::process::Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("计量授权证书") && text.contains("广东省电力工业电能计量站"),
        "{text}"
    );
    // The page rasterizes (pdftoppm) and the QR code on it decodes to the URL.
    let out = dir.join("page");
    let status = std::process::Command::new("pdftoppm")
        .args(["-r", "200", "-gray", "-singlefile"])
        .arg(&file)
        .arg(&out)
        .status()
        .expect("pdftoppm (poppler-utils)");
    assert!(status.success());
    let (w, h, pixels) = read_pgm(&std::fs::read(dir.join("page.pgm")).unwrap());
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the page");
    assert_eq!(
        grids[0].decode().unwrap().1,
        format!("https://jiliang.example.gov.cn/verify/{token}")
    );
    let other = app.login("station2.staff").await;
    assert_eq!(
        other
            .get(&format!("/api/v1/authorizations/{id}/certificate.pdf"))
            .await
            .status(),
        404
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 14: the verification page keeps authorizations in memory with the
/// version of their row and reads only that version per lookup. Every
/// change of what the page shows, made by whatever path (here straight in
/// the database, as the owner), still shows on the very next lookup.
#[tokio::test]
async fn the_verification_page_shows_every_change_at_once_though_it_keeps_authorizations_r8_4() {
    let app = TestApp::spawn().await;
    let token = token_of(&app, "GD-EP-01").await;
    let c = app.client();
    let page = |c: common::Client, path: String| async move {
        let res = c.get(&path).await;
        assert_eq!(res.status(), 200, "{path}");
        res.text().await.unwrap()
    };
    let path = format!("/verify/{token}");
    let first = page(c.clone(), path.clone()).await;
    let again = page(c.clone(), path.clone()).await;
    assert_eq!(
        first, again,
        "a lookup without a change shows the same page"
    );
    assert_eq!(app.state.verify_cache.len(), 1, "the authorization is kept");
    let (auth, station, regulator): (uuid::Uuid, uuid::Uuid, uuid::Uuid) = sqlx::query_as(
        "select authorization_id, station_id, regulator_id from station_authorization where verify_token = $1",
    )
    .bind(&token)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let run = |sql: &'static str, id: uuid::Uuid| {
        let pool = app.pool.clone();
        async move {
            sqlx::query(sql).bind(id).execute(&pool).await.unwrap();
        }
    };
    // Each change, made straight in the database, and what the page then
    // shows (or no longer shows).
    let steps: [(&str, uuid::Uuid, &str, bool); 6] = [
        ("update organization set name = '更名后的计量站' where organization_id = $1", station, "更名后的计量站", true),
        ("update organization set name = '更名后的授权机关' where organization_id = $1", regulator, "更名后的授权机关", true),
        ("update authorization_item set name = '改名后的项目' where authorization_id = $1 and seq = 1", auth, "改名后的项目", true),
        (
            "insert into authorization_item (authorization_item_id, authorization_id, station_id, seq, name,
                range_text, accuracy_text, task_types, specification)
             select gen_random_uuid(), a.authorization_id, a.station_id, 99, '新增的项目', '(0~1)A', '0.1级',
                    array['verification'], 'JJG 1-2025'
               from station_authorization a where a.authorization_id = $1",
            auth,
            "新增的项目",
            true,
        ),
        ("delete from authorization_item where authorization_id = $1 and seq = 99", auth, "新增的项目", false),
        ("update station_authorization set status = 'suspended' where authorization_id = $1", auth, "暂停", true),
    ];
    for (sql, id, text, shown) in steps {
        run(sql, id).await;
        let html = page(c.clone(), path.clone()).await;
        assert_eq!(html.contains(text), shown, "after `{sql}`");
    }
    // The station's code (the JSON shows it; it reads through the same cache).
    run(
        "update station set code = 'GD-EP-99' where station_id = $1",
        station,
    )
    .await;
    let (status, body) = c.json(&format!("/api/v1/public/verify/{token}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["authorization"]["station_code"], "GD-EP-99");
    // Revoked (R8.4: the QR code's page shows it at once).
    run(
        "update station_authorization set status = 'revoked', ended_on = current_date where authorization_id = $1",
        auth,
    )
    .await;
    assert!(page(c.clone(), path.clone()).await.contains("已撤销"));
    assert_eq!(app.state.verify_cache.len(), 1, "one entry per certificate");
}

/// The public pages read on their own pool, whose sessions are read-only
/// (`JILIANG_PUBLIC_DATABASE_URL` may point it at a replica).
#[tokio::test]
async fn the_public_pages_pool_cannot_write() {
    let app = TestApp::spawn().await;
    let err = sqlx::query("update station_authorization set updated_at = now() where false")
        .execute(&app.state.public_db)
        .await
        .expect_err("a read-only session refuses a write");
    assert!(err.to_string().contains("read-only"), "{err}");
    let token = token_of(&app, "GD-EP-01").await;
    assert_eq!(
        app.client().get(&format!("/verify/{token}")).await.status(),
        200
    );
}

/// The verification page is served outside the session, sign-in, CSRF and
/// run-to-completion layers, but keeps the outer ones: security headers,
/// request id, a 405 page for other methods, the NUL guard, its language.
#[tokio::test]
async fn the_verification_page_keeps_its_headers_and_refusals_on_its_light_stack() {
    let app = TestApp::spawn().await;
    let token = token_of(&app, "GD-EP-01").await;
    let c = app.client();
    let res = c.get(&format!("/verify/{token}")).await;
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert!(h.contains_key("content-security-policy"));
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert!(h.contains_key("x-request-id"));
    assert!(h.get("set-cookie").is_none(), "no session is started");
    let res = c
        .post_form(&format!("/verify/{token}"), &[("a", "b")])
        .await;
    assert_eq!(res.status(), 405);
    assert!(res.headers()["allow"].to_str().unwrap().contains("GET"));
    let res = c
        .get(&format!("/verify/{token}?item=%00&date=2025-01-01"))
        .await;
    assert_eq!(res.status(), 422);
    let res = c
        .http
        .get(app.url(&format!("/verify/{token}")))
        .header("cookie", "lang=en")
        .send()
        .await
        .unwrap();
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Verify a metrology authorization"));
}
