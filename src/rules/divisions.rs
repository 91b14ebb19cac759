//! The administrative division table (GB/T 2260) and its hierarchy, used
//! for regions (R6.2, R13.1, R17.1).
//!
//! Built from `reference/cn_divisions.csv` (`code,name,level,parent_code`).
//! Containment follows `parent_code` in the data, never code-prefix
//! arithmetic: Beijing's districts sit under the city-level entry 110100
//! 市辖区, and 省直辖县级 units (e.g. 429004 仙桃市) sit under 429000.
//!
//! One quirk of the data: the three prefecture-level cities without counties
//! (441900 东莞市, 442000 中山市, 460400 儋州市) are listed twice: as a
//! `city` under their province and as a `county` whose parent is itself.
//! The table keeps one entry per code: level `City`, parent the province,
//! and [`Division::also_county`] set. No parent is ever derived from the
//! code prefix.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{DivisionCode, DivisionCodeError, Lang, Message};

/// Level of a division in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DivisionLevel {
    /// County level: 区, 县, 县级市, 旗 …
    County,
    /// Prefecture level: 地级市, 自治州, 盟, and the 市辖区/省直辖 groupings.
    City,
    /// Province level: 省, 自治区, 直辖市.
    Province,
}

impl DivisionLevel {
    /// Chinese name of the level.
    pub fn name(self, lang: Lang) -> &'static str {
        match (lang, self) {
            (Lang::Zh, Self::County) => "县级",
            (Lang::Zh, Self::City) => "地市级",
            (Lang::Zh, Self::Province) => "省级",
            (Lang::En, Self::County) => "county",
            (Lang::En, Self::City) => "city",
            (Lang::En, Self::Province) => "province",
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Division {
    /// The code.
    pub code: DivisionCode,
    /// The Chinese name.
    pub name: String,
    /// Its level.
    pub level: DivisionLevel,
    /// The parent from the data; `None` for provinces.
    pub parent: Option<DivisionCode>,
    /// A city that the data also lists as a county under itself (a
    /// prefecture-level city without counties, see the module doc).
    pub also_county: bool,
}

/// A malformed line of the divisions CSV.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum DivisionsError {
    /// The header is not `code,name,level,parent_code`.
    #[error("divisions CSV header must be \"code,name,level,parent_code\", got {found:?}")]
    Header {
        /// The header found.
        found: String,
    },
    /// Fewer than four columns.
    #[error("divisions CSV line {line}: expected 4 columns")]
    Columns {
        /// 1-based line number.
        line: usize,
    },
    /// The code or parent code column is not a division code.
    #[error("divisions CSV line {line}: {column} is invalid: {error}")]
    Code {
        /// 1-based line number.
        line: usize,
        /// `code` or `parent_code`.
        column: &'static str,
        /// What is wrong with it.
        error: DivisionCodeError,
    },
    /// The level column is not province, city or county.
    #[error("divisions CSV line {line}: level {found:?} is not province, city or county")]
    Level {
        /// 1-based line number.
        line: usize,
        /// The text found.
        found: String,
    },
    /// A code listed twice.
    #[error("divisions CSV line {line}: code {division} is listed twice")]
    Duplicate {
        /// 1-based line number.
        line: usize,
        /// The code.
        division: DivisionCode,
    },
}

impl Message for DivisionsError {
    fn message(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::En, _) => self.to_string(),
            (Lang::Zh, Self::Header { found }) => {
                format!("行政区划 CSV 表头应为“code,name,level,parent_code”，实际为“{found}”")
            }
            (Lang::Zh, Self::Columns { line }) => format!("行政区划 CSV 第{line}行：应有4列"),
            (
                Lang::Zh,
                Self::Code {
                    line,
                    column,
                    error,
                },
            ) => format!(
                "行政区划 CSV 第{line}行：{column} 无效：{}",
                error.message_zh()
            ),
            (Lang::Zh, Self::Level { line, found }) => {
                format!("行政区划 CSV 第{line}行：层级“{found}”不是 province/city/county")
            }
            (Lang::Zh, Self::Duplicate { line, division }) => {
                format!("行政区划 CSV 第{line}行：代码 {division} 重复")
            }
        }
    }
}

/// The division table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Divisions {
    by_code: BTreeMap<DivisionCode, Division>,
}

impl Divisions {
    /// Builds the table from rows. A code listed both as a city and as a
    /// county whose parent is itself becomes one city with
    /// [`Division::also_county`]; any other repeated code is an error.
    pub fn from_rows(rows: impl IntoIterator<Item = Division>) -> Result<Self, DivisionCode> {
        let (self_counties, others): (Vec<Division>, Vec<Division>) = rows
            .into_iter()
            .partition(|d| d.level == DivisionLevel::County && d.parent == Some(d.code));
        let mut by_code: BTreeMap<DivisionCode, Division> = BTreeMap::new();
        for row in others {
            if let Some(previous) = by_code.insert(row.code, row) {
                return Err(previous.code);
            }
        }
        for row in self_counties {
            match by_code.get_mut(&row.code) {
                Some(city) if city.level == DivisionLevel::City && !city.also_county => {
                    city.also_county = true;
                }
                Some(_) => return Err(row.code),
                // A self-parented county with no city row stays parentless.
                None => {
                    by_code.insert(
                        row.code,
                        Division {
                            parent: None,
                            ..row
                        },
                    );
                }
            }
        }
        Ok(Self { by_code })
    }

