//! The unit graph: every currency and credit resolved once to a rune rate, then converted linearly.
//!
//! A pair `name: { value, currency }` says one unit of `name` is worth `value` units of `currency`.
//! Resolution follows pairs until `rune`; a currency with no pair that is a credit with its own
//! (linear) price resolves through that price. Cycles and dead ends have no rate.

use crate::number::Decimal;
use hashbrown::HashMap;

/// The order grants are drawn in (`exchange.grant_strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GrantStrategy {
    /// Grants that expire soonest first; among never-expiring grants, the oldest first.
    #[default]
    ExpiresFirst,
    /// Lowest rune value per unit first.
    CheapestFirst,
    /// Highest rune value per unit first.
    ValuableFirst,
}

/// One exchange pair: one unit of its key is worth `value` units of `currency`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// Rate (≥ 0).
    pub value: Decimal,
    /// Target currency.
    pub currency: String,
}

/// The resolved exchange table, built once per policy.
#[derive(Debug, Clone, Default)]
pub struct Exchange {
    /// Grant draw order.
    pub strategy: GrantStrategy,
    rates: HashMap<String, Decimal>,
}

/// The base currency.
pub const RUNE: &str = "rune";

impl Exchange {
    /// Resolves every name in `pairs` and `priced` (credit name → linear unit price) to a rune rate.
    /// Returns the table and the names whose chain is broken (cycle or dead end).
    pub fn build(
        pairs: &HashMap<String, Pair>,
        priced: &HashMap<String, Decimal>,
        strategy: GrantStrategy,
    ) -> (Exchange, Vec<String>) {
        let mut rates = HashMap::new();
        rates.insert(RUNE.to_string(), Decimal::ONE);
        let mut broken = Vec::new();
        let names = pairs.keys().chain(priced.keys());
        for name in names {
            if rates.contains_key(name) {
                continue;
            }
            match resolve(name, pairs, priced) {
                Some(rate) => {
                    rates.insert(name.clone(), rate);
                }
                None => {
                    if pairs.contains_key(name) {
                        broken.push(name.clone());
                    }
                }
            }
        }
        broken.sort();
        (Exchange { strategy, rates }, broken)
    }

    /// Runes per unit of `currency`, if it resolves.
    pub fn rate(&self, currency: &str) -> Option<Decimal> {
        self.rates.get(currency).copied()
    }

    /// Value of `v` units of `currency`, in runes.
    pub fn to_runes(&self, v: Decimal, currency: &str) -> Option<Decimal> {
        v.checked_mul(self.rate(currency)?)
    }

    /// How many units of `currency` `runes` buys (no rate, or a zero rate, gives `None`).
    pub fn from_runes(&self, runes: Decimal, currency: &str) -> Option<Decimal> {
        let rate = self.rate(currency)?;
        if rate.is_zero() {
            return None;
        }
        runes.checked_div(rate)
    }

    /// Converts `v` units of `from` into units of `to` (same name: unchanged).
    ///
    /// ```
    /// use limitr_core::Limitr;
    /// let policy = Limitr::from_json(r#"{"policy": {"exchange": {
    ///     "ai-token": {"value": 1.25, "currency": "rune"},
    ///     "input": {"value": 0.000004, "currency": "ai-token"}}}}"#).unwrap();
    /// let x = policy.credit_exchange("input", "ai-token", "118000".parse().unwrap()).unwrap();
    /// assert_eq!(x.to_string(), "0.472");
    /// ```
    pub fn convert(&self, v: Decimal, from: &str, to: &str) -> Option<Decimal> {
        if from == to {
            return Some(v);
        }
        self.from_runes(self.to_runes(v, from)?, to)
            .map(|d| d.normalize())
    }
}

fn resolve(
    start: &str,
    pairs: &HashMap<String, Pair>,
    priced: &HashMap<String, Decimal>,
) -> Option<Decimal> {
    let mut factor = Decimal::ONE;
    let mut current = start;
    let mut seen: Vec<&str> = Vec::new();
    while current != RUNE {
        if seen.contains(&current) {
            return None;
        }
        seen.push(current);
        if let Some(pair) = pairs.get(current) {
            factor = factor.checked_mul(pair.value)?;
            current = pair.currency.as_str();
        } else if let Some(price) = priced.get(current) {
            return factor.checked_mul(*price);
        } else {
            return None;
        }
    }
    Some(factor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn resolves_chains_and_detects_cycles() {
        let mut pairs = HashMap::new();
        pairs.insert(
            "usd".into(),
            Pair {
                value: d("1"),
                currency: "rune".into(),
            },
        );
        pairs.insert(
            "ai".into(),
            Pair {
                value: d("1.25"),
                currency: "usd".into(),
            },
        );
        pairs.insert(
            "a".into(),
            Pair {
                value: d("1"),
                currency: "b".into(),
            },
        );
        pairs.insert(
            "b".into(),
            Pair {
                value: d("1"),
                currency: "a".into(),
            },
        );
        let mut priced = HashMap::new();
        priced.insert("img".into(), d("0.04"));
        let (x, broken) = Exchange::build(&pairs, &priced, GrantStrategy::default());
        assert_eq!(broken, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(x.rate("ai"), Some(d("1.25")));
        assert_eq!(x.convert(d("2"), "ai", "img"), Some(d("62.5")));
        assert_eq!(x.convert(d("2"), "a", "img"), None);
    }
}
