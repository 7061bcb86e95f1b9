//! The arithmetic on exact rationals, with the calculator's bounds: no division
//! by zero, `%` on whole numbers only, whole exponents up to ±10,000, no number
//! whose numerator or denominator passes about 10,000 digits, and a work budget.
//!
//! The budget exists because reducing a fraction takes a GCD, whose cost grows
//! with the square of the operands' length: a handful of operations on
//! fractions with thousands of digits would use up the call's CPU time and be
//! killed by the host. Whole-number `+ - * %` and `^` take no GCD and cost nothing
//! (a long division or a power of 10,000-digit numbers takes well under a millisecond).

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{Signed, ToPrimitive, Zero};

use crate::error::CalcError;

/// The largest exponent `^` (and a literal's `e`) accepts, in absolute value.
pub const MAX_EXPONENT: u32 = 10_000;

/// The most bits a numerator or denominator may have: numbers below 2^33219,
/// about 10^9999.7, so about 10,000 decimal digits (10^10000 is refused).
pub const MAX_BITS: u64 = 33_219;

/// Refuse `value` if its numerator or denominator is past [`MAX_BITS`];
/// `pos` is where the operation producing it stands.
pub fn check_size(value: &BigRational, pos: usize) -> Result<(), CalcError> {
    if value.numer().bits() > MAX_BITS || value.denom().bits() > MAX_BITS {
        return Err(too_large(pos));
    }
    Ok(())
}

/// The work an expression may do, in units of (bits of the largest operand)² / 65536
/// per GCD (num-bigint's binary GCD is quadratic): about three GCDs of
/// 10,000-digit numbers. Measured in a wasm engine, a unit takes about 1.2 µs,
/// so the whole budget stays well within the calculator's 200 ms of CPU per call.
pub const WORK_BUDGET: u64 = 50_000;

fn too_large(pos: usize) -> CalcError {
    CalcError::limit(format!(
        "the result of the operation at position {pos} has more than about 10000 digits, past the calculator's limit"
    ))
}

/// The operators, counting the work done against [`WORK_BUDGET`].
#[derive(Debug, Default)]
pub struct Arith {
    spent: u64,
}

/// Whether both are whole numbers (so no GCD is needed for `+ - *`).
fn both_whole(a: &BigRational, b: &BigRational) -> bool {
    a.is_integer() && b.is_integer()
}

impl Arith {
    /// Units of work spent so far.
    pub fn spent(&self) -> u64 {
        self.spent
    }

    /// Charge an operation whose cost is dominated by `gcds` GCDs of numbers as
    /// long as `a`'s and `b`'s parts.
    fn charge(&mut self, a: &BigRational, b: &BigRational, gcds: u64, pos: usize) -> Result<(), CalcError> {
        let bits = [a.numer(), a.denom(), b.numer(), b.denom()].iter().map(|n| n.bits()).max().unwrap_or(0);
        let cost = (bits.saturating_mul(bits) >> 16).saturating_mul(gcds);
        self.spent = self.spent.saturating_add(cost);
        if self.spent > WORK_BUDGET {
            return Err(CalcError::limit(format!(
                "the operation at position {pos} goes past the calculator's work budget: the expression computes \
                 with fractions of thousands of digits; simplify it or split it into steps"
            )));
        }
        Ok(())
    }

    /// `a + b`.
    pub fn add(&mut self, a: BigRational, b: BigRational, pos: usize) -> Result<BigRational, CalcError> {
        let value = if both_whole(&a, &b) {
            BigRational::from_integer(a.to_integer() + b.to_integer())
        } else {
            self.charge(&a, &b, 2, pos)?;
            a + b
        };
        check_size(&value, pos)?;
        Ok(value)
    }

    /// `a - b`.
    pub fn sub(&mut self, a: BigRational, b: BigRational, pos: usize) -> Result<BigRational, CalcError> {
        self.add(a, -b, pos)
    }

    /// `a * b`.
    pub fn mul(&mut self, a: BigRational, b: BigRational, pos: usize) -> Result<BigRational, CalcError> {
        let value = if both_whole(&a, &b) {
            BigRational::from_integer(a.to_integer() * b.to_integer())
        } else {
            self.charge(&a, &b, 2, pos)?;
            a * b
        };
        check_size(&value, pos)?;
        Ok(value)
    }

    /// `a / b`; `b` must not be zero.
    pub fn div(&mut self, a: BigRational, b: BigRational, pos: usize) -> Result<BigRational, CalcError> {
        if b.is_zero() {
            return Err(CalcError::invalid(format!("division by zero at position {pos}")));
        }
        let value = if both_whole(&a, &b) {
            self.charge(&a, &b, 1, pos)?;
            BigRational::new(a.to_integer(), b.to_integer())
        } else {
            self.charge(&a, &b, 2, pos)?;
            a / b
        };
        check_size(&value, pos)?;
        Ok(value)
    }

    /// `a % b` on whole numbers: the remainder of truncating division, so it has
    /// the sign of `a` (as in C, Rust and JavaScript). Costs no work units.
    pub fn rem(&self, a: BigRational, b: BigRational, pos: usize) -> Result<BigRational, CalcError> {
        if !both_whole(&a, &b) {
            return Err(CalcError::invalid(format!("`%` at position {pos} takes whole numbers only, got {a} and {b}")));
        }
        if b.is_zero() {
            return Err(CalcError::invalid(format!("division by zero at position {pos} (modulo by zero)")));
        }
        Ok(BigRational::from_integer(a.to_integer() % b.to_integer()))
    }

