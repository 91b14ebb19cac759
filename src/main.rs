//! `jiliang`: serve (default), migrate, seed-demo, audit-verify, audit-anchor,
//! run-jobs, calendar import|export.

use clap::{Parser, Subcommand};
use jiliang::audit::anchor;
use jiliang::config::Config;
use jiliang::db::{self, embedded::EmbeddedPg};
use jiliang::startup::{shutdown_signal, Application};
use tracing_subscriber::EnvFilter;

/// mimalloc, not glibc's malloc: under load glibc's arena locks made the
/// worker threads wait on each other (2.6 futex calls per public lookup;
/// 11,900 → 13,900 lookups/s on this change alone, issue 14). Tuned in
/// [`tune_mimalloc`] to give memory back as glibc did (benches/memory.sh).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Generate national-scale test data on top of the demo tenants (demo
    /// mode only; the data the scale benchmark uses), then exit.
    SeedScale {
        /// How many stations to generate (regulators, departments, users
        /// and records scale with it).
        #[arg(long, default_value_t = 3000)]
        stations: u32,
    },
    /// Recompute the audit log's hash chains; exit 1 on any break. With
    /// `--anchors FILE`, also check every chain against its signed anchors.
    AuditVerify {
        /// An anchors file (`jiliang audit-anchor` and `serve` write them).
        #[arg(long)]
        anchors: Option<std::path::PathBuf>,
        /// The public key (hex) anchors must be signed with. Default: the
        /// public half of JILIANG_AUDIT_KEY_FILE.
        #[arg(long, requires = "anchors")]
        public_key: Option<String>,
    },
    /// Sign the audit chain heads once and append them to the anchors file
    /// (JILIANG_AUDIT_ANCHORS); prints the line written.
    AuditAnchor {
        /// Print the public key of JILIANG_AUDIT_KEY_FILE and exit.
        #[arg(long)]
        print_public_key: bool,
    },
    /// Run the daily job once (R15.2 terminations, R14.1 reminders, the
    /// digests of issue 16) as of
    /// today, or of `--date` (YYYY-MM-DD); idempotent. `serve` also runs it hourly.
    RunJobs {
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
    },
    /// The official holiday calendar (R6.4, R18.1): `export` prints every
    /// year's current days as CSV; `import FILE` loads a file of the same
    /// format (each changed year a new version; provisional deadlines
    /// recomputed). A malformed file exits 1 naming each line and reason.
    #[command(subcommand)]
    Calendar(CalendarCommand),
    /// Work records 证书/报告记录 (R16.5): `import` migrates history.
    #[command(subcommand)]
    Records(RecordsCommand),
}

