//! Quantities, units, measurement ranges and accuracy statements, as used
//! by R7.2 (standard covers item), R13.1 and R16.7 (work inside the
//! authorized range).
//!
//! Values are exact rationals ([`Value`]), not floats, so that converting a
//! range to another unit of the same kind never changes whether it covers or
//! overlaps another range. Every unit converts affinely to the base unit of
//! its [`QuantityKind`]: `base = value × scale + offset` (the offset is only
//! non-zero for ℃ → K).
//!
//! Range text is parsed as people write it: `0~100 MPa`, `(0~100)MPa`,
//! `（0～100）MPa`, `-40℃~150℃`, `(-40~150)°C`, `0-10 kPa`, `0 ~ 600 kPa`.
//! A `-` is a separator only when it follows a number or unit; a `-` at the
//! start or right after a separator is a minus sign.

use std::cmp::Ordering;
use std::fmt;

use serde::{Serialize, Serializer};

use super::{normalize_width, Lang, Message};

/// Errors of unit conversion, range and accuracy parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum MeasureError {
    /// The two units measure different kinds of quantity.
    #[error("cannot compare {left} with {right}: different kinds of quantity")]
    IncompatibleUnits {
        /// Unit of the first range.
        left: Unit,
        /// Unit of the second range.
        right: Unit,
    },
    /// A unit symbol that is not in the table.
    #[error("unknown unit {found:?}")]
    UnknownUnit {
        /// The text found.
        found: String,
    },
    /// No unit given.
    #[error("the range {found:?} has no unit")]
    MissingUnit {
        /// The range text.
        found: String,
    },
    /// The bounds carry different units.
    #[error("the bounds of {found:?} carry different units")]
    MixedUnits {
        /// The range text.
        found: String,
    },
    /// A number could not be read.
    #[error("{found:?} is not a number")]
    Number {
        /// The text found.
        found: String,
    },
    /// The text is not `lower~upper unit`.
    #[error("{found:?} is not a range like 0~100 MPa")]
    Shape {
        /// The text found.
        found: String,
    },
    /// The lower bound exceeds the upper bound.
    #[error("the lower bound of {found:?} exceeds the upper bound")]
    Reversed {
        /// The range text.
        found: String,
    },
    /// The text is not an accuracy class, MPE or uncertainty.
    #[error(
        "{found:?} is not an accuracy class (0.05级), MPE (±0.1%) or uncertainty (U=0.2℃, k=2)"
    )]
    Accuracy {
        /// The text found.
        found: String,
    },
    /// Exact arithmetic overflowed (absurdly many digits).
    #[error("a value has too many digits to compute with exactly")]
    Overflow,
}

impl Message for MeasureError {
    fn message(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::En, _) => self.to_string(),
            (Lang::Zh, Self::IncompatibleUnits { left, right }) => {
                format!("{left} 与 {right} 不是同一种量，无法比较")
            }
            (Lang::Zh, Self::UnknownUnit { found }) => format!("未知的计量单位“{found}”"),
            (Lang::Zh, Self::MissingUnit { found }) => format!("测量范围“{found}”缺少单位"),
            (Lang::Zh, Self::MixedUnits { found }) => {
                format!("测量范围“{found}”上下限单位不一致")
            }
            (Lang::Zh, Self::Number { found }) => format!("“{found}”不是数值"),
            (Lang::Zh, Self::Shape { found }) => {
                format!("“{found}”不是“下限~上限 单位”形式的测量范围，如 0~100 MPa")
            }
            (Lang::Zh, Self::Reversed { found }) => format!("测量范围“{found}”下限大于上限"),
            (Lang::Zh, Self::Accuracy { found }) => format!(
                "“{found}”不是准确度等级（0.05级）、最大允许误差（±0.1%）或不确定度（U=0.2℃, k=2）"
            ),
            (Lang::Zh, Self::Overflow) => "数值位数过多，无法精确计算".to_string(),
        }
    }
}

/// An exact rational number `num / den` (`den > 0`, reduced).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Value {
    num: i128,
    den: i128,
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

