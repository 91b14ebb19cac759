//! Versions of an authorization (R13.2): every revision stays readable, and
//! two revisions compare item by item (an item keeps its number across
//! revisions).

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::authorizations::store::Item;
use crate::error::{AppError, Result};

/// One revision as it was.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Version {
    pub authorization_id: Uuid,
    pub revision: i32,
    /// `grant`, `adjustment`, `renewal`, `termination`, `revocation`.
    pub reason: String,
    pub request_id: Option<Uuid>,
    pub effective_on: NaiveDate,
    pub status: String,
    pub certificate_number: String,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    pub region: Vec<String>,
    pub items: Vec<Item>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    authorization_id: Uuid,
    revision: i32,
    reason: String,
    request_id: Option<Uuid>,
    effective_on: NaiveDate,
    status: String,
    certificate_number: String,
    valid_from: NaiveDate,
    valid_until: NaiveDate,
    ended_on: Option<NaiveDate>,
    region: Vec<String>,
    items: serde_json::Value,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Row> for Version {
    fn from(r: Row) -> Self {
        Version {
            authorization_id: r.authorization_id,
            revision: r.revision,
            reason: r.reason,
            request_id: r.request_id,
            effective_on: r.effective_on,
            status: r.status,
            certificate_number: r.certificate_number,
            valid_from: r.valid_from,
            valid_until: r.valid_until,
            ended_on: r.ended_on,
            region: r.region,
            items: serde_json::from_value(r.items).unwrap_or_default(),
            created_at: r.created_at,
        }
    }
}

/// Every revision the caller may see, oldest first.
pub async fn list(conn: &mut PgConnection, auth: Uuid) -> Result<Vec<Version>> {
    let rows: Vec<Row> = sqlx::query_as(
        "select authorization_id, revision, reason, request_id, effective_on, status, certificate_number,
                valid_from, valid_until, ended_on, region, items, created_at
           from authorization_version where authorization_id = $1 order by revision",
    )
    .bind(auth)
    .fetch_all(conn)
    .await?;
    if rows.is_empty() {
        return Err(AppError::NotFound);
    }
    Ok(rows.into_iter().map(Version::from).collect())
}

/// How one item differs between two revisions.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ItemDiff {
    pub seq: i32,
    /// `added`, `removed`, `changed` or `same`.
    pub change: String,
    pub before: Option<Item>,
    pub after: Option<Item>,
    /// Names of the fields that differ (`name`, `range_text`, …).
    pub fields: Vec<String>,
}

/// The difference between two revisions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Diff {
    pub from: Version,
    pub to: Version,
    pub items: Vec<ItemDiff>,
    pub region_added: Vec<String>,
    pub region_removed: Vec<String>,
    /// Fields of the authorization itself that differ (`valid_until`, `status`, …).
    pub fields: Vec<String>,
}

fn item_fields(a: &Item, b: &Item) -> Vec<String> {
    let mut f = Vec::new();
    if a.name != b.name {
        f.push("name".into());
    }
    if a.range_text != b.range_text {
        f.push("range_text".into());
    }
    if a.accuracy_text != b.accuracy_text {
        f.push("accuracy_text".into());
    }
    if a.task_types != b.task_types {
        f.push("task_types".into());
    }
    if a.specification != b.specification {
        f.push("specification".into());
    }
    f
}

/// Compares two revisions item by item (pure).
pub fn diff(from: Version, to: Version) -> Diff {
    let mut seqs: Vec<i32> = from
        .items
        .iter()
        .chain(to.items.iter())
        .map(|i| i.seq)
        .collect();
    seqs.sort_unstable();
    seqs.dedup();
    let items = seqs
        .into_iter()
        .map(|seq| {
            let a = from.items.iter().find(|i| i.seq == seq).cloned();
            let b = to.items.iter().find(|i| i.seq == seq).cloned();
            let (change, fields) = match (&a, &b) {
                (None, Some(_)) => ("added", Vec::new()),
                (Some(_), None) => ("removed", Vec::new()),
                (Some(x), Some(y)) => {
                    let f = item_fields(x, y);
                    (if f.is_empty() { "same" } else { "changed" }, f)
                }
                (None, None) => ("same", Vec::new()),
            };
            ItemDiff {
                seq,
                change: change.into(),
                before: a,
                after: b,
                fields,
            }
        })
        .collect();
    let region_added = to
        .region
        .iter()
        .filter(|c| !from.region.contains(c))
        .cloned()
        .collect();
    let region_removed = from
        .region
        .iter()
        .filter(|c| !to.region.contains(c))
        .cloned()
        .collect();
    let mut fields = Vec::new();
    if from.valid_from != to.valid_from {
        fields.push("valid_from".into());
    }
    if from.valid_until != to.valid_until {
        fields.push("valid_until".into());
    }
    if from.status != to.status {
        fields.push("status".into());
    }
    if from.ended_on != to.ended_on {
        fields.push("ended_on".into());
    }
    Diff {
        from,
        to,
        items,
        region_added,
        region_removed,
        fields,
    }
}

/// Two visible revisions compared.
pub async fn compare(conn: &mut PgConnection, auth: Uuid, from: i32, to: i32) -> Result<Diff> {
    let all = list(conn, auth).await?;
    let pick = |r: i32, field: &str| {
        all.iter()
            .find(|v| v.revision == r)
            .cloned()
            .ok_or_else(|| {
                AppError::field(
                    field,
                    "unknown_revision",
                    format!("该授权没有第 {r} 版"),
                    format!("This authorization has no revision {r}"),
                )
            })
    };
    Ok(diff(pick(from, "from")?, pick(to, "to")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(seq: i32, range: &str) -> Item {
        Item {
            seq,
            name: "电能表".into(),
            range_text: range.into(),
            accuracy_text: "0.2S级".into(),
            task_types: vec!["verification".into()],
            specification: "JJG 596-2012".into(),
        }
    }

    fn version(rev: i32, items: Vec<Item>, region: &[&str]) -> Version {
        Version {
            authorization_id: Uuid::nil(),
            revision: rev,
            reason: "adjustment".into(),
            request_id: None,
            effective_on: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            status: "active".into(),
            certificate_number: "(粤)法计(2026)00001号".into(),
            valid_from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            valid_until: NaiveDate::from_ymd_opt(2030, 12, 31).unwrap(),
            ended_on: None,
            region: region.iter().map(|s| s.to_string()).collect(),
            items,
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn versions_compare_item_by_item_r13_2() {
        let a = version(
            1,
            vec![item(1, "（0～10）A"), item(2, "（0～5）A")],
            &["440000"],
        );
        let b = version(
            2,
            vec![item(1, "（0～20）A"), item(3, "（0～1）A")],
            &["440000", "450000"],
        );
        let d = diff(a, b);
        let by_seq: Vec<(i32, &str)> = d.items.iter().map(|i| (i.seq, i.change.as_str())).collect();
        assert_eq!(by_seq, [(1, "changed"), (2, "removed"), (3, "added")]);
        assert_eq!(d.items[0].fields, ["range_text"]);
        assert_eq!(d.region_added, ["450000"]);
        assert!(d.region_removed.is_empty());
        assert!(d.fields.is_empty());
    }
}
