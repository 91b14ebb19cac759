//! Anchoring the audit chains outside the database (docs/architecture.md,
//! "Audit anchoring and its threat model").
//!
//! The hash chains alone do not stop the database owner from deleting a
//! chain's last rows and rewriting `audit_chain`: what is left still
//! recomputes. So the server signs every chain head (chain, last seq, last
//! hash) with an ed25519 key kept outside the data directory and appends the
//! signed line to an anchors file (JSON lines). `audit-verify --anchors FILE`
//! checks every line's signature and that the database still holds, at each
//! anchored seq, the anchored hash.
//!
//! The signing, the canonical text and the comparison are pure functions;
//! the database part is [`anchor_once`] and [`verify_against`].

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::config::Config;

/// The `format` of an anchor line and the first line of what it signs.
pub const FORMAT: &str = "jiliang-audit-anchor-v1";

/// One chain's head as anchored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainHead {
    pub chain: String,
    pub seq: i64,
    pub hash: String,
}

/// One line of the anchors file: every chain's head at `anchored_at`,
/// signed with the key whose public half is `public_key` (hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anchor {
    pub format: String,
    pub anchored_at: String,
    pub public_key: String,
    pub chains: Vec<ChainHead>,
    pub signature: String,
}

/// A field of the signed text may hold neither whitespace nor control
/// characters, so the text has exactly one reading.
fn plain(field: &str) -> bool {
    !field.is_empty() && !field.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The bytes the signature covers: the format, the time, the public key,
/// the number of chains and one line per chain, in the line's order.
pub fn canonical(
    anchored_at: &str,
    public_key: &str,
    chains: &[ChainHead],
) -> anyhow::Result<String> {
    if !plain(anchored_at) || !plain(public_key) {
        bail!("an anchor's time and public key may not hold spaces or control characters");
    }
    let mut text = format!(
        "{FORMAT}\nanchored_at {anchored_at}\npublic_key {public_key}\nchains {}\n",
        chains.len()
    );
    for c in chains {
        if !plain(&c.chain) || !plain(&c.hash) {
            bail!(
                "chain {:?}: ids and hashes may not hold spaces or control characters",
                c.chain
            );
        }
        text.push_str(&format!("{} {} {}\n", c.chain, c.seq, c.hash));
    }
    Ok(text)
}

/// Signs `chains` (sorted here by chain id) as of `anchored_at`.
pub fn sign(
    key: &SigningKey,
    anchored_at: &str,
    mut chains: Vec<ChainHead>,
) -> anyhow::Result<Anchor> {
    chains.sort_by(|a, b| a.chain.cmp(&b.chain));
    let public_key = hex::encode(key.verifying_key().as_bytes());
    let text = canonical(anchored_at, &public_key, &chains)?;
    let signature = hex::encode(key.sign(text.as_bytes()).to_bytes());
    Ok(Anchor {
        format: FORMAT.into(),
        anchored_at: anchored_at.into(),
        public_key,
        chains,
        signature,
    })
}

/// Checks `anchor` against the trusted public key (never against the key
/// the line names: whoever edits the line can name their own).
pub fn check_signature(anchor: &Anchor, trusted: &VerifyingKey) -> Result<(), String> {
    if anchor.format != FORMAT {
        return Err(format!("unknown format {:?}", anchor.format));
    }
    if !hex::decode(&anchor.public_key).is_ok_and(|k| k == trusted.as_bytes()) {
        return Err(format!(
            "signed by another key ({}), not the trusted {}",
            anchor.public_key,
            hex::encode(trusted.as_bytes())
        ));
    }
    let signature = hex::decode(&anchor.signature)
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok())
        .ok_or("the signature is not 64 bytes of hex")?;
    let text = canonical(&anchor.anchored_at, &anchor.public_key, &anchor.chains)
        .map_err(|e| e.to_string())?;
    trusted
        .verify_strict(text.as_bytes(), &signature)
        .map_err(|_| "the signature does not match the line's content".to_string())?;
    let mut ids: Vec<&str> = anchor.chains.iter().map(|c| c.chain.as_str()).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|w| w[0] == w[1]) {
        return Err("a chain appears twice".into());
    }
    Ok(())
}

