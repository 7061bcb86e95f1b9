//! The recursive-descent parser, evaluating as it goes:
//!
//! ```text
//! expression = term (("+" | "-") term)*
//! term       = unary (("*" | "/" | "%") unary)*
//! unary      = ("-" | "+") unary | power
//! power      = primary ("^" unary)?        (right-associative; -2^2 = -4)
//! primary    = number | "(" expression ")"
//! ```

use num_rational::BigRational;

use crate::arith::Arith;
use crate::error::CalcError;
use crate::lexer::{Token, TokenKind, tokenize};

/// The longest expression accepted, in characters (the schema says the same).
pub const MAX_LENGTH: usize = 1000;

/// How deeply parentheses, signs and exponents may nest.
pub const MAX_DEPTH: usize = 256;

/// Evaluate `text` exactly.
pub fn evaluate(text: &str) -> Result<BigRational, CalcError> {
    let length = text.chars().count();
    if length > MAX_LENGTH {
        return Err(CalcError::invalid(format!(
            "the expression has {length} characters; the calculator takes at most {MAX_LENGTH}"
        )));
    }
    let tokens = tokenize(text)?;
    if tokens.len() == 1 {
        return Err(CalcError::invalid("the expression is empty"));
    }
    let mut parser = Parser { tokens, next: 0, depth: 0, arith: Arith::default() };
    let value = parser.expression()?;
    let token = parser.peek();
    match token.kind {
        TokenKind::End => Ok(value),
        TokenKind::Close => Err(CalcError::invalid(format!(
            "unbalanced parentheses: `)` at position {} has no matching `(`",
            token.pos
        ))),
        ref kind => Err(CalcError::invalid(format!(
            "expected an operator (+ - * / % ^) or the end at position {}, found {}",
            token.pos,
            kind.describe()
        ))),
    }
}

/// The parser's position in the token list.
struct Parser {
    tokens: Vec<Token>,
    next: usize,
    depth: usize,
    arith: Arith,
}

/// The end token [`Parser::peek`] falls back on (never reached: the list ends with one).
const END: Token = Token { kind: TokenKind::End, pos: 0 };

impl Parser {
    fn peek(&self) -> &Token {
        self.tokens.get(self.next).unwrap_or(&END)
    }

    /// Take the next token if it is one of `kinds`; returns its position.
    fn take_if(&mut self, kinds: &[TokenKind]) -> Option<(TokenKind, usize)> {
        let token = self.peek();
        if kinds.contains(&token.kind) {
            let taken = (token.kind.clone(), token.pos);
            self.next += 1;
            Some(taken)
        } else {
            None
        }
    }

    fn expression(&mut self) -> Result<BigRational, CalcError> {
        let mut value = self.term()?;
        while let Some((op, pos)) = self.take_if(&[TokenKind::Plus, TokenKind::Minus]) {
            let rhs = self.term()?;
            value = if op == TokenKind::Plus {
                self.arith.add(value, rhs, pos)?
            } else {
                self.arith.sub(value, rhs, pos)?
            };
        }
        Ok(value)
    }

    fn term(&mut self) -> Result<BigRational, CalcError> {
        let mut value = self.unary()?;
        while let Some((op, pos)) = self.take_if(&[TokenKind::Star, TokenKind::Slash, TokenKind::Percent]) {
            let rhs = self.unary()?;
            value = match op {
                TokenKind::Star => self.arith.mul(value, rhs, pos)?,
                TokenKind::Slash => self.arith.div(value, rhs, pos)?,
                _ => self.arith.rem(value, rhs, pos)?,
            };
        }
        Ok(value)
    }

