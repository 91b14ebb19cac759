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