/// Reads an anchors file: the lines whose signature holds, and a break for
/// every other non-empty line.
pub fn parse(text: &str, trusted: &VerifyingKey) -> (Vec<Anchor>, Vec<String>) {
    let mut anchors = Vec::new();
    let mut breaks = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let n = i + 1;
        match serde_json::from_str::<Anchor>(line) {
            Err(e) => breaks.push(format!("anchors line {n}: not an anchor ({e})")),
            Ok(a) => match check_signature(&a, trusted) {
                Ok(()) => anchors.push(a),
                Err(e) => breaks.push(format!("anchors line {n}: {e}")),
            },
        }
    }
    (anchors, breaks)
}

/// What the valid anchors commit the database to.
#[derive(Debug, Default)]
pub struct Anchored {
    /// Per chain: every anchored seq with its hash and the first anchor's time.
    pub points: BTreeMap<String, BTreeMap<i64, (String, String)>>,
    /// Contradictions between anchors themselves (a later anchor with a
    /// shorter chain, a chain left out, two hashes for one seq).
    pub breaks: Vec<String>,
}

impl Anchored {
    /// The highest anchored seq of `chain` and when it was anchored.
    pub fn last(&self, chain: &str) -> Option<(i64, &str)> {
        self.points
            .get(chain)
            .and_then(|p| p.iter().next_back())
            .map(|(s, (_, at))| (*s, at.as_str()))
    }
}

/// Folds the anchors in file order. A chain only grows, so a later anchor
/// recording a chain shorter than an earlier one (or not at all) means it
/// was shortened between the two.
pub fn fold(anchors: &[Anchor]) -> Anchored {
    let mut out = Anchored::default();
    let mut latest: BTreeMap<String, (i64, String)> = BTreeMap::new();
    for a in anchors {
        let here: std::collections::HashSet<&str> =
            a.chains.iter().map(|c| c.chain.as_str()).collect();
        for (chain, (seq, at)) in &latest {
            if !here.contains(chain.as_str()) {
                out.breaks.push(format!(
                    "chain {chain}: anchored at seq {seq} on {at}, left out of the anchor of {}",
                    a.anchored_at
                ));
            }
        }
        for c in &a.chains {
            if let Some((seq, at)) = latest.get(&c.chain) {
                if c.seq < *seq {
                    out.breaks.push(format!(
                        "chain {}: the anchor of {} records seq {}, below seq {seq} anchored on {at}: \
                         the chain was shortened between the two",
                        c.chain, a.anchored_at, c.seq
                    ));
                }
            }
            let points = out.points.entry(c.chain.clone()).or_default();
            match points.get(&c.seq) {
                Some((hash, at)) if *hash != c.hash => out.breaks.push(format!(
                    "chain {} seq {}: the anchors of {at} and {} record different hashes",
                    c.chain, c.seq, a.anchored_at
                )),
                Some(_) => {}
                None => {
                    points.insert(c.seq, (c.hash.clone(), a.anchored_at.clone()));
                }
            }
            let grows = latest.get(&c.chain).is_none_or(|(s, _)| c.seq >= *s);
            if grows {
                latest.insert(c.chain.clone(), (c.seq, a.anchored_at.clone()));
            }
        }
    }
    out
}

/// What the database holds for one anchored point.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Observed {
    pub chain: String,
    pub seq: i64,
    /// The hash of the row at `seq`, if there is one.
    pub hash: Option<String>,
    /// The chain's last row (`max(seq)`), if it has rows.
    pub last_row: Option<i64>,
    /// The chain head's `last_seq`, if there is a head.
    pub head: Option<i64>,
}

