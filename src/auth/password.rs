//! Password hashing: Argon2id with OWASP parameters (m = 19 MiB, t = 2,
//! p = 1), always off the async runtime (architecture.md §6.8), and never
//! more at once than the machine has cores: each hash takes 19 MiB, so an
//! unbounded burst of anonymous sign-ins would take the server's memory
//! (ASVS V6/V2). A request waits briefly for a slot, then answers 503 with
//! Retry-After.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::error::AppError;

/// How long a sign-in waits for a hashing slot before answering 503.
const QUEUE_WAIT: Duration = Duration::from_secs(3);

fn slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Semaphore::new(cores.clamp(1, 16))
    })
}

/// Runs one Argon2 computation in a bounded slot off the runtime.
async fn bounded<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    let permit = tokio::time::timeout(QUEUE_WAIT, slots().acquire())
        .await
        .map_err(|_| AppError::Unavailable {
            retry_after_secs: 2,
        })?
        .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing slots closed: {e}")))?;
    let out = tokio::task::spawn_blocking(move || {
        let out = work();
        drop(permit);
        out
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("password hashing task: {e}")))?;
    Ok(out)
}

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string.
pub async fn hash(password: String) -> Result<String, AppError> {
    Ok(bounded(move || hash_blocking(&password)).await??)
}

/// The blocking form, for the seed and tools.
pub fn hash_blocking(password: &str) -> anyhow::Result<String> {
    hasher()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// A hash of nothing in particular, verified against when the user does not
/// exist so that the response takes as long as for a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_blocking("jiliang-dummy-password-for-timing").expect("hashing the dummy password")
    })
}

/// Verifies `password` against `stored` (or against the dummy hash when
/// there is no such user). Returns whether it matched a real hash.
pub async fn verify(stored: Option<String>, password: String) -> Result<bool, AppError> {
    bounded(move || {
        let real = stored.is_some();
        let hash = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let ok = hasher()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok();
        ok && real
    })
    .await
}

/// A password's minimum quality: at least 10 characters, not all one class.
pub fn check_strength(password: &str) -> Result<(), (&'static str, &'static str)> {
    let len = password.chars().count();
    if len < 10 {
        return Err((
            "密码至少 10 个字符",
            "The password needs at least 10 characters",
        ));
    }
    if len > 200 {
        return Err((
            "密码不得超过 200 个字符",
            "The password may not exceed 200 characters",
        ));
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|c| **c).count() < 2 {
        return Err((
            "密码须包含至少两类字符（小写、大写、数字、符号）",
            "Use at least two kinds of characters (lower, upper, digits, symbols)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_not_another() {
        let h = hash("correct horse 1".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(Some(h.clone()), "correct horse 1".into())
            .await
            .unwrap());
        assert!(!verify(Some(h), "wrong horse 1".into()).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies_even_with_the_dummy_password() {
        let ok = verify(None, "jiliang-dummy-password-for-timing".into())
            .await
            .unwrap();
        assert!(!ok);
    }

    #[test]
    fn short_or_single_class_passwords_are_refused() {
        assert!(check_strength("short1").is_err());
        assert!(check_strength("alllowercaseletters").is_err());
        assert!(check_strength("demo-pass-2025").is_ok());
    }
}
