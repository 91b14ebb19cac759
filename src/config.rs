//! Typed configuration from the environment (and command-line flags); secrets
//! are redacted in `Debug`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// Everything the server needs to start. Every field has an environment
/// variable; `README.md` lists them.
#[derive(Clone, Args)]
pub struct Config {
    /// PostgreSQL URL. Unset: a private cluster under the data directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Where the embedded cluster and uploaded files live.
    #[arg(long, env = "JILIANG_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Address the HTTP server binds.
    #[arg(long, env = "JILIANG_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Secure cookies (`Secure`, `__Host-` prefix) and HSTS. Default: true
    /// unless bound to a loopback address.
    #[arg(long, env = "JILIANG_SECURE_COOKIES")]
    pub secure_cookies: Option<bool>,

    /// Demo mode: seed the demo tenants on first start. Default: true with
    /// the embedded database on a loopback address, false otherwise.
    #[arg(long, env = "JILIANG_DEMO")]
    pub demo: Option<bool>,

    /// Idle session timeout, minutes.
    #[arg(long, env = "JILIANG_SESSION_IDLE_MINUTES", default_value_t = 30)]
    pub session_idle_minutes: i64,

    /// Absolute session lifetime, hours.
    #[arg(long, env = "JILIANG_SESSION_ABSOLUTE_HOURS", default_value_t = 12)]
    pub session_absolute_hours: i64,

    /// Failed sign-ins per account before it is throttled.
    #[arg(long, env = "JILIANG_LOGIN_MAX_FAILURES_ACCOUNT", default_value_t = 5)]
    pub login_max_failures_account: i32,

    /// Failed sign-ins per client address before it is throttled.
    #[arg(long, env = "JILIANG_LOGIN_MAX_FAILURES_ADDRESS", default_value_t = 20)]
    pub login_max_failures_address: i32,

    /// Minutes a throttled account or address waits.
    #[arg(long, env = "JILIANG_LOGIN_LOCK_MINUTES", default_value_t = 15)]
    pub login_lock_minutes: i64,

    /// Public verification lookups per client address and minute (R8.5,
    /// requirements.md §4); benchmarks raise it to measure the page.
    #[arg(long, env = "JILIANG_LOOKUPS_PER_MINUTE", default_value_t = 60)]
    pub lookups_per_minute: u32,

    /// Largest accepted request body (bytes) outside upload routes.
    #[arg(long, env = "JILIANG_MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    pub max_body_bytes: usize,

    /// The address people reach the site at, for links printed on
    /// certificates (QR codes). Default: http://<JILIANG_ADDR>.
    #[arg(long, env = "JILIANG_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Where the CJK fonts for PDFs are (Debian package fonts-noto-cjk).
    #[arg(
        long,
        env = "JILIANG_FONT_DIR",
        default_value = "/usr/share/fonts/opentype/noto"
    )]
    pub font_dir: std::path::PathBuf,

    /// Largest uploaded document (bytes).
    #[arg(long, env = "JILIANG_MAX_UPLOAD_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_upload_bytes: usize,

    /// Largest database pool.
    #[arg(long, env = "JILIANG_DB_MAX_CONNECTIONS", default_value_t = 20)]
    pub db_max_connections: u32,

    /// PostgreSQL URL the public pages (`/verify`, `/directory`) read from,
    /// e.g. a read replica. Default: the main database. Its sessions are
    /// read-only.
    #[arg(long, env = "JILIANG_PUBLIC_DATABASE_URL", hide_env_values = true)]
    pub public_database_url: Option<String>,

    /// Largest pool of the public pages' read-only connections.
    #[arg(long, env = "JILIANG_PUBLIC_DB_CONNECTIONS", default_value_t = 8)]
    pub public_db_connections: u32,

    /// The ed25519 key that signs audit anchors (32-byte seed, hex), outside
    /// the data directory. Default: `<data dir>.audit-key` beside it,
    /// created (mode 600) when missing.
    #[arg(long, env = "JILIANG_AUDIT_KEY_FILE")]
    pub audit_key_file: Option<PathBuf>,

    /// The anchors file (append-only JSON lines), outside the data
    /// directory. Default: `<data dir>.audit-anchors.jsonl` beside it.
    #[arg(long, env = "JILIANG_AUDIT_ANCHORS")]
    pub audit_anchors: Option<PathBuf>,

    /// Minutes between two anchors while serving (0: never).
    #[arg(long, env = "JILIANG_AUDIT_ANCHOR_MINUTES", default_value_t = 60)]
    pub audit_anchor_minutes: u64,

    /// SMTP server for the daily digests, e.g. `smtps://user:pass@host` or
    /// `smtp://host:25` (plain, inside a trusted network). Without it and
    /// without a mail directory, no e-mail is sent.
    #[arg(long, env = "JILIANG_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Write e-mail as `.eml` files into this directory instead of sending
    /// it (tests, staging).
    #[arg(long, env = "JILIANG_MAIL_DIR")]
    pub mail_dir: Option<PathBuf>,

    /// The sender of e-mail.
    #[arg(
        long,
        env = "JILIANG_MAIL_FROM",
        default_value = "计量站管理平台 <noreply@localhost>"
    )]
    pub mail_from: String,

    /// Run the daily digest job while serving (hourly; one digest per user
    /// per day whatever runs it).
    #[arg(long, env = "JILIANG_DIGESTS", default_value_t = true, action = clap::ArgAction::Set)]
    pub digests: bool,
}