    /// Parses `reference/cn_divisions.csv`.
    pub fn from_csv(text: &str) -> Result<Self, DivisionsError> {
        let mut lines = text.lines().enumerate();
        let header = lines
            .next()
            .map(|(_, l)| l.trim_start_matches('\u{FEFF}').trim())
            .unwrap_or("");
        if header != "code,name,level,parent_code" {
            return Err(DivisionsError::Header {
                found: header.to_string(),
            });
        }
        let mut rows: Vec<(usize, Division)> = Vec::new();
        for (index, raw) in lines {
            let line = index + 1;
            let raw = raw.trim();
            if raw.is_empty() {
                continue;
            }
            let cols: Vec<&str> = raw.split(',').map(str::trim).collect();
            if cols.len() < 4 {
                return Err(DivisionsError::Columns { line });
            }
            let code = DivisionCode::parse(cols[0]).map_err(|error| DivisionsError::Code {
                line,
                column: "code",
                error,
            })?;
            let level = match cols[2] {
                "province" => DivisionLevel::Province,
                "city" => DivisionLevel::City,
                "county" => DivisionLevel::County,
                other => {
                    return Err(DivisionsError::Level {
                        line,
                        found: other.to_string(),
                    })
                }
            };
            let parent = match cols[3] {
                "" => None,
                text => Some(
                    DivisionCode::parse(text).map_err(|error| DivisionsError::Code {
                        line,
                        column: "parent_code",
                        error,
                    })?,
                ),
            };
            let row = Division {
                code,
                name: cols[1].to_string(),
                level,
                parent,
                also_county: false,
            };
            rows.push((line, row));
        }
        let lines: Vec<(usize, DivisionCode)> = rows.iter().map(|(l, d)| (*l, d.code)).collect();
        Self::from_rows(rows.into_iter().map(|(_, d)| d)).map_err(|division| {
            let line = lines
                .iter()
                .rev()
                .find(|(_, c)| *c == division)
                .map_or(0, |(l, _)| *l);
            DivisionsError::Duplicate { line, division }
        })
    }

    /// The row for `code`.
    pub fn get(&self, code: &DivisionCode) -> Option<&Division> {
        self.by_code.get(code)
    }

    /// The Chinese name of `code`, or the code itself when unknown.
    pub fn name_of(&self, code: &DivisionCode) -> String {
        self.get(code)
            .map_or_else(|| code.to_string(), |d| d.name.clone())
    }

    /// How a place is named on a page: the province, the city unless it is
    /// one of the groupings that are no place (市辖区, 县, 省直辖县级行政区划,
    /// 自治区直辖县级行政区划), and the county, separated by spaces
    /// ("广东省 东莞市", "北京市 朝阳区"). `None` for an unknown code. The same
    /// text as the database's `division_path` (a test compares every code),
    /// computed here so that a page's division names cost no statement
    /// (issue 14).
    pub fn path(&self, code: &DivisionCode) -> Option<String> {
        const NO_PLACE: [&str; 4] = [
            "市辖区",
            "县",
            "省直辖县级行政区划",
            "自治区直辖县级行政区划",
        ];
        let d = self.get(code)?;
        let chain = self.ancestors(code);
        let named = |level: DivisionLevel| {
            chain
                .iter()
                .filter_map(|c| self.get(c))
                .find(|x| x.level == level)
        };
        let mut parts: Vec<&str> = Vec::with_capacity(3);
        parts.push(&named(DivisionLevel::Province)?.name);
        if d.level != DivisionLevel::Province {
            if let Some(city) =
                named(DivisionLevel::City).filter(|c| !NO_PLACE.contains(&c.name.as_str()))
            {
                parts.push(&city.name);
            }
        }
        if d.level == DivisionLevel::County {
            parts.push(&d.name);
        }
        Some(parts.join(" "))
    }

    /// Every code of the table, in code order.
    pub fn codes(&self) -> impl Iterator<Item = &DivisionCode> {
        self.by_code.keys()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.by_code.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.by_code.is_empty()
    }

    /// The resolved parent of `code`.
    pub fn parent(&self, code: &DivisionCode) -> Option<DivisionCode> {
        self.get(code).and_then(|d| d.parent)
    }

    /// `code` and its ancestors, lowest first, ending at the province.
    /// Empty when `code` is unknown. Stops on a cycle or a missing parent.
    pub fn ancestors(&self, code: &DivisionCode) -> Vec<DivisionCode> {
        let mut chain = Vec::new();
        let mut current = self.get(code).map(|d| d.code);
        while let Some(c) = current {
            if chain.contains(&c) {
                break;
            }
            chain.push(c);
            current = self.parent(&c).filter(|p| self.get(p).is_some());
        }
        chain
    }

