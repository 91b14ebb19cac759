//! Who receives an application (R6.2) and who may inspect a station
//! (R17.1).
//!
//! Regulators are plain data ([`RegulatorRef`]): an id of the caller's
//! choosing, a level and the division whose market regulation department it
//! is. Jurisdiction follows the division hierarchy of
//! [`Divisions`], never code prefixes.

use std::fmt;

use serde::Serialize;

use super::divisions::Divisions;
use super::{DivisionCode, Lang, Message, Verdict};

/// Level of a market regulation department.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegulatorLevel {
    /// 县级市场监督管理部门.
    County,
    /// 设区的市级市场监督管理部门.
    Municipal,
    /// 省级市场监督管理部门.
    Provincial,
    /// 国家市场监督管理总局 (SAMR).
    National,
}

impl RegulatorLevel {
    /// The level's name.
    pub fn name(self, lang: Lang) -> &'static str {
        match (lang, self) {
            (Lang::Zh, Self::County) => "县级",
            (Lang::Zh, Self::Municipal) => "市级",
            (Lang::Zh, Self::Provincial) => "省级",
            (Lang::Zh, Self::National) => "国家级",
            (Lang::En, Self::County) => "county",
            (Lang::En, Self::Municipal) => "municipal",
            (Lang::En, Self::Provincial) => "provincial",
            (Lang::En, Self::National) => "national",
        }
    }
}

/// A regulator as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegulatorRef<Id> {
    /// The caller's identifier (a UUID in the application).
    pub id: Id,
    /// Its level.
    pub level: RegulatorLevel,
    /// The division it governs; `None` for SAMR.
    pub division: Option<DivisionCode>,
}

/// Tier of a station.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StationTier {
    /// 国家专业计量站总站.
    NationalHead,
    /// 国家专业计量站分站.
    NationalBranch,
    /// 地方专业计量站.
    Local,
}

/// R6.2 policy: the lowest regulator level allowed to authorize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct JurisdictionPolicy {
    /// Default [`RegulatorLevel::County`].
    pub lowest_level: RegulatorLevel,
}

impl Default for JurisdictionPolicy {
    fn default() -> Self {
        Self {
            lowest_level: RegulatorLevel::County,
        }
    }
}

/// A division named for display: code and Chinese name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamedDivision {
    /// The code.
    pub division: DivisionCode,
    /// The Chinese name from the table.
    pub name: String,
}

impl NamedDivision {
    fn new(division: DivisionCode, divisions: &Divisions) -> Self {
        Self {
            division,
            name: divisions.name_of(&division),
        }
    }
}

impl fmt::Display for NamedDivision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}（{}）", self.name, self.division)
    }
}

/// Why a regulator receives an application, or why none does (R6.2), and
/// why a regulator may inspect a station, or may not (R17.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum JurisdictionReason {
    /// R6.2: national stations apply to SAMR.
    NationalStation,
    /// R6.2: the lowest division containing the whole requested region.
    RegionWithin {
        /// That division.
        covering: NamedDivision,
        /// Number of codes requested.
        requested: usize,
    },
    /// R6.2: no regulator sits at `from`, so the next covering level
    /// receives.
    NoRegulatorAt {
        /// The division without a regulator.
        from: NamedDivision,
    },
    /// R6.2: a regulator at `from` exists but is below the policy's lowest
    /// authorizing level.
    BelowLowestLevel {
        /// The division skipped.
        from: NamedDivision,
        /// The policy's lowest level.
        lowest: RegulatorLevel,
    },
    /// R6.2: the receiving regulator.
    ReceivedBy {
        /// Its division.
        division: NamedDivision,
        /// Its level.
        level: RegulatorLevel,
    },
    /// R6.2: no region given for a local station.
    EmptyRegion,
    /// R6.2: a requested code is not in the division table.
    UnknownDivision {
        /// The code.
        division: DivisionCode,
    },
    /// R6.2: the region spans several provinces, so it is not a local
    /// station.
    SpansProvinces {
        /// The provinces touched.
        provinces: Vec<NamedDivision>,
    },
    /// R6.2: no SAMR entry among the regulators given.
    NoNationalRegulator,
    /// R6.2: no regulator covers the region at any allowed level.
    NoRegulatorCovers {
        /// The lowest division containing the region.
        covering: NamedDivision,
    },
    /// R17.1: SAMR's jurisdiction is the whole country.
    NationalJurisdiction,
    /// R17.1: the station is located in the regulator's jurisdiction.
    LocatedWithin {
        /// The regulator's division.
        jurisdiction: NamedDivision,
        /// The station's location.
        location: NamedDivision,
    },
    /// R17.1: the station works in part of the regulator's jurisdiction.
    WorksWithin {
        /// The regulator's division.
        jurisdiction: NamedDivision,
        /// The region code inside it.
        region: NamedDivision,
    },
    /// R17.1: neither located nor working in the jurisdiction.
    OutsideJurisdiction {
        /// The regulator's division.
        jurisdiction: NamedDivision,
    },
    /// R17.1: a local regulator without a division cannot be placed.
    RegulatorWithoutDivision,
    /// R17.1: the competent department inspects its own station.
    OwnStation,
    /// R17.1: the station belongs to another competent department.
    NotOwnStation,
}

