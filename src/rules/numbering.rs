//! Authorization certificate numbers (R8.4): a policy pattern, the prefix
//! (国 for SAMR, the province's short name otherwise) and parsing a number
//! of the default pattern back into its parts.
//!
//! Pattern syntax: literal text with placeholders `{prefix}`, `{year}`,
//! `{seq}` and `{seq:0N}` (sequence zero-padded to N digits, 1 ≤ N ≤ 9);
//! `{{` and `}}` stand for literal braces. Any other placeholder is an
//! error.

use serde::Serialize;

use super::jurisdiction::RegulatorLevel;
use super::{normalize_width, DivisionCode, Lang, Message};

/// R8.4: the default pattern.
pub const DEFAULT_PATTERN: &str = "({prefix})法计({year}){seq:05}号";

/// R8.4: prefix used by SAMR.
pub const NATIONAL_PREFIX: &str = "国";

/// Province short names 简称 keyed by the two-digit GB/T 2260 prefix.
pub const PROVINCE_SHORT_NAMES: [(&str, &str); 31] = [
    ("11", "京"),
    ("12", "津"),
    ("13", "冀"),
    ("14", "晋"),
    ("15", "蒙"),
    ("21", "辽"),
    ("22", "吉"),
    ("23", "黑"),
    ("31", "沪"),
    ("32", "苏"),
    ("33", "浙"),
    ("34", "皖"),
    ("35", "闽"),
    ("36", "赣"),
    ("37", "鲁"),
    ("41", "豫"),
    ("42", "鄂"),
    ("43", "湘"),
    ("44", "粤"),
    ("45", "桂"),
    ("46", "琼"),
    ("50", "渝"),
    ("51", "川"),
    ("52", "黔"),
    ("53", "滇"),
    ("54", "藏"),
    ("61", "陕"),
    ("62", "甘"),
    ("63", "青"),
    ("64", "宁"),
    ("65", "新"),
];

/// R8.4: the short name of the province `code` belongs to.
pub fn province_short_name(code: &DivisionCode) -> Option<&'static str> {
    PROVINCE_SHORT_NAMES
        .iter()
        .find(|(prefix, _)| *prefix == code.province_prefix())
        .map(|(_, name)| *name)
}

/// R8.4: the certificate prefix for an issuing regulator: 国 for SAMR,
/// otherwise its province's short name (`None` if it has no known
/// province).
pub fn certificate_prefix(
    level: RegulatorLevel,
    division: Option<&DivisionCode>,
) -> Option<&'static str> {
    match level {
        RegulatorLevel::National => Some(NATIONAL_PREFIX),
        _ => division.and_then(province_short_name),
    }
}

/// A malformed pattern or certificate number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum NumberingError {
    /// A placeholder other than prefix, year, seq, seq:0N.
    #[error("unknown placeholder {{{name}}} in the certificate number pattern")]
    UnknownPlaceholder {
        /// Its name.
        name: String,
    },
    /// A `{` without `}` or a lone `}`.
    #[error("unbalanced brace at character {position} of the certificate number pattern")]
    UnbalancedBrace {
        /// 1-based character position.
        position: usize,
    },
    /// The pattern lacks `{seq}`, so numbers would repeat.
    #[error("the certificate number pattern has no {{seq}} placeholder")]
    MissingSequence,
    /// A number does not follow the default pattern; `part` says where.
    #[error("certificate number {number:?} does not match ({{prefix}})法计({{year}}){{seq}}号: bad {part}")]
    NumberShape {
        /// The number given.
        number: String,
        /// `prefix`, `year`, `seq` or `literal text`.
        part: &'static str,
    },
}

