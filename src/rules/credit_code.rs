//! The unified social credit code 统一社会信用代码 (GB 32100-2015), for the
//! legal-personality condition R7.1.
//!
//! Layout of the 18 characters (1-based positions):
//! 1 registration authority, 2 organization type, 3–8 administrative
//! division (GB/T 2260), 9–17 organization code (GB 11714, its own check
//! digit at 17), 18 check character. Characters come from the alphabet
//! `0-9 A-H J-N P-R T-U W-Y` (no I, O, Z, S, V), valued 0–30 in that order.

use std::fmt;

use serde::{Serialize, Serializer};

use super::divisions::Divisions;
use super::{normalize_width, DivisionCode, Lang, Message};

/// The 31 characters of the code alphabet, in value order.
const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of positions 1–17 for the check character (3^(i-1) mod 31).
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
/// Weights of the eight body characters of a GB 11714 organization code.
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// The registration authorities of GB 32100-2015 Appendix A with the
/// organization-type codes each may use.
pub const AUTHORITIES: &[(char, &str, &str, &[char])] = &[
    (
        '1',
        "机构编制",
        "institutional staffing",
        &['1', '2', '3', '9'],
    ),
    ('2', "外交", "foreign affairs", &['1', '9']),
    (
        '3',
        "司法行政",
        "justice administration",
        &['1', '2', '3', '4', '5', '9'],
    ),
    ('4', "文化", "culture", &['1', '9']),
    ('5', "民政", "civil affairs", &['1', '2', '3', '9']),
    ('6', "旅游", "tourism", &['1', '2', '9']),
    ('7', "宗教", "religious affairs", &['1', '2', '9']),
    ('8', "工会", "trade unions", &['1', '9']),
    ('9', "工商", "industry and commerce", &['1', '2', '3']),
    (
        'A',
        "中央军委改革和编制办公室",
        "CMC reform and staffing office",
        &['1', '9'],
    ),
    ('N', "农业", "agriculture", &['1', '2', '3', '9']),
    ('Y', "其他", "other", &['1']),
];

/// Why a text is not a valid unified social credit code. Positions are
/// 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum CreditCodeError {
    /// Not 18 characters.
    #[error("a unified social credit code has 18 characters, got {length}")]
    Length {
        /// Characters found after normalization.
        length: usize,
    },
    /// A character outside the code alphabet.
    #[error(
        "character {position} ({found:?}) is not allowed (digits and A-H J-N P-R T-U W-Y only)"
    )]
    Character {
        /// 1-based position.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// Position 1 is no registration authority.
    #[error("character 1 ({found:?}) is not a registration authority code")]
    Authority {
        /// The character found.
        found: char,
    },
    /// Position 2 is not a type that authority uses.
    #[error("character 2 ({found:?}) is not an organization type of authority {authority:?}")]
    OrgType {
        /// The authority at position 1.
        authority: char,
        /// The character found.
        found: char,
    },
    /// Positions 3–8 are not six digits.
    #[error("characters 3-8 ({found}) are not a 6-digit division code")]
    DivisionFormat {
        /// The six characters found.
        found: String,
    },
    /// Positions 3–8 are digits but not in the division table.
    #[error("characters 3-8 ({division}) are not a known administrative division")]
    DivisionUnknown {
        /// The division code.
        division: DivisionCode,
    },
    /// The organization code's own check digit (position 17) is wrong.
    #[error("organization code (characters 9-17) check digit is {found:?}, expected {expected:?}")]
    OrgCodeCheck {
        /// The check digit the body implies.
        expected: char,
        /// The check digit found.
        found: char,
    },
    /// The check character (position 18) is wrong.
    #[error("check character (18) is {found:?}, expected {expected:?}")]
    CheckCharacter {
        /// The check character the first 17 imply.
        expected: char,
        /// The check character found.
        found: char,
    },
}

