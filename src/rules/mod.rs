//! Pure rules of 《专业计量站管理办法》 (SAMR Order 93), Articles 6–18.
//!
//! This module owns every decision the regulation makes, as pure functions
//! over plain data: callers pass "today", the holiday calendar and the
//! division table in; nothing here touches the database, the network, the
//! environment or the system clock. Every verdict carries machine-readable
//! reasons (enums serialized with a snake_case `code` tag) that render in
//! Chinese and English through [`Message`].
//!
//! This file holds what the topic files share: [`Lang`], [`Message`],
//! [`Verdict`], the [`DivisionCode`] newtype and text normalization.

pub mod calendar;
pub mod comparison;
pub mod conditions;
pub mod cooperation;
pub mod credit_code;
pub mod deadlines;
pub mod divisions;
pub mod draw;
pub mod jurisdiction;
pub mod measure;
pub mod numbering;
pub mod records;
pub mod reminders;
pub mod scope;
pub mod settlement;
pub mod spec_code;
pub mod standards;
pub mod termination;

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Language a reason or error is rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    /// Simplified Chinese (the default UI language).
    #[default]
    Zh,
    /// English.
    En,
}

/// Anything a person reads: a reason, a status or a parse error.
pub trait Message {
    /// Renders the message in `lang`.
    fn message(&self, lang: Lang) -> String;

    /// Renders the message in Simplified Chinese.
    fn message_zh(&self) -> String {
        self.message(Lang::Zh)
    }

    /// Renders the message in English.
    fn message_en(&self) -> String {
        self.message(Lang::En)
    }
}

/// An allow/refuse decision with the reasons for it.
///
/// Used where a rule answers "may this happen?"; both outcomes explain
/// themselves, so a caller never holds a bare `bool`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Verdict<R> {
    /// The action is allowed, for these reasons.
    Allowed {
        /// Why it is allowed.
        reasons: Vec<R>,
    },
    /// The action is refused, for these reasons.
    Refused {
        /// Why it is refused.
        reasons: Vec<R>,
    },
}

impl<R> Verdict<R> {
    /// Whether the outcome is [`Verdict::Allowed`].
    pub fn is_allowed(&self) -> bool {
        matches!(self, Verdict::Allowed { .. })
    }

    /// The reasons, whichever the outcome.
    pub fn reasons(&self) -> &[R] {
        match self {
            Verdict::Allowed { reasons } | Verdict::Refused { reasons } => reasons,
        }
    }
}

/// An administrative division code under GB/T 2260: exactly six ASCII digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DivisionCode([u8; 6]);

/// Why a text is not a [`DivisionCode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum DivisionCodeError {
    /// Not exactly six characters.
    #[error("division code must have 6 digits, got {length} characters: {input:?}")]
    Length {
        /// The text after trimming.
        input: String,
        /// Its length in characters.
        length: usize,
    },
    /// A character other than an ASCII digit.
    #[error("division code character {position} is {found:?}, expected a digit")]
    NotDigit {
        /// 1-based position.
        position: usize,
        /// The offending character.
        found: char,
    },
}

impl Message for DivisionCodeError {
    fn message(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::En, _) => self.to_string(),
            (Lang::Zh, Self::Length { input, length }) => {
                format!("行政区划代码应为6位数字，“{input}”为{length}个字符")
            }
            (Lang::Zh, Self::NotDigit { position, found }) => {
                format!("行政区划代码第{position}位“{found}”不是数字")
            }
        }
    }
}

impl DivisionCode {
    /// Parses six digits (surrounding whitespace and full-width digits allowed).
    pub fn parse(input: &str) -> Result<Self, DivisionCodeError> {
        let text = normalize_width(input.trim());
        let chars: Vec<char> = text.chars().collect();
        if chars.len() != 6 {
            return Err(DivisionCodeError::Length {
                input: text.clone(),
                length: chars.len(),
            });
        }
        let mut out = [0u8; 6];
        for (i, c) in chars.iter().enumerate() {
            if !c.is_ascii_digit() {
                return Err(DivisionCodeError::NotDigit {
                    position: i + 1,
                    found: *c,
                });
            }
            out[i] = *c as u8;
        }
        Ok(Self(out))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("000000")
    }

    /// The two-digit province prefix, e.g. `44` for `441900`.
    pub fn province_prefix(&self) -> &str {
        &self.as_str()[..2]
    }

