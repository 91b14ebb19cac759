//! Which national stations cooperate in an assessment (R8.1, R8.2, R12.2).
//!
//! Match rule (shown on screen through the reasons): a requested item
//! matches a national station's authorized item when both name the same
//! specification (same family, locality and number, any edition year), or
//! when their normalized names are equal and their ranges overlap. When
//! either range is missing, equal names suffice; ranges of different kinds
//! of quantity never overlap. A branch station's own head station is always
//! a cooperating party (R8.1).

use serde::Serialize;

use super::measure::Range;
use super::spec_code::SpecCode;
use super::{normalize_name, Lang, Message};

/// An item as the cooperation rule sees it: requested, authorized, or the
/// item of a social public standard (R12.2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CooperationItem {
    /// Instrument or quantity name.
    pub name: String,
    /// Governing specification, if known.
    pub spec_code: Option<SpecCode>,
    /// Range, if known.
    pub range: Option<Range>,
}

/// A national station and its authorized items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NationalStation<Id> {
    /// The station's id.
    pub id: Id,
    /// Its authorized items.
    pub items: Vec<CooperationItem>,
}

/// Why a national station cooperates.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum CooperationReason {
    /// R8.2: the same specification.
    SameSpecification {
        /// 1-based index of the requested item.
        index: usize,
        /// Requested item name.
        item: String,
        /// The station's specification code.
        spec_code: String,
    },
    /// R8.2: the same item name with overlapping ranges (or a range
    /// unknown).
    SameItemOverlappingRange {
        /// 1-based index of the requested item.
        index: usize,
        /// Requested item name.
        item: String,
        /// The station's range, if known.
        station_range: Option<String>,
    },
    /// R8.1: the applicant is a branch of this head station.
    HeadOfBranch,
}

impl Message for CooperationReason {
    fn message(&self, lang: Lang) -> String {
        use CooperationReason as R;
        let zh = lang == Lang::Zh;
        match self {
            R::SameSpecification {
                index,
                item,
                spec_code,
            } if zh => format!("第{index}项“{item}”与该国家专业计量站授权项目依据同一技术规范 {spec_code}"),
            R::SameSpecification {
                index,
                item,
                spec_code,
            } => format!("item {index} {item:?} follows the same specification {spec_code} as the station's item"),
            R::SameItemOverlappingRange {
                index,
                item,
                station_range,
            } if zh => match station_range {
                Some(range) => format!("第{index}项“{item}”与该站同名授权项目测量范围 {range} 重叠"),
                None => format!("第{index}项“{item}”与该站授权项目同名"),
            },
            R::SameItemOverlappingRange {
                index,
                item,
                station_range,
            } => match station_range {
                Some(range) => format!("item {index} {item:?} overlaps the station's item of the same name, {range}"),
                None => format!("item {index} {item:?} has the same name as a station item"),
            },
            R::HeadOfBranch if zh => "申请单位为该总站的分站，总站参加考核".into(),
            R::HeadOfBranch => "the applicant is a branch of this head station, which joins the assessment".into(),
        }
    }
}

/// A cooperating national station with its reasons.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CooperatingStation<Id> {
    /// The station's id.
    pub station: Id,
    /// Every reason, per matching item.
    pub reasons: Vec<CooperationReason>,
}

fn match_reason(
    index: usize,
    requested: &CooperationItem,
    held: &CooperationItem,
) -> Option<CooperationReason> {
    if let (Some(a), Some(b)) = (&requested.spec_code, &held.spec_code) {
        if a.same_specification(b) {
            return Some(CooperationReason::SameSpecification {
                index,
                item: requested.name.clone(),
                spec_code: b.to_string(),
            });
        }
    }
    if normalize_name(&requested.name) != normalize_name(&held.name) {
        return None;
    }
    let overlapping = match (&requested.range, &held.range) {
        (Some(a), Some(b)) => a.overlaps(b).unwrap_or(false),
        _ => true,
    };
    overlapping.then(|| CooperationReason::SameItemOverlappingRange {
        index,
        item: requested.name.clone(),
        station_range: held.range.map(|r| r.to_string()),
    })
}