impl Message for CreditCodeError {
    fn message(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::En, _) => self.to_string(),
            (Lang::Zh, Self::Length { length }) => {
                format!("统一社会信用代码应为18位，实际为{length}位")
            }
            (Lang::Zh, Self::Character { position, found }) => {
                format!("第{position}位字符“{found}”不允许（只能是数字和除 I、O、Z、S、V 外的大写字母）")
            }
            (Lang::Zh, Self::Authority { found }) => {
                format!("第1位“{found}”不是登记管理部门代码")
            }
            (Lang::Zh, Self::OrgType { authority, found }) => {
                format!("第2位“{found}”不是登记管理部门“{authority}”的机构类别代码")
            }
            (Lang::Zh, Self::DivisionFormat { found }) => {
                format!("第3–8位“{found}”不是6位行政区划代码")
            }
            (Lang::Zh, Self::DivisionUnknown { division }) => {
                format!("第3–8位“{division}”不是有效的行政区划代码")
            }
            (Lang::Zh, Self::OrgCodeCheck { expected, found }) => {
                format!("组织机构代码（第9–17位）校验码为“{found}”，应为“{expected}”")
            }
            (Lang::Zh, Self::CheckCharacter { expected, found }) => {
                format!("第18位校验码为“{found}”，应为“{expected}”")
            }
        }
    }
}

/// R7.1: a validated unified social credit code, stored uppercase.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CreditCode {
    text: String,
    division: DivisionCode,
}