#[derive(Subcommand)]
enum RecordsCommand {
    /// Stream a CSV file of work records (the template's columns, English
    /// keys or Chinese headings) through the whole-chain check (R13.1,
    /// R16.4, R16.6, R16.7) into the station's records, in batches, with
    /// progress on stderr. All or nothing: a refused row is reported by
    /// line and nothing is written. Records already there with the same
    /// content are left unchanged; the same number with other content is
    /// refused. Runs as the database owner (a superuser or BYPASSRLS role).
    Import {
        /// The station's code; without it, the file's station_code column
        /// names each row's station.
        #[arg(long)]
        station: Option<String>,
        /// Rows per batch.
        #[arg(long, default_value_t = 20_000)]
        batch: usize,
        /// The CSV file (`-` for stdin).
        file: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum CalendarCommand {
    /// Print `date,kind,holiday_en,holiday_zh` for every year held.
    Export,
    /// Load FILE (`-` for standard input). Each year in FILE is that year's
    /// whole arrangement: it replaces the year's current version (as a new
    /// version); run with --preview first to see what differs.
    Import {
        file: std::path::PathBuf,
        /// Title of the source document, e.g. 《国务院办公厅关于2027年部分节假日安排的通知》
        /// (required when a year changes).
        #[arg(long)]
        title: Option<String>,
        /// Its document number.
        #[arg(long)]
        number: Option<String>,
        /// Its date (YYYY-MM-DD).
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        /// Where it was published.
        #[arg(long)]
        url: Option<String>,
        /// A note, e.g. what a correction changes.
        #[arg(long)]
        note: Option<String>,
        /// Only show what would change.
        #[arg(long)]
        preview: bool,
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

fn main() -> std::process::ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// mimalloc's options, set by a constructor that runs when the binary is
/// loaded, before `main` and before mimalloc reserves its first arena (an
/// arena reserved with the defaults keeps them): freed memory goes back to
/// the system at once (`purge_delay` 0, not 10 ms later) and arenas are
/// committed as they are used, not eagerly. With its defaults the server
/// idled at 193 MB after benches/memory.sh's loads. The numbers are the
/// option indices of mimalloc's `mi_option_e` (libmimalloc-sys 0.1.49
/// names neither).
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static TUNE_MIMALLOC: extern "C" fn() = tune_mimalloc;

#[cfg(target_os = "linux")]
extern "C" fn tune_mimalloc() {
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: only sets allocator parameters, before any other thread runs.
    unsafe {
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
    }
}

async fn run() -> std::process::ExitCode {
    jiliang::startup::tune_allocator();
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
        Command::SeedScale { stations } => {
            let demo = config.demo_mode();
            with_database(&config, async |pool| {
                db::migrate(pool).await?;
                let report = jiliang::seed_scale::seed_scale(pool, demo, stations).await?;
                println!("{report}");
                Ok(true)
            })
            .await
        }
        Command::AuditVerify {
            anchors,
            public_key,
        } => {
            let trusted = match (&anchors, &public_key) {
                (None, _) => None,
                (Some(_), Some(hex)) => Some(anchor::parse_public_key(hex)),
                (Some(_), None) => Some(
                    anchor::load_key(&config, false)
                        .map(|k| k.verifying_key())
                        .map_err(|e| e.context("pass --public-key, or set JILIANG_AUDIT_KEY_FILE")),
                ),
            };
            match trusted.transpose() {
                Err(e) => Err(e),
                Ok(trusted) => {
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
                        let mut ok = report.breaks.is_empty();
                        if let (Some(path), Some(key)) = (&anchors, &trusted) {
                            let text = std::fs::read_to_string(path)
                                .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
                            let r = anchor::verify_against(pool, &text, key).await?;
                            for b in &r.breaks {
                                eprintln!("BREAK: {b}");
                            }
                            println!(
                                "anchors: {} signed lines, {} chains anchored, {} breaks",
                                r.anchors,
                                r.chains,
                                r.breaks.len()
                            );
                            ok &= r.breaks.is_empty();
                        }
                        Ok(ok)
                    })
                    .await
                }
            }
        }
        Command::AuditAnchor { print_public_key } => {
            if print_public_key {
                anchor::load_key(&config, false).map(|k| {
                    println!("{}", hex::encode(k.verifying_key().as_bytes()));
                    true
                })
            } else {
                match anchor::load_key(&config, true)
                    .and_then(|k| Ok((k, anchor::anchors_path(&config)?)))
                {
                    Err(e) => Err(e),
                    Ok((key, path)) => {
                        with_database(&config, async |pool| {
                            let a = anchor::anchor_once(pool, &key, &path).await?;
                            println!(
                                "anchored {} chains in {}:\n{}",
                                a.chains.len(),
                                path.display(),
                                serde_json::to_string(&a)?
                            );
                            Ok(true)
                        })
                        .await
                    }
                }
            }
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
                // Issue 16: the day's digests (one per user per day).
                let mail = jiliang::tasks::mail::Mail::from_config(&config)?;
                let d = jiliang::tasks::digest::run(pool, &mail, day).await?;
                println!(
                    "digests as of {day}: {} users, {} open tasks, {} digests with {} reminders, {} e-mailed ({} failed), in {:.1} s",
                    d.users, d.tasks, d.digests, d.items, d.emailed, d.email_failed, d.seconds
                );
                Ok(true)
            })
            .await
        }
        Command::Calendar(c) => calendar_command(&config, c).await,
        Command::Records(RecordsCommand::Import {
            station,
            batch,
            file,
        }) => {
            with_database(&config, async |pool| {
                db::migrate(pool).await?;
                let reader: Box<dyn std::io::Read + Send> = if file.as_os_str() == "-" {
                    Box::new(std::io::stdin())
                } else {
                    Box::new(std::io::BufReader::with_capacity(
                        1 << 20,
                        std::fs::File::open(&file)
                            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?,
                    ))
                };
                let r = jiliang::records::import::import(
                    pool,
                    station.as_deref(),
                    reader,
                    batch.clamp(100, 200_000),
                    |rows, secs| {
                        eprintln!(
                            "{rows} rows checked, {secs:.1} s, {:.0} rows/s",
                            rows as f64 / secs.max(0.001)
                        )
                    },
                )
                .await?;
                for e in &r.errors {
                    eprintln!("line {}: {}: {}", e.line, e.field, e.message);
                }
                if r.errors.is_empty() {
                    println!(
                        "{} rows: {} created ({} flagged), {} unchanged, in {:.1} s ({:.0} rows/s; checking {:.1} s, writing {:.1} s)",
                        r.rows,
                        r.created,
                        r.flagged,
                        r.unchanged,
                        r.seconds,
                        r.rows as f64 / r.seconds.max(0.001),
                        r.check_seconds,
                        r.write_seconds
                    );
                    Ok(true)
                } else {
                    eprintln!("nothing written: fix the rows above and run again");
                    Ok(false)
                }
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

/// `jiliang calendar export|import`: the data on stdout, messages on stderr.
async fn calendar_command(config: &Config, command: CalendarCommand) -> anyhow::Result<bool> {
    use jiliang::calendar::{model::CalendarSource as Source, store};
    match command {
        CalendarCommand::Export => {
            with_database(config, async |pool| {
                db::migrate(pool).await?;
                let mut conn = pool.acquire().await?;
                let text = store::export(&mut conn)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                print!("{text}");
                Ok(true)
            })
            .await
        }
        CalendarCommand::Import {
            file,
            title,
            number,
            date,
            url,
            note,
            preview,
        } => {
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(&file)
                    .map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?
            };
            let entered = match store::parse_csv(&text) {
                Ok(e) => e,
                Err(errors) => {
                    for e in &errors {
                        eprintln!("{}: {} / {}", file.display(), e.message, e.message_en);
                    }
                    return Ok(false);
                }
            };
            let source = Source {
                title,
                number,
                date,
                url,
                note,
            };
            with_database(config, async |pool| {
                db::migrate(pool).await?;
                let result = if preview {
                    let mut conn = pool.acquire().await?;
                    store::preview(&mut conn, &entered, None).await
                } else {
                    store::import(
                        pool,
                        store::Actor {
                            ctx: None,
                            via: store::Via::Cli,
                        },
                        &entered,
                        None,
                        &source,
                        None,
                        jiliang::web::today(),
                    )
                    .await
                };
                match result {
                    Ok(report) => {
                        for y in &report.years {
                            let what = match (y.change.as_str(), y.new_version) {
                                ("unchanged", _) => "unchanged".to_string(),
                                (c, Some(v)) => {
                                    format!("{c}, version {v}, {} dates differ", y.changes.len())
                                }
                                (c, None) => c.to_string(),
                            };
                            println!(
                                "{}: {} holidays, {} make-up workdays: {what}",
                                y.year, y.holidays, y.workdays
                            );
                        }
                        for r in &report.recomputed {
                            println!(
                                "recomputed {} {}: {} -> {}{}",
                                r.kind,
                                r.id,
                                r.before.map(|d| d.to_string()).unwrap_or_default(),
                                r.after.map(|d| d.to_string()).unwrap_or_default(),
                                if r.still_provisional {
                                    " (still provisional)"
                                } else {
                                    ""
                                }
                            );
                        }
                        if preview {
                            println!("preview only: nothing was loaded");
                        } else if report.years.iter().all(|y| y.change == "unchanged") {
                            println!("nothing changed");
                        }
                        Ok(true)
                    }
                    Err(jiliang::AppError::Validation(errors)) => {
                        for e in &errors {
                            eprintln!("{}: {} / {}", file.display(), e.message, e.message_en);
                        }
                        Ok(false)
                    }
                    Err(e) => {
                        let d = e.detail();
                        eprintln!("{}: {} / {}", file.display(), d.message, d.message_en);
                        Ok(false)
                    }
                }
            })
            .await
        }
    }
}