/// R8.2, R12.2: the national stations that must cooperate in assessing
/// `requested` items (an application's items, or a social public standard's
/// item for R12.2), in the order of `national`, each with every reason.
/// R8.1: when the applicant is a branch, `applicant_head` names its head
/// station, which is always included.
pub fn cooperating_stations<Id: Clone + PartialEq>(
    requested: &[CooperationItem],
    national: &[NationalStation<Id>],
    applicant_head: Option<&Id>,
) -> Vec<CooperatingStation<Id>> {
    let mut result: Vec<CooperatingStation<Id>> = Vec::new();
    if let Some(head) = applicant_head {
        result.push(CooperatingStation {
            station: head.clone(),
            reasons: vec![CooperationReason::HeadOfBranch],
        });
    }
    for station in national {
        let reasons: Vec<CooperationReason> = requested
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                station
                    .items
                    .iter()
                    .find_map(|held| match_reason(i + 1, item, held))
            })
            .collect();
        if reasons.is_empty() {
            continue;
        }
        match result.iter_mut().find(|c| c.station == station.id) {
            Some(existing) => existing.reasons.extend(reasons),
            None => result.push(CooperatingStation {
                station: station.id.clone(),
                reasons,
            }),
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, spec: Option<&str>, range: Option<&str>) -> CooperationItem {
        CooperationItem {
            name: name.into(),
            spec_code: spec.map(|s| SpecCode::parse(s).unwrap()),
            range: range.map(|r| Range::parse(r).unwrap()),
        }
    }

    fn national() -> Vec<NationalStation<&'static str>> {
        vec![
            NationalStation {
                id: "pressure-head",
                items: vec![item("压力表", Some("JJG 52-2013"), Some("0~60 MPa"))],
            },
            NationalStation {
                id: "flow-branch",
                items: vec![item("流量计", Some("JJG 1033-2007"), Some("0.1~10 m³/h"))],
            },
        ]
    }

    #[test]
    fn same_specification_of_another_edition_makes_a_station_cooperate() {
        // R8.2
        let got = cooperating_stations(
            &[item("精密压力表", Some("JJG 52-1999"), None)],
            &national(),
            None,
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].station, "pressure-head");
        assert!(matches!(
            got[0].reasons[0],
            CooperationReason::SameSpecification { index: 1, .. }
        ));
    }

    #[test]
    fn same_name_with_overlapping_range_makes_a_station_cooperate() {
        // R8.2: 5~20 m³/h overlaps 0.1~10 m³/h.
        let got = cooperating_stations(
            &[item("流量计", None, Some("5~20 m³/h"))],
            &national(),
            None,
        );
        assert_eq!(got[0].station, "flow-branch");
        assert_eq!(
            got[0].reasons[0].message_zh(),
            "第1项“流量计”与该站同名授权项目测量范围 (0.1~10) m³/h 重叠"
        );
    }

    #[test]
    fn same_name_with_disjoint_range_does_not_match() {
        // R8.2
        let got = cooperating_stations(
            &[item("流量计", None, Some("20~50 m³/h"))],
            &national(),
            None,
        );
        assert_eq!(got, vec![]);
    }

    #[test]
    fn public_standard_item_names_its_cooperating_national_station() {
        // R12.2: the same rule applies to a local social public standard.
        let got = cooperating_stations(&[item("压力表", None, Some("0~1 MPa"))], &national(), None);
        assert_eq!(got[0].station, "pressure-head");
    }

    #[test]
    fn branch_applicant_always_has_its_head_station_cooperating() {
        // R8.1: even with no matching item.
        let got = cooperating_stations(
            &[item("电能表", None, None)],
            &national(),
            Some(&"pressure-head"),
        );
        assert_eq!(
            got,
            vec![CooperatingStation {
                station: "pressure-head",
                reasons: vec![CooperationReason::HeadOfBranch]
            }]
        );
    }

    #[test]
    fn head_station_that_also_matches_keeps_all_reasons_once() {
        // R8.1, R8.2
        let got = cooperating_stations(
            &[item("压力表", Some("JJG 52-2013"), None)],
            &national(),
            Some(&"pressure-head"),
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].reasons.len(), 2);
    }
}
