//! Writes an exact rational as text: the value as an integer or reduced
//! fraction, and its decimal expansion, exact when it terminates, otherwise
//! rounded to 20 significant digits and marked with `...`.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, Zero};

/// Significant digits of a non-terminating expansion.
pub const SIGNIFICANT: u32 = 20;

/// Decimal exponents written without scientific notation (when not exact).
const PLAIN_EXPONENTS: std::ops::RangeInclusive<i64> = -7..=19;

/// The exact value: `"42"`, `"-7/3"`.
pub fn exact(value: &BigRational) -> String {
    value.to_string()
}

/// The decimal expansion: exact (`"0.5"`, `"-1.25"`) when it terminates;
/// otherwise 20 significant digits, rounded half away from zero, then `...`
/// (`"0.66666666666666666667..."`), in scientific notation
/// (`"3.3333333333333333333...e+29"`) when the magnitude is below 1e-7 or
/// at least 1e20.
pub fn decimal(value: &BigRational) -> String {
    let sign = if value.is_negative() { "-" } else { "" };
    let numer = value.numer().abs();
    let denom = value.denom();
    match terminating_scale(denom) {
        Some(scale) => {
            let scaled = numer * ten_to(u64::from(scale)) / denom;
            format!("{sign}{}", with_point(&scaled.to_string(), scale as usize))
        }
        None => format!("{sign}{}", rounded(&numer, denom)),
    }
}

/// If `1/denom` has a finite decimal expansion (`denom` = 2^a 5^b), the number
/// of decimal places it needs, max(a, b).
fn terminating_scale(denom: &BigInt) -> Option<u32> {
    let twos = denom.trailing_zeros().unwrap_or(0);
    let mut rest = denom >> twos;
    let mut fives: u64 = 0;
    // Divide by 5^13 (the largest power of five in a u32) while it divides,
    // then by 5: far fewer long divisions than five by five.
    for (factor, count) in [(1_220_703_125u32, 13u64), (5, 1)] {
        let factor = BigInt::from(factor);
        while !rest.is_zero() && (&rest % &factor).is_zero() {
            rest /= &factor;
            fives += count;
        }
    }
    if rest.is_one() { u32::try_from(twos.max(fives)).ok() } else { None }
}

/// `digits` (an unsigned integer's text) divided by 10^places, written out.
fn with_point(digits: &str, places: usize) -> String {
    if places == 0 {
        return digits.to_owned();
    }
    let padded = format!("{digits:0>width$}", width = places + 1);
    let (whole, fraction) = padded.split_at(padded.len() - places);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() { whole.to_owned() } else { format!("{whole}.{fraction}") }
}

fn ten_to(power: u64) -> BigInt {
    BigInt::from(10u8).pow(u32::try_from(power).unwrap_or(u32::MAX))
}

/// `numer/denom` (both positive) to [`SIGNIFICANT`] digits, then `...`.
fn rounded(numer: &BigInt, denom: &BigInt) -> String {
    let low = ten_to(u64::from(SIGNIFICANT - 1));
    let high = ten_to(u64::from(SIGNIFICANT));
    // The decimal exponent of the leading digit, estimated from the bit lengths
    // and corrected below: 10^exponent <= numer/denom < 10^(exponent + 1).
    let estimate = (numer.bits() as f64 - denom.bits() as f64) * std::f64::consts::LOG10_2;
    let mut exponent = estimate.floor() as i64;
    let (num, den) = loop {
        let shift = i64::from(SIGNIFICANT) - 1 - exponent;
        let num = if shift > 0 { numer * ten_to(shift.unsigned_abs()) } else { numer.clone() };
        let den = if shift < 0 { denom * ten_to(shift.unsigned_abs()) } else { denom.clone() };
        if num < &den * &low {
            exponent -= 1;
        } else if num >= &den * &high {
            exponent += 1;
        } else {
            break (num, den);
        }
    };
    let mut digits = (num * 2u8 + &den) / (den * 2u8);
    if digits == high {
        digits = low;
        exponent += 1;
    }
    let digits = digits.to_string();
    if PLAIN_EXPONENTS.contains(&exponent) {
        let places = usize::try_from(i64::from(SIGNIFICANT) - 1 - exponent).unwrap_or(0);
        format!("{}...", with_point(&digits, places))
    } else {
        let (lead, rest) = digits.split_at(1);
        let rest = rest.trim_end_matches('0');
        let mantissa = if rest.is_empty() { lead.to_owned() } else { format!("{lead}.{rest}") };
        format!("{mantissa}...e{exponent:+}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(n: i64, d: i64) -> BigRational {
        BigRational::new(n.into(), d.into())
    }

    fn big(text: &str) -> BigRational {
        let (n, d) = text.split_once('/').unwrap_or((text, "1"));
        BigRational::new(n.parse().expect("numerator"), d.parse().expect("denominator"))
    }

    #[test]
    fn exact_values() {
        assert_eq!(exact(&r(42, 1)), "42");
        assert_eq!(exact(&r(-14, 6)), "-7/3");
        assert_eq!(exact(&r(0, 5)), "0");
    }

    #[test]
    fn terminating_decimals_are_exact() {
        assert_eq!(decimal(&r(1, 2)), "0.5");
        assert_eq!(decimal(&r(3, 10)), "0.3");
        assert_eq!(decimal(&r(-5, 4)), "-1.25");
        assert_eq!(decimal(&r(0, 1)), "0");
        assert_eq!(decimal(&r(1, 1000)), "0.001");
        assert_eq!(decimal(&r(7, 80)), "0.0875");
        assert_eq!(decimal(&r(1, 5i64.pow(20))), "0.00000000000001048576");
        assert_eq!(decimal(&r(3, 5i64.pow(27))), "0.000000000000000000402653184");
        assert_eq!(decimal(&r(2500, 1)), "2500");
        assert_eq!(decimal(&big("1267650600228229401496703205376")), "1267650600228229401496703205376");
    }

    #[test]
    fn repeating_decimals_are_rounded() {
        assert_eq!(decimal(&r(2, 3)), "0.66666666666666666667...");
        assert_eq!(decimal(&r(1, 3)), "0.33333333333333333333...");
        assert_eq!(decimal(&r(-1, 7)), "-0.14285714285714285714...");
        assert_eq!(decimal(&r(10, 3)), "3.3333333333333333333...");
        assert_eq!(decimal(&r(1, 3_000_000)), "0.00000033333333333333333333...");
        assert_eq!(decimal(&r(1, 30_000_000)), "3.3333333333333333333...e-8");
        assert_eq!(decimal(&big("100000000000000000000/3")), "33333333333333333333...");
        assert_eq!(decimal(&big("1000000000000000000000/3")), "3.3333333333333333333...e+20");
        // Rounding up to the next power of ten.
        assert_eq!(decimal(&big("29999999999999999999999/30000000000000000000000")), "1...");
    }
}