impl Value {
    /// Zero.
    pub const ZERO: Value = Value { num: 0, den: 1 };

    /// `num / den`, reduced; `None` if `den` is zero.
    pub fn ratio(num: i128, den: i128) -> Option<Self> {
        if den == 0 {
            return None;
        }
        let g = gcd(num, den);
        let sign = den.signum();
        Some(Self {
            num: sign * num / g,
            den: sign * den / g,
        })
    }

    /// An integer.
    pub fn int(n: i64) -> Self {
        Self {
            num: n.into(),
            den: 1,
        }
    }

    /// Parses a plain decimal (`-40`, `0.05`, `+1.5`, `.5`, `−3` with a
    /// Unicode minus). No exponents.
    pub fn parse(input: &str) -> Result<Self, MeasureError> {
        let bad = || MeasureError::Number {
            found: input.to_string(),
        };
        let text = input.trim();
        let (negative, digits) = match text.chars().next() {
            Some('-' | '\u{2212}') => {
                (true, &text[text.chars().next().map_or(0, char::len_utf8)..])
            }
            Some('+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if int_part.len() + frac_part.len() == 0 || !all_digits(int_part) || !all_digits(frac_part)
        {
            return Err(bad());
        }
        if int_part.len() + frac_part.len() > 30 {
            return Err(MeasureError::Overflow);
        }
        let mut num: i128 = 0;
        for c in int_part.chars().chain(frac_part.chars()) {
            num = num * 10 + i128::from(c.to_digit(10).unwrap_or(0));
        }
        let den = 10i128.pow(frac_part.len() as u32);
        Self::ratio(if negative { -num } else { num }, den).ok_or_else(bad)
    }

    /// `self + other`.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        let num = self
            .num
            .checked_mul(other.den)?
            .checked_add(other.num.checked_mul(self.den)?)?;
        Self::ratio(num, self.den.checked_mul(other.den)?)
    }

    /// `self × other`.
    pub fn checked_mul(self, other: Self) -> Option<Self> {
        let g1 = gcd(self.num, other.den);
        let g2 = gcd(other.num, self.den);
        Self::ratio(
            (self.num / g1).checked_mul(other.num / g2)?,
            (self.den / g2).checked_mul(other.den / g1)?,
        )
    }

    /// `self / other`; `None` when `other` is zero.
    pub fn checked_div(self, other: Self) -> Option<Self> {
        if other.num == 0 {
            return None;
        }
        self.checked_mul(Self {
            num: other.den * other.num.signum(),
            den: other.num.abs(),
        })
    }

    /// Exact comparison; `None` on overflow.
    pub fn checked_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(
            self.num
                .checked_mul(other.den)?
                .cmp(&other.num.checked_mul(self.den)?),
        )
    }

    /// Nearest `f64`.
    pub fn to_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

impl std::ops::Neg for Value {
    type Output = Value;

