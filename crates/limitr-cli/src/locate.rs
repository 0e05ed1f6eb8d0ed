//! Where a dotted document path (`policy.plans.pro.entitlements.chat.limit.credit`) sits in the
//! source text: line and column, from the span-aware parsers the core's formats already use
//! (`serde-saphyr` for YAML and JSON, which is YAML's flow syntax; `toml`'s spanned tables).

use limitr_core::Format;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    /// Line, from 1.
    pub line: u64,
    /// Column, from 1.
    pub column: u64,
}

/// A parsed document reduced to its shape: maps and sequences with where each child starts.
#[derive(Debug, Default)]
enum Node {
    Map(Vec<(String, Position, Node)>),
    Seq(Vec<(Position, Node)>),
    #[default]
    Leaf,
}

/// Finds paths in one document.
#[derive(Debug)]
pub struct Locator {
    root: Node,
}

impl Locator {
    /// Parses `text` for its positions; `None` when it does not parse (the core reports that).
    pub fn new(text: &str, format: Format) -> Option<Locator> {
        let root = match format {
            Format::Json | Format::Yaml => serde_saphyr::from_str::<YamlNode>(text).ok()?.0,
            Format::Toml => toml_root(text)?,
        };
        Some(Locator { root })
    }

    /// The position of `path`, or of its deepest part that exists (a missing field is reported
    /// where its parent is). `None` when not even the first part exists.
    pub fn find(&self, path: &str) -> Option<Position> {
        let mut node = &self.root;
        let mut rest = path;
        let mut found = None;
        while !rest.is_empty() {
            let next = match node {
                Node::Map(entries) => entries
                    .iter()
                    // the longest key that starts the rest (keys may hold dots)
                    .filter(|(k, _, _)| {
                        rest == k.as_str()
                            || (rest.starts_with(k.as_str())
                                && rest.as_bytes().get(k.len()) == Some(&b'.'))
                    })
                    .max_by_key(|(k, _, _)| k.len())
                    .map(|(k, p, n)| (k.len(), *p, n)),
                Node::Seq(items) => {
                    let head = rest.split('.').next().unwrap_or(rest);
                    head.parse::<usize>()
                        .ok()
                        .and_then(|i| items.get(i))
                        .map(|(p, n)| (head.len(), *p, n))
                }
                Node::Leaf => None,
            };
            let Some((len, pos, child)) = next else { break };
            found = Some(pos);
            node = child;
            rest = rest.get(len..).unwrap_or("");
            rest = rest.strip_prefix('.').unwrap_or(rest);
        }
        found
    }
}

/// The position of a parse error, from the same parsers (the core's message has it as text).
pub fn parse_error_position(text: &str, format: Format) -> Option<Position> {
    match format {
        Format::Json => serde_json::from_str::<serde::de::IgnoredAny>(text)
            .err()
            .map(|e| Position {
                line: e.line() as u64,
                column: e.column() as u64,
            }),
        Format::Yaml => serde_saphyr::from_str::<serde::de::IgnoredAny>(text)
            .err()
            .and_then(|e| e.location())
            .map(|l| Position {
                line: l.line(),
                column: l.column(),
            }),
        Format::Toml => {
            let e = toml::de::DeTable::parse(text).err()?;
            e.span().map(|s| offset_position(text, s.start))
        }
    }
}

/// Line and column of a byte offset.
fn offset_position(text: &str, offset: usize) -> Position {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() as u64 + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64 + 1;
    Position { line, column }
}

struct YamlNode(Node);

impl<'de> Deserialize<'de> for YamlNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(YamlVisitor)
    }
}

/// A key of any scalar type, as text.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(Key(match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        }))
    }
}

struct YamlVisitor;

fn pos_of(l: &serde_saphyr::Location) -> Position {
    Position {
        line: l.line(),
        column: l.column(),
    }
}