/// Compares the anchored points with what the database holds: a chain
/// missing, shorter than anchored, or with another hash at an anchored seq
/// is a break.
pub fn compare(anchored: &Anchored, observed: &[Observed]) -> Vec<String> {
    let mut by_chain: BTreeMap<&str, BTreeMap<i64, &Observed>> = BTreeMap::new();
    for o in observed {
        by_chain.entry(&o.chain).or_default().insert(o.seq, o);
    }
    let none = BTreeMap::new();
    let mut breaks = Vec::new();
    for (chain, points) in &anchored.points {
        let Some((last_seq, last_at)) = anchored.last(chain) else {
            continue;
        };
        let rows = by_chain.get(chain.as_str()).unwrap_or(&none);
        let last_row = rows.values().find_map(|o| o.last_row);
        let head = rows.values().find_map(|o| o.head);
        if last_row.is_none() && head.is_none() {
            breaks.push(format!(
                "chain {chain}: anchored at seq {last_seq} on {last_at}, missing from the database"
            ));
            continue;
        }
        let end = last_row.unwrap_or(0).min(head.unwrap_or(0));
        if end < last_seq {
            breaks.push(format!(
                "chain {chain}: shortened: anchored at seq {last_seq} on {last_at}, \
                 the database now ends at seq {end}"
            ));
        }
        for (seq, (hash, at)) in points.range(..=end) {
            let found = rows.get(seq).and_then(|o| o.hash.as_ref());
            match found {
                Some(h) if h == hash => {}
                Some(_) => breaks.push(format!(
                    "chain {chain} seq {seq}: the hash differs from the anchor of {at}"
                )),
                None => breaks.push(format!(
                    "chain {chain} seq {seq}: anchored on {at}, the row is missing"
                )),
            }
        }
    }
    breaks
}

// ------------------------------------------------------------------ keys

/// Reads a signing key file: the 32-byte ed25519 seed as 64 hex digits.
pub fn parse_key(text: &str) -> anyhow::Result<SigningKey> {
    let bytes = hex::decode(text.trim()).context("the audit key file is not hex")?;
    let seed: [u8; 32] = bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("the audit key file must hold 32 bytes (64 hex digits)"))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Reads a public key given as 64 hex digits.
pub fn parse_public_key(text: &str) -> anyhow::Result<VerifyingKey> {
    let bytes = hex::decode(text.trim()).context("the public key is not hex")?;
    let key: [u8; 32] = bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("a public key is 32 bytes (64 hex digits)"))?;
    VerifyingKey::from_bytes(&key).map_err(|_| anyhow::anyhow!("not an ed25519 public key"))
}

/// A new key from the operating system's random source.
pub fn generate_key() -> SigningKey {
    use rand_core::{OsRng, TryRngCore};
    let mut seed = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut seed)
        .expect("the operating system's random source failed");
    SigningKey::from_bytes(&seed)
}

/// Whether `path` lies inside `dir`, comparing the real paths of whatever
/// of them exists (so `./data/../data/x` and symbolic links count).
pub fn is_inside(path: &Path, dir: &Path) -> bool {
    fn real(p: &Path) -> PathBuf {
        use std::path::Component;
        let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        // `..` taken lexically, then the longest existing prefix resolved.
        let mut norm = PathBuf::new();
        for c in abs.components() {
            match c {
                Component::ParentDir => {
                    norm.pop();
                }
                Component::CurDir => {}
                other => norm.push(other),
            }
        }
        let mut rest = Vec::new();
        let mut cur = norm.as_path();
        loop {
            if let Ok(c) = cur.canonicalize() {
                return rest.iter().rev().fold(c, |acc: PathBuf, r| acc.join(r));
            }
            match (cur.parent(), cur.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name.to_owned());
                    cur = parent;
                }
                _ => return norm,
            }
        }
    }
    real(path).starts_with(real(dir))
}

fn refuse_inside_data_dir(path: &Path, what: &str, config: &Config) -> anyhow::Result<()> {
    if is_inside(path, &config.data_dir) {
        bail!(
            "{what} {} is inside the data directory {}; it must live outside it",
            path.display(),
            config.data_dir.display()
        );
    }
    Ok(())
}

/// The anchors file of `config`, refused inside the data directory.
pub fn anchors_path(config: &Config) -> anyhow::Result<PathBuf> {
    let path = config.audit_anchors_path();
    refuse_inside_data_dir(&path, "the anchors file (JILIANG_AUDIT_ANCHORS)", config)?;
    Ok(path)
}