impl Message for JurisdictionReason {
    fn message(&self, lang: Lang) -> String {
        use JurisdictionReason as R;
        let zh = lang == Lang::Zh;
        match self {
            R::NationalStation if zh => "国家专业计量站的建站申请由国家市场监督管理总局受理".into(),
            R::NationalStation => "applications for national stations go to SAMR".into(),
            R::RegionWithin { covering, requested } if zh => {
                format!("申请的 {requested} 个区域均在 {covering} 辖区内")
            }
            R::RegionWithin { covering, requested } => {
                format!("all {requested} requested divisions lie within {covering}")
            }
            R::NoRegulatorAt { from } if zh => {
                format!("{from} 没有对应的市场监督管理部门，由上一级受理")
            }
            R::NoRegulatorAt { from } => {
                format!("{from} has no market regulation department; the next level up receives")
            }
            R::BelowLowestLevel { from, lowest } if zh => format!(
                "按政策最低由{}市场监督管理部门授权，{from} 的部门不受理",
                lowest.name(lang)
            ),
            R::BelowLowestLevel { from, lowest } => format!(
                "policy: the lowest authorizing level is {}, so the department of {from} does not receive",
                lowest.name(lang)
            ),
            R::ReceivedBy { division, level } if zh => {
                format!("由{division}{}市场监督管理部门受理", level.name(lang))
            }
            R::ReceivedBy { division, level } => format!(
                "received by the {} market regulation department of {division}",
                level.name(lang)
            ),
            R::EmptyRegion if zh => "地方专业计量站的申请须写明授权区域".into(),
            R::EmptyRegion => "a local station's application must name its region".into(),
            R::UnknownDivision { division } if zh => format!("区域代码 {division} 不在行政区划表中"),
            R::UnknownDivision { division } => format!("region code {division} is not a known division"),
            R::SpansProvinces { provinces } if zh => format!(
                "申请区域跨越多个省级行政区（{}），不属于地方专业计量站，不予受理",
                join(provinces)
            ),
            R::SpansProvinces { provinces } => format!(
                "the region spans several provinces ({}); that is not a local station, refused",
                join(provinces)
            ),
            R::NoNationalRegulator if zh => "未找到国家市场监督管理总局".into(),
            R::NoNationalRegulator => "SAMR is missing from the regulators".into(),
            R::NoRegulatorCovers { covering } if zh => {
                format!("没有可受理 {covering} 区域申请的市场监督管理部门")
            }
            R::NoRegulatorCovers { covering } => {
                format!("no regulator may receive an application for {covering}")
            }
            R::NationalJurisdiction if zh => "国家市场监督管理总局的辖区为全国".into(),
            R::NationalJurisdiction => "SAMR's jurisdiction is the whole country".into(),
            R::LocatedWithin {
                jurisdiction,
                location,
            } if zh => format!("专业计量站位于 {location}，在 {jurisdiction} 辖区内"),
            R::LocatedWithin {
                jurisdiction,
                location,
            } => format!("the station is located in {location}, within {jurisdiction}"),
            R::WorksWithin {
                jurisdiction,
                region,
            } if zh => format!("专业计量站在 {region} 开展授权工作，在 {jurisdiction} 辖区内"),
            R::WorksWithin {
                jurisdiction,
                region,
            } => format!("the station works in {region}, within {jurisdiction}"),
            R::OutsideJurisdiction { jurisdiction } if zh => {
                format!("专业计量站既不位于也不在 {jurisdiction} 辖区内开展工作")
            }
            R::OutsideJurisdiction { jurisdiction } => {
                format!("the station neither is located nor works within {jurisdiction}")
            }
            R::RegulatorWithoutDivision if zh => "该市场监督管理部门未登记行政区划".into(),
            R::RegulatorWithoutDivision => "the regulator has no division on record".into(),
            R::OwnStation if zh => "主管部门可以检查所属专业计量站".into(),
            R::OwnStation => "a competent department may inspect its own stations".into(),
            R::NotOwnStation if zh => "该专业计量站不属于本主管部门".into(),
            R::NotOwnStation => "the station belongs to another competent department".into(),
        }
    }
}