    /// `base ^ exponent`: `exponent` must be whole and at most ±[`MAX_EXPONENT`];
    /// a negative one gives the reciprocal. The result's size is checked before
    /// it is computed, so a huge power is refused at once.
    pub fn pow(&mut self, base: BigRational, exponent: BigRational, pos: usize) -> Result<BigRational, CalcError> {
        if !exponent.is_integer() {
            return Err(CalcError::invalid(format!(
                "non-integer exponent {exponent} at position {pos}; `^` takes whole-number exponents only"
            )));
        }
        let whole = exponent.to_integer();
        let magnitude = whole.abs().to_u32().filter(|m| *m <= MAX_EXPONENT).ok_or_else(|| {
            CalcError::limit(format!(
                "exponent {whole} at position {pos} is too large; `^` takes exponents from -{MAX_EXPONENT} to {MAX_EXPONENT}"
            ))
        })?;
        if base.is_zero() && whole.is_negative() {
            return Err(CalcError::invalid(format!(
                "division by zero at position {pos}: zero raised to a negative power"
            )));
        }
        // A number of b bits raised to m has at least (b - 1) * m + 1 bits.
        let least_bits = |n: &BigInt| n.bits().saturating_sub(1).saturating_mul(u64::from(magnitude));
        if least_bits(base.numer()) >= MAX_BITS || least_bits(base.denom()) >= MAX_BITS {
            return Err(too_large(pos));
        }
        let mut numer = base.numer().pow(magnitude);
        let mut denom = base.denom().pow(magnitude);
        if whole.is_negative() {
            std::mem::swap(&mut numer, &mut denom);
            if denom.is_negative() {
                numer = -numer;
                denom = -denom;
            }
        }
        // Powers of coprime numbers are coprime: the result is already reduced.
        let value = BigRational::new_raw(numer, denom);
        check_size(&value, pos)?;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(n: i64, d: i64) -> BigRational {
        BigRational::new(n.into(), d.into())
    }

    #[test]
    fn remainder_has_the_sign_of_the_dividend() {
        assert_eq!(Arith::default().rem(r(7, 1), r(3, 1), 1), Ok(r(1, 1)));
        assert_eq!(Arith::default().rem(r(-7, 1), r(3, 1), 1), Ok(r(-1, 1)));
        assert!(
            matches!(Arith::default().rem(r(7, 2), r(3, 1), 4), Err(CalcError::Invalid(m)) if m.contains("whole numbers"))
        );
        assert!(
            matches!(Arith::default().rem(r(7, 1), r(0, 1), 4), Err(CalcError::Invalid(m)) if m.contains("division by zero at position 4"))
        );
    }

    #[test]
    fn powers() {
        assert_eq!(Arith::default().pow(r(2, 3), r(-2, 1), 1), Ok(r(9, 4)));
        assert_eq!(Arith::default().pow(r(0, 1), r(0, 1), 1), Ok(r(1, 1)));
        assert_eq!(Arith::default().pow(r(-1, 1), r(10_000, 1), 1), Ok(r(1, 1)));
        assert!(matches!(Arith::default().pow(r(0, 1), r(-1, 1), 1), Err(CalcError::Invalid(_))));
        assert!(
            matches!(Arith::default().pow(r(2, 1), r(1, 2), 1), Err(CalcError::Invalid(m)) if m.contains("non-integer exponent"))
        );
        assert!(matches!(Arith::default().pow(r(1, 1), r(10_001, 1), 1), Err(CalcError::Limit(_))));
        assert!(matches!(Arith::default().pow(r(10, 1), r(10_000, 1), 1), Err(CalcError::Limit(_))));
        assert!(matches!(Arith::default().pow(r(1, 10), r(10_000, 1), 1), Err(CalcError::Limit(_))));
        assert!(Arith::default().pow(r(10, 1), r(9_999, 1), 1).is_ok());
    }

    #[test]
    fn growth_is_capped() {
        let big = Arith::default().pow(r(2, 1), r(10_000, 1), 1).expect("fits");
        let bigger = Arith::default().mul(big.clone(), big, 3).expect("fits");
        assert!(
            matches!(Arith::default().mul(bigger.clone(), bigger, 7), Err(CalcError::Limit(m)) if m.contains("position 7"))
        );
    }
}

#[cfg(test)]
mod budget {
    use super::*;
    use num_traits::One;

    #[test]
    fn whole_numbers_cost_nothing_and_big_fractions_run_out() {
        let mut arith = Arith::default();
        let big =
            arith.pow(BigRational::from_integer(3.into()), BigRational::from_integer(9000.into()), 1).expect("fits");
        for _ in 0..100 {
            arith.add(big.clone(), big.clone(), 1).expect("fits");
            arith.mul(big.clone(), BigRational::from_integer(1.into()), 1).expect("fits");
        }
        assert_eq!(arith.spent(), 0);
        let fraction = arith.div(big.clone(), big.clone() + BigRational::one(), 2).expect("fits");
        let mut outcome = Ok(fraction.clone());
        for _ in 0..20 {
            outcome = arith.add(fraction.clone(), BigRational::new(1.into(), 3.into()), 5);
            if outcome.is_err() {
                break;
            }
        }
        assert!(matches!(outcome, Err(CalcError::Limit(m)) if m.contains("work budget")));
    }
}
