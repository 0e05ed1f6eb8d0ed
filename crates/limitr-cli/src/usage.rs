//! Usage files: one call per row, CSV (by the `csv` crate) or JSON lines, by extension.
//!
//! Columns: `timestamp` (ISO 8601 / RFC 3339, a date-time without offset read as UTC, a date, or
//! epoch milliseconds), `customer`, `entitlement`, `amount`, and optionally `overhead` (the call's
//! provider cost in runes) and `event_data` (a JSON object). A malformed row is a [`BadRow`] with
//! its line number; the caller skips it (counted, with a warning) or stops.

use crate::failure::{Failure, Result};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use compact_str::CompactString;
use limitr_core::number::{self, Decimal};
use serde_json::Value;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// One call (ids inline: no allocation for ids up to 24 bytes).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based line of the row in the file.
    pub line: u64,
    /// Epoch milliseconds.
    pub at: i64,
    /// The customer's id.
    pub customer: CompactString,
    /// The entitlement used.
    pub entitlement: CompactString,
    /// The amount, in the entitlement's credit units.
    pub amount: Decimal,
    /// The call's provider cost in runes, when given.
    pub overhead: Option<Decimal>,
    /// Data for the call (overhead rates read it), when given.
    pub event_data: Option<Value>,
}

/// A row that could not be read: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// 1-based line in the file.
    pub line: u64,
    /// What is wrong, naming the column.
    pub message: String,
}

/// Reads an epoch-ms or ISO 8601 timestamp.
///
/// ```text
/// 1767225600000  2026-01-01T00:00:00Z  2026-01-01T01:00:00+01:00  2026-01-01T00:00:00.5  2026-01-01
/// ```
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(ms) = t.parse::<i64>() {
        return Some(ms);
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d.timestamp_millis());
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, f) {
            return Some(d.and_utc().timestamp_millis());
        }
    }
    if let Ok(d) = DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f%#z") {
        return Some(d.timestamp_millis());
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp_millis())
}

/// Column positions of a CSV header.
#[derive(Debug, Clone, Copy)]
struct Columns {
    timestamp: usize,
    customer: usize,
    entitlement: usize,
    amount: usize,
    overhead: Option<usize>,
    event_data: Option<usize>,
}

enum Source {
    Csv {
        reader: csv::Reader<File>,
        record: csv::StringRecord,
        columns: Columns,
    },
    Lines {
        reader: BufReader<File>,
        text: String,
        value: Value,
        line: u64,
    },
}

/// Reads a usage file row by row.
pub struct Usage {
    path: PathBuf,
    source: Source,
    /// Bytes read so far (for progress).
    bytes: u64,
}

fn bad(line: u64, message: impl Into<String>) -> BadRow {
    BadRow {
        line,
        message: message.into(),
    }
}

fn amount(line: u64, column: &str, text: &str) -> std::result::Result<Decimal, BadRow> {
    number::parse_decimal(text)
        .ok_or_else(|| bad(line, format!("`{column}`: `{text}` is not a number")))
}

fn timestamp(line: u64, text: &str) -> std::result::Result<i64, BadRow> {
    parse_timestamp(text).ok_or_else(|| {
        bad(
            line,
            format!("`timestamp`: `{text}` is not an ISO 8601 date-time or epoch milliseconds"),
        )
    })
}

fn id(line: u64, column: &str, text: &str) -> std::result::Result<CompactString, BadRow> {
    let text = text.trim_ascii();
    if text.is_empty() {
        return Err(bad(line, format!("`{column}` is empty")));
    }
    Ok(CompactString::new(text))
}