    fn neg(self) -> Value {
        Value {
            num: -self.num,
            den: self.den,
        }
    }
}

impl fmt::Display for Value {
    /// Exact decimal when the denominator divides a power of ten (always so
    /// for parsed values), otherwise the nearest `f64`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A reduced fraction has a finite decimal expansion iff its
        // denominator is 2^a·5^b; it then has max(a, b) decimal places.
        let (mut rest, mut twos, mut fives) = (self.den, 0u32, 0u32);
        while rest % 2 == 0 {
            rest /= 2;
            twos += 1;
        }
        while rest % 5 == 0 {
            rest /= 5;
            fives += 1;
        }
        let places = twos.max(fives);
        let scaled = 10i128
            .checked_pow(places)
            .and_then(|p| self.num.checked_mul(p / self.den));
        let (Some(num), 1) = (scaled, rest) else {
            return write!(f, "{}", self.to_f64());
        };
        let sign = if num < 0 { "-" } else { "" };
        let unit = 10u128.pow(places);
        let (int, frac) = (num.unsigned_abs() / unit, num.unsigned_abs() % unit);
        if places == 0 {
            write!(f, "{sign}{int}")
        } else {
            write!(f, "{sign}{int}.{frac:0width$}", width = places as usize)
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The kind of quantity a unit measures; ranges compare only within a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuantityKind {
    /// Pressure, base Pa.
    Pressure,
    /// Temperature, base K.
    Temperature,
    /// Volume flow, base m³/s.
    VolumeFlow,
    /// Mass flow, base kg/s.
    MassFlow,
    /// Mass, base kg.
    Mass,
    /// Length, base m.
    Length,
    /// Voltage, base V.
    Voltage,
    /// Current, base A.
    Current,
    /// Resistance, base Ω.
    Resistance,
    /// Power, base W.
    Power,
}

macro_rules! units {
    ($( $variant:ident => $symbol:literal, $kind:ident, ($num:literal, $den:literal), [$($alias:literal),*]; )*) => {
        /// A unit of measurement with its conversion to the base unit.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Unit {
            $(
                #[doc = $symbol]
                $variant,
            )*
        }

        impl Unit {
            /// Every unit in the table.
            pub const ALL: &'static [Unit] = &[$(Unit::$variant),*];

            /// The canonical symbol.
            pub fn symbol(self) -> &'static str {
                match self { $(Unit::$variant => $symbol,)* }
            }

            /// The kind of quantity.
            pub fn kind(self) -> QuantityKind {
                match self { $(Unit::$variant => QuantityKind::$kind,)* }
            }

            /// Multiplier to the base unit.
            fn scale(self) -> Value {
                let (num, den): (i128, i128) = match self { $(Unit::$variant => ($num, $den),)* };
                Value::ratio(num, den).unwrap_or(Value::ZERO)
            }

            fn aliases(self) -> &'static [&'static str] {
                match self { $(Unit::$variant => &[$($alias),*],)* }
            }
        }
    };
}

units! {
    Pa => "Pa", Pressure, (1, 1), [];
    HPa => "hPa", Pressure, (100, 1), [];
    KPa => "kPa", Pressure, (1_000, 1), ["KPa", "kpa"];
    MPa => "MPa", Pressure, (1_000_000, 1), ["Mpa", "mpa"];
    Bar => "bar", Pressure, (100_000, 1), [];
    MBar => "mbar", Pressure, (100, 1), [];
    MmHg => "mmHg", Pressure, (133_322_387_415, 1_000_000_000), [];
    // psi is irrational in decimal terms; 6894.757293168 Pa is exact to 1e-9.
    Psi => "psi", Pressure, (6_894_757_293_168, 1_000_000_000), [];
    Celsius => "℃", Temperature, (1, 1), ["°C", "ºC", "oC"];
    Kelvin => "K", Temperature, (1, 1), [];
    CubicMetrePerSecond => "m³/s", VolumeFlow, (1, 1), ["m3/s", "m^3/s"];
    CubicMetrePerHour => "m³/h", VolumeFlow, (1, 3_600), ["m3/h", "m^3/h"];
    LitrePerMinute => "L/min", VolumeFlow, (1, 60_000), ["l/min"];
    LitrePerHour => "L/h", VolumeFlow, (1, 3_600_000), ["l/h"];
    MillilitrePerMinute => "mL/min", VolumeFlow, (1, 60_000_000), ["ml/min"];
    KilogramPerSecond => "kg/s", MassFlow, (1, 1), [];
    KilogramPerHour => "kg/h", MassFlow, (1, 3_600), [];
    TonnePerHour => "t/h", MassFlow, (1_000, 3_600), [];
    Milligram => "mg", Mass, (1, 1_000_000), [];
    Gram => "g", Mass, (1, 1_000), [];
    Kilogram => "kg", Mass, (1, 1), [];
    Tonne => "t", Mass, (1_000, 1), [];
    Micrometre => "μm", Length, (1, 1_000_000), ["µm", "um"];
    Millimetre => "mm", Length, (1, 1_000), [];
    Centimetre => "cm", Length, (1, 100), [];
    Metre => "m", Length, (1, 1), [];
    Kilometre => "km", Length, (1_000, 1), [];
    Microvolt => "μV", Voltage, (1, 1_000_000), ["µV", "uV"];
    Millivolt => "mV", Voltage, (1, 1_000), [];
    Volt => "V", Voltage, (1, 1), [];
    Kilovolt => "kV", Voltage, (1_000, 1), [];
    Microampere => "μA", Current, (1, 1_000_000), ["µA", "uA"];
    Milliampere => "mA", Current, (1, 1_000), [];
    Ampere => "A", Current, (1, 1), [];
    Milliohm => "mΩ", Resistance, (1, 1_000), ["m\u{2126}"];
    Ohm => "Ω", Resistance, (1, 1), ["\u{2126}", "ohm"];
    Kiloohm => "kΩ", Resistance, (1_000, 1), ["k\u{2126}"];
    Megaohm => "MΩ", Resistance, (1_000_000, 1), ["M\u{2126}"];
    Milliwatt => "mW", Power, (1, 1_000), [];
    Watt => "W", Power, (1, 1), [];
    Kilowatt => "kW", Power, (1_000, 1), [];
    Megawatt => "MW", Power, (1_000_000, 1), [];
}

