//! E-mail of the daily digests (lettre): SMTP from the configuration, or
//! `.eml` files in a directory (tests, staging), or off when neither is
//! configured.

use lettre::message::{header::ContentType, Mailbox, Message};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::Config;

/// Where e-mail goes.
#[derive(Clone)]
pub enum Mailer {
    Off,
    Files(AsyncFileTransport<Tokio1Executor>),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// A mailer with its sender.
#[derive(Clone)]
pub struct Mail {
    pub mailer: Mailer,
    pub from: Option<Mailbox>,
}

impl Mail {
    /// From the configuration: a mail directory wins over SMTP; neither is
    /// off. A bad SMTP URL or sender is a start-up error, not a silent off.
    pub fn from_config(config: &Config) -> anyhow::Result<Mail> {
        let from: Mailbox = config
            .mail_from
            .parse()
            .map_err(|e| anyhow::anyhow!("JILIANG_MAIL_FROM {:?}: {e}", config.mail_from))?;
        let mailer = if let Some(dir) = &config.mail_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("JILIANG_MAIL_DIR {}: {e}", dir.display()))?;
            Mailer::Files(AsyncFileTransport::new(dir))
        } else if let Some(url) = &config.smtp_url {
            Mailer::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| anyhow::anyhow!("JILIANG_SMTP_URL: {e}"))?
                    .build(),
            )
        } else {
            Mailer::Off
        };
        Ok(Mail {
            mailer,
            from: Some(from),
        })
    }

    /// Writes `.eml` files into `dir` (tests, staging).
    pub fn to_dir(dir: &std::path::Path, from: &str) -> anyhow::Result<Mail> {
        std::fs::create_dir_all(dir)?;
        Ok(Mail {
            mailer: Mailer::Files(AsyncFileTransport::new(dir)),
            from: Some(from.parse().map_err(|e| anyhow::anyhow!("{from:?}: {e}"))?),
        })
    }

    pub fn off() -> Mail {
        Mail {
            mailer: Mailer::Off,
            from: None,
        }
    }

    pub fn is_on(&self) -> bool {
        !matches!(self.mailer, Mailer::Off)
    }

    /// Sends a plain-text message; `Ok(false)` when mail is off.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<bool, String> {
        let (Some(from), false) = (self.from.clone(), matches!(self.mailer, Mailer::Off)) else {
            return Ok(false);
        };
        let to: Mailbox = to.parse().map_err(|e| format!("address {to:?}: {e}"))?;
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| e.to_string())?;
        match &self.mailer {
            Mailer::Off => Ok(false),
            Mailer::Files(t) => t
                .send(message)
                .await
                .map(|_| true)
                .map_err(|e| e.to_string()),
            Mailer::Smtp(t) => t
                .send(message)
                .await
                .map(|_| true)
                .map_err(|e| e.to_string()),
        }
    }
}