    /// The province-level code by prefix, e.g. `440000` for `441900`.
    ///
    /// This is prefix arithmetic; prefer [`divisions::Divisions::ancestors`],
    /// which follows the data.
    pub fn province_code(&self) -> DivisionCode {
        let mut out = *b"000000";
        out[..2].copy_from_slice(&self.0[..2]);
        DivisionCode(out)
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DivisionCode {
    type Err = DivisionCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for DivisionCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for DivisionCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DivisionCode::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Folds full-width ASCII forms (U+FF01–U+FF5E) to ASCII and the ideographic
/// space to a plain space; other characters pass through unchanged.
pub fn normalize_width(input: &str) -> String {
    input
        .chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Normalizes a free-text item or instrument name for comparison: width
/// folded, whitespace removed, ASCII lowercased.
pub fn normalize_name(input: &str) -> String {
    normalize_width(input)
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Whether two names are the same after [`normalize_name`], compared
/// without allocating (the whole-chain check compares names per record).
pub fn same_name(a: &str, b: &str) -> bool {
    fn chars(s: &str) -> impl Iterator<Item = char> + '_ {
        s.chars()
            .map(|c| match c {
                '\u{3000}' => ' ',
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                _ => c,
            })
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_lowercase())
    }
    a == b || chars(a).eq(chars(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_name_agrees_with_normalize_name() {
        for (a, b) in [
            ("电能表", "电能表"),
            ("电能表", " 电能 表"),
            ("ＡＢＣ表", "abc表"),
            ("电能表", "电能表（9）"),
            ("", " "),
            ("压力表", "电能表"),
        ] {
            assert_eq!(
                same_name(a, b),
                normalize_name(a) == normalize_name(b),
                "{a} {b}"
            );
        }
    }

    /// Every file of the rules module, read at compile time.
    const FILES: &[(&str, &str)] = &[
        ("mod.rs", include_str!("mod.rs")),
        ("calendar.rs", include_str!("calendar.rs")),
        ("comparison.rs", include_str!("comparison.rs")),
        ("conditions.rs", include_str!("conditions.rs")),
        ("cooperation.rs", include_str!("cooperation.rs")),
        ("credit_code.rs", include_str!("credit_code.rs")),
        ("deadlines.rs", include_str!("deadlines.rs")),
        ("divisions.rs", include_str!("divisions.rs")),
        ("draw.rs", include_str!("draw.rs")),
        ("jurisdiction.rs", include_str!("jurisdiction.rs")),
        ("measure.rs", include_str!("measure.rs")),
        ("numbering.rs", include_str!("numbering.rs")),
        ("records.rs", include_str!("records.rs")),
        ("scope.rs", include_str!("scope.rs")),
        ("spec_code.rs", include_str!("spec_code.rs")),
        ("standards.rs", include_str!("standards.rs")),
        ("termination.rs", include_str!("termination.rs")),
    ];

    #[test]
    fn rules_files_never_mention_io_crates_or_the_clock() {
        let forbidden = [
            concat!("sq", "lx::"),
            concat!("ax", "um::"),
            concat!("to", "kio::"),
            concat!("Utc", "::now"),
            concat!("Local", "::now"),
            concat!("SystemTime", "::now"),
            concat!("use ", "sqlx"),
            concat!("use ", "axum"),
            concat!("use ", "tokio"),
            concat!("use ", "reqwest"),
            concat!("std::", "env"),
            concat!("std::", "fs"),
        ];
        for (name, text) in FILES {
            for word in forbidden {
                assert!(!text.contains(word), "{name} contains {word}");
            }
        }
    }

    #[test]
    fn every_rules_file_has_a_module_doc_and_keeps_tests_last() {
        for (name, text) in FILES {
            assert!(text.starts_with("//!"), "{name} lacks a //! module doc");
            let marker = concat!("#[cfg", "(test)]");
            let first = text.find(marker).expect("a test module");
            assert!(
                !text[first..].contains("\npub fn "),
                "{name} has public code after its tests"
            );
        }
    }

    #[test]
    fn division_code_accepts_six_digits_with_whitespace_and_full_width() {
        assert_eq!(DivisionCode::parse(" 110101 ").unwrap().as_str(), "110101");
        assert_eq!(
            DivisionCode::parse("４４１９００").unwrap().as_str(),
            "441900"
        );
    }

    #[test]
    fn division_code_rejects_wrong_length_and_letters() {
        assert!(matches!(
            DivisionCode::parse("11010"),
            Err(DivisionCodeError::Length { length: 5, .. })
        ));
        let err = DivisionCode::parse("11A101").unwrap_err();
        assert_eq!(
            err,
            DivisionCodeError::NotDigit {
                position: 3,
                found: 'A'
            }
        );
        assert_eq!(err.message_zh(), "行政区划代码第3位“A”不是数字");
    }

    #[test]
    fn division_code_province_prefix_and_code_come_from_the_first_two_digits() {
        let code = DivisionCode::parse("441900").unwrap();
        assert_eq!(code.province_prefix(), "44");
        assert_eq!(code.province_code().as_str(), "440000");
    }

    #[test]
    fn normalize_width_folds_full_width_forms_and_ideographic_space() {
        assert_eq!(normalize_width("ＪＪＧ（京）\u{3000}３８"), "JJG(京) 38");
    }

    #[test]
    fn verdict_reports_its_outcome_and_reasons() {
        let allowed: Verdict<u8> = Verdict::Allowed { reasons: vec![1] };
        let refused: Verdict<u8> = Verdict::Refused { reasons: vec![2] };
        assert!(allowed.is_allowed());
        assert!(!refused.is_allowed());
        assert_eq!(refused.reasons(), &[2]);
    }
}