impl Unit {
    /// Parses a unit symbol or one of its aliases (width-folded, spaces
    /// ignored).
    pub fn parse(input: &str) -> Result<Unit, MeasureError> {
        let text: String = normalize_width(input)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        Unit::ALL
            .iter()
            .copied()
            .find(|u| u.symbol() == text || u.aliases().contains(&text.as_str()))
            .ok_or(MeasureError::UnknownUnit { found: text })
    }

    fn offset(self) -> Value {
        match self {
            Unit::Celsius => Value {
                num: 27_315,
                den: 100,
            },
            _ => Value::ZERO,
        }
    }

    /// Converts `value` in this unit to the base unit of its kind.
    pub fn to_base(self, value: Value) -> Result<Value, MeasureError> {
        value
            .checked_mul(self.scale())
            .and_then(|v| v.checked_add(self.offset()))
            .ok_or(MeasureError::Overflow)
    }

    /// Converts `value` in the base unit of its kind to this unit.
    pub fn from_base(self, value: Value) -> Result<Value, MeasureError> {
        value
            .checked_add(-self.offset())
            .and_then(|v| v.checked_div(self.scale()))
            .ok_or(MeasureError::Overflow)
    }

    /// Converts `value` from this unit to `target`, which must be of the
    /// same kind.
    pub fn convert(self, value: Value, target: Unit) -> Result<Value, MeasureError> {
        if self.kind() != target.kind() {
            return Err(MeasureError::IncompatibleUnits {
                left: self,
                right: target,
            });
        }
        target.from_base(self.to_base(value)?)
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl Serialize for Unit {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.symbol())
    }
}

/// A measurement range `lower ~ upper` in one unit (bounds inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Range {
    /// Lower bound.
    pub lower: Value,
    /// Upper bound.
    pub upper: Value,
    /// Unit of both bounds.
    pub unit: Unit,
}

impl Range {
    /// A range; fails if `lower > upper`.
    pub fn new(lower: Value, upper: Value, unit: Unit) -> Result<Self, MeasureError> {
        let range = Self { lower, upper, unit };
        match lower.checked_cmp(&upper) {
            Some(Ordering::Greater) => Err(MeasureError::Reversed {
                found: range.to_string(),
            }),
            Some(_) => Ok(range),
            None => Err(MeasureError::Overflow),
        }
    }

    /// Parses what people write; see the module doc.
    pub fn parse(input: &str) -> Result<Self, MeasureError> {
        RangeParser::new(input).parse()
    }

    /// The bounds in the base unit of the range's kind.
    pub fn to_base(&self) -> Result<(Value, Value), MeasureError> {
        Ok((
            self.unit.to_base(self.lower)?,
            self.unit.to_base(self.upper)?,
        ))
    }

    /// The same range expressed in `unit` (same kind).
    pub fn convert_to(&self, unit: Unit) -> Result<Range, MeasureError> {
        Ok(Range {
            lower: self.unit.convert(self.lower, unit)?,
            upper: self.unit.convert(self.upper, unit)?,
            unit,
        })
    }

