//! Inter-laboratory comparison 计量比对 scoring by the En number (R9.2).
//!
//! `En = |x − X_ref| / sqrt(U² + U_ref²)` with expanded uncertainties
//! (k = 2) of the participant (`U`) and the reference value (`U_ref`); the
//! result is satisfactory when `|En| ≤ 1`.

use serde::Serialize;

use super::{Lang, Message};

/// Why an En number cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ComparisonError {
    /// An uncertainty is negative.
    #[error("the {which} uncertainty {value} is negative")]
    NegativeUncertainty {
        /// `participant` or `reference`.
        which: &'static str,
        /// The value given.
        value: f64,
    },
    /// Both uncertainties are zero, so En is undefined.
    #[error("both uncertainties are zero, so En is undefined")]
    BothUncertaintiesZero,
    /// An input is NaN or infinite.
    #[error("the {which} is not a finite number")]
    NotFinite {
        /// Which input.
        which: &'static str,
    },
}

impl Message for ComparisonError {
    fn message(&self, lang: Lang) -> String {
        let zh_which = |w: &str| match w {
            "participant" => "参比实验室",
            "reference" => "参考值",
            "value" => "测量结果",
            "reference value" => "参考值",
            _ => "不确定度",
        };
        match (lang, self) {
            (Lang::En, _) => self.to_string(),
            (Lang::Zh, Self::NegativeUncertainty { which, value }) => {
                format!("{}的扩展不确定度 {value} 为负数", zh_which(which))
            }
            (Lang::Zh, Self::BothUncertaintiesZero) => {
                "参比实验室与参考值的扩展不确定度均为零，无法计算 En 值".to_string()
            }
            (Lang::Zh, Self::NotFinite { which }) => format!("{}不是有限数值", zh_which(which)),
        }
    }
}

/// R9.2: the verdict on one participant's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum EnVerdict {
    /// `|En| ≤ 1`.
    Satisfactory {
        /// The En number.
        en: f64,
    },
    /// `|En| > 1`.
    Unsatisfactory {
        /// The En number.
        en: f64,
    },
}

impl EnVerdict {
    /// The En number.
    pub fn en(&self) -> f64 {
        match self {
            Self::Satisfactory { en } | Self::Unsatisfactory { en } => *en,
        }
    }

    /// Whether the result is satisfactory.
    pub fn is_satisfactory(&self) -> bool {
        matches!(self, Self::Satisfactory { .. })
    }
}

impl Message for EnVerdict {
    fn message(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::Zh, Self::Satisfactory { en }) => {
                format!("En = {en:.2}，|En| ≤ 1，比对结果满意")
            }
            (Lang::En, Self::Satisfactory { en }) => {
                format!("En = {en:.2}, |En| ≤ 1: satisfactory")
            }
            (Lang::Zh, Self::Unsatisfactory { en }) => {
                format!("En = {en:.2}，|En| > 1，比对结果不满意")
            }
            (Lang::En, Self::Unsatisfactory { en }) => {
                format!("En = {en:.2}, |En| > 1: unsatisfactory")
            }
        }
    }
}

/// R9.2: scores a participant's value `x` with expanded uncertainty `u`
/// against the reference value `x_ref` with expanded uncertainty `u_ref`.
pub fn en_number(x: f64, u: f64, x_ref: f64, u_ref: f64) -> Result<EnVerdict, ComparisonError> {
    for (which, value) in [
        ("value", x),
        ("participant", u),
        ("reference value", x_ref),
        ("reference", u_ref),
    ] {
        if !value.is_finite() {
            return Err(ComparisonError::NotFinite { which });
        }
    }
    for (which, value) in [("participant", u), ("reference", u_ref)] {
        if value < 0.0 {
            return Err(ComparisonError::NegativeUncertainty { which, value });
        }
    }
    if u == 0.0 && u_ref == 0.0 {
        return Err(ComparisonError::BothUncertaintiesZero);
    }
    let en = (x - x_ref).abs() / u.hypot(u_ref);
    Ok(if en <= 1.0 {
        EnVerdict::Satisfactory { en }
    } else {
        EnVerdict::Unsatisfactory { en }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn en_numbers_are_scored_against_one() {
        // R9.2: (x, U, X_ref, U_ref, En, satisfactory); 3-4-5 triangles keep En exact.
        let table = [
            (10.3, 0.3, 10.0, 0.4, 0.6, true),
            (10.5, 0.3, 10.0, 0.4, 1.0, true),
            (9.0, 0.3, 10.0, 0.4, 2.0, false),
            (100.0, 0.0, 100.0, 0.1, 0.0, true),
        ];
        for (x, u, x_ref, u_ref, en, ok) in table {
            let verdict = en_number(x, u, x_ref, u_ref).unwrap();
            assert!((verdict.en() - en).abs() < 1e-9, "{x}: {}", verdict.en());
            assert_eq!(verdict.is_satisfactory(), ok, "{x}");
        }
    }

    #[test]
    fn verdict_renders_in_both_languages() {
        // R9.2
        let verdict = en_number(9.0, 0.3, 10.0, 0.4).unwrap();
        assert_eq!(verdict.message_zh(), "En = 2.00，|En| > 1，比对结果不满意");
        assert_eq!(verdict.message_en(), "En = 2.00, |En| > 1: unsatisfactory");
    }

    #[test]
    fn both_uncertainties_zero_is_an_error() {
        // R9.2
        assert_eq!(
            en_number(1.0, 0.0, 1.0, 0.0),
            Err(ComparisonError::BothUncertaintiesZero)
        );
    }

    #[test]
    fn negative_or_non_finite_inputs_are_errors() {
        // R9.2
        let err = en_number(1.0, -0.1, 1.0, 0.1).unwrap_err();
        assert_eq!(
            err,
            ComparisonError::NegativeUncertainty {
                which: "participant",
                value: -0.1
            }
        );
        assert_eq!(err.message_zh(), "参比实验室的扩展不确定度 -0.1 为负数");
        assert!(matches!(
            en_number(f64::NAN, 0.1, 1.0, 0.1),
            Err(ComparisonError::NotFinite { which: "value" })
        ));
    }
}
