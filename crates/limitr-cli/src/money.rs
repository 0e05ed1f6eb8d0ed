//! Money: the policy's currency (what one rune is worth, from `exchange.rune`), its minor unit,
//! and rounding (once per invoice line, half away from zero).

use limitr_core::Limitr;
use limitr_core::number::{self, Decimal};
use rust_decimal::RoundingStrategy;

/// ISO 4217 currencies without a minor unit (0 digits) and with three digits; every other
/// currency has two.
const NO_MINOR: &[&str] = &[
    "bif", "clp", "djf", "gnf", "isk", "jpy", "kmf", "krw", "pyg", "rwf", "ugx", "uyi", "vnd",
    "vuv", "xaf", "xof", "xpf",
];
const THREE_DIGITS: &[&str] = &["bhd", "iqd", "jod", "kwd", "lyd", "omr", "tnd"];

/// The currency amounts are shown in.
#[derive(Debug, Clone, PartialEq)]
pub struct Currency {
    /// Its code as the policy writes it (`usd`), or `rune` when the policy names none.
    pub code: String,
    /// Units of the currency per rune.
    pub per_rune: Decimal,
    /// Digits of its minor unit (2 for cents).
    pub digits: u32,
}

/// The minor-unit digits of a currency code.
pub fn minor_digits(code: &str) -> u32 {
    let c = code.to_ascii_lowercase();
    if NO_MINOR.contains(&c.as_str()) {
        0
    } else if THREE_DIGITS.contains(&c.as_str()) {
        3
    } else {
        2
    }
}

impl Currency {
    /// The policy's currency: `exchange.rune: {value, currency}` (one rune is worth `value`
    /// units of `currency`), else runes themselves. `digits` overrides the minor unit.
    pub fn of(engine: &Limitr, digits: Option<u32>) -> Currency {
        let rune = engine
            .policy()
            .raw()
            .get("exchange")
            .and_then(|e| e.get("rune"));
        let code = rune
            .and_then(|r| r.get("currency"))
            .and_then(|c| c.as_str())
            .unwrap_or("rune")
            .to_string();
        let per_rune = rune
            .and_then(|r| r.get("value"))
            .and_then(number::from_value)
            .unwrap_or(Decimal::ONE);
        Currency {
            digits: digits.unwrap_or_else(|| minor_digits(&code)),
            code,
            per_rune,
        }
    }

    /// Runes in this currency, exact.
    pub fn of_runes(&self, runes: Decimal) -> Decimal {
        runes.saturating_mul(self.per_rune).normalize()
    }

    /// Rounded to the minor unit, half away from zero.
    pub fn round(&self, amount: Decimal) -> Decimal {
        amount.round_dp_with_strategy(self.digits, RoundingStrategy::MidpointAwayFromZero)
    }

    /// Rounded and written with all its minor digits (`12.30`).
    pub fn show(&self, amount: Decimal) -> String {
        let mut r = self.round(amount);
        r.rescale(self.digits);
        r.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_and_rounding() {
        assert_eq!(minor_digits("USD"), 2);
        assert_eq!(minor_digits("jpy"), 0);
        assert_eq!(minor_digits("kwd"), 3);
        let c = Currency {
            code: "usd".into(),
            per_rune: Decimal::ONE,
            digits: 2,
        };
        assert_eq!(c.show(Decimal::new(12345, 3)), "12.35");
        assert_eq!(c.show(Decimal::new(-12345, 3)), "-12.35");
        assert_eq!(c.show(Decimal::from(3)), "3.00");
    }
}