impl Config {
    /// A configuration for tests and tools: the given database, loopback on
    /// an ephemeral port, insecure cookies, demo mode.
    pub fn for_database(database_url: String) -> Self {
        Config {
            database_url: Some(database_url),
            data_dir: std::env::temp_dir().join("jiliang-test-data"),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            secure_cookies: Some(false),
            demo: Some(true),
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            login_max_failures_account: 5,
            login_max_failures_address: 20,
            login_lock_minutes: 15,
            lookups_per_minute: 60,
            max_body_bytes: 256 * 1024,
            max_upload_bytes: 10 * 1024 * 1024,
            public_url: None,
            font_dir: std::path::PathBuf::from("/usr/share/fonts/opentype/noto"),
            db_max_connections: 10,
            public_database_url: None,
            public_db_connections: 4,
            audit_key_file: None,
            audit_anchors: None,
            audit_anchor_minutes: 0,
            smtp_url: None,
            mail_dir: None,
            mail_from: "计量站管理平台 <noreply@localhost>".into(),
            digests: false,
        }
    }

    /// A file beside the data directory: `./data` gives `./data<suffix>`.
    fn beside_data_dir(&self, suffix: &str) -> PathBuf {
        let dir = std::path::absolute(&self.data_dir).unwrap_or_else(|_| self.data_dir.clone());
        // `absolute` keeps `.` and `..`, which have no file name; drop them.
        let mut norm = PathBuf::new();
        for c in dir.components() {
            match c {
                std::path::Component::CurDir => {}
                std::path::Component::ParentDir => {
                    norm.pop();
                }
                other => norm.push(other),
            }
        }
        let dir = norm;
        match dir.file_name() {
            Some(name) => {
                let mut name = name.to_owned();
                name.push(suffix);
                dir.with_file_name(name)
            }
            None => dir.join(format!("jiliang{suffix}")),
        }
    }

    /// The audit signing key file.
    pub fn audit_key_path(&self) -> PathBuf {
        self.audit_key_file
            .clone()
            .unwrap_or_else(|| self.beside_data_dir(".audit-key"))
    }

    /// The audit anchors file.
    pub fn audit_anchors_path(&self) -> PathBuf {
        self.audit_anchors
            .clone()
            .unwrap_or_else(|| self.beside_data_dir(".audit-anchors.jsonl"))
    }

    /// Whether cookies are `Secure` with the `__Host-` prefix.
    pub fn secure(&self) -> bool {
        self.secure_cookies
            .unwrap_or_else(|| !self.addr.ip().is_loopback())
    }

    /// Whether demo data may be seeded: by default only with the embedded
    /// database on a loopback address (the demo password is published).
    pub fn demo_mode(&self) -> bool {
        self.demo
            .unwrap_or(self.database_url.is_none() && self.addr.ip().is_loopback())
    }

    /// The base URL printed on certificates, without a trailing slash.
    pub fn public_base(&self) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.addr),
        }
    }

    /// The session cookie's name.
    pub fn session_cookie_name(&self) -> &'static str {
        if self.secure() {
            "__Host-jiliang"
        } else {
            "jiliang_session"
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field(
                "database_url",
                &self.database_url.as_ref().map(|_| "[redacted]"),
            )
            .field("data_dir", &self.data_dir)
            .field("addr", &self.addr)
            .field("secure", &self.secure())
            .field("demo", &self.demo_mode())
            .field("session_idle_minutes", &self.session_idle_minutes)
            .field("session_absolute_hours", &self.session_absolute_hours)
            .field("audit_key_file", &self.audit_key_path())
            .field("audit_anchors", &self.audit_anchors_path())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_key_and_anchors_default_to_files_beside_the_data_dir() {
        let mut c = Config::for_database(String::new());
        for dir in [
            "/srv/jiliang/data",
            "/srv/jiliang/data/",
            "/srv/jiliang/data/.",
        ] {
            c.data_dir = PathBuf::from(dir);
            assert_eq!(
                c.audit_key_path(),
                PathBuf::from("/srv/jiliang/data.audit-key")
            );
            assert_eq!(
                c.audit_anchors_path(),
                PathBuf::from("/srv/jiliang/data.audit-anchors.jsonl")
            );
        }
        c.data_dir = PathBuf::from("/srv/jiliang/data/x/..");
        assert_eq!(
            c.audit_key_path(),
            PathBuf::from("/srv/jiliang/data.audit-key")
        );
        c.data_dir = PathBuf::from("data");
        assert!(c.audit_key_path().is_absolute());
        assert!(c.audit_key_path().ends_with("data.audit-key"));
        c.audit_key_file = Some(PathBuf::from("/etc/jiliang/audit.key"));
        assert_eq!(c.audit_key_path(), PathBuf::from("/etc/jiliang/audit.key"));
    }
}
