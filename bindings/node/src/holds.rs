//! Reservations (`reserve`, `settle`, `release`, `held`), learned estimates (`observe`,
//! `estimate`) and usage trends (`rate`, `acceleration`, `projected_exhaustion`, `allowance`):
//! conversions around the core calls of the same names.

use crate::convert::{self, decimal, json, ms, num, opt_decimal};
use crate::error::{CoreResult, Result};
use crate::{options, registry};
use limitr_core::number;
use napi_derive::napi;

/// Holds room for a call of unknown size; `options`: JSON `{value?, ttl?, quantile?, basis?,
/// segment?, overhead?, context?}` or null. Returns the hold id, or null when there is no room.
#[napi]
pub fn reserve(
    h: u32,
    customer: String,
    entitlement: String,
    options: Option<String>,
) -> Result<Option<String>> {
    let options = convert::reserve_options(options.as_deref())?;
    registry::with(h, |e| {
        e.core.reserve(&customer, &entitlement, &options).js()
    })
}

/// Meters the real size of a reserved call and removes its hold (`last = false` keeps the rest of
/// the hold); `eventData` JSON text, `caps` JSON `{credit: ceiling}`, both optional.
#[napi]
#[allow(clippy::too_many_arguments, reason = "one primitive per call option")]
pub fn settle(
    h: u32,
    customer: String,
    entitlement: String,
    hold: String,
    value: f64,
    last: bool,
    events: bool,
    overhead: Option<f64>,
    event_data: Option<String>,
    caps: Option<String>,
    idempotency_key: Option<String>,
) -> Result<bool> {
    let value = decimal("value", value)?;
    let opts = options(events, overhead, event_data, caps, idempotency_key)?;
    registry::with(h, |e| {
        e.core
            .settle(&customer, &entitlement, &hold, value, last, &opts)
            .js()
    })
}

/// Drops a hold without metering; true if it was there.
#[napi]
pub fn release(
    h: u32,
    customer: String,
    entitlement: String,
    hold: String,
    idempotency_key: Option<String>,
) -> Result<bool> {
    registry::with(h, |e| {
        e.core
            .release_with(&customer, &entitlement, &hold, idempotency_key.as_deref())
            .js()
    })
}

/// Units held by unexpired holds, or null.
#[napi]
pub fn held(h: u32, customer: String, entitlement: String) -> Result<Option<f64>> {
    registry::with(h, |e| Ok(num(e.core.held(&customer, &entitlement).js()?)))
}

/// Learns the size (and provider cost) of a finished call; `eventData` JSON text or null.
#[napi]
#[allow(clippy::too_many_arguments, reason = "the observation's fields")]
pub fn observe(
    h: u32,
    customer: String,
    entitlement: String,
    value: f64,
    overhead: Option<f64>,
    basis: Option<f64>,
    segment: Option<String>,
    event_data: Option<String>,
) -> Result<bool> {
    let value = decimal("value", value)?;
    let overhead = opt_decimal("overhead", overhead)?;
    let data = event_data.map(|t| json("context", &t)).transpose()?;
    registry::with(h, |e| {
        e.core
            .observe(
                &customer,
                &entitlement,
                value,
                overhead,
                basis,
                segment.as_deref(),
                data.as_ref(),
            )
            .js()
    })
}

/// The predicted size and cost of a call as JSON `{value, overhead, samples, source, scope}`, or
/// null without samples.
#[napi]
pub fn estimate(
    h: u32,
    customer: String,
    entitlement: String,
    quantile: f64,
    basis: Option<f64>,
    segment: Option<String>,
) -> Result<Option<String>> {
    registry::with(h, |e| {
        Ok(e.core
            .estimate(&customer, &entitlement, quantile, basis, segment.as_deref())
            .js()?
            .map(|a| a.record().to_string()))
    })
}

/// Units per millisecond (`smoothed`: the exponentially weighted rate).
#[napi]
pub fn rate(h: u32, customer: String, entitlement: String, smoothed: bool) -> Result<f64> {
    registry::with(h, |e| {
        Ok(number::to_f64(
            e.core.rate(&customer, &entitlement, smoothed).js()?,
        ))
    })
}

/// Change of the rate over the last three changes.
#[napi]
pub fn acceleration(h: u32, customer: String, entitlement: String) -> Result<f64> {
    registry::with(h, |e| {
        Ok(number::to_f64(
            e.core.acceleration(&customer, &entitlement).js()?,
        ))
    })
}

/// When, at the current rate, the limit runs out (epoch ms), or null.
#[napi]
pub fn projected_exhaustion(
    h: u32,
    customer: String,
    entitlement: String,
    smoothed: bool,
    grants: bool,
) -> Result<Option<f64>> {
    registry::with(h, |e| {
        Ok(ms(e
            .core
            .projected_exhaustion(&customer, &entitlement, smoothed, grants)
            .js()?))
    })
}

/// What may be used right now (`remaining`, or less under a rate governor), or null.
#[napi]
pub fn allowance(
    h: u32,
    customer: String,
    entitlement: String,
    grants: bool,
) -> Result<Option<f64>> {
    registry::with(h, |e| {
        Ok(num(e
            .core
            .allowance(&customer, &entitlement, grants)
            .js()?))
    })
}