    fn both_in_base(&self, other: &Range) -> Result<[(Value, Value); 2], MeasureError> {
        if self.unit.kind() != other.unit.kind() {
            return Err(MeasureError::IncompatibleUnits {
                left: self.unit,
                right: other.unit,
            });
        }
        Ok([self.to_base()?, other.to_base()?])
    }

    /// R7.2, R13.1: whether this range contains all of `other` (bounds
    /// inclusive), across units of the same kind.
    pub fn covers(&self, other: &Range) -> Result<bool, MeasureError> {
        let [(a_lo, a_hi), (b_lo, b_hi)] = self.both_in_base(other)?;
        let le = |x: &Value, y: &Value| x.checked_cmp(y).map(|o| o != Ordering::Greater);
        match (le(&a_lo, &b_lo), le(&b_hi, &a_hi)) {
            (Some(lo), Some(hi)) => Ok(lo && hi),
            _ => Err(MeasureError::Overflow),
        }
    }

    /// Whether the two ranges share at least one value.
    pub fn overlaps(&self, other: &Range) -> Result<bool, MeasureError> {
        let [(a_lo, a_hi), (b_lo, b_hi)] = self.both_in_base(other)?;
        let le = |x: &Value, y: &Value| x.checked_cmp(y).map(|o| o != Ordering::Greater);
        match (le(&a_lo, &b_hi), le(&b_lo, &a_hi)) {
            (Some(x), Some(y)) => Ok(x && y),
            _ => Err(MeasureError::Overflow),
        }
    }
}

impl fmt::Display for Range {
    /// Canonical form `(lower~upper) unit`, e.g. `(0~100) MPa`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}~{}) {}", self.lower, self.upper, self.unit)
    }
}

struct RangeParser {
    original: String,
    chars: Vec<char>,
    pos: usize,
}

impl RangeParser {
    fn new(input: &str) -> Self {
        let chars = normalize_width(input)
            .chars()
            .map(|c| match c {
                '\u{301C}' | '\u{223C}' | '\u{2053}' => '~',
                '\u{2212}' | '\u{2013}' | '\u{2014}' => '-',
                '\u{3014}' => '(',
                '\u{3015}' => ')',
                c => c,
            })
            .collect();
        Self {
            original: input.trim().to_string(),
            chars,
            pos: 0,
        }
    }

    fn shape(&self) -> MeasureError {
        MeasureError::Shape {
            found: self.original.clone(),
        }
    }

    fn skip_spaces(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_spaces();
        if self.chars.get(self.pos) == Some(&c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn number(&mut self) -> Result<Value, MeasureError> {
        self.skip_spaces();
        let start = self.pos;
        if matches!(self.chars.get(self.pos), Some('-' | '+')) {
            self.pos += 1;
        }
        while self
            .chars
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_digit() || *c == '.')
        {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if text.is_empty() {
            return Err(self.shape());
        }
        Value::parse(&text)
    }

    /// Unit text up to a separator, a parenthesis or the end.
    fn unit(&mut self) -> Result<Option<Unit>, MeasureError> {
        self.skip_spaces();
        let start = self.pos;
        while self
            .chars
            .get(self.pos)
            .is_some_and(|c| !matches!(c, '~' | '-' | '(' | ')') && !c.is_whitespace())
        {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if text.is_empty() {
            Ok(None)
        } else {
            Unit::parse(&text).map(Some)
        }
    }

    fn parse(mut self) -> Result<Range, MeasureError> {
        let open = self.eat('(');
        let lower = self.number()?;
        let lower_unit = self.unit()?;
        if !(self.eat('~') || self.eat('-')) {
            return Err(self.shape());
        }
        let upper = self.number()?;
        let upper_unit = self.unit()?;
        if open && !self.eat(')') {
            return Err(self.shape());
        }
        let outer_unit = if open { self.unit()? } else { None };
        self.skip_spaces();
        if self.pos != self.chars.len() {
            return Err(self.shape());
        }
        let units: Vec<Unit> = [outer_unit, upper_unit, lower_unit]
            .into_iter()
            .flatten()
            .collect();
        let unit = *units.first().ok_or_else(|| MeasureError::MissingUnit {
            found: self.original.clone(),
        })?;
        if units.iter().any(|u| *u != unit) {
            return Err(MeasureError::MixedUnits {
                found: self.original.clone(),
            });
        }
        Range::new(lower, upper, unit).map_err(|e| match e {
            MeasureError::Reversed { .. } => MeasureError::Reversed {
                found: self.original.clone(),
            },
            other => other,
        })
    }
}

/// What the tolerance or uncertainty is expressed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToleranceUnit {
    /// Percent (of reading or of span, as the specification says).
    Percent,
    /// A unit of measurement.
    Unit(Unit),
}

impl fmt::Display for ToleranceUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToleranceUnit::Percent => f.write_str("%"),
            ToleranceUnit::Unit(u) => f.write_str(u.symbol()),
        }
    }
}

