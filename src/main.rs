//! `jiliang`: serve (default), migrate, seed-demo, audit-verify.

use clap::{Parser, Subcommand};
use jiliang::config::Config;
use jiliang::db::{self, embedded::EmbeddedPg};
use jiliang::startup::{shutdown_signal, Application};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "jiliang",
    version,
    about = "专业计量站管理平台 / Professional metrology station platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: Config,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP (the default).
    Serve,
    /// Apply migrations and load reference data, then exit.
    Migrate,
    /// Seed the demo tenants (demo mode only), then exit.
    SeedDemo,
    /// Recompute the audit log's hash chains; exit 1 on any break.
    AuditVerify,
    /// Run the daily job once (R15.2 terminations, R14.1 reminders) as of
    /// today, or of `--date` (YYYY-MM-DD); idempotent. `serve` also runs it hourly.
    RunJobs {
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
    },
}

fn init_tracing() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    let json = std::env::var("JILIANG_LOG_JSON").is_ok_and(|v| v == "true");
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Runs `f` against the configured database (starting and stopping the
/// embedded cluster around it when `DATABASE_URL` is unset).
async fn with_database<T>(
    config: &Config,
    f: impl AsyncFnOnce(&sqlx::PgPool) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let mut embedded = None;
    let url = match &config.database_url {
        Some(u) => u.clone(),
        None => {
            let pg = EmbeddedPg::start(&config.data_dir).await?;
            let url = pg.url(db::embedded::DATABASE);
            embedded = Some(pg);
            url
        }
    };
    let pool = db::connect(&url, 2).await?;
    let result = f(&pool).await;
    pool.close().await;
    if let Some(mut pg) = embedded {
        pg.stop();
    }
    result
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let config = cli.config;
    let result: anyhow::Result<bool> = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            async {
                let app = Application::build(config).await?;
                tracing::info!(port = app.port(), "listening; sign in at /login");
                app.run_until_stopped(shutdown_signal()).await?;
                Ok(true)
            }
            .await
        }
        Command::Migrate => {
            with_database(&config, async |pool| {
                db::migrate(pool).await?;
                println!("migrations applied");
                Ok(true)
            })
            .await
        }
        Command::SeedDemo => {
            let demo = config.demo_mode();
            with_database(&config, async |pool| {
                db::migrate(pool).await?;
                let seeded = jiliang::seed::seed_demo(pool, demo).await?;
                println!(
                    "{}",
                    if seeded {
                        "demo tenants seeded"
                    } else {
                        "demo tenants were already seeded"
                    }
                );
                Ok(true)
            })
            .await
        }
        Command::AuditVerify => {
            with_database(&config, async |pool| {
                let report = jiliang::audit::verify(pool).await?;
                for b in &report.breaks {
                    eprintln!("BREAK: {b}");
                }
                println!(
                    "audit log: {} chains, {} events, {} breaks",
                    report.chains,
                    report.events,
                    report.breaks.len()
                );
                Ok(report.breaks.is_empty())
            })
            .await
        }
        Command::RunJobs { date } => {
            with_database(&config, async |pool| {
                let day = date.unwrap_or_else(jiliang::web::today);
                // Catching up is safe; running ahead would end terminations early.
                anyhow::ensure!(
                    day <= jiliang::web::today(),
                    "--date {day} is in the future; the job runs as of today or an earlier day"
                );
                let r = jiliang::lifecycle::job::run(pool, day).await?;
                println!(
                    "daily job as of {day}: {} terminations ended, {} re-examination reminders",
                    r.terminated.len(),
                    r.reminded.len()
                );
                Ok(true)
            })
            .await
        }
    };
    match result {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("jiliang: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