impl<'de> Visitor<'de> for YamlVisitor {
    type Value = YamlNode;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<YamlNode, A::Error> {
        let mut entries = Vec::new();
        while let Some(Key(k)) = map.next_key::<Key>()? {
            let v: serde_saphyr::Spanned<YamlNode> = map.next_value()?;
            entries.push((k, pos_of(&v.referenced), v.value.0));
        }
        Ok(YamlNode(Node::Map(entries)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<YamlNode, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element::<serde_saphyr::Spanned<YamlNode>>()? {
            items.push((pos_of(&v.referenced), v.value.0));
        }
        Ok(YamlNode(Node::Seq(items)))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<YamlNode, E> {
        Ok(YamlNode(Node::Leaf))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<YamlNode, E> {
        Ok(YamlNode(Node::Leaf))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<YamlNode, E> {
        Ok(YamlNode(Node::Leaf))
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<YamlNode, E> {
        Ok(YamlNode(Node::Leaf))
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<YamlNode, E> {
        Ok(YamlNode(Node::Leaf))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<YamlNode, E> {
        Ok(YamlNode(Node::Leaf))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<YamlNode, E> {
        Ok(YamlNode(Node::Leaf))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<YamlNode, E> {
        Ok(YamlNode(Node::Leaf))
    }
    fn visit_unit<E: de::Error>(self) -> Result<YamlNode, E> {
        Ok(YamlNode(Node::Leaf))
    }
    fn visit_none<E: de::Error>(self) -> Result<YamlNode, E> {
        Ok(YamlNode(Node::Leaf))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<YamlNode, D::Error> {
        YamlNode::deserialize(d)
    }
}

fn toml_root(text: &str) -> Option<Node> {
    let table = toml::de::DeTable::parse(text).ok()?;
    Some(toml_table(text, table.get_ref()))
}

fn toml_table(text: &str, t: &toml::de::DeTable<'_>) -> Node {
    Node::Map(
        t.iter()
            .map(|(k, v)| {
                (
                    k.get_ref().to_string(),
                    offset_position(text, v.span().start),
                    toml_value(text, v.get_ref()),
                )
            })
            .collect(),
    )
}

fn toml_value(text: &str, v: &toml::de::DeValue<'_>) -> Node {
    match v {
        toml::de::DeValue::Table(t) => toml_table(text, t),
        toml::de::DeValue::Array(items) => Node::Seq(
            items
                .iter()
                .map(|i| {
                    (
                        offset_position(text, i.span().start),
                        toml_value(text, i.get_ref()),
                    )
                })
                .collect(),
        ),
        _ => Node::Leaf,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_paths_in_every_format() {
        let json = "{\"policy\": {\n  \"plans\": {\n    \"pro\": {\"label\": 3}\n  }\n}}";
        let l = Locator::new(json, Format::Json).unwrap();
        assert_eq!(l.find("policy.plans.pro.label").map(|p| p.line), Some(3));
        assert_eq!(l.find("policy.plans.pro.missing").map(|p| p.line), Some(3));
        let yaml =
            "policy:\n  plans:\n    pro:\n      label: 3\n      tiers:\n        - a\n        - b\n";
        let l = Locator::new(yaml, Format::Yaml).unwrap();
        assert_eq!(l.find("policy.plans.pro.label").map(|p| p.line), Some(4));
        assert_eq!(l.find("policy.plans.pro.tiers.1").map(|p| p.line), Some(7));
        let toml = "[policy.plans.pro]\nlabel = 3\n\n[policy.credits.tok]\nprice = 1\n";
        let l = Locator::new(toml, Format::Toml).unwrap();
        assert_eq!(l.find("policy.credits.tok.price").map(|p| p.line), Some(5));
        assert_eq!(l.find("nothing"), None);
    }

    #[test]
    fn dotted_keys_match_whole() {
        let json = "{\"a\": {\"b.c\": {\n\"d\": 1}}}";
        let l = Locator::new(json, Format::Json).unwrap();
        assert_eq!(l.find("a.b.c.d").map(|p| p.line), Some(2));
    }

    #[test]
    fn parse_errors_have_positions() {
        assert_eq!(
            parse_error_position("{\n\"a\": }", Format::Json).map(|p| p.line),
            Some(2)
        );
        assert_eq!(
            parse_error_position("a = 1\nb = ", Format::Toml).map(|p| p.line),
            Some(2)
        );
        assert!(parse_error_position("a: [", Format::Yaml).is_some());
    }
}