impl CreditCode {
    /// R7.1: parses a code. Accepts surrounding whitespace, lowercase and
    /// full-width characters (normalized to uppercase ASCII) and checks the
    /// alphabet, authority, type, division format, the organization code
    /// check digit and the check character, in that order.
    pub fn parse(input: &str) -> Result<Self, CreditCodeError> {
        let text: String = normalize_width(input.trim()).to_ascii_uppercase();
        let chars: Vec<char> = text.chars().collect();
        if chars.len() != 18 {
            return Err(CreditCodeError::Length {
                length: chars.len(),
            });
        }
        let values = chars
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                value_of(c).ok_or(CreditCodeError::Character {
                    position: i + 1,
                    found: c,
                })
            })
            .collect::<Result<Vec<u32>, _>>()?;
        let types = AUTHORITIES
            .iter()
            .find(|(a, ..)| *a == chars[0])
            .map(|(.., types)| *types)
            .ok_or(CreditCodeError::Authority { found: chars[0] })?;
        if !types.contains(&chars[1]) {
            return Err(CreditCodeError::OrgType {
                authority: chars[0],
                found: chars[1],
            });
        }
        let division: String = chars[2..8].iter().collect();
        let division = DivisionCode::parse(&division)
            .map_err(|_| CreditCodeError::DivisionFormat { found: division })?;
        let expected = org_code_check(&chars[8..16]);
        if chars[16] != expected {
            return Err(CreditCodeError::OrgCodeCheck {
                expected,
                found: chars[16],
            });
        }
        let expected = check_character(&values[..17]);
        if chars[17] != expected {
            return Err(CreditCodeError::CheckCharacter {
                expected,
                found: chars[17],
            });
        }
        Ok(Self { text, division })
    }

    /// R7.1: like [`CreditCode::parse`], and also requires positions 3–8 to
    /// be a division in `divisions`.
    pub fn parse_with_divisions(
        input: &str,
        divisions: &Divisions,
    ) -> Result<Self, CreditCodeError> {
        let code = Self::parse(input)?;
        let division = code.division();
        if divisions.get(&division).is_none() {
            return Err(CreditCodeError::DivisionUnknown { division });
        }
        Ok(code)
    }

    /// The code text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Position 1: registration authority.
    pub fn authority(&self) -> char {
        self.text.as_bytes()[0] as char
    }

    /// Position 2: organization type.
    pub fn org_type(&self) -> char {
        self.text.as_bytes()[1] as char
    }

    /// Positions 3–8: the registering administrative division.
    pub fn division(&self) -> DivisionCode {
        self.division
    }

    /// Positions 9–17: the GB 11714 organization code.
    pub fn org_code(&self) -> &str {
        &self.text[8..17]
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for CreditCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

/// R7.1 for generated test data (`jiliang seed-scale`): the code with
/// authority `9`, type `1` (an enterprise), `division` and the digits of
/// `serial` as the organization code, both check characters computed.
pub fn generated(division: &str, serial: u32) -> Option<String> {
    let body: Vec<char> = format!("{serial:08}").chars().collect();
    if body.len() != 8 || division.len() != 6 {
        return None;
    }
    let mut text = format!("91{division}{}", body.iter().collect::<String>());
    text.push(org_code_check(&body));
    let values: Vec<u32> = text.chars().map(value_of).collect::<Option<_>>()?;
    text.push(check_character(&values));
    Some(text)
}

fn value_of(c: char) -> Option<u32> {
    ALPHABET.find(c).map(|i| i as u32)
}

/// Check character: 31 − (Σ value·weight mod 31), with 31 written as `0`.
fn check_character(values: &[u32]) -> char {
    let sum: u32 = values.iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
    let check = (31 - sum % 31) % 31;
    ALPHABET.chars().nth(check as usize).unwrap_or('0')
}

/// GB 11714 check digit: 11 − (Σ value·weight mod 11), 10 → `X`, 11 → `0`;
/// digits are worth themselves and letters A=10 … Z=35.
fn org_code_check(body: &[char]) -> char {
    let sum: u32 = body
        .iter()
        .zip(ORG_WEIGHTS)
        .map(|(c, w)| c.to_digit(36).unwrap_or(0) * w)
        .sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        n => char::from_digit(n, 10).unwrap_or('0'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_parse_r7_1() {
        for serial in [0, 1, 42, 12_345_678, 99_999_999] {
            let code = generated("440106", serial).expect("eight digits");
            let parsed = CreditCode::parse(&code).expect("valid");
            assert_eq!(parsed.division().as_str(), "440106");
        }
        assert_eq!(generated("440106", 100_000_000), None);
    }

    #[test]
    fn real_codes_with_correct_checks_are_accepted() {
        // R7.1: each verified by hand or with an independent script.
        // 91350100M000100Y43: values 9,1,3,5,0,1,0,0,M=21,0,0,0,1,0,0,Y=30,4;
        // Σ value·weight = 9+3+27+135+26+420+8+900+112 = 1640; 1640 mod 31 = 28;
        // 31 − 28 = 3 → '3'. Org code M000100Y: 22·3+1·5+34·2 = 139;
        // 139 mod 11 = 7; 11 − 7 = 4 → '4'.
        for code in [
            "91350100M000100Y43",
            "91110108551385082Q",
            "91440300708461136T",
        ] {
            assert_eq!(CreditCode::parse(code).unwrap().as_str(), code);
        }
    }

    #[test]
    fn code_with_one_wrong_check_character_names_the_expected_one() {
        // R7.1
        let err = CreditCode::parse("91350100M000100Y44").unwrap_err();
        assert_eq!(
            err,
            CreditCodeError::CheckCharacter {
                expected: '3',
                found: '4'
            }
        );
        assert_eq!(err.message_zh(), "第18位校验码为“4”，应为“3”");
        assert_eq!(
            err.message_en(),
            "check character (18) is '4', expected '3'"
        );
    }

    #[test]
    fn whitespace_lowercase_and_full_width_are_normalized() {
        // R7.1
        let parsed = CreditCode::parse("  ９１３５０１００m000100y43 ").unwrap();
        assert_eq!(parsed.to_string(), "91350100M000100Y43");
    }

    #[test]
    fn parts_are_exposed() {
        let c = CreditCode::parse("91350100M000100Y43").unwrap();
        assert_eq!((c.authority(), c.org_type()), ('9', '1'));
        assert_eq!(c.division().as_str(), "350100");
        assert_eq!(c.org_code(), "M000100Y4");
    }

    #[test]
    fn each_malformed_part_is_named() {
        // R7.1: table of (input, expected error).
        let table = [
            ("9135010", CreditCodeError::Length { length: 7 }),
            (
                "91350100M000100I43",
                CreditCodeError::Character {
                    position: 16,
                    found: 'I',
                },
            ),
            (
                "B1350100M000100Y43",
                CreditCodeError::Authority { found: 'B' },
            ),
            (
                "94350100M000100Y43",
                CreditCodeError::OrgType {
                    authority: '9',
                    found: '4',
                },
            ),
            (
                "9135A100M000100Y43",
                CreditCodeError::DivisionFormat {
                    found: "35A100".into(),
                },
            ),
            (
                "91350100M000100Y53",
                CreditCodeError::OrgCodeCheck {
                    expected: '4',
                    found: '5',
                },
            ),
        ];
        for (input, expected) in table {
            assert_eq!(CreditCode::parse(input), Err(expected), "{input}");
        }
    }

    #[test]
    fn division_is_checked_against_the_table_when_given() {
        // R7.1: 350100 福州市 exists; a table without it refuses.
        let full = Divisions::from_csv(include_str!("../../reference/cn_divisions.csv")).unwrap();
        assert!(CreditCode::parse_with_divisions("91350100M000100Y43", &full).is_ok());
        let empty = Divisions::default();
        assert_eq!(
            CreditCode::parse_with_divisions("91350100M000100Y43", &empty),
            Err(CreditCodeError::DivisionUnknown {
                division: DivisionCode::parse("350100").unwrap()
            })
        );
    }
}