    /// Every cycle of the grammar passes here, so the nesting depth is counted here.
    fn unary(&mut self) -> Result<BigRational, CalcError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(CalcError::limit(format!(
                "the expression nests more than {MAX_DEPTH} levels deep (at position {})",
                self.peek().pos
            )));
        }
        let value = match self.take_if(&[TokenKind::Minus, TokenKind::Plus]) {
            Some((TokenKind::Minus, _)) => self.unary().map(|v| -v),
            Some(_) => self.unary(),
            None => self.power(),
        };
        self.depth -= 1;
        value
    }

    fn power(&mut self) -> Result<BigRational, CalcError> {
        let base = self.primary()?;
        match self.take_if(&[TokenKind::Caret]) {
            Some((_, pos)) => {
                let exponent = self.unary()?;
                self.arith.pow(base, exponent, pos)
            }
            None => Ok(base),
        }
    }

    fn primary(&mut self) -> Result<BigRational, CalcError> {
        let token = self.peek().clone();
        self.next += 1;
        match token.kind {
            TokenKind::Number(value) => Ok(value),
            TokenKind::Open => {
                let value = self.expression()?;
                let close = self.peek();
                match close.kind {
                    TokenKind::Close => {
                        self.next += 1;
                        Ok(value)
                    }
                    TokenKind::End => Err(CalcError::invalid(format!(
                        "unbalanced parentheses: `(` at position {} is never closed",
                        token.pos
                    ))),
                    ref kind => Err(CalcError::invalid(format!(
                        "expected an operator or `)` at position {}, found {} (the `(` at position {} is still open)",
                        close.pos,
                        kind.describe(),
                        token.pos
                    ))),
                }
            }
            TokenKind::End => Err(CalcError::invalid(format!(
                "the expression ends too early: expected a number or `(` at position {}",
                token.pos
            ))),
            TokenKind::Close => Err(CalcError::invalid(format!(
                "expected a number or `(` at position {}, found `)` (empty or unbalanced parentheses?)",
                token.pos
            ))),
            kind => Err(CalcError::invalid(format!(
                "expected a number or `(` at position {}, found {}",
                token.pos,
                kind.describe()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str) -> String {
        evaluate(text).expect("evaluates").to_string()
    }

    fn fails(text: &str) -> String {
        evaluate(text).expect_err("fails").message().to_owned()
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(eval("1 + 2 * 3"), "7");
        assert_eq!(eval("(1 + 2) * 3"), "9");
        assert_eq!(eval("10 - 4 - 3"), "3");
        assert_eq!(eval("2 ^ 3 ^ 2"), "512");
        assert_eq!(eval("-2 ^ 2"), "-4");
        assert_eq!(eval("(-2) ^ 2"), "4");
        assert_eq!(eval("2 ^ -2"), "1/4");
        assert_eq!(eval("2 * -3"), "-6");
        assert_eq!(eval("--3"), "3");
        assert_eq!(eval("+3"), "3");
        assert_eq!(eval("7 % 3 * 2"), "2");
        assert_eq!(eval("1/3 + 1/6"), "1/2");
        assert_eq!(eval("0.1 + 0.2"), "3/10");
        assert_eq!(eval(" 1\t+\n1 "), "2");
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(fails(""), "the expression is empty");
        assert_eq!(fails("   "), "the expression is empty");
        assert!(fails("1 / (2 - 2)").contains("division by zero at position 3"));
        assert!(fails("(1 + 2").contains("`(` at position 1 is never closed"));
        assert!(fails("1 + 2)").contains("`)` at position 6 has no matching `(`"));
        assert!(fails("()").contains("at position 2, found `)`"));
        assert!(fails("2 ^ 0.5").contains("non-integer exponent"));
        assert!(fails("1 +").contains("ends too early"));
        assert!(fails("1 2").contains("expected an operator (+ - * / % ^) or the end at position 3, found a number"));
        assert!(fails("(1 2)").contains(
            "expected an operator or `)` at position 4, found a number (the `(` at position 1 is still open)"
        ));
        assert!(fails("3 $ 4").contains("`$` at position 3"));
        assert!(fails("* 2").contains("expected a number or `(` at position 1, found `*`"));
    }

    #[test]
    fn bounds_hold() {
        assert!(matches!(evaluate(&"(".repeat(300)), Err(CalcError::Limit(_))));
        assert!(matches!(evaluate(&"-".repeat(300)), Err(CalcError::Limit(_))));
        assert!(matches!(evaluate(&"1".repeat(1001)), Err(CalcError::Invalid(_))));
        assert!(matches!(evaluate("9^9^9"), Err(CalcError::Limit(_))));
        assert!(matches!(evaluate("2^10001"), Err(CalcError::Limit(_))));
        let nested = format!("{}1{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(eval(&nested), "1");
    }
}