impl Message for NumberingError {
    fn message(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::En, _) => self.to_string(),
            (Lang::Zh, Self::UnknownPlaceholder { name }) => {
                format!("证书编号规则中有未知占位符 {{{name}}}")
            }
            (Lang::Zh, Self::UnbalancedBrace { position }) => {
                format!("证书编号规则第{position}个字符处括号不配对")
            }
            (Lang::Zh, Self::MissingSequence) => "证书编号规则缺少 {seq} 序号占位符".to_string(),
            (Lang::Zh, Self::NumberShape { number, part }) => {
                let part = match *part {
                    "prefix" => "前缀",
                    "year" => "年号",
                    "seq" => "序号",
                    _ => "固定文字",
                };
                format!("证书编号“{number}”不符合“(前缀)法计(年号)序号号”格式：{part}有误")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Prefix,
    Year,
    Seq { width: usize },
}

/// R8.4: a parsed certificate number pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberPattern {
    parts: Vec<Part>,
}

impl Default for NumberPattern {
    fn default() -> Self {
        Self::parse(DEFAULT_PATTERN).unwrap_or(Self {
            parts: vec![Part::Seq { width: 5 }],
        })
    }
}

impl NumberPattern {
    /// R8.4: parses a pattern; see the module doc for the syntax.
    pub fn parse(pattern: &str) -> Result<Self, NumberingError> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut i = 0;
        while i < chars.len() {
            match (chars[i], chars.get(i + 1)) {
                ('{', Some('{')) | ('}', Some('}')) => {
                    literal.push(chars[i]);
                    i += 2;
                }
                ('}', _) => return Err(NumberingError::UnbalancedBrace { position: i + 1 }),
                ('{', _) => {
                    let close = chars[i..]
                        .iter()
                        .position(|c| *c == '}')
                        .ok_or(NumberingError::UnbalancedBrace { position: i + 1 })?;
                    let name: String = chars[i + 1..i + close].iter().collect();
                    let part = match name.as_str() {
                        "prefix" => Part::Prefix,
                        "year" => Part::Year,
                        "seq" => Part::Seq { width: 0 },
                        other => match other.strip_prefix("seq:0").and_then(|w| w.parse().ok()) {
                            Some(width @ 1..=9) => Part::Seq { width },
                            _ => return Err(NumberingError::UnknownPlaceholder { name }),
                        },
                    };
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(part);
                    i += close + 1;
                }
                (c, _) => {
                    literal.push(c);
                    i += 1;
                }
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        if !parts.iter().any(|p| matches!(p, Part::Seq { .. })) {
            return Err(NumberingError::MissingSequence);
        }
        Ok(Self { parts })
    }

    /// R8.4: renders a certificate number.
    pub fn render(&self, prefix: &str, year: i32, seq: u32) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Literal(text) => text.clone(),
                Part::Prefix => prefix.to_string(),
                Part::Year => year.to_string(),
                Part::Seq { width } => format!("{seq:0width$}"),
            })
            .collect()
    }
}

/// R8.4: the parts of a certificate number of the default pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateNumber {
    /// 国 or a province short name.
    pub prefix: String,
    /// Four-digit year.
    pub year: i32,
    /// Sequence within the regulator and year.
    pub seq: u32,
}

