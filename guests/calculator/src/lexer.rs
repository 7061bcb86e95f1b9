//! Splits an expression into tokens: numbers (read exactly, as rationals),
//! operators and parentheses, each with its 1-based character position.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::Zero;

use crate::arith::{MAX_EXPONENT, check_size};
use crate::error::CalcError;

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// A number literal, exactly.
    Number(BigRational),
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Star,
    /// `/`
    Slash,
    /// `%`
    Percent,
    /// `^`
    Caret,
    /// `(`
    Open,
    /// `)`
    Close,
    /// The end of the expression.
    End,
}

impl TokenKind {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            TokenKind::Number(_) => "a number".to_owned(),
            TokenKind::Plus => "`+`".to_owned(),
            TokenKind::Minus => "`-`".to_owned(),
            TokenKind::Star => "`*`".to_owned(),
            TokenKind::Slash => "`/`".to_owned(),
            TokenKind::Percent => "`%`".to_owned(),
            TokenKind::Caret => "`^`".to_owned(),
            TokenKind::Open => "`(`".to_owned(),
            TokenKind::Close => "`)`".to_owned(),
            TokenKind::End => "the end of the expression".to_owned(),
        }
    }
}

/// A token and where it starts (1-based, in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Where it starts, counting characters from 1.
    pub pos: usize,
}

/// Tokenize `text`; the last token is always [`TokenKind::End`]. Whitespace is
/// skipped; anything else unknown is an error naming its position.
pub fn tokenize(text: &str) -> Result<Vec<Token>, CalcError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let pos = i + 1;
        let single = match c {
            '+' => Some(TokenKind::Plus),
            '-' => Some(TokenKind::Minus),
            '*' => Some(TokenKind::Star),
            '/' => Some(TokenKind::Slash),
            '%' => Some(TokenKind::Percent),
            '^' => Some(TokenKind::Caret),
            '(' => Some(TokenKind::Open),
            ')' => Some(TokenKind::Close),
            _ => None,
        };
        if let Some(kind) = single {
            tokens.push(Token { kind, pos });
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            let (value, next) = number(&chars, i)?;
            tokens.push(Token { kind: TokenKind::Number(value), pos });
            i = next;
        } else {
            return Err(CalcError::invalid(format!(
                "unexpected character `{c}` at position {pos}; the calculator takes numbers, + - * / % ^ and parentheses"
            )));
        }
    }
    tokens.push(Token { kind: TokenKind::End, pos: chars.len() + 1 });
    Ok(tokens)
}

/// Read the number starting at `start`: `digits[.digits][e[+-]digits]` (or
/// `.digits`). Returns its exact value and the index after it.
fn number(chars: &[char], start: usize) -> Result<(BigRational, usize), CalcError> {
    let pos = start + 1;
    let mut i = start;
    let mut digits = String::new();
    while let Some(c) = chars.get(i).filter(|c| c.is_ascii_digit()) {
        digits.push(*c);
        i += 1;
    }
    let mut decimals = 0usize;
    if chars.get(i) == Some(&'.') {
        i += 1;
        while let Some(c) = chars.get(i).filter(|c| c.is_ascii_digit()) {
            digits.push(*c);
            decimals += 1;
            i += 1;
        }
        if decimals == 0 {
            return Err(CalcError::invalid(format!(
                "expected a digit after the decimal point of the number at position {pos}"
            )));
        }
    }
    let mut exponent: i64 = 0;
    if matches!(chars.get(i), Some('e' | 'E')) {
        i += 1;
        let negative = match chars.get(i) {
            Some('-') => {
                i += 1;
                true
            }
            Some('+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let mut seen = false;
        while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
            seen = true;
            exponent = exponent.saturating_mul(10).saturating_add(i64::from(d));
            i += 1;
        }
        if !seen {
            return Err(CalcError::invalid(format!("expected digits after `e` in the number at position {pos}")));
        }
        if negative {
            exponent = -exponent;
        }
    }
    let mantissa: BigInt =
        digits.parse().map_err(|_| CalcError::invalid(format!("cannot read the number at position {pos}")))?;
    if mantissa.is_zero() {
        return Ok((BigRational::zero(), i));
    }
    let scale = exponent.saturating_sub(i64::try_from(decimals).unwrap_or(i64::MAX));
    let magnitude = u32::try_from(scale.unsigned_abs())
        .ok()
        .filter(|m| *m <= MAX_EXPONENT)
        .ok_or_else(|| {
            CalcError::limit(format!(
                "the number at position {pos} has a power of ten beyond ±{MAX_EXPONENT}; the calculator keeps numbers to about 10000 digits"
            ))
        })?;
    let power = BigInt::from(10u8).pow(magnitude);
    let value =
        if scale >= 0 { BigRational::from_integer(mantissa * power) } else { BigRational::new(mantissa, power) };
    check_size(&value, pos)?;
    Ok((value, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        tokenize(text).expect("tokens").into_iter().map(|t| t.kind).collect()
    }

    fn ratio(n: i64, d: i64) -> TokenKind {
        TokenKind::Number(BigRational::new(n.into(), d.into()))
    }

    #[test]
    fn numbers_are_exact() {
        assert_eq!(kinds("0.1"), vec![ratio(1, 10), TokenKind::End]);
        assert_eq!(kinds("2.5e3"), vec![ratio(2500, 1), TokenKind::End]);
        assert_eq!(kinds("25E-1"), vec![ratio(5, 2), TokenKind::End]);
        assert_eq!(kinds(".5"), vec![ratio(1, 2), TokenKind::End]);
        assert_eq!(kinds("007"), vec![ratio(7, 1), TokenKind::End]);
    }

    #[test]
    fn operators_and_positions() {
        let tokens = tokenize(" 1 +(2)").expect("tokens");
        let positions: Vec<usize> = tokens.iter().map(|t| t.pos).collect();
        assert_eq!(positions, vec![2, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn bad_characters_and_numbers() {
        let err = tokenize("1 + x").expect_err("x");
        assert!(err.message().contains("`x` at position 5"), "{err:?}");
        let err = tokenize("1.").expect_err("dangling point");
        assert!(err.message().contains("decimal point"), "{err:?}");
        let err = tokenize("2e").expect_err("dangling e");
        assert!(err.message().contains("after `e`"), "{err:?}");
        assert!(matches!(tokenize("1e99999999999999999999"), Err(CalcError::Limit(_))));
        assert_eq!(kinds("0e99999999"), vec![ratio(0, 1), TokenKind::End]);
    }
}
