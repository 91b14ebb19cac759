//! One rule for conditions still unmet when a decision is taken
//! (requirements §4 "controlled override"; R7.2, R7.3 for establishment,
//! R13.2 for adjustments, which run the same Art 7 checks).
//!
//! At the decision every condition that was unmet along the way stands in
//! exactly one of these states:
//! - met in the registries by then (it is no longer reported unmet);
//! - verified by the assessment, with the evidence the assessors recorded;
//! - overridden by the deciding approver, with a reason;
//! - open, which blocks a positive decision.
//!
//! Conditions are named by a key: the problem's code, and for an item or a
//! document the item's index or the document type (`no_covering_standard:2`),
//! so an override answers for one item, not for every item of that kind.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Lang, Message};

/// How one condition stands at the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Standing {
    /// Unmet earlier (declared 待补, or verified/overridden before), met now.
    Met,
    /// Verified by the assessment; the assessors' evidence.
    Verified { evidence: String },
    /// Overridden by the approver deciding; the reason.
    Overridden { reason: String },
    /// Unmet, neither verified nor overridden: blocks a positive decision.
    Open,
}

/// A problem with what the deciding approver gave for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum SettlementError {
    /// An override or verification names a condition that is not unmet.
    NotUnmet { key: String },
    /// Longer than [`MAX_TEXT`] characters.
    TooLong { key: String },
}

/// The longest reason or evidence, in characters.
pub const MAX_TEXT: usize = 2000;

impl Message for SettlementError {
    fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (Self::NotUnmet { key }, Lang::Zh) => {
                format!("条件 {key} 目前并非未满足，无需说明（可能已在登记信息中满足）")
            }
            (Self::NotUnmet { key }, Lang::En) => {
                format!("Condition {key} is not unmet now; nothing to state (it may be met in the registries)")
            }
            (Self::TooLong { key }, Lang::Zh) => format!("条件 {key}：不超过 {MAX_TEXT} 个字符"),
            (Self::TooLong { key }, Lang::En) => {
                format!("Condition {key}: at most {MAX_TEXT} characters")
            }
        }
    }
}

/// Checks texts given for conditions (verifications at the assessment,
/// overrides at the decision): each names a currently unmet condition and
/// says something. Blank entries are ignored (an empty form field).
pub fn check_texts(unmet_now: &[String], given: &BTreeMap<String, String>) -> Vec<SettlementError> {
    let mut errors = Vec::new();
    for (key, text) in given {
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        if !unmet_now.contains(key) {
            errors.push(SettlementError::NotUnmet { key: key.clone() });
        } else if text.chars().count() > MAX_TEXT {
            errors.push(SettlementError::TooLong { key: key.clone() });
        }
    }
    errors
}

/// The standing of every condition at the decision: those unmet now (in
/// their order) and those that were unmet earlier but are met now.
/// A verification recorded at the assessment counts before an override.
pub fn settle(
    earlier: &[String],
    unmet_now: &[String],
    verified: &BTreeMap<String, String>,
    overrides: &BTreeMap<String, String>,
) -> Vec<(String, Standing)> {
    let given = |m: &BTreeMap<String, String>, k: &str| {
        m.get(k)
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
    };
    let mut out: Vec<(String, Standing)> = unmet_now
        .iter()
        .map(|k| {
            let s = if let Some(evidence) = given(verified, k) {
                Standing::Verified { evidence }
            } else if let Some(reason) = given(overrides, k) {
                Standing::Overridden { reason }
            } else {
                Standing::Open
            };
            (k.clone(), s)
        })
        .collect();
    for k in earlier {
        if !unmet_now.contains(k) && !out.iter().any(|(o, _)| o == k) {
            out.push((k.clone(), Standing::Met));
        }
    }
    out
}

/// The keys that still block a positive decision.
pub fn open(standings: &[(String, Standing)]) -> Vec<&str> {
    standings
        .iter()
        .filter(|(_, s)| *s == Standing::Open)
        .map(|(k, _)| k.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_unmet_condition_is_verified_overridden_or_open() {
        // R7.2 for item 1 verified by the assessment, R7.3 for item 1
        // overridden, R7.2 for item 2 neither: one open condition.
        let unmet = keys(&[
            "no_covering_standard:1",
            "too_few_qualified_staff:1",
            "no_covering_standard:2",
        ]);
        let s = settle(
            &keys(&["missing_document:premises_description"]),
            &unmet,
            &map(&[(
                "no_covering_standard:1",
                "现场核查：标准装置已建立，证书 X-1",
            )]),
            &map(&[
                ("too_few_qualified_staff:1", "第二名人员的证书正在换发"),
                ("no_covering_standard:2", "  "),
            ]),
        );
        assert_eq!(
            s[0].1,
            Standing::Verified {
                evidence: "现场核查：标准装置已建立，证书 X-1".into()
            }
        );
        assert_eq!(
            s[1].1,
            Standing::Overridden {
                reason: "第二名人员的证书正在换发".into()
            }
        );
        assert_eq!(s[2].1, Standing::Open);
        // Declared earlier, met in the registries now.
        assert_eq!(
            s[3],
            (
                "missing_document:premises_description".into(),
                Standing::Met
            )
        );
        assert_eq!(open(&s), vec!["no_covering_standard:2"]);
    }

    #[test]
    fn a_verification_counts_before_an_override() {
        let s = settle(
            &[],
            &keys(&["a:1"]),
            &map(&[("a:1", "evidence")]),
            &map(&[("a:1", "reason")]),
        );
        assert_eq!(
            s[0].1,
            Standing::Verified {
                evidence: "evidence".into()
            }
        );
        assert!(open(&s).is_empty());
    }

    #[test]
    fn texts_must_name_an_unmet_condition_and_fit() {
        let unmet = keys(&["a:1"]);
        let long = "理".repeat(MAX_TEXT + 1);
        let e = check_texts(&unmet, &map(&[("b:2", "why"), ("a:1", &long), ("c:3", "")]));
        assert_eq!(
            e,
            vec![
                SettlementError::TooLong { key: "a:1".into() },
                SettlementError::NotUnmet { key: "b:2".into() },
            ]
        );
        assert!(e[1].message(Lang::Zh).contains("b:2"));
        assert!(check_texts(&unmet, &map(&[("a:1", "ok")])).is_empty());
    }
}