fn join(divisions: &[NamedDivision]) -> String {
    divisions
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("、")
}

/// R6.2: the receiving regulator and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReceivingRegulator<Id> {
    /// The regulator that receives the application.
    pub regulator: RegulatorRef<Id>,
    /// How it was found, in order.
    pub reasons: Vec<JurisdictionReason>,
}

/// R6.2: which regulator receives an application to establish a station.
///
/// National tiers go to SAMR. A local station goes to the lowest regulator
/// whose jurisdiction covers every requested code: the lowest common
/// division of the region is found by hierarchy, then its ancestors are
/// tried from the lowest up; a division with no regulator, or only one below
/// `policy.lowest_level`, is skipped and the skip is recorded as a reason.
/// A region across provinces is refused with
/// [`JurisdictionReason::SpansProvinces`].
pub fn receiving_regulator<Id: Clone>(
    tier: StationTier,
    requested_region: &[DivisionCode],
    regulators: &[RegulatorRef<Id>],
    divisions: &Divisions,
    policy: &JurisdictionPolicy,
) -> Result<ReceivingRegulator<Id>, Vec<JurisdictionReason>> {
    if tier != StationTier::Local {
        let samr = regulators
            .iter()
            .find(|r| r.level == RegulatorLevel::National)
            .ok_or_else(|| vec![JurisdictionReason::NoNationalRegulator])?;
        return Ok(ReceivingRegulator {
            regulator: samr.clone(),
            reasons: vec![JurisdictionReason::NationalStation],
        });
    }
    if requested_region.is_empty() {
        return Err(vec![JurisdictionReason::EmptyRegion]);
    }
    let unknown: Vec<JurisdictionReason> = requested_region
        .iter()
        .filter(|c| divisions.get(c).is_none())
        .map(|c| JurisdictionReason::UnknownDivision { division: *c })
        .collect();
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let Some(covering) = divisions.lowest_common_ancestor(requested_region) else {
        let mut provinces: Vec<DivisionCode> = requested_region
            .iter()
            .filter_map(|c| divisions.province_of(c))
            .collect();
        provinces.sort();
        provinces.dedup();
        return Err(vec![JurisdictionReason::SpansProvinces {
            provinces: provinces
                .into_iter()
                .map(|p| NamedDivision::new(p, divisions))
                .collect(),
        }]);
    };
    let mut reasons = vec![JurisdictionReason::RegionWithin {
        covering: NamedDivision::new(covering, divisions),
        requested: requested_region.len(),
    }];
    for division in divisions.ancestors(&covering) {
        let here: Vec<&RegulatorRef<Id>> = regulators
            .iter()
            .filter(|r| r.level != RegulatorLevel::National && r.division == Some(division))
            .collect();
        let named = NamedDivision::new(division, divisions);
        match here.iter().find(|r| r.level >= policy.lowest_level) {
            Some(regulator) => {
                reasons.push(JurisdictionReason::ReceivedBy {
                    division: named,
                    level: regulator.level,
                });
                return Ok(ReceivingRegulator {
                    regulator: (*regulator).clone(),
                    reasons,
                });
            }
            None if here.is_empty() => {
                reasons.push(JurisdictionReason::NoRegulatorAt { from: named })
            }
            None => reasons.push(JurisdictionReason::BelowLowestLevel {
                from: named,
                lowest: policy.lowest_level,
            }),
        }
    }
    reasons.push(JurisdictionReason::NoRegulatorCovers {
        covering: NamedDivision::new(covering, divisions),
    });
    Err(reasons)
}

