//! The embedded default: a private PostgreSQL cluster kept under the data
//! directory, started on a free loopback port and stopped on shutdown.
//!
//! The server (`postgres`) runs as a direct child in its own process group,
//! spawned from a dedicated thread with `PR_SET_PDEATHSIG`, so it stops when
//! we stop, even if we are killed. PostgreSQL refuses to run as root: when
//! root, the cluster belongs to the `postgres` user and the server runs as it.

use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use sqlx::{Connection, PgConnection};

/// The database the application uses inside the cluster.
pub const DATABASE: &str = "jiliang";
/// The cluster's bootstrap superuser (owner of the schema).
pub const SUPERUSER: &str = "jiliang";

/// Where to get PostgreSQL when it is missing.
pub const MISSING_HELP: &str = "PostgreSQL server binaries (initdb, postgres) were not found \
on PATH or under /usr/lib/postgresql/*/bin.\n\
未找到 PostgreSQL 服务器程序。Install them (Debian/Ubuntu: `apt-get install postgresql`), \
or set DATABASE_URL to an existing PostgreSQL database, \
or run everything in containers with `docker compose up`.";

/// A running private cluster. Dropping it stops the server.
pub struct EmbeddedPg {
    /// Held for the life of the cluster: one process per data directory.
    _lock: fs::File,
    cluster_dir: PathBuf,
    port: u16,
    password: String,
    stop: Option<mpsc::Sender<()>>,
    stopped: Option<mpsc::Receiver<()>>,
    /// Set once the server answered: from then on a server that dies is
    /// restarted (before, a failed start is reported with its log).
    ready: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// The directory holding `initdb` and `postgres`: on `PATH` first, then
/// the newest `/usr/lib/postgresql/*/bin`.
pub fn find_bin_dir() -> anyhow::Result<PathBuf> {
    find_bin_dir_in(
        std::env::var_os("PATH").as_deref(),
        Path::new("/usr/lib/postgresql"),
    )
}

/// [`find_bin_dir`] over a given `PATH` value and versioned install root.
pub fn find_bin_dir_in(path: Option<&std::ffi::OsStr>, lib_root: &Path) -> anyhow::Result<PathBuf> {
    let has_both = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(path) = path {
        for dir in std::env::split_paths(path) {
            let initdb = dir.join("initdb");
            if initdb.is_file() {
                // Debian links initdb into PATH; the server sits beside its target.
                let real = fs::canonicalize(&initdb).unwrap_or(initdb);
                if let Some(parent) = real.parent() {
                    if has_both(parent) {
                        return Ok(parent.to_path_buf());
                    }
                }
                if has_both(&dir) {
                    return Ok(dir);
                }
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir(lib_root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_both(&bin).then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| anyhow!(MISSING_HELP))
}

/// The (uid, gid) the server runs as: ourselves, or `postgres` when we are root.
fn server_identity() -> anyhow::Result<Option<(u32, u32)>> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let passwd = fs::read_to_string("/etc/passwd").context("reading /etc/passwd")?;
    for line in passwd.lines() {
        let parts: Vec<&str> = line.split(':').collect();
        if parts.len() > 3 && parts[0] == "postgres" {
            let uid = parts[2].parse().context("postgres uid")?;
            let gid = parts[3].parse().context("postgres gid")?;
            return Ok(Some((uid, gid)));
        }
    }
    bail!(
        "running as root, and PostgreSQL refuses to run as root; no `postgres` user exists \
         (install the Debian package `postgresql`, which creates it, or run as another user)"
    )
}

/// As root the server runs as `postgres`, which must be able to pass
/// through the data directory (e.g. a `mktemp -d` directory is 0700) to reach
/// its cluster. Adds search permission only (no listing, no reading).
fn allow_traversal(dir: &Path) -> anyhow::Result<()> {
    let mode = fs::metadata(dir)?.permissions().mode();
    if mode & 0o001 == 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode((mode & 0o7777) | 0o011))
            .with_context(|| format!("letting the postgres user reach {}", dir.display()))?;
    }
    for ancestor in dir.ancestors().skip(1) {
        let m = fs::metadata(ancestor)?.permissions().mode();
        if m & 0o001 == 0 {
            bail!(
                "the postgres user cannot reach {} (mode {:o}); choose a JILIANG_DATA_DIR outside it",
                ancestor.display(),
                m & 0o7777
            );
        }
    }
    Ok(())
}

fn chown_tree(path: &Path, uid: u32, gid: u32) -> anyhow::Result<()> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .with_context(|| format!("chown {}", path.display()))?;
    if path.is_dir() {
        for entry in fs::read_dir(path)? {
            chown_tree(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}

fn random_hex(bytes: usize) -> String {
    use rand_core::{OsRng, TryRngCore};
    let mut buf = vec![0u8; bytes];
    OsRng
        .try_fill_bytes(&mut buf)
        .expect("the operating system's random source failed");
    hex::encode(buf)
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl EmbeddedPg {
    /// Creates the cluster under `dir` if needed, starts it and makes sure
    /// the application database exists.
    pub async fn start(dir: &Path) -> anyhow::Result<EmbeddedPg> {
        let bin = find_bin_dir()?;
        let identity = server_identity()?;
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let dir = fs::canonicalize(dir)?;
        if identity.is_some() {
            allow_traversal(&dir)?;
        }
        let cluster_dir = dir.join("pg");
        let password_file = dir.join("pg-password");
        let log_file = dir.join("postgres.log");
        let lock = lock_data_dir(&dir)?;

        if !cluster_dir.join("PG_VERSION").exists() {
            init_cluster(&bin, &cluster_dir, &password_file, identity)
                .context("initializing the embedded PostgreSQL cluster")?;
        }
        let password = fs::read_to_string(&password_file)
            .with_context(|| format!("reading {}", password_file.display()))?
            .trim()
            .to_owned();
        if let Some((uid, gid)) = identity {
            // The log is written by the server.
            if !log_file.exists() {
                fs::File::create(&log_file)?;
            }
            std::os::unix::fs::chown(&log_file, Some(uid), Some(gid))?;
        }

        let port = free_port()?;
        let ready = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (stop, stopped) =
            spawn_server(&bin, &cluster_dir, &log_file, port, identity, ready.clone())?;
        let pg = EmbeddedPg {
            _lock: lock,
            cluster_dir,
            port,
            password,
            stop: Some(stop),
            stopped: Some(stopped),
            ready,
        };
        pg.wait_ready(&log_file).await?;
        pg.ready.store(true, std::sync::atomic::Ordering::SeqCst);
        pg.ensure_database(DATABASE).await?;
        Ok(pg)
    }

    /// URL of a database in this cluster, as the superuser.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        )
    }

    /// The cluster directory (for messages).
    pub fn cluster_dir(&self) -> &Path {
        &self.cluster_dir
    }

    async fn wait_ready(&self, log_file: &Path) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match PgConnection::connect(&self.url("postgres")).await {
                Ok(conn) => {
                    conn.close().await.ok();
                    return Ok(());
                }
                Err(e) => {
                    let exited = self
                        .stopped
                        .as_ref()
                        .is_some_and(|rx| rx.try_recv().is_ok());
                    if exited || Instant::now() > deadline {
                        bail!(
                            "the embedded PostgreSQL did not start ({e}); its log {} ends:\n{}",
                            log_file.display(),
                            tail(log_file, 15)
                        );
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    /// Creates `database` if it does not exist.
    pub async fn ensure_database(&self, database: &str) -> anyhow::Result<()> {
        let mut conn = PgConnection::connect(&self.url("postgres")).await?;
        let exists: bool =
            sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
                .bind(database)
                .fetch_one(&mut conn)
                .await?;
        if !exists {
            sqlx::query(&format!("create database \"{database}\""))
                .execute(&mut conn)
                .await?;
        }
        conn.close().await.ok();
        Ok(())
    }

    /// Stops the server (fast shutdown) and waits for it.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
            if let Some(stopped) = self.stopped.take() {
                let _ = stopped.recv_timeout(Duration::from_secs(60));
            }
        }
    }
}

impl Drop for EmbeddedPg {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An exclusive lock on `<dir>/jiliang.lock`, or a clear refusal when
/// another process holds it.
fn lock_data_dir(dir: &Path) -> anyhow::Result<fs::File> {
    use std::os::fd::AsRawFd;
    let path = dir.join("jiliang.lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    // SAFETY: flock on a descriptor we own.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        bail!(
            "another jiliang process is using the data directory {} (JILIANG_DATA_DIR); stop it first",
            dir.display()
        );
    }
    Ok(file)
}

/// Runs initdb into `<cluster>.initdb` and renames it into place only on
/// success, so an interrupted first start never leaves a half-made cluster.
fn init_cluster(
    bin: &Path,
    final_dir: &Path,
    password_file: &Path,
    identity: Option<(u32, u32)>,
) -> anyhow::Result<()> {
    let building = final_dir.with_extension("initdb");
    let cluster_dir = building.as_path();
    if final_dir.exists() {
        // A cluster directory without PG_VERSION: left by an older, interrupted start.
        fs::remove_dir_all(final_dir)?;
    }
    if cluster_dir.exists() {
        fs::remove_dir_all(cluster_dir)?;
    }
    fs::create_dir_all(cluster_dir)?;
    fs::set_permissions(cluster_dir, fs::Permissions::from_mode(0o700))?;
    let password = random_hex(24);
    {
        let mut f = fs::File::create(password_file)?;
        f.set_permissions(fs::Permissions::from_mode(0o600))?;
        writeln!(f, "{password}")?;
    }
    // initdb reads the password from a file the server's user can read
    // (beside the cluster: initdb wants an empty directory).
    let pwfile = cluster_dir.with_extension("initdb-pw");
    fs::write(&pwfile, format!("{password}\n"))?;
    fs::set_permissions(&pwfile, fs::Permissions::from_mode(0o600))?;
    if let Some((uid, gid)) = identity {
        chown_tree(cluster_dir, uid, gid)?;
        std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid))?;
    }
    let mut cmd = Command::new(bin.join("initdb"));
    cmd.arg("-D")
        .arg(cluster_dir)
        .args([
            "-U",
            SUPERUSER,
            "-E",
            "UTF8",
            "--no-locale",
            "--auth=scram-sha-256",
        ])
        .arg(format!("--pwfile={}", pwfile.display()))
        .current_dir(cluster_dir)
        .stdin(Stdio::null());
    if let Some((uid, gid)) = identity {
        cmd.uid(uid).gid(gid);
    }
    let out = cmd.output().context("running initdb")?;
    let _ = fs::remove_file(&pwfile);
    if !out.status.success() {
        let _ = fs::remove_dir_all(cluster_dir);
        bail!(
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    fs::rename(cluster_dir, final_dir).context("moving the new cluster into place")?;
    Ok(())
}

type Control = (mpsc::Sender<()>, mpsc::Receiver<()>);

/// Restarts in a row (each within a minute of the last) before we give up.
const MAX_RESTARTS: u32 = 8;

/// Fast shutdown of the server, then immediate shutdown if it lingers.
fn stop_child(child: &mut std::process::Child) {
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Ok(None) = child.try_wait() {
        // SAFETY: as above; immediate shutdown.
        unsafe { libc::kill(child.id() as i32, libc::SIGQUIT) };
        let _ = child.wait();
    }
}

/// Spawns `postgres` from a thread that lives until [`EmbeddedPg::stop`]:
/// the child's parent-death signal is tied to that thread.
fn spawn_server(
    bin: &Path,
    cluster_dir: &Path,
    log_file: &Path,
    port: u16,
    identity: Option<(u32, u32)>,
    ready: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> anyhow::Result<Control> {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_file)
        .with_context(|| format!("opening {}", log_file.display()))?;
    let mut cmd = Command::new(bin.join("postgres"));
    cmd.arg("-D")
        .arg(cluster_dir)
        .arg("-p")
        .arg(port.to_string())
        .args(["-c", "listen_addresses=127.0.0.1"])
        // TCP only: a long data-dir path would exceed the socket path limit.
        .args([
            "-c",
            "unix_socket_directories=",
            "-c",
            "max_connections=300",
        ])
        .current_dir(cluster_dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    if let Some((uid, gid)) = identity {
        cmd.uid(uid).gid(gid);
    }
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            // Own process group: a terminal's Ctrl-C reaches us, not the
            // server; we shut it down after the HTTP server has drained.
            libc::setpgid(0, 0);
            // Fast shutdown if the thread that spawned us goes away.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT);
            Ok(())
        });
    }

    let (started_tx, started_rx) = mpsc::channel::<std::io::Result<()>>();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let (stopped_tx, stopped_rx) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("embedded-postgres".into())
        .spawn(move || {
            let mut child = match cmd.spawn() {
                Ok(c) => {
                    let _ = started_tx.send(Ok(()));
                    c
                }
                Err(e) => {
                    let _ = started_tx.send(Err(e));
                    return;
                }
            };
            let mut restarts = 0u32;
            let mut started_at = Instant::now();
            'serve: loop {
                match stop_rx.recv_timeout(Duration::from_millis(250)) {
                    Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                        stop_child(&mut child);
                        break;
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        let Ok(Some(status)) = child.try_wait() else {
                            continue;
                        };
                        if !ready.load(std::sync::atomic::Ordering::SeqCst) {
                            tracing::error!(%status, "the embedded PostgreSQL exited while starting");
                            break;
                        }
                        // The server died under us (killed, crashed): start it
                        // again on the same port, with a growing pause; after
                        // a few failed starts in a row, exit so that a
                        // supervisor (systemd, compose) can act.
                        if started_at.elapsed() > Duration::from_secs(60) {
                            restarts = 0;
                        }
                        loop {
                            restarts += 1;
                            if restarts > MAX_RESTARTS {
                                tracing::error!(
                                    %status,
                                    "the embedded PostgreSQL keeps exiting; giving up after {MAX_RESTARTS} restarts"
                                );
                                std::process::exit(70);
                            }
                            let pause = Duration::from_millis(250 * (1 << (restarts - 1).min(5)));
                            tracing::error!(%status, restart = restarts, ?pause, "the embedded PostgreSQL exited; restarting it");
                            match stop_rx.recv_timeout(pause) {
                                Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break 'serve,
                                Err(mpsc::RecvTimeoutError::Timeout) => {}
                            }
                            match cmd.spawn() {
                                Ok(c) => {
                                    child = c;
                                    started_at = Instant::now();
                                    break;
                                }
                                Err(e) => tracing::error!(error = %e, "restarting postgres failed"),
                            }
                        }
                    }
                }
            }
            let _ = stopped_tx.send(());
        })?;
    started_rx
        .recv()
        .context("the embedded PostgreSQL thread died")?
        .context("starting postgres")?;
    Ok((stop_tx, stopped_rx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_postgresql_binaries_the_message_names_the_package_database_url_and_compose() {
        let empty = std::env::temp_dir().join(format!("jiliang-no-pg-{}", std::process::id()));
        fs::create_dir_all(&empty).unwrap();
        let err = find_bin_dir_in(Some(empty.as_os_str()), &empty)
            .unwrap_err()
            .to_string();
        assert!(err.contains("apt-get install postgresql"), "{err}");
        assert!(err.contains("DATABASE_URL"), "{err}");
        assert!(err.contains("docker compose up"), "{err}");
        fs::remove_dir_all(&empty).unwrap();
    }

    #[test]
    fn the_newest_versioned_install_is_chosen_when_path_has_none() {
        let root = std::env::temp_dir().join(format!("jiliang-pg-root-{}", std::process::id()));
        for v in ["13", "15"] {
            let bin = root.join(v).join("bin");
            fs::create_dir_all(&bin).unwrap();
            fs::write(bin.join("initdb"), "").unwrap();
            fs::write(bin.join("postgres"), "").unwrap();
        }
        let found = find_bin_dir_in(None, &root).unwrap();
        assert_eq!(found, root.join("15").join("bin"));
        fs::remove_dir_all(&root).unwrap();
    }
}