/// The signing key of `config`; with `create`, a missing key file is
/// created (mode 600) with a new key.
pub fn load_key(config: &Config, create: bool) -> anyhow::Result<SigningKey> {
    let path = config.audit_key_path();
    refuse_inside_data_dir(&path, "the audit key file (JILIANG_AUDIT_KEY_FILE)", config)?;
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)?.permissions().mode();
            if mode & 0o077 != 0 {
                tracing::warn!(path = %path.display(), "the audit key file is readable by others; chmod 600 it");
            }
            parse_key(&text).with_context(|| format!("reading {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            use std::os::unix::fs::OpenOptionsExt;
            let key = generate_key();
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            writeln!(f, "{}", hex::encode(key.to_bytes()))?;
            f.sync_all()?;
            tracing::warn!(
                path = %path.display(),
                public_key = %hex::encode(key.verifying_key().as_bytes()),
                "created a new audit signing key (mode 600); keep the public key somewhere the \
                 database owner cannot change it, and better the key on another host"
            );
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| {
            format!(
                "reading the audit key file {} (JILIANG_AUDIT_KEY_FILE; `jiliang audit-anchor` \
                 creates it when missing)",
                path.display()
            )
        }),
    }
}

// ------------------------------------------------------------------ database

/// Every chain head, sorted by chain.
async fn heads(pool: &PgPool) -> anyhow::Result<Vec<ChainHead>> {
    let rows: Vec<(String, i64, String)> = sqlx::query_as(
        "select chain, last_seq, last_hash from audit_chain order by chain collate \"C\"",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(chain, seq, hash)| ChainHead { chain, seq, hash })
        .collect())
}

/// Signs the current chain heads and appends the line to `anchors`.
pub async fn anchor_once(
    pool: &PgPool,
    key: &SigningKey,
    anchors: &Path,
) -> anyhow::Result<Anchor> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let anchor = sign(key, &now, heads(pool).await?)?;
    let mut line = serde_json::to_string(&anchor)?;
    line.push('\n');
    if let Some(dir) = anchors.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(anchors)
        .with_context(|| format!("opening the anchors file {}", anchors.display()))?;
    // One write, so lines of two writers do not interleave.
    f.write_all(line.as_bytes())?;
    f.sync_all()?;
    Ok(anchor)
}

/// What [`verify_against`] found.
#[derive(Debug, Default)]
pub struct AnchorReport {
    /// Lines whose signature holds.
    pub anchors: usize,
    /// Chains they anchor.
    pub chains: usize,
    pub breaks: Vec<String>,
}

/// Checks the database against the anchors in `text`, trusting `key`.
pub async fn verify_against(
    pool: &PgPool,
    text: &str,
    key: &VerifyingKey,
) -> anyhow::Result<AnchorReport> {
    let (anchors, mut breaks) = parse(text, key);
    let anchored = fold(&anchors);
    breaks.extend(anchored.breaks.iter().cloned());
    let (chains, seqs): (Vec<String>, Vec<i64>) = anchored
        .points
        .iter()
        .flat_map(|(c, p)| p.keys().map(move |s| (c.clone(), *s)))
        .unzip();
    let observed: Vec<Observed> = sqlx::query_as(
        "select p.chain, p.seq,
                (select e.hash from audit_event e where e.chain = p.chain and e.seq = p.seq) as hash,
                (select max(e.seq) from audit_event e where e.chain = p.chain) as last_row,
                (select c.last_seq from audit_chain c where c.chain = p.chain) as head
           from unnest($1::text[], $2::bigint[]) as p(chain, seq)",
    )
    .bind(&chains)
    .bind(&seqs)
    .fetch_all(pool)
    .await?;
    breaks.extend(compare(&anchored, &observed));
    Ok(AnchorReport {
        anchors: anchors.len(),
        chains: anchored.points.len(),
        breaks,
    })
}

