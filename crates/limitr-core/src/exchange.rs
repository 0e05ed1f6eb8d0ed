//! The unit graph: every currency and credit resolved once to a rune rate, then converted linearly.
//!
//! A pair `name: { value, currency }` says one unit of `name` is worth `value` units of `currency`.
//! Resolution follows pairs until `rune`; a currency with no pair that is a credit with its own
//! (linear) price resolves through that price. Cycles and dead ends have no rate.

use crate::number::Decimal;
use crate::pricing::Model;
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

/// How a currency resolves to runes.
#[derive(Debug, Clone, PartialEq)]
enum Rate {
    /// Linear: one unit is worth this many runes.
    Linear(Decimal),
    /// Through a credit's non-linear price: one unit is `factor` units of that credit, priced by
    /// its curve at a position.
    Curve(Decimal, Model),
}

/// The resolved exchange table, built once per policy.
#[derive(Debug, Clone, Default)]
pub struct Exchange {
    /// Grant draw order.
    pub strategy: GrantStrategy,
    rates: Rates,
    /// For a few currencies: whether one unit of the i-th converts into the j-th (row-major over
    /// the `Rates::Few` list), so grant selection does not convert to find out.
    convertible: Vec<bool>,
}

/// Rates by currency name: a list scanned in order for the usual handful of currencies (cheaper
/// than hashing the name on every draw), a hash map past [`Rates::FEW`].
#[derive(Debug, Clone)]
enum Rates {
    Few(Vec<(Box<str>, Rate)>),
    Many(HashMap<String, Rate>),
}

impl Default for Rates {
    fn default() -> Self {
        Rates::Few(Vec::new())
    }
}

impl Rates {
    const FEW: usize = 12;

    fn new(map: HashMap<String, Rate>) -> Self {
        if map.len() <= Self::FEW {
            Rates::Few(
                map.into_iter()
                    .map(|(k, v)| (k.into_boxed_str(), v))
                    .collect(),
            )
        } else {
            Rates::Many(map)
        }
    }

    fn get(&self, currency: &str) -> Option<&Rate> {
        match self {
            Rates::Few(list) => list.iter().find(|(k, _)| **k == *currency).map(|(_, r)| r),
            Rates::Many(map) => map.get(currency),
        }
    }
}

/// The base currency.
pub const RUNE: &str = "rune";

impl Exchange {
    /// Resolves every name in `pairs` and `priced` (credit name → its own price) to runes.
    /// Returns the table and the pair names whose chain is broken (cycle or dead end).
    pub fn build(
        pairs: &HashMap<String, Pair>,
        priced: &HashMap<String, Model>,
        strategy: GrantStrategy,
    ) -> (Exchange, Vec<String>) {
        let mut rates = HashMap::new();
        rates.insert(RUNE.to_string(), Rate::Linear(Decimal::ONE));
        let mut broken = Vec::new();
        for (name, rate) in resolve_all(pairs, priced) {
            match rate {
                Some(rate) => {
                    rates.insert(name.to_string(), rate);
                }
                None if pairs.contains_key(name) => broken.push(name.to_string()),
                None => {}
            }
        }
        broken.sort();
        let mut exchange = Exchange {
            strategy,
            rates: Rates::new(rates),
            convertible: Vec::new(),
        };
        if let Rates::Few(list) = &exchange.rates {
            let names: Vec<&str> = list.iter().map(|(k, _)| &**k).collect();
            let table = names
                .iter()
                .flat_map(|a| names.iter().map(move |b| (*a, *b)))
                .map(|(a, b)| exchange.convert(Decimal::ONE, a, b).is_some())
                .collect();
            exchange.convertible = table;
        }
        (exchange, broken)
    }

    /// Runes per unit of `currency` when it converts linearly (for a curve: its first-band rate).
    pub fn rate(&self, currency: &str) -> Option<Decimal> {
        match self.rates.get(currency)? {
            Rate::Linear(r) => Some(*r),
            Rate::Curve(f, m) => f.checked_mul(m.first_rate()?),
        }
    }