/// R17.1: whether a regulator may inspect a station.
///
/// SAMR may inspect every station; any other regulator (county level or
/// above, which every [`RegulatorLevel`] is) may inspect a station located
/// in its division or working in any part of it (a region code inside its
/// division, or its division inside a region code's, e.g. a county
/// regulator for a station authorized province-wide).
pub fn may_inspect<Id>(
    regulator: &RegulatorRef<Id>,
    station_location: &DivisionCode,
    station_region: &[DivisionCode],
    divisions: &Divisions,
) -> Verdict<JurisdictionReason> {
    if regulator.level == RegulatorLevel::National {
        return Verdict::Allowed {
            reasons: vec![JurisdictionReason::NationalJurisdiction],
        };
    }
    let Some(own) = regulator.division else {
        return Verdict::Refused {
            reasons: vec![JurisdictionReason::RegulatorWithoutDivision],
        };
    };
    let jurisdiction = NamedDivision::new(own, divisions);
    if divisions.contains(&own, station_location) {
        return Verdict::Allowed {
            reasons: vec![JurisdictionReason::LocatedWithin {
                jurisdiction,
                location: NamedDivision::new(*station_location, divisions),
            }],
        };
    }
    let working: Vec<JurisdictionReason> = station_region
        .iter()
        .filter(|code| divisions.contains(&own, code) || divisions.contains(code, &own))
        .map(|code| JurisdictionReason::WorksWithin {
            jurisdiction: jurisdiction.clone(),
            region: NamedDivision::new(*code, divisions),
        })
        .collect();
    if working.is_empty() {
        Verdict::Refused {
            reasons: vec![JurisdictionReason::OutsideJurisdiction { jurisdiction }],
        }
    } else {
        Verdict::Allowed { reasons: working }
    }
}