impl Usage {
    /// Opens `path`: JSON lines for `.jsonl`/`.ndjson`, CSV otherwise. A CSV header without the
    /// required columns is an error naming them.
    pub fn open(path: &Path) -> Result<Usage> {
        let file = File::open(path).map_err(|e| Failure::io("read", path, &e))?;
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        let source = if matches!(ext, "jsonl" | "ndjson") {
            Source::Lines {
                reader: BufReader::with_capacity(1 << 16, file),
                text: String::new(),
                value: Value::Null,
                line: 0,
            }
        } else {
            // fields are trimmed where they are read (cheaper than trimming whole records)
            let mut reader = csv::ReaderBuilder::new()
                .buffer_capacity(1 << 16)
                .from_reader(file);
            let header = reader.headers().map_err(|e| {
                Failure::new(format!("`{}`: cannot read the header: {e}", path.display()))
            })?;
            let find = |name: &str| {
                header
                    .iter()
                    .position(|h| h.trim().eq_ignore_ascii_case(name))
            };
            let need = |name: &str| {
                find(name).ok_or_else(|| {
                    Failure::new(format!(
                        "`{}`:1: the header has no `{name}` column (found: {}); expected \
                         timestamp,customer,entitlement,amount[,overhead][,event_data]",
                        path.display(),
                        header.iter().collect::<Vec<_>>().join(",")
                    ))
                })
            };
            let columns = Columns {
                timestamp: need("timestamp")?,
                customer: need("customer")?,
                entitlement: need("entitlement")?,
                amount: need("amount")?,
                overhead: find("overhead"),
                event_data: find("event_data"),
            };
            Source::Csv {
                reader,
                record: csv::StringRecord::new(),
                columns,
            }
        };
        Ok(Usage {
            path: path.to_path_buf(),
            source,
            bytes: 0,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The next row; `None` at the end. An unreadable file (an I/O error) is a [`Failure`].
    pub fn next_row(&mut self) -> Option<Result<std::result::Result<Row, BadRow>>> {
        match &mut self.source {
            Source::Csv {
                reader,
                record,
                columns,
            } => {
                match reader.read_record(record) {
                    Ok(false) => return None,
                    Ok(true) => {}
                    Err(e) => {
                        let line = e.position().map_or(0, csv::Position::line);
                        return match e.kind() {
                            csv::ErrorKind::Io(_) => Some(Err(Failure::new(format!(
                                "`{}`: cannot read: {e}",
                                self.path.display()
                            )))),
                            _ => {
                                // a row of the wrong width or bad UTF-8: reported, then skipped
                                let message = match e.kind() {
                                    csv::ErrorKind::UnequalLengths {
                                        expected_len, len, ..
                                    } => {
                                        format!("{len} fields where the header has {expected_len}")
                                    }
                                    _ => e.to_string(),
                                };
                                Some(Ok(Err(bad(line, message))))
                            }
                        };
                    }
                }
                let pos = record.position();
                let line = pos.map_or(0, csv::Position::line);
                self.bytes = pos.map_or(self.bytes, csv::Position::byte);
                Some(Ok(csv_row(record, *columns, line)))
            }
            Source::Lines {
                reader,
                text,
                value,
                line,
            } => loop {
                text.clear();
                match reader.read_line(text) {
                    Ok(0) => return None,
                    Ok(n) => self.bytes += n as u64,
                    Err(e) => {
                        return Some(Err(Failure::new(format!(
                            "`{}`:{}: cannot read: {e}",
                            self.path.display(),
                            *line + 1
                        ))));
                    }
                }
                *line += 1;
                if text.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(text) {
                    Ok(v) => *value = v,
                    Err(e) => return Some(Ok(Err(bad(*line, format!("not a JSON object: {e}"))))),
                }
                return Some(Ok(json_row(value, *line)));
            },
        }
    }
}

fn csv_row(record: &csv::StringRecord, c: Columns, line: u64) -> std::result::Result<Row, BadRow> {
    let field = |i: usize| record.get(i).unwrap_or("").trim_ascii();
    let optional = |i: Option<usize>| i.map(field).filter(|t| !t.is_empty());
    let overhead = match optional(c.overhead) {
        Some(t) => Some(amount(line, "overhead", t)?),
        None => None,
    };
    let event_data = match optional(c.event_data) {
        Some(t) => Some(
            serde_json::from_str::<Value>(t)
                .map_err(|e| bad(line, format!("`event_data`: not JSON: {e}")))?,
        ),
        None => None,
    };
    Ok(Row {
        line,
        at: timestamp(line, field(c.timestamp))?,
        customer: id(line, "customer", field(c.customer))?,
        entitlement: id(line, "entitlement", field(c.entitlement))?,
        amount: amount(line, "amount", field(c.amount))?,
        overhead,
        event_data,
    })
}

fn json_row(v: &Value, line: u64) -> std::result::Result<Row, BadRow> {
    let Some(o) = v.as_object() else {
        return Err(bad(line, "expected a JSON object per line"));
    };
    let text = |name: &str| -> std::result::Result<&str, BadRow> {
        match o.get(name) {
            Some(Value::String(s)) => Ok(s.as_str()),
            Some(_) => Err(bad(line, format!("`{name}`: expected a string"))),
            None => Err(bad(line, format!("missing `{name}`"))),
        }
    };
    let num = |name: &str| -> std::result::Result<Option<Decimal>, BadRow> {
        match o.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => number::from_value(v)
                .map(Some)
                .ok_or_else(|| bad(line, format!("`{name}`: `{v}` is not a number"))),
        }
    };
    let at = match o.get("timestamp") {
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| {
            bad(
                line,
                format!("`timestamp`: `{n}` is not epoch milliseconds"),
            )
        })?,
        Some(Value::String(s)) => timestamp(line, s)?,
        Some(other) => {
            return Err(bad(
                line,
                format!("`timestamp`: `{other}` is not a timestamp"),
            ));
        }
        None => return Err(bad(line, "missing `timestamp`")),
    };
    Ok(Row {
        line,
        at,
        customer: id(line, "customer", text("customer")?)?,
        entitlement: id(line, "entitlement", text("entitlement")?)?,
        amount: num("amount")?.ok_or_else(|| bad(line, "missing `amount`"))?,
        overhead: num("overhead")?,
        event_data: o.get("event_data").filter(|v| !v.is_null()).cloned(),
    })
}

/// `customers.csv`: `id,plan` per customer. Errors name the file and line.
pub fn read_customers(path: &Path) -> Result<Vec<(String, String, u64)>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| Failure::new(format!("`{}`: cannot read: {e}", path.display())))?;
    let header = reader
        .headers()
        .map_err(|e| Failure::new(format!("`{}`: cannot read the header: {e}", path.display())))?
        .clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                Failure::new(format!(
                    "`{}`:1: the header has no `{name}` column; expected id,plan",
                    path.display()
                ))
            })
    };
    let (id, plan) = (col("id")?, col("plan")?);
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, csv::Position::line);
            Failure::new(format!("`{}`:{line}: {e}", path.display()))
        })?;
        let line = record.position().map_or(0, csv::Position::line);
        let (i, p) = (record.get(id).unwrap_or(""), record.get(plan).unwrap_or(""));
        if i.is_empty() {
            return Err(Failure::new(format!(
                "`{}`:{line}: `id` is empty",
                path.display()
            )));
        }
        out.push((i.to_string(), p.to_string(), line));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_every_accepted_form() {
        let jan1 = 1_767_225_600_000;
        assert_eq!(parse_timestamp("1767225600000"), Some(jan1));
        assert_eq!(parse_timestamp("2026-01-01T00:00:00Z"), Some(jan1));
        assert_eq!(parse_timestamp("2026-01-01T01:00:00+01:00"), Some(jan1));
        assert_eq!(parse_timestamp("2026-01-01T00:00:00.250"), Some(jan1 + 250));
        assert_eq!(parse_timestamp("2026-01-01 00:00:01"), Some(jan1 + 1000));
        assert_eq!(parse_timestamp("2026-01-01"), Some(jan1));
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp("2026-13-01"), None);
    }
}
