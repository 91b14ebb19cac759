//! The verification page's authorizations kept in memory, each with the
//! row version it was read at (issue 14). A lookup still asks the database
//! on every request, with one statement as small as a primary-key lookup
//! ([`super::store::by_token`]): the `xmin` of the authorization's row,
//! found by the token's unique index. When it equals the kept entry's,
//! nothing the page shows has changed since: every change writes a new row
//! version, and a change of anything else on the page (an item, the
//! station's or the regulator's name, the station's code) writes a new
//! version of the authorization's row in the same statement (migration
//! `…19_verify_versions`). The page is then rendered from the entry;
//! otherwise the authorization is read again with its version in one
//! statement. A revocation therefore shows on the very next lookup of the
//! page the certificate's QR code opens (R8.4), as before; the status "as
//! of today" is computed at each request, never kept. Division names come
//! from the process's table.
//!
//! Bounded: at [`CAPACITY`] entries the table is emptied and fills again
//! with the certificates being looked up (a scan of random tokens adds
//! nothing: only found authorizations are kept).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::store::Authorization;

/// Entries kept at most (an authorization with 30 items is ~8 KB).
pub const CAPACITY: usize = 2_048;

/// The version (`xmin`) of the authorization's row.
pub type Versions = i64;

/// Authorizations by verification token, with the versions they were read at.
#[derive(Default)]
pub struct VerifyCache {
    entries: Mutex<HashMap<String, (Versions, Arc<Authorization>)>>,
}

impl VerifyCache {
    /// The kept authorization of `token` when it was read at `versions`.
    pub fn get(&self, token: &str, versions: &Versions) -> Option<Arc<Authorization>> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(token)
            .filter(|(v, _)| v == versions)
            .map(|(_, a)| a.clone())
    }

    /// Keeps `a`, read at `versions`, for `token`.
    pub fn put(&self, token: &str, versions: Versions, a: Arc<Authorization>) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= CAPACITY && !entries.contains_key(token) {
            entries.clear();
        }
        entries.insert(token.to_owned(), (versions, a));
    }

    /// Entries kept now.
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
