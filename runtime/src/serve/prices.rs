//! What a turn cost: a price table (US dollars per million tokens, per
//! upstream model) turns a turn's usage into millionths of a dollar.
//!
//! The table shipped with the project is `runtime/data/prices.toml`; a
//! config's `[prices."MODEL"]` tables override and extend it. A model
//! reported with a suffix (`gpt-4.1-mini-2025-04-14`) takes the price of the
//! longest name in the table it starts with.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::types::Usage;

/// The table shipped with the project.
const SHIPPED: &str = include_str!("../../data/prices.toml");

/// One model's prices, in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Price {
    /// Input tokens not read from or written to a cache.
    pub input: f64,
    /// Input tokens read from the cache (default: `input`).
    pub cached_input: Option<f64>,
    /// Input tokens written to the cache (default: `input`).
    pub cache_write: Option<f64>,
    /// Output tokens other than reasoning.
    pub output: f64,
    /// Reasoning tokens (default: `output`).
    pub reasoning: Option<f64>,
}

impl Price {
    /// Why these prices cannot be used, if they cannot (negative or not finite).
    pub fn check(&self) -> Result<(), String> {
        let all = [Some(self.input), self.cached_input, self.cache_write, Some(self.output), self.reasoning];
        if all.into_iter().flatten().all(|price| price.is_finite() && price >= 0.0) {
            Ok(())
        } else {
            Err("prices are US dollars per million tokens: 0 or more".to_owned())
        }
    }

    /// The cost of `usage` in millionths of a US dollar (rounded to the nearest).
    pub fn cost_micro_usd(&self, usage: &Usage) -> u64 {
        let tokens = |count: Option<u64>| count.unwrap_or(0) as f64;
        let input = tokens(usage.input_tokens);
        let cached = tokens(usage.cache_read_tokens).min(input);
        let written = tokens(usage.cache_write_tokens).min(input - cached);
        let output = tokens(usage.output_tokens);
        let reasoning = tokens(usage.reasoning_tokens).min(output);
        // Tokens times dollars per million tokens is millionths of a dollar.
        let micro = (input - cached - written) * self.input
            + cached * self.cached_input.unwrap_or(self.input)
            + written * self.cache_write.unwrap_or(self.input)
            + (output - reasoning) * self.output
            + reasoning * self.reasoning.unwrap_or(self.output);
        // `as` saturates: a guest's absurd counts cannot wrap.
        micro.round() as u64
    }

    /// The most a token of output (reasoning included) costs.
    pub fn output_ceiling(&self) -> f64 {
        self.output.max(self.reasoning.unwrap_or(self.output))
    }

    /// The most a token of input costs.
    pub fn input_ceiling(&self) -> f64 {
        self.input.max(self.cache_write.unwrap_or(self.input)).max(self.cached_input.unwrap_or(self.input))
    }
}

/// Prices by model name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prices {
    models: BTreeMap<String, Price>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Shipped {
    models: BTreeMap<String, Price>,
}

impl Prices {
    /// The shipped table with `overrides` over it.
    pub fn with(overrides: &BTreeMap<String, Price>) -> Prices {
        // The shipped file is checked by this module's tests.
        let shipped = toml::from_str::<Shipped>(SHIPPED).map(|table| table.models).unwrap_or_default();
        let mut models = shipped;
        models.extend(overrides.iter().map(|(name, price)| (name.clone(), *price)));
        Prices { models }
    }

    /// The price of `model`: its own, or that of the longest name it starts with.
    pub fn of(&self, model: &str) -> Option<&Price> {
        if let Some(price) = self.models.get(model) {
            return Some(price);
        }
        self.models.iter().filter(|(name, _)| model.starts_with(name.as_str())).max_by_key(|(name, _)| name.len()).map(|(_, price)| price)
    }
}

/// Add `cost_usd` to a usage object a client receives, when the cost is known:
/// the APIs' usage objects take extra fields, and the official clients keep them.
pub fn insert_cost(object: &mut serde_json::Value, usage: &Usage) {
    if let (Some(micro), Some(object)) = (usage.cost_micro_usd, object.as_object_mut()) {
        object.insert("cost_usd".into(), serde_json::json!(usd(micro)));
    }
}

/// Millionths of a US dollar as `$` and dollars, for messages: cents at
/// least, and every millionth there is (`$25.50`, `$0.001036`).
pub fn dollars(micro: u64) -> String {
    let whole = micro / 1_000_000;
    let fraction = format!("{:06}", micro % 1_000_000);
    let digits = fraction.trim_end_matches('0');
    format!("${whole}.{}", if digits.len() < 2 { &fraction[..2] } else { digits })
}

/// Millionths of a US dollar as dollars, for answers and logs.
pub fn usd(micro: u64) -> f64 {
    micro as f64 / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_reads_and_every_price_is_sane() {
        let shipped: Shipped = toml::from_str(SHIPPED).expect("runtime/data/prices.toml is valid");
        assert!(shipped.models.len() >= 10);
        for (name, price) in &shipped.models {
            assert_eq!(price.check(), Ok(()), "{name}");
            assert!(price.output >= price.input, "{name}: output costs at least input");
        }
    }

    #[test]
    fn a_dated_name_takes_the_longest_prefix_and_overrides_win() {
        let prices = Prices::with(&BTreeMap::from([(
            "gpt-4.1-mini".to_owned(),
            Price { input: 1.0, cached_input: None, cache_write: None, output: 2.0, reasoning: None },
        )]));
        assert_eq!(prices.of("gpt-4.1-mini-2025-04-14").map(|p| p.input), Some(1.0), "not gpt-4.1's price");
        assert_eq!(prices.of("gpt-4.1-2025-04-14").map(|p| p.input), Some(2.0));
        assert_eq!(prices.of("llama-3.3-70b"), None);
    }

    #[test]
    fn cost_counts_each_kind_of_token_at_its_price() {
        let price = Price { input: 3.0, cached_input: Some(0.3), cache_write: Some(3.75), output: 15.0, reasoning: Some(20.0) };
        let usage = Usage {
            input_tokens: Some(10_000),
            cache_read_tokens: Some(4_000),
            cache_write_tokens: Some(1_000),
            output_tokens: Some(2_000),
            reasoning_tokens: Some(500),
            ..Usage::default()
        };
        // 5,000 x 3 + 4,000 x 0.3 + 1,000 x 3.75 + 1,500 x 15 + 500 x 20 (millionths of a dollar).
        assert_eq!(price.cost_micro_usd(&usage), 15_000 + 1_200 + 3_750 + 22_500 + 10_000);
        let absurd = Usage { input_tokens: Some(u64::MAX), cache_read_tokens: Some(u64::MAX), ..Usage::default() };
        assert!(price.cost_micro_usd(&absurd) > 0, "saturates rather than wraps");
        assert_eq!(price.cost_micro_usd(&Usage::default()), 0);
        assert_eq!(usd(1_234_567), 1.234567);
        assert_eq!([dollars(25_500_000), dollars(1_036), dollars(0), dollars(1_000_000_001)], ["$25.50", "$0.001036", "$0.00", "$1000.000001"]);
    }
}