    /// Whether one unit of `from` converts into `to` (`convert(1, from, to).is_some()`, read from
    /// a table built with the exchange when it has few currencies).
    pub fn can_convert(&self, from: &str, to: &str) -> bool {
        if from == to {
            return true;
        }
        if let Rates::Few(list) = &self.rates {
            let at = |name: &str| list.iter().position(|(k, _)| **k == *name);
            return match (at(from), at(to)) {
                (Some(i), Some(j)) => self
                    .convertible
                    .get(i * list.len() + j)
                    .copied()
                    .unwrap_or(false),
                _ => false, // a name without a rate converts nowhere (but to itself)
            };
        }
        self.convert(Decimal::ONE, from, to).is_some()
    }

    /// Whether `currency` converts to runes at all.
    pub fn resolves(&self, currency: &str) -> bool {
        currency == RUNE || self.rates.get(currency).is_some()
    }

    /// Value in runes of `v` units of `currency` starting at position `offset` (in its units).
    pub fn to_runes_at(&self, v: Decimal, currency: &str, offset: Decimal) -> Option<Decimal> {
        match self.rates.get(currency)? {
            Rate::Linear(r) => v.checked_mul(*r),
            Rate::Curve(f, m) => m.price_of(v.checked_mul(*f)?, offset.checked_mul(*f)?),
        }
    }

    /// Units of `currency` that `runes` buys starting at position `offset` (`None`: no rate, or a
    /// zero rate).
    pub fn from_runes_at(
        &self,
        runes: Decimal,
        currency: &str,
        offset: Decimal,
    ) -> Option<Decimal> {
        match self.rates.get(currency)? {
            Rate::Linear(r) if r.is_zero() => None,
            Rate::Linear(r) => runes.checked_div(*r),
            Rate::Curve(f, m) if f.is_zero() => None,
            Rate::Curve(f, m) => m
                .quantity_for(runes, offset.checked_mul(*f)?)?
                .checked_div(*f),
        }
    }

    /// Value of `v` units of `currency`, in runes (from position 0).
    pub fn to_runes(&self, v: Decimal, currency: &str) -> Option<Decimal> {
        self.to_runes_at(v, currency, Decimal::ZERO)
    }

    /// How many units of `currency` `runes` buys (from position 0).
    pub fn from_runes(&self, runes: Decimal, currency: &str) -> Option<Decimal> {
        self.from_runes_at(runes, currency, Decimal::ZERO)
    }

    /// Converts `v` units of `from` into units of `to` (same name: unchanged), from position 0.
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
        self.convert_at(v, from, to, Decimal::ZERO, Decimal::ZERO)
    }

    /// Converts `v` units of `from` starting at `from_offset` into units of `to` starting at
    /// `to_offset` (positions matter only for credits priced on a curve).
    pub fn convert_at(
        &self,
        v: Decimal,
        from: &str,
        to: &str,
        from_offset: Decimal,
        to_offset: Decimal,
    ) -> Option<Decimal> {
        if from == to {
            return Some(v);
        }
        if to == RUNE {
            return self
                .to_runes_at(v, from, from_offset)
                .map(|d| d.normalize());
        }
        self.from_runes_at(self.to_runes_at(v, from, from_offset)?, to, to_offset)
            .map(|d| d.normalize())
    }
}