impl Serialize for ToleranceUnit {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// An accuracy statement of a standard or an authorized item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Accuracy {
    /// Accuracy class 准确度等级, e.g. `0.05级`.
    Class {
        /// The class number.
        class: Value,
    },
    /// Maximum permissible error 最大允许误差, e.g. `MPE: ±0.1%`.
    Mpe {
        /// The magnitude (the ± is implied).
        value: Value,
        /// Percent or a unit.
        unit: ToleranceUnit,
    },
    /// Expanded uncertainty 扩展不确定度, e.g. `U=0.2℃, k=2`.
    Uncertainty {
        /// The expanded uncertainty.
        u: Value,
        /// Percent (`Urel`) or a unit (`U`).
        unit: ToleranceUnit,
        /// Coverage factor.
        k: Value,
    },
}

impl Accuracy {
    /// Parses `0.05级`, `Class 0.5`, `MPE: ±0.1%`, `±0.5 ℃`,
    /// `最大允许误差：±0.1%`, `U=0.2℃, k=2`, `Urel=0.05%, k=2`.
    pub fn parse(input: &str) -> Result<Self, MeasureError> {
        let bad = || MeasureError::Accuracy {
            found: input.trim().to_string(),
        };
        let text: String = normalize_width(input)
            .replace(['，', '；', ';'], ",")
            .replace('：', ":")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if let Some(class) = text.strip_suffix('级') {
            let class = class.strip_prefix("准确度等级:").unwrap_or(class);
            return Ok(Accuracy::Class {
                class: Value::parse(class).map_err(|_| bad())?,
            });
        }
        if let Some(class) = text
            .strip_prefix("Class")
            .or_else(|| text.strip_prefix("class"))
        {
            return Ok(Accuracy::Class {
                class: Value::parse(class).map_err(|_| bad())?,
            });
        }
        if let Some((u_part, k_part)) = text.split_once(",k=") {
            let (relative, magnitude) = if let Some(m) = u_part.strip_prefix("Urel=") {
                (true, m)
            } else if let Some(m) = u_part.strip_prefix("U=") {
                (false, m)
            } else {
                return Err(bad());
            };
            let (u, unit) = magnitude_with_unit(magnitude).ok_or_else(bad)?;
            if relative != (unit == ToleranceUnit::Percent) {
                return Err(bad());
            }
            return Ok(Accuracy::Uncertainty {
                u,
                unit,
                k: Value::parse(k_part).map_err(|_| bad())?,
            });
        }
        let rest = ["MPE:", "MPE=", "MPE", "最大允许误差:"]
            .iter()
            .find_map(|p| text.strip_prefix(p))
            .unwrap_or(&text);
        let magnitude = rest.strip_prefix('±').ok_or_else(bad)?;
        let (value, unit) = magnitude_with_unit(magnitude).ok_or_else(bad)?;
        Ok(Accuracy::Mpe { value, unit })
    }
}

fn magnitude_with_unit(text: &str) -> Option<(Value, ToleranceUnit)> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let value = Value::parse(&text[..split]).ok()?;
    let unit = match &text[split..] {
        "%" => ToleranceUnit::Percent,
        other => ToleranceUnit::Unit(Unit::parse(other).ok()?),
    };
    Some((value, unit))
}

