//! The embedded default (architecture.md §5): a private cluster under the
//! data directory that keeps its data across restarts.

use jiliang::db::embedded::{EmbeddedPg, DATABASE};
use sqlx::{Connection, PgConnection};

#[tokio::test]
async fn the_embedded_cluster_keeps_data_across_a_restart() {
    let dir = std::env::temp_dir().join(format!("jiliang-embedded-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let mut pg = EmbeddedPg::start(&dir).await.unwrap();
        let mut c = PgConnection::connect(&pg.url(DATABASE)).await.unwrap();
        sqlx::query("create table kept (v text)")
            .execute(&mut c)
            .await
            .unwrap();
        sqlx::query("insert into kept values ('还在')")
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
        pg.stop();
    }
    let mut pg = EmbeddedPg::start(&dir).await.unwrap();
    let mut c = PgConnection::connect(&pg.url(DATABASE)).await.unwrap();
    let v: String = sqlx::query_scalar("select v from kept")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(v, "还在");
    c.close().await.unwrap();
    pg.stop();
    assert!(
        !std::fs::read_to_string(dir.join("pg/postmaster.pid")).is_ok_and(|s| !s.is_empty()),
        "the server is stopped"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The postmaster's process id, from its pid file.
fn postmaster_pid(cluster: &std::path::Path) -> Option<i32> {
    std::fs::read_to_string(cluster.join("postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// Signals the postmaster and every process it started (each backend leads
/// its own session, so a process-group signal would miss them).
fn signal_server(postmaster: i32, signal: i32) {
    let mut pids = vec![postmaster];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        // pid (comm) state ppid …: the ppid follows the closing parenthesis.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<i32>().ok());
        if ppid == Some(postmaster) {
            pids.push(pid);
        }
    }
    for pid in pids {
        // SAFETY: kill(2) of the test's own grandchildren.
        unsafe { libc::kill(pid, signal) };
    }
}

#[tokio::test]
async fn after_the_embedded_database_is_killed_requests_answer_503_fast_and_service_returns() {
    let dir = std::env::temp_dir().join(format!("jiliang-embedded-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let pg = EmbeddedPg::start(&dir).await.unwrap();
    let pool = jiliang::db::connect(&pg.url(DATABASE), 4).await.unwrap();
    jiliang::db::migrate(&pool).await.unwrap();
    let mut config = jiliang::config::Config::for_database(pg.url(DATABASE));
    config.demo = Some(false);
    let cluster = pg.cluster_dir().to_owned();
    let app = jiliang::startup::Application::build_with_pool(config, pool, Some(pg))
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let http = reqwest::Client::new();
    let health = || async {
        http.get(format!("{base}/healthz"))
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    assert_eq!(health().await, 200);
    let before = postmaster_pid(&cluster).expect("a running postmaster");
    // A database that hangs (the whole server stopped): 503 within about
    // two seconds, then service as soon as it answers again.
    signal_server(before, libc::SIGSTOP);
    let t0 = std::time::Instant::now();
    let hung = health().await;
    let took = t0.elapsed();
    signal_server(before, libc::SIGCONT);
    assert_eq!(hung, 503, "healthz while the database hangs");
    assert!(took < std::time::Duration::from_secs(3), "took {took:?}");
    assert_eq!(health().await, 200);
    // The whole server at once: its backends (and our pooled connections
    // to them) die with it.
    signal_server(before, libc::SIGKILL);
    let killed = std::time::Instant::now();
    // Every answer comes fast, 503 while down (never 500 or a hang), and
    // service returns by itself: a new postmaster on the same port.
    let mut answers = Vec::new();
    let mut slowest = std::time::Duration::ZERO;
    let back = loop {
        let t0 = std::time::Instant::now();
        let s = health().await;
        slowest = slowest.max(t0.elapsed());
        answers.push(s);
        if s == 200 && postmaster_pid(&cluster).is_some_and(|p| p != before) {
            break killed.elapsed();
        }
        assert!(
            killed.elapsed() < std::time::Duration::from_secs(30),
            "{answers:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(
        answers.iter().all(|s| matches!(s, 200 | 503)),
        "{answers:?}"
    );
    assert!(
        slowest < std::time::Duration::from_secs(3),
        "slowest answer {slowest:?}"
    );
    let page = http
        .get(format!("{base}/directory"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(page, 200, "a page after recovery");
    assert_ne!(postmaster_pid(&cluster), Some(before), "a new postmaster");
    eprintln!("service back {back:?} after the kill; answers meanwhile {answers:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