/// Resolves every name of `pairs` and `priced` once: each walk stops at the first name already
/// resolved, and the names it passed are resolved on the way back, so the whole table costs one
/// step per pair (a chain of n pairs is O(n), not O(n²)). A name that reaches a cycle or a dead
/// end maps to `None`.
fn resolve_all<'a>(
    pairs: &'a HashMap<String, Pair>,
    priced: &'a HashMap<String, Model>,
) -> HashMap<&'a str, Option<Rate>> {
    let mut memo: HashMap<&'a str, Option<Rate>> = HashMap::new();
    memo.insert(RUNE, Some(Rate::Linear(Decimal::ONE)));
    let mut path: Vec<(&'a str, Decimal)> = Vec::new();
    let mut on_path: hashbrown::HashSet<&'a str> = hashbrown::HashSet::new();
    for start in pairs.keys().chain(priced.keys()) {
        let mut current: &'a str = start.as_str();
        let mut rate = loop {
            if let Some(known) = memo.get(current) {
                break known.clone();
            }
            if !on_path.insert(current) {
                break None; // a cycle
            }
            if let Some(pair) = pairs.get(current) {
                path.push((current, pair.value));
                current = pair.currency.as_str();
            } else if let Some(model) = priced.get(current) {
                let own = match model.unit_rate() {
                    Some(r) => Rate::Linear(r),
                    None => Rate::Curve(Decimal::ONE, model.clone()),
                };
                memo.insert(current, Some(own.clone()));
                break Some(own);
            } else {
                break None; // a dead end
            }
        };
        for (name, value) in path.drain(..).rev() {
            rate = rate.and_then(|r| r.times(value));
            memo.insert(name, rate.clone());
        }
        on_path.clear();
    }
    memo
}

impl Rate {
    /// The rate of a unit worth `value` units of a currency at this rate.
    fn times(self, value: Decimal) -> Option<Rate> {
        Some(match self {
            Rate::Linear(r) => Rate::Linear(value.checked_mul(r)?),
            Rate::Curve(f, m) => Rate::Curve(value.checked_mul(f)?, m),
        })
    }
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
        priced.insert("img".into(), Model::Flat(d("0.04")));
        let (x, broken) = Exchange::build(&pairs, &priced, GrantStrategy::default());
        assert_eq!(broken, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(x.rate("ai"), Some(d("1.25")));
        assert_eq!(x.convert(d("2"), "ai", "img"), Some(d("62.5")));
        assert_eq!(x.convert(d("2"), "a", "img"), None);
        // the convertibility table says what converting one unit says, for every pair
        let names = ["rune", "usd", "ai", "a", "b", "img", "nothing"];
        for from in names {
            for to in names {
                assert_eq!(
                    x.can_convert(from, to),
                    x.convert(Decimal::ONE, from, to).is_some(),
                    "{from} → {to}"
                );
            }
        }
    }

    #[test]
    fn long_chains_resolve_in_one_pass() {
        let n = 20_000;
        let mut pairs = HashMap::new();
        for i in 0..n {
            let next = if i + 1 == n {
                RUNE.to_string()
            } else {
                format!("c{}", i + 1)
            };
            let value = if i % 1000 == 0 { d("2") } else { d("1") };
            pairs.insert(
                format!("c{i}"),
                Pair {
                    value,
                    currency: next,
                },
            );
        }
        // a long tail into a cycle: every name on it is broken
        for i in 0..n {
            let next = if i + 1 == n {
                "t0".to_string()
            } else {
                format!("t{}", i + 1)
            };
            pairs.insert(
                format!("t{i}"),
                Pair {
                    value: d("1"),
                    currency: next,
                },
            );
        }
        pairs.insert(
            "tail".into(),
            Pair {
                value: d("1"),
                currency: "t5".into(),
            },
        );
        let t = std::time::Instant::now();
        let (x, broken) = Exchange::build(&pairs, &HashMap::new(), GrantStrategy::default());
        assert!(t.elapsed().as_secs() < 5, "{:?}", t.elapsed());
        assert_eq!(x.rate("c0"), Some(d("1048576")));
        assert_eq!(x.rate("c19999"), Some(d("1")));
        assert_eq!(x.rate("c1000"), Some(d("524288")));
        assert_eq!(broken.len(), n + 1);
        assert!(!x.resolves("tail"));
    }
}
