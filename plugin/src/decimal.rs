//! Exact decimal arithmetic for the few sums the component computes (an order's
//! weight). Amazon's values stay text; only a sum is formatted anew.

/// `units × 10^-scale`, exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    units: i128,
    scale: u32,
}

/// `-?digits(.digits)?`: what Amazon's `Decimal` holds in practice, of any length.
pub fn is_plain_decimal(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && fraction.is_none_or(digits)
}

/// More fraction digits than this are not read (no catalog value has them).
const MAX_SCALE: u32 = 18;

impl Decimal {
    /// Reads `-?digits(.digits)?`; `None` for anything else or a value too large.
    pub fn parse(text: &str) -> Option<Self> {
        if !is_plain_decimal(text) {
            return None;
        }
        let unsigned = text.strip_prefix('-').unwrap_or(text);
        let negative = unsigned.len() != text.len();
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        if fraction.len() > MAX_SCALE as usize {
            return None;
        }
        let units: i128 = format!("{whole}{fraction}").parse().ok()?;
        Some(Self {
            units: if negative { -units } else { units },
            scale: fraction.len() as u32,
        })
    }

    /// A whole number.
    pub fn from_int(value: u32) -> Self {
        Self {
            units: i128::from(value),
            scale: 0,
        }
    }

    fn rescale(self, scale: u32) -> Option<Self> {
        let factor = 10i128.checked_pow(scale.checked_sub(self.scale)?)?;
        Some(Self {
            units: self.units.checked_mul(factor)?,
            scale,
        })
    }

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        let scale = self.scale.max(other.scale);
        let (a, b) = (self.rescale(scale)?, other.rescale(scale)?);
        Some(Self {
            units: a.units.checked_add(b.units)?,
            scale,
        })
    }

    /// `self × other`, or `None` on overflow.
    pub fn checked_mul(self, other: Self) -> Option<Self> {
        Some(Self {
            units: self.units.checked_mul(other.units)?,
            scale: self.scale.checked_add(other.scale)?,
        })
    }
}

impl std::fmt::Display for Decimal {
    /// Plain decimal text without trailing zeros in the fraction ("1.25", "3").
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.units < 0 { "-" } else { "" };
        let digits = self.units.unsigned_abs().to_string();
        let scale = self.scale as usize;
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (whole, fraction) = padded.split_at(padded.len() - scale);
        let fraction = fraction.trim_end_matches('0');
        if fraction.is_empty() {
            write!(f, "{sign}{whole}")
        } else {
            write!(f, "{sign}{whole}.{fraction}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::parse(text).unwrap()
    }

    #[test]
    fn sums_are_exact_where_floats_are_not() {
        assert_eq!(d("0.1").checked_add(d("0.2")).unwrap().to_string(), "0.3");
        assert_ne!(0.1f64 + 0.2, 0.3);
        assert_eq!(
            d("1.25")
                .checked_mul(Decimal::from_int(3))
                .unwrap()
                .to_string(),
            "3.75"
        );
        assert_eq!(
            d("107.6").checked_mul(d("453.59237")).unwrap().to_string(),
            "48806.539012"
        );
        assert_eq!(d("-0.50").checked_add(d("0.5")).unwrap().to_string(), "0");
        assert_eq!(d("0.005").to_string(), "0.005");
    }

    #[test]
    fn only_plain_decimals_are_read() {
        for bad in [
            "",
            "-",
            "1.",
            ".5",
            "1e3",
            "1,5",
            "+1",
            "12a",
            "0.1234567890123456789",
        ] {
            assert!(Decimal::parse(bad).is_none(), "{bad}");
        }
        let huge = "9".repeat(40);
        assert!(Decimal::parse(&huge).is_none());
        let big = d(&"9".repeat(30));
        assert!(
            big.checked_mul(big).is_none(),
            "overflow is None, not a wrong answer"
        );
    }
}