/// `serve`: anchors at start and every `JILIANG_AUDIT_ANCHOR_MINUTES`
/// (0: never). Fails at once on a bad key or a path inside the data dir.
pub fn spawn(pool: PgPool, config: &Config) -> anyhow::Result<()> {
    if config.audit_anchor_minutes == 0 {
        tracing::warn!("audit anchoring is off (JILIANG_AUDIT_ANCHOR_MINUTES=0)");
        return Ok(());
    }
    let key = load_key(config, true)?;
    let anchors = anchors_path(config)?;
    let every = Duration::from_secs(config.audit_anchor_minutes * 60);
    tracing::info!(
        anchors = %anchors.display(),
        key = %config.audit_key_path().display(),
        minutes = config.audit_anchor_minutes,
        "anchoring the audit chains"
    );
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The heads this process last anchored: a run that would repeat
        // them writes nothing (the file grows with the log, not the clock).
        let mut last: Option<Vec<ChainHead>> = None;
        loop {
            tick.tick().await;
            match heads(&pool).await {
                Ok(now) if last.as_ref() == Some(&now) => continue,
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "reading the audit chain heads failed");
                    continue;
                }
            }
            match anchor_once(&pool, &key, &anchors).await {
                Ok(a) => {
                    tracing::debug!(chains = a.chains.len(), "audit chains anchored");
                    last = Some(a.chains);
                }
                Err(e) => tracing::error!(error = %e, "anchoring the audit chains failed"),
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    fn head(chain: &str, seq: i64, hash: &str) -> ChainHead {
        ChainHead {
            chain: chain.into(),
            seq,
            hash: hash.into(),
        }
    }

    fn anchor(at: &str, chains: &[(&str, i64, &str)]) -> Anchor {
        sign(
            &key(1),
            at,
            chains.iter().map(|(c, s, h)| head(c, *s, h)).collect(),
        )
        .unwrap()
    }

    fn obs(chain: &str, seq: i64, hash: Option<&str>, last: i64) -> Observed {
        Observed {
            chain: chain.into(),
            seq,
            hash: hash.map(Into::into),
            last_row: Some(last),
            head: Some(last),
        }
    }

    #[test]
    fn the_signed_text_is_the_format_time_key_count_and_one_line_per_chain() {
        let text = canonical("T", "K", &[head("a", 1, "h1"), head("b", 2, "h2")]).unwrap();
        assert_eq!(
            text,
            "jiliang-audit-anchor-v1\nanchored_at T\npublic_key K\nchains 2\na 1 h1\nb 2 h2\n"
        );
        assert!(canonical("T", "K", &[head("a\nb 3 x", 1, "h")]).is_err());
        assert!(canonical("T", "K", &[head("a", 1, "")]).is_err());
    }

    #[test]
    fn a_signed_anchor_verifies_and_survives_a_json_round_trip() {
        let a = anchor(
            "2027-01-01T00:00:00Z",
            &[("system", 3, "cc"), ("org", 5, "aa")],
        );
        assert_eq!(a.chains[0].chain, "org", "chains are sorted");
        let line = serde_json::to_string(&a).unwrap();
        let (ok, breaks) = parse(&format!("{line}\n\n{line}\n"), &key(1).verifying_key());
        assert!(breaks.is_empty(), "{breaks:?}");
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0], a);
    }

    #[test]
    fn changing_any_field_of_a_signed_anchor_breaks_its_signature() {
        let a = anchor(
            "2027-01-01T00:00:00Z",
            &[("org", 5, "aa"), ("system", 3, "cc")],
        );
        let trusted = key(1).verifying_key();
        let mut edits: Vec<Anchor> = Vec::new();
        let mut e = a.clone();
        e.chains[0].seq = 9;
        edits.push(e);
        let mut e = a.clone();
        e.chains[1].hash = "dd".into();
        edits.push(e);
        let mut e = a.clone();
        e.chains.remove(0);
        edits.push(e);
        let mut e = a.clone();
        e.chains.reverse();
        edits.push(e);
        let mut e = a.clone();
        e.anchored_at = "2028-01-01T00:00:00Z".into();
        edits.push(e);
        let mut e = a.clone();
        e.signature = "00".repeat(64);
        edits.push(e);
        for e in edits {
            assert!(check_signature(&e, &trusted).is_err(), "{e:?}");
        }
        assert!(check_signature(&a, &trusted).is_ok());
    }

    #[test]
    fn an_anchor_signed_by_another_key_is_refused_even_when_it_names_that_key() {
        let forged = sign(&key(2), "T", vec![head("org", 1, "aa")]).unwrap();
        let err = check_signature(&forged, &key(1).verifying_key()).unwrap_err();
        assert!(err.contains("another key"), "{err}");
    }

    #[test]
    fn a_line_that_is_not_an_anchor_or_has_extra_fields_is_a_break() {
        let a = anchor("T", &[("org", 1, "aa")]);
        let mut v = serde_json::to_value(&a).unwrap();
        v["note"] = "x".into();
        let text = format!("not json\n{v}\n");
        let (ok, breaks) = parse(&text, &key(1).verifying_key());
        assert!(ok.is_empty());
        assert_eq!(breaks.len(), 2, "{breaks:?}");
        assert!(breaks[0].starts_with("anchors line 1"));
        assert!(breaks[1].starts_with("anchors line 2"));
    }

    #[test]
    fn an_intact_growing_chain_matches_its_anchors() {
        let anchored = fold(&[
            anchor("T1", &[("org", 2, "h2")]),
            anchor("T2", &[("org", 4, "h4")]),
        ]);
        assert!(anchored.breaks.is_empty());
        assert_eq!(anchored.last("org"), Some((4, "T2")));
        let observed = [obs("org", 2, Some("h2"), 6), obs("org", 4, Some("h4"), 6)];
        assert!(compare(&anchored, &observed).is_empty());
    }

    #[test]
    fn a_chain_shorter_than_its_last_anchor_is_a_break() {
        let anchored = fold(&[anchor("T1", &[("org", 4, "h4")])]);
        // The owner deleted seq 3 and 4 and set the head to 2.
        let breaks = compare(&anchored, &[obs("org", 4, None, 2)]);
        assert_eq!(breaks.len(), 1, "{breaks:?}");
        assert!(breaks[0].contains("shortened"), "{breaks:?}");
        // The rows are there but the head was wound back.
        let mut o = obs("org", 4, Some("h4"), 4);
        o.head = Some(3);
        assert!(compare(&anchored, &[o])[0].contains("ends at seq 3"));
    }

    #[test]
    fn another_hash_at_an_anchored_seq_is_a_break() {
        let anchored = fold(&[anchor("T1", &[("org", 4, "h4")])]);
        let breaks = compare(&anchored, &[obs("org", 4, Some("rewritten"), 5)]);
        assert_eq!(breaks.len(), 1);
        assert!(breaks[0].contains("hash differs"), "{breaks:?}");
    }

    #[test]
    fn an_anchored_chain_missing_from_the_database_is_a_break() {
        let anchored = fold(&[anchor("T1", &[("org", 4, "h4")])]);
        let gone = Observed {
            chain: "org".into(),
            seq: 4,
            hash: None,
            last_row: None,
            head: None,
        };
        assert!(compare(&anchored, &[gone])[0].contains("missing from the database"));
    }

    #[test]
    fn a_later_anchor_with_a_shorter_chain_or_without_it_is_a_break() {
        let anchored = fold(&[
            anchor("T1", &[("org", 4, "h4"), ("system", 2, "s2")]),
            anchor("T2", &[("org", 3, "h3")]),
        ]);
        assert_eq!(anchored.breaks.len(), 2, "{:?}", anchored.breaks);
        assert!(anchored.breaks.iter().any(|b| b.contains("left out")));
        assert!(anchored
            .breaks
            .iter()
            .any(|b| b.contains("shortened between")));
        // The higher anchor still counts.
        assert_eq!(anchored.last("org"), Some((4, "T1")));
        let anchored = fold(&[
            anchor("T1", &[("org", 4, "h4")]),
            anchor("T2", &[("org", 4, "other")]),
        ]);
        assert!(anchored.breaks[0].contains("different hashes"));
    }

    #[test]
    fn a_key_file_holds_the_seed_as_hex() {
        let k = key(7);
        let parsed = parse_key(&format!("{}\n", hex::encode(k.to_bytes()))).unwrap();
        assert_eq!(parsed.to_bytes(), k.to_bytes());
        assert!(parse_key("abcd").is_err());
        assert!(parse_key("zz").is_err());
        let public = hex::encode(k.verifying_key().as_bytes());
        assert_eq!(parse_public_key(&public).unwrap(), k.verifying_key());
        assert_ne!(generate_key().to_bytes(), generate_key().to_bytes());
    }

    #[test]
    fn a_path_inside_the_data_dir_is_recognized_also_through_dot_dot() {
        let dir = std::env::temp_dir().join(format!("jiliang-anchor-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let data = dir.join("data");
        assert!(is_inside(&data.join("k"), &data));
        assert!(is_inside(&data.join("x/../k"), &data));
        assert!(is_inside(&dir.join("data/../data/new/k"), &data));
        assert!(!is_inside(&dir.join("data.audit-key"), &data));
        assert!(!is_inside(&dir.join("data/../k"), &data));
        assert!(!is_inside(&dir.join("data/x/../../k"), &data));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