impl CertificateNumber {
    /// R8.4: parses a number of [`DEFAULT_PATTERN`] (full-width parentheses
    /// and surrounding whitespace accepted). The prefix must be 国 or a
    /// province short name; the sequence has at least five digits.
    pub fn parse_default(number: &str) -> Result<Self, NumberingError> {
        let text = normalize_width(number.trim());
        let bad = |part| NumberingError::NumberShape {
            number: number.trim().to_string(),
            part,
        };
        let rest = text.strip_prefix('(').ok_or(bad("literal text"))?;
        let (prefix, rest) = rest.split_once(')').ok_or(bad("prefix"))?;
        let known =
            prefix == NATIONAL_PREFIX || PROVINCE_SHORT_NAMES.iter().any(|(_, n)| *n == prefix);
        if !known {
            return Err(bad("prefix"));
        }
        let rest = rest.strip_prefix("法计(").ok_or(bad("literal text"))?;
        let (year, rest) = rest.split_once(')').ok_or(bad("year"))?;
        if year.len() != 4 || !year.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad("year"));
        }
        let seq = rest.strip_suffix('号').ok_or(bad("literal text"))?;
        if seq.len() < 5 || !seq.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad("seq"));
        }
        Ok(Self {
            prefix: prefix.to_string(),
            year: year.parse().map_err(|_| bad("year"))?,
            seq: seq.parse().map_err(|_| bad("seq"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> DivisionCode {
        DivisionCode::parse(text).unwrap()
    }

    #[test]
    fn default_pattern_renders_samr_and_provincial_numbers() {
        // R8.4
        let pattern = NumberPattern::default();
        assert_eq!(pattern.render("国", 2025, 12), "(国)法计(2025)00012号");
        let prefix = certificate_prefix(RegulatorLevel::Municipal, Some(&code("440300"))).unwrap();
        assert_eq!(
            pattern.render(prefix, 2025, 123_456),
            "(粤)法计(2025)123456号"
        );
    }

    #[test]
    fn prefix_is_national_for_samr_and_the_province_short_name_otherwise() {
        // R8.4: (level, division, prefix)
        let table = [
            (RegulatorLevel::National, None, Some("国")),
            (RegulatorLevel::Provincial, Some("520000"), Some("黔")),
            (RegulatorLevel::County, Some("530102"), Some("滇")),
            (RegulatorLevel::Provincial, Some("110000"), Some("京")),
            (RegulatorLevel::Provincial, Some("710000"), None),
            (RegulatorLevel::Provincial, None, None),
        ];
        for (level, division, expected) in table {
            let division = division.map(code);
            assert_eq!(
                certificate_prefix(level, division.as_ref()),
                expected,
                "{division:?}"
            );
        }
    }

    #[test]
    fn custom_pattern_with_literal_braces_and_plain_seq_renders() {
        // R8.4
        let pattern = NumberPattern::parse("{{{prefix}}}-{year}-{seq}").unwrap();
        assert_eq!(pattern.render("沪", 2026, 7), "{沪}-2026-7");
    }

    #[test]
    fn unknown_placeholder_is_an_error() {
        // R8.4
        let err = NumberPattern::parse("({prefix})法计({yr}){seq:05}号").unwrap_err();
        assert_eq!(
            err,
            NumberingError::UnknownPlaceholder { name: "yr".into() }
        );
        assert_eq!(err.message_zh(), "证书编号规则中有未知占位符 {yr}");
        assert!(matches!(
            NumberPattern::parse("{seq:010}"),
            Err(NumberingError::UnknownPlaceholder { .. })
        ));
    }

    #[test]
    fn malformed_patterns_are_errors() {
        // R8.4
        assert_eq!(
            NumberPattern::parse("{prefix"),
            Err(NumberingError::UnbalancedBrace { position: 1 })
        );
        assert_eq!(
            NumberPattern::parse("a}b{seq}"),
            Err(NumberingError::UnbalancedBrace { position: 2 })
        );
        assert_eq!(
            NumberPattern::parse("({prefix})({year})"),
            Err(NumberingError::MissingSequence)
        );
    }

    #[test]
    fn default_number_parses_back_into_its_parts() {
        // R8.4
        let parsed = CertificateNumber::parse_default("（国）法计（2025）00012号").unwrap();
        assert_eq!(
            parsed,
            CertificateNumber {
                prefix: "国".into(),
                year: 2025,
                seq: 12
            }
        );
        let rendered = NumberPattern::default().render(&parsed.prefix, parsed.year, parsed.seq);
        assert_eq!(CertificateNumber::parse_default(&rendered).unwrap(), parsed);
    }

    #[test]
    fn malformed_numbers_name_the_bad_part() {
        // R8.4: (number, part)
        let table = [
            ("(台)法计(2025)00012号", "prefix"),
            ("(国)法计(25)00012号", "year"),
            ("(国)法计(2025)0012号", "seq"),
            ("(国)计(2025)00012号", "literal text"),
        ];
        for (number, part) in table {
            match CertificateNumber::parse_default(number) {
                Err(NumberingError::NumberShape { part: got, .. }) => {
                    assert_eq!(got, part, "{number}")
                }
                other => panic!("{number}: {other:?}"),
            }
        }
    }
}