/// R17.1: a competent department may inspect its own stations.
pub fn competent_department_may_inspect<Id: PartialEq>(
    department: &Id,
    station_department: &Id,
) -> Verdict<JurisdictionReason> {
    if department == station_department {
        Verdict::Allowed {
            reasons: vec![JurisdictionReason::OwnStation],
        }
    } else {
        Verdict::Refused {
            reasons: vec![JurisdictionReason::NotOwnStation],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> DivisionCode {
        DivisionCode::parse(text).unwrap()
    }

    fn table() -> Divisions {
        Divisions::from_csv(include_str!("../../reference/cn_divisions.csv")).unwrap()
    }

    fn reg(
        id: &'static str,
        level: RegulatorLevel,
        division: Option<&str>,
    ) -> RegulatorRef<&'static str> {
        RegulatorRef {
            id,
            level,
            division: division.map(code),
        }
    }

    /// SAMR, Guangdong, Shenzhen, Futian (440304), Luohu (440303),
    /// Guangzhou, Beijing, Dongguan.
    fn regulators() -> Vec<RegulatorRef<&'static str>> {
        use RegulatorLevel::*;
        vec![
            reg("samr", National, None),
            reg("gd", Provincial, Some("440000")),
            reg("sz", Municipal, Some("440300")),
            reg("futian", County, Some("440304")),
            reg("luohu", County, Some("440303")),
            reg("gz", Municipal, Some("440100")),
            reg("bj", Provincial, Some("110000")),
            reg("dg", Municipal, Some("441900")),
        ]
    }

    fn receive(
        region: &[&str],
        policy: JurisdictionPolicy,
    ) -> Result<ReceivingRegulator<&'static str>, Vec<JurisdictionReason>> {
        let region: Vec<DivisionCode> = region.iter().map(|c| code(c)).collect();
        receiving_regulator(
            StationTier::Local,
            &region,
            &regulators(),
            &table(),
            &policy,
        )
    }

    #[test]
    fn national_station_applies_to_samr() {
        // R6.2
        let got = receiving_regulator(
            StationTier::NationalBranch,
            &[],
            &regulators(),
            &table(),
            &JurisdictionPolicy::default(),
        )
        .unwrap();
        assert_eq!(got.regulator.id, "samr");
        assert_eq!(got.reasons, vec![JurisdictionReason::NationalStation]);
    }

    #[test]
    fn region_of_one_county_goes_to_that_countys_regulator() {
        // R6.2
        let got = receive(&["440304"], JurisdictionPolicy::default()).unwrap();
        assert_eq!(got.regulator.id, "futian");
    }

    #[test]
    fn region_of_two_counties_of_one_city_goes_to_the_municipal_regulator() {
        // R6.2
        let got = receive(&["440304", "440303"], JurisdictionPolicy::default()).unwrap();
        assert_eq!(got.regulator.id, "sz");
        assert_eq!(
            got.reasons.last().unwrap().message_zh(),
            "由深圳市（440300）市级市场监督管理部门受理"
        );
    }

    #[test]
    fn region_spanning_two_cities_of_one_province_goes_to_the_provincial_regulator() {
        // R6.2
        let got = receive(&["440304", "440100"], JurisdictionPolicy::default()).unwrap();
        assert_eq!(got.regulator.id, "gd");
    }

    #[test]
    fn region_spanning_two_provinces_is_refused() {
        // R6.2
        let reasons = receive(&["440304", "110101"], JurisdictionPolicy::default()).unwrap_err();
        assert!(
            matches!(&reasons[..], [JurisdictionReason::SpansProvinces { provinces }] if provinces.len() == 2)
        );
        assert!(reasons[0].message_zh().contains("跨越多个省级行政区"));
        assert!(reasons[0].message_en().contains("spans several provinces"));
    }

    #[test]
    fn county_without_a_regulator_climbs_to_its_city_and_says_so() {
        // R6.2: 440305 南山区 has no regulator in the list.
        let got = receive(&["440305"], JurisdictionPolicy::default()).unwrap();
        assert_eq!(got.regulator.id, "sz");
        assert!(got.reasons.iter().any(|r| matches!(r, JurisdictionReason::NoRegulatorAt { from } if from.division == code("440305"))));
    }

    #[test]
    fn beijing_districts_climb_past_the_municipal_grouping_to_the_province() {
        // R6.2: 110101, 110102 share 110100 市辖区, which has no regulator.
        let got = receive(&["110101", "110102"], JurisdictionPolicy::default()).unwrap();
        assert_eq!(got.regulator.id, "bj");
    }

    #[test]
    fn municipal_policy_sends_a_single_county_to_its_city() {
        // R6.2
        let policy = JurisdictionPolicy {
            lowest_level: RegulatorLevel::Municipal,
        };
        let got = receive(&["440304"], policy).unwrap();
        assert_eq!(got.regulator.id, "sz");
        assert!(matches!(
            got.reasons[1],
            JurisdictionReason::BelowLowestLevel { .. }
        ));
    }

    #[test]
    fn city_without_counties_goes_to_its_municipal_regulator() {
        // R6.2: 441900 东莞市
        let got = receive(&["441900"], JurisdictionPolicy::default()).unwrap();
        assert_eq!(got.regulator.id, "dg");
    }

    #[test]
    fn empty_or_unknown_region_is_refused() {
        // R6.2
        assert_eq!(
            receive(&[], JurisdictionPolicy::default()).unwrap_err(),
            vec![JurisdictionReason::EmptyRegion]
        );
        assert_eq!(
            receive(&["999999"], JurisdictionPolicy::default()).unwrap_err(),
            vec![JurisdictionReason::UnknownDivision {
                division: code("999999")
            }]
        );
    }

    #[test]
    fn samr_may_inspect_every_station() {
        // R17.1
        let samr = reg("samr", RegulatorLevel::National, None);
        assert!(may_inspect(&samr, &code("650102"), &[], &table()).is_allowed());
    }

    #[test]
    fn regulator_may_inspect_a_station_located_in_its_jurisdiction() {
        // R17.1
        let sz = reg("sz", RegulatorLevel::Municipal, Some("440300"));
        let verdict = may_inspect(&sz, &code("440305"), &[], &table());
        assert!(verdict.is_allowed());
        assert!(matches!(
            verdict.reasons()[0],
            JurisdictionReason::LocatedWithin { .. }
        ));
    }

    #[test]
    fn regulator_may_inspect_a_station_working_in_its_jurisdiction() {
        // R17.1: located in Guangzhou, authorized province-wide → Futian may inspect.
        let futian = reg("futian", RegulatorLevel::County, Some("440304"));
        let verdict = may_inspect(&futian, &code("440106"), &[code("440000")], &table());
        assert!(verdict.is_allowed());
    }

    #[test]
    fn regulator_may_not_inspect_a_station_outside_its_jurisdiction() {
        // R17.1
        let gz = reg("gz", RegulatorLevel::Municipal, Some("440100"));
        let verdict = may_inspect(&gz, &code("440305"), &[code("440300")], &table());
        assert!(!verdict.is_allowed());
        assert_eq!(
            verdict.reasons()[0].message_zh(),
            "专业计量站既不位于也不在 广州市（440100） 辖区内开展工作"
        );
    }

    #[test]
    fn competent_department_may_inspect_only_its_own_stations() {
        // R17.1
        assert!(competent_department_may_inspect(&1, &1).is_allowed());
        assert!(!competent_department_may_inspect(&1, &2).is_allowed());
    }
}