    /// The province `code` belongs to, by hierarchy.
    pub fn province_of(&self, code: &DivisionCode) -> Option<DivisionCode> {
        self.ancestors(code).into_iter().find(|c| {
            self.get(c)
                .is_some_and(|d| d.level == DivisionLevel::Province)
        })
    }

    /// R13.1: whether `ancestor` is `code` or one of its ancestors (a
    /// province covers its cities and counties). False for unknown codes.
    pub fn contains(&self, ancestor: &DivisionCode, code: &DivisionCode) -> bool {
        self.ancestors(code).contains(ancestor)
    }

    /// The lowest division that contains every code, or `None` if there is
    /// none (several provinces, an unknown code, or no codes).
    pub fn lowest_common_ancestor(&self, codes: &[DivisionCode]) -> Option<DivisionCode> {
        let (first, rest) = codes.split_first()?;
        let chains: Vec<Vec<DivisionCode>> = rest.iter().map(|c| self.ancestors(c)).collect();
        self.ancestors(first)
            .into_iter()
            .find(|candidate| chains.iter().all(|chain| chain.contains(candidate)))
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

    #[test]
    fn official_table_has_31_provinces_342_cities_2978_counties() {
        let t = table();
        let count = |level| t.by_code.values().filter(|d| d.level == level).count();
        assert_eq!(count(DivisionLevel::Province), 31);
        assert_eq!(count(DivisionLevel::City), 342);
        let also = t.by_code.values().filter(|d| d.also_county).count();
        assert_eq!(count(DivisionLevel::County) + also, 2978);
    }

    #[test]
    fn a_path_names_province_city_and_county_but_no_grouping() {
        let t = table();
        let path = |c: &str| t.path(&code(c));
        assert_eq!(path("440000").as_deref(), Some("广东省"));
        assert_eq!(path("441900").as_deref(), Some("广东省 东莞市"));
        assert_eq!(path("440106").as_deref(), Some("广东省 广州市 天河区"));
        // 市辖区 and 省直辖县级行政区划 are groupings, not places.
        assert_eq!(path("110105").as_deref(), Some("北京市 朝阳区"));
        assert_eq!(path("429004").as_deref(), Some("湖北省 仙桃市"));
        assert_eq!(path("999999"), None);
    }

    #[test]
    fn beijing_district_climbs_through_the_municipal_district_grouping() {
        let t = table();
        assert_eq!(
            t.ancestors(&code("110101")),
            vec![code("110101"), code("110100"), code("110000")]
        );
    }

    #[test]
    fn province_administered_county_follows_its_grouping_not_a_prefix_guess() {
        // 仙桃市 429004 sits under 429000 省直辖县级行政区划.
        let t = table();
        assert_eq!(t.parent(&code("429004")), Some(code("429000")));
        assert!(t.contains(&code("420000"), &code("429004")));
    }

    #[test]
    fn city_without_counties_listed_twice_is_one_city_under_its_province() {
        let t = table();
        assert_eq!(t.parent(&code("441900")), Some(code("440000")));
        let dongguan = t.get(&code("441900")).unwrap();
        assert_eq!(
            (dongguan.level, dongguan.also_county),
            (DivisionLevel::City, true)
        );
        assert_eq!(
            t.ancestors(&code("441900")),
            vec![code("441900"), code("440000")]
        );
    }

    #[test]
    fn province_contains_its_cities_and_counties_but_not_others() {
        // R13.1
        let t = table();
        let table = [
            ("440000", "440300", true),
            ("440000", "440305", true),
            ("440300", "440305", true),
            ("440305", "440305", true),
            ("440300", "440000", false),
            ("110000", "440305", false),
            ("110000", "999999", false),
        ];
        for (ancestor, c, expected) in table {
            assert_eq!(
                t.contains(&code(ancestor), &code(c)),
                expected,
                "{ancestor} ⊇ {c}"
            );
        }
    }

    #[test]
    fn lowest_common_ancestor_of_two_cities_is_their_province() {
        let t = table();
        assert_eq!(
            t.lowest_common_ancestor(&[code("440300"), code("440100")]),
            Some(code("440000"))
        );
        assert_eq!(
            t.lowest_common_ancestor(&[code("440300"), code("110101")]),
            None
        );
    }

    #[test]
    fn csv_with_bad_level_names_the_line_and_column() {
        let err =
            Divisions::from_csv("code,name,level,parent_code\n110000,北京市,state,\n").unwrap_err();
        assert_eq!(
            err,
            DivisionsError::Level {
                line: 2,
                found: "state".into()
            }
        );
        let err = Divisions::from_csv("code,name,level,parent_code\n11000X,北京市,province,\n")
            .unwrap_err();
        assert!(err.message_zh().contains("第2行：code 无效"));
    }

    #[test]
    fn csv_listing_a_code_twice_is_refused_with_its_line() {
        let text = "code,name,level,parent_code\n110000,北京市,province,\n110000,北京,province,\n";
        let err = Divisions::from_csv(text).unwrap_err();
        assert_eq!(
            err,
            DivisionsError::Duplicate {
                line: 3,
                division: code("110000")
            }
        );
    }
}
