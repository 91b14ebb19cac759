//! Technical specification codes 计量技术规范编号 (R7.4): `JJG 52-2013`,
//! `JJF 1069-2012`, `GB/T 19022-2003`, local `JJG(粤) 012-2019`.
//!
//! Parsing is forgiving about how people type: full-width letters, digits,
//! parentheses and hyphens, en/em dashes, missing or repeated spaces and
//! lowercase letters are normalized. The canonical form is
//! `FAMILY[(地)] NUMBER-YEAR`.
//!
//! Years: four digits, or two digits for codes issued before 2000 (e.g.
//! `JJG 52-87`), which are read as 19xx and rendered with four digits
//! (`JJG 52-1987`); Chinese standards switched to four-digit years in the
//! late 1990s, so a two-digit year is never 20xx.

use std::fmt;

use serde::{Serialize, Serializer};

use super::{normalize_width, Lang, Message};

/// Why a text is not a specification code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum SpecCodeError {
    /// Nothing given.
    #[error("the specification code is empty")]
    Empty,
    /// No letter family (JJG, JJF, GB/T …) at the start.
    #[error(
        "the specification code must start with letters such as JJG, JJF or GB/T, got {found:?}"
    )]
    Family {
        /// The text found.
        found: String,
    },
    /// The local marker in parentheses is empty, unclosed or not Chinese.
    #[error("the local marker {found:?} must be a Chinese short name in parentheses, e.g. (粤)")]
    Locality {
        /// The text found.
        found: String,
    },
    /// No number, or a malformed one.
    #[error("the specification number {found:?} must be digits, optionally with dotted parts")]
    Number {
        /// The text found.
        found: String,
    },
    /// No `-YEAR` after the number.
    #[error("the specification code lacks its year (e.g. -2013)")]
    MissingYear,
    /// The year is not 2 or 4 digits.
    #[error("the year {found:?} must have 4 digits (or 2 for codes before 2000)")]
    Year {
        /// The text found.
        found: String,
    },
    /// Something follows the year.
    #[error("unexpected text {found:?} after the year")]
    Trailing {
        /// The text found.
        found: String,
    },
}

impl Message for SpecCodeError {
    fn message(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::En, _) => self.to_string(),
            (Lang::Zh, Self::Empty) => "技术规范编号为空".to_string(),
            (Lang::Zh, Self::Family { found }) => {
                format!("技术规范编号应以 JJG、JJF、GB/T 等字母代号开头，实际为“{found}”")
            }
            (Lang::Zh, Self::Locality { found }) => {
                format!("地方规范标记“{found}”应为括号内的中文简称，如（粤）")
            }
            (Lang::Zh, Self::Number { found }) => {
                format!("技术规范顺序号“{found}”应为数字（可含分部编号）")
            }
            (Lang::Zh, Self::MissingYear) => "技术规范编号缺少年号（如 -2013）".to_string(),
            (Lang::Zh, Self::Year { found }) => {
                format!("年号“{found}”应为4位数字（2000年以前的编号可为2位）")
            }
            (Lang::Zh, Self::Trailing { found }) => format!("年号后有多余内容“{found}”"),
        }
    }
}

/// R7.4: a validated specification code.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SpecCode {
    family: String,
    locality: Option<String>,
    number: String,
    year: u16,
}

impl SpecCode {
    /// R7.4: parses and normalizes a specification code.
    pub fn parse(input: &str) -> Result<Self, SpecCodeError> {
        let text = normalize(input);
        if text.is_empty() {
            return Err(SpecCodeError::Empty);
        }
        let mut rest = text.as_str();

        // Family: letters, then optionally "/" and letters (GB/T, JB/T).
        let letters = |s: &str| s.chars().take_while(|c| c.is_ascii_uppercase()).count();
        let n = letters(rest);
        if n == 0 {
            return Err(SpecCodeError::Family {
                found: text.clone(),
            });
        }
        let mut family = rest[..n].to_string();
        rest = rest[n..].trim_start();
        if let Some(after) = rest.strip_prefix('/') {
            let after = after.trim_start();
            let m = letters(after);
            if m == 0 {
                return Err(SpecCodeError::Family {
                    found: format!("{family}/"),
                });
            }
            family = format!("{family}/{}", &after[..m]);
            rest = after[m..].trim_start();
        }

        // Locality: "(粤)".
        let mut locality = None;
        if let Some(after) = rest.strip_prefix('(') {
            let close = after.find(')').ok_or_else(|| SpecCodeError::Locality {
                found: format!("({after}"),
            })?;
            let name = after[..close].trim();
            if name.is_empty() || name.chars().any(|c| c.is_ascii() || c.is_whitespace()) {
                return Err(SpecCodeError::Locality {
                    found: format!("({name})"),
                });
            }
            locality = Some(name.to_string());
            rest = after[close + 1..].trim_start();
        }

        // Number: digits with optional dotted parts (GB/T 2828.1), up to "-".
        let end = rest.find('-').unwrap_or(rest.len());
        let number = rest[..end].trim();
        let well_formed = !number.is_empty()
            && number
                .split('.')
                .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()));
        if !well_formed {
            return Err(SpecCodeError::Number {
                found: number.to_string(),
            });
        }
        rest = &rest[end..];

        // Year.
        let after = rest
            .strip_prefix('-')
            .ok_or(SpecCodeError::MissingYear)?
            .trim_start();
        let ylen = after
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after.len());
        let digits = &after[..ylen];
        let year = match digits.len() {
            4 => digits.parse::<u16>().ok(),
            2 => digits.parse::<u16>().ok().map(|y| 1900 + y),
            _ => None,
        }
        .ok_or_else(|| SpecCodeError::Year {
            found: digits.to_string(),
        })?;
        let trailing = after[ylen..].trim();
        if !trailing.is_empty() {
            return Err(SpecCodeError::Trailing {
                found: trailing.to_string(),
            });
        }
        Ok(Self {
            family,
            locality,
            number: number.to_string(),
            year,
        })
    }

    /// The family, e.g. `JJG` or `GB/T`.
    pub fn family(&self) -> &str {
        &self.family
    }

    /// The local marker, e.g. `粤`, for local specifications.
    pub fn locality(&self) -> Option<&str> {
        self.locality.as_deref()
    }

    /// The number as written (leading zeros kept: `012`).
    pub fn number(&self) -> &str {
        &self.number
    }

    /// The four-digit year.
    pub fn year(&self) -> u16 {
        self.year
    }

    /// Whether both name the same specification, whatever the edition
    /// (year): `JJG 52-2013` and `JJG 52-1999` are the same specification.
    pub fn same_specification(&self, other: &SpecCode) -> bool {
        self.family == other.family
            && self.locality == other.locality
            && self.number == other.number
    }
}