impl fmt::Display for Accuracy {
    /// `0.05级`, `MPE: ±0.1%`, `U=0.2℃, k=2`, `Urel=0.05%, k=2`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Accuracy::Class { class } => write!(f, "{class}级"),
            Accuracy::Mpe { value, unit } => write!(f, "MPE: ±{value}{unit}"),
            Accuracy::Uncertainty { u, unit, k } => {
                let name = if *unit == ToleranceUnit::Percent {
                    "Urel"
                } else {
                    "U"
                };
                write!(f, "{name}={u}{unit}, k={k}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(text: &str) -> Range {
        Range::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn ranges_are_read_as_people_write_them() {
        // (input, canonical)
        let table = [
            ("0~100 MPa", "(0~100) MPa"),
            ("(0~100)MPa", "(0~100) MPa"),
            ("（0～100）MPa", "(0~100) MPa"),
            ("-40℃~150℃", "(-40~150) ℃"),
            ("(-40~150)°C", "(-40~150) ℃"),
            ("0-10 kPa", "(0~10) kPa"),
            ("-10--5 ℃", "(-10~-5) ℃"),
            ("0.1~10 m³/h", "(0.1~10) m³/h"),
            ("0 ~ 600 kPa", "(0~600) kPa"),
            ("(0~1000)μm", "(0~1000) μm"),
            ("0~10 kΩ", "(0~10) kΩ"),
            ("0~10 k\u{2126}", "(0~10) kΩ"),
        ];
        for (input, canonical) in table {
            assert_eq!(r(input).to_string(), canonical, "{input}");
        }
    }

    #[test]
    fn malformed_ranges_name_what_is_wrong() {
        assert!(matches!(
            Range::parse("0~100"),
            Err(MeasureError::MissingUnit { .. })
        ));
        assert!(matches!(
            Range::parse("0~100 furlongs"),
            Err(MeasureError::UnknownUnit { .. })
        ));
        assert!(matches!(
            Range::parse("100~0 MPa"),
            Err(MeasureError::Reversed { .. })
        ));
        assert!(matches!(
            Range::parse("0 kPa~1 MPa"),
            Err(MeasureError::MixedUnits { .. })
        ));
        assert!(matches!(
            Range::parse("about 100 MPa"),
            Err(MeasureError::Shape { .. })
        ));
        let err = Range::parse("0~100").unwrap_err();
        assert_eq!(err.message_zh(), "测量范围“0~100”缺少单位");
    }

    #[test]
    fn mpa_range_covers_a_kpa_range_inside_it() {
        // R7.2, R13.1
        assert!(r("(0~10) MPa").covers(&r("(0~600) kPa")).unwrap());
    }

    #[test]
    fn range_given_in_kpa_against_an_item_in_mpa() {
        // R7.2: a standard of 0~600 kPa cannot back an item of 0~1 MPa.
        assert!(!r("0~600 kPa").covers(&r("0~1 MPa")).unwrap());
        assert!(r("0~1000 kPa").covers(&r("0~1 MPa")).unwrap());
    }

    #[test]
    fn celsius_and_kelvin_compare_through_the_offset() {
        // 0℃ = 273.15 K
        assert!(r("(-40~150)℃").covers(&r("233.15~423.15 K")).unwrap());
        assert!(!r("(-40~150)℃").covers(&r("233~423 K")).unwrap());
        assert_eq!(
            Unit::Kelvin
                .convert(Value::parse("273.15").unwrap(), Unit::Celsius)
                .unwrap(),
            Value::ZERO
        );
    }

    #[test]
    fn different_kinds_of_quantity_cannot_be_compared() {
        let err = r("0~10 MPa").covers(&r("0~10 ℃")).unwrap_err();
        assert_eq!(
            err,
            MeasureError::IncompatibleUnits {
                left: Unit::MPa,
                right: Unit::Celsius
            }
        );
        assert_eq!(err.message_zh(), "MPa 与 ℃ 不是同一种量，无法比较");
    }

    #[test]
    fn ranges_overlap_when_they_share_a_value() {
        assert!(r("0~10 MPa").overlaps(&r("10000~20000 kPa")).unwrap());
        assert!(!r("0~10 MPa").overlaps(&r("10001~20000 kPa")).unwrap());
    }

    #[test]
    fn flow_units_convert_exactly() {
        assert!(r("0~60 L/min").covers(&r("0~3.6 m³/h")).unwrap());
        assert!(r("0~3.6 m3/h").covers(&r("0~60 L/min")).unwrap());
    }

    #[test]
    fn accuracy_statements_parse_and_render_round_trip() {
        // (input, canonical)
        let table = [
            ("0.05级", "0.05级"),
            ("1级", "1级"),
            ("2.5 级", "2.5级"),
            ("Class 0.5", "0.5级"),
            ("MPE: ±0.1%", "MPE: ±0.1%"),
            ("±0.5 ℃", "MPE: ±0.5℃"),
            ("最大允许误差：±0.02 MPa", "MPE: ±0.02MPa"),
            ("U=0.2℃, k=2", "U=0.2℃, k=2"),
            ("U = 0.2 °C，k = 2", "U=0.2℃, k=2"),
            ("Urel=0.05%, k=2", "Urel=0.05%, k=2"),
        ];
        for (input, canonical) in table {
            let parsed = Accuracy::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(parsed.to_string(), canonical, "{input}");
            assert_eq!(Accuracy::parse(canonical).unwrap(), parsed, "{canonical}");
        }
    }

    #[test]
    fn malformed_accuracy_is_refused() {
        for input in ["", "good", "U=0.2%, k=2", "Urel=0.2℃, k=2", "±", "0.05"] {
            assert!(Accuracy::parse(input).is_err(), "{input:?}");
        }
    }

    #[test]
    fn values_render_as_exact_decimals() {
        for text in ["0", "-40", "0.05", "2.5", "1234.125", "-0.001", "0.03125"] {
            assert_eq!(Value::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(
            Value::ratio(1, 3).unwrap().to_string(),
            (1.0f64 / 3.0).to_string()
        );
    }

    fn pressure_unit() -> impl Strategy<Value = Unit> {
        prop::sample::select(vec![
            Unit::Pa,
            Unit::HPa,
            Unit::KPa,
            Unit::MPa,
            Unit::Bar,
            Unit::MBar,
            Unit::MmHg,
        ])
    }

    fn pressure_range() -> impl Strategy<Value = Range> {
        (-1000i64..1000, 0i64..1000, 0u32..4, pressure_unit()).prop_map(
            |(lo, width, places, unit)| {
                let den = 10i128.pow(places);
                let lower = Value::ratio(lo.into(), den).unwrap();
                let upper = Value::ratio((lo + width).into(), den).unwrap();
                Range::new(lower, upper, unit).unwrap()
            },
        )
    }

    proptest! {
        #[test]
        fn range_containment_is_transitive(a in pressure_range(), b in pressure_range(), c in pressure_range()) {
            // R7.2, R13.1
            if a.covers(&b).unwrap() && b.covers(&c).unwrap() {
                prop_assert!(a.covers(&c).unwrap());
            }
        }

        #[test]
        fn converting_a_range_to_another_unit_does_not_change_covers_or_overlaps(
            a in pressure_range(),
            b in pressure_range(),
            unit in pressure_unit(),
        ) {
            // R7.2, R13.1
            let converted = a.convert_to(unit).unwrap();
            prop_assert_eq!(converted.covers(&b).unwrap(), a.covers(&b).unwrap());
            prop_assert_eq!(b.covers(&converted).unwrap(), b.covers(&a).unwrap());
            prop_assert_eq!(converted.overlaps(&b).unwrap(), a.overlaps(&b).unwrap());
        }

        #[test]
        fn covering_ranges_nest_in_base_units(a in pressure_range(), b in pressure_range()) {
            // covers(a, b) and covers(b, a) together mean equal extents.
            if a.covers(&b).unwrap() && b.covers(&a).unwrap() {
                prop_assert_eq!(a.to_base().unwrap(), b.to_base().unwrap());
            }
        }
    }
}