impl fmt::Display for SpecCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.family)?;
        if let Some(locality) = &self.locality {
            write!(f, "({locality})")?;
        }
        write!(f, " {}-{}", self.number, self.year)
    }
}

impl Serialize for SpecCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Width-folds, maps dashes and CJK parentheses to ASCII, uppercases ASCII
/// letters and collapses whitespace.
fn normalize(input: &str) -> String {
    let folded: String = normalize_width(input)
        .chars()
        .map(|c| match c {
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' => '-',
            '\u{3014}' | '\u{FF08}' => '(',
            '\u{3015}' | '\u{FF09}' => ')',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_ways_of_writing_codes_normalize_to_the_canonical_form() {
        // R7.4: (input, canonical)
        let table = [
            ("JJG 52-2013", "JJG 52-2013"),
            ("JJF 1069-2012", "JJF 1069-2012"),
            ("GB/T 19022-2003", "GB/T 19022-2003"),
            ("GB 1234-2008", "GB 1234-2008"),
            ("JB/T 9329-1999", "JB/T 9329-1999"),
            ("JJG(粤) 012-2019", "JJG(粤) 012-2019"),
            ("JJG（京）38-2008", "JJG(京) 38-2008"),
            ("JJG52-2013", "JJG 52-2013"),
            ("  jjg   52 – 2013 ", "JJG 52-2013"),
            ("ＪＪＧ　５２－２０１３", "JJG 52-2013"),
            ("GB / T 2828.1-2012", "GB/T 2828.1-2012"),
            ("JJG 52-87", "JJG 52-1987"),
        ];
        for (input, canonical) in table {
            let parsed = SpecCode::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(parsed.to_string(), canonical, "{input}");
        }
    }

    #[test]
    fn canonical_form_parses_back_to_the_same_code() {
        // R7.4
        let code = SpecCode::parse("JJG（粤）012—2019").unwrap();
        assert_eq!(SpecCode::parse(&code.to_string()).unwrap(), code);
        assert_eq!(
            (code.family(), code.locality(), code.number(), code.year()),
            ("JJG", Some("粤"), "012", 2019)
        );
    }

    #[test]
    fn each_malformed_part_is_named() {
        // R7.4: (input, expected error)
        let table = [
            ("", SpecCodeError::Empty),
            (
                "52-2013",
                SpecCodeError::Family {
                    found: "52-2013".into(),
                },
            ),
            (
                "JJG() 52-2013",
                SpecCodeError::Locality { found: "()".into() },
            ),
            (
                "JJG(GD) 52-2013",
                SpecCodeError::Locality {
                    found: "(GD)".into(),
                },
            ),
            ("JJG -2013", SpecCodeError::Number { found: "".into() }),
            (
                "JJG 5a2-2013",
                SpecCodeError::Number {
                    found: "5A2".into(),
                },
            ),
            ("JJG 52", SpecCodeError::MissingYear),
            (
                "JJG 52-201",
                SpecCodeError::Year {
                    found: "201".into(),
                },
            ),
            (
                "JJG 52-2013 代替",
                SpecCodeError::Trailing {
                    found: "代替".into(),
                },
            ),
        ];
        for (input, expected) in table {
            assert_eq!(SpecCode::parse(input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn error_messages_render_in_both_languages() {
        let err = SpecCode::parse("JJG 52").unwrap_err();
        assert_eq!(err.message_zh(), "技术规范编号缺少年号（如 -2013）");
        assert_eq!(
            err.message_en(),
            "the specification code lacks its year (e.g. -2013)"
        );
    }

    #[test]
    fn editions_of_one_specification_are_the_same_specification() {
        let a = SpecCode::parse("JJG 52-2013").unwrap();
        let b = SpecCode::parse("JJG 52-1999").unwrap();
        let c = SpecCode::parse("JJG(粤) 52-2013").unwrap();
        assert!(a.same_specification(&b));
        assert!(!a.same_specification(&c));
    }
}
