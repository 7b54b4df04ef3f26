//! Keeps only the item members evaluation can read, while a resource is parsed.
//!
//! A 100k-account tenant's userRegistrationDetails is 76 MB of JSON with sixteen members per
//! account, of which the policies read three. Building every member as a `serde_json::Value`
//! costs about six bytes of memory per byte of JSON and most of an offline scan's time;
//! skipping the unread ones while parsing costs neither, and also keeps personal data the
//! checks do not need (display names) out of memory. The files on disk stay whole: they are
//! the record of what the API said. Only the in-memory copy is projected.
//!
//! Which members are read is worked out from the compiled rules (`policy::projections`). Only
//! the items of a collection (`value[*]`, or `<id>.value[*]` of a fan-out) are projected: every
//! structure around them is as received. A kept member is as received too, unless the rules
//! only read members of its elements by name ([`Member::Elements`]: `identities[?@.issuer ==
//! …]` reads `issuer` alone). Then, when its value is an array, each element that is an object
//! keeps only those members (and so on, deeper); an element of another kind, and a value that
//! is not an array (a wildcard over an object selects its members' values), stay as received.
//! Positions and counts of elements never change.

use crate::registry::{ResourceKind, ResourceSpec};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// What a scan keeps of a resource's items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Projection {
    /// Everything: a settings object, or a collection some rule could read in full.
    #[default]
    Whole,
    /// The items keep only these members (possibly none, when only items are counted).
    Members(Members),
}

/// The members an object keeps, by name, and how much of each.
pub type Members = BTreeMap<String, Member>;

/// How much of a kept member is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    /// Its value as received.
    Whole,
    /// When its value is an array: each element that is an object keeps only these members.
    /// Any other value (an object, a string, `null`), and elements that are not objects, are
    /// kept as received.
    Elements(Members),
}

/// Where a resource's items sit, by its registry entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `{"value": [item, ...]}`.
    Collection,
    /// One collection per parent id: `{"<id>": {"value": [item, ...]}}`.
    FanOut,
}

impl Layout {
    /// `None` for a settings object, which is never projected.
    pub fn of(spec: &ResourceSpec) -> Option<Layout> {
        match (spec.kind, &spec.for_each) {
            (ResourceKind::Object, _) => None,
            (ResourceKind::Collection, None) => Some(Layout::Collection),
            (ResourceKind::Collection, Some(_)) => Some(Layout::FanOut),
        }
    }
}

/// Parses a resource file, dropping the item members the projection does not keep.
///
/// Gives exactly what `serde_json::from_slice` gives, minus those members, and the same errors.
pub fn parse(
    bytes: &[u8],
    layout: Option<Layout>,
    projection: &Projection,
) -> Result<Value, serde_json::Error> {
    let (Some(layout), Projection::Members(members)) = (layout, projection) else {
        return serde_json::from_slice(bytes);
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let level = Level::body(layout);
    let value = Shaped { level, members }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// The projected copy of a body already in memory (a live scan's, a policy example's).
pub fn project(body: &Value, layout: Option<Layout>, projection: &Projection) -> Value {
    let (Some(layout), Projection::Members(members)) = (layout, projection) else {
        return body.clone();
    };
    project_at(body, Level::body(layout), members)
}

fn project_at(value: &Value, level: Level, members: &Members) -> Value {
    match (level, value) {
        (Level::Items, Value::Array(items)) => Value::Array(
            items
                .iter()
                .map(|item| project_at(item, Level::Item, members))
                .collect(),
        ),
        (Level::Item, Value::Object(map)) => Value::Object(
            map.iter()
                .filter_map(|(key, value)| match members.get(key.as_str())? {
                    Member::Whole => Some((key.clone(), value.clone())),
                    Member::Elements(inner) => {
                        Some((key.clone(), project_at(value, Level::Items, inner)))
                    }
                })
                .collect(),
        ),
        (Level::Collection | Level::FanOut | Level::Entry, Value::Object(map)) => Value::Object(
            map.iter()
                .map(|(key, value)| match level.member(key) {
                    Some(inner) => (key.clone(), project_at(value, inner, members)),
                    None => (key.clone(), value.clone()),
                })
                .collect(),
        ),
        _ => value.clone(),
    }
}

/// One item of a collection as [`project_owned`] keeps it: the members in `members`. A reader
/// applies it to each page's items as they are parsed (see [`super::Collected::Read`]'s
/// `projected`), which gives the body `project_owned` would give.
pub fn project_item(item: Value, members: &Members) -> Value {
    project_owned_at(item, Level::Item, members)
}

/// [`project`], taking the body over: kept members are moved, not copied, and the rest is
/// freed as it goes. A live scan projects the bodies it read this way (users kept whole, a few
/// of userRegistrationDetails' 16 members, 50 000 items each: copying them took most of a
/// quarter second after the last answer).
pub fn project_owned(body: Value, layout: Option<Layout>, projection: &Projection) -> Value {
    let (Some(layout), Projection::Members(members)) = (layout, projection) else {
        return body;
    };
    project_owned_at(body, Level::body(layout), members)
}

fn project_owned_at(value: Value, level: Level, members: &Members) -> Value {
    match (level, value) {
        (Level::Items, Value::Array(items)) => Value::Array(
            items
                .into_iter()
                .map(|item| project_owned_at(item, Level::Item, members))
                .collect(),
        ),
        (Level::Item, Value::Object(map)) => Value::Object(
            map.into_iter()
                .filter_map(|(key, value)| match members.get(key.as_str())? {
                    Member::Whole => Some((key, value)),
                    Member::Elements(inner) => {
                        let projected = project_owned_at(value, Level::Items, inner);
                        Some((key, projected))
                    }
                })
                .collect(),
        ),
        (Level::Collection | Level::FanOut | Level::Entry, Value::Object(map)) => Value::Object(
            map.into_iter()
                .map(|(key, value)| match level.member(&key) {
                    Some(inner) => {
                        let projected = project_owned_at(value, inner, members);
                        (key, projected)
                    }
                    None => (key, value),
                })
                .collect(),
        ),
        (_, value) => value,
    }
}

/// How deep in a collection body the parser is.
#[derive(Debug, Clone, Copy)]
enum Level {
    /// The body of a collection: its `value` holds the items.
    Collection,
    /// The body of a fan-out: every member is an entry.
    FanOut,
    /// One parent's collection inside a fan-out.
    Entry,
    /// The `value` array, or a kept member whose elements are projected: an array's elements
    /// are items; any other value is built whole.
    Items,
    /// One item (or element): only kept members are built.
    Item,
}

impl Level {
    /// Where a resource body of this layout starts.
    fn body(layout: Layout) -> Level {
        match layout {
            Layout::Collection => Level::Collection,
            Layout::FanOut => Level::FanOut,
        }
    }

    /// The level of an object member's value, when it is projected at all.
    fn member(self, key: &str) -> Option<Level> {
        match self {
            Level::Collection | Level::Entry if key == "value" => Some(Level::Items),
            Level::FanOut => Some(Level::Entry),
            _ => None,
        }
    }
}

/// Builds a `Value` like serde_json's own visitor, except for the projected levels.
struct Shaped<'m> {
    level: Level,
    members: &'m Members,
}

impl<'de> DeserializeSeed<'de> for Shaped<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Shaped<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        match self.level {
            Level::Items => {
                let item = || Shaped {
                    level: Level::Item,
                    members: self.members,
                };
                while let Some(value) = seq.next_element_seed(item())? {
                    items.push(value);
                }
            }
            _ => {
                while let Some(value) = seq.next_element::<Value>()? {
                    items.push(value);
                }
            }
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = match self.level {
            Level::Item => Map::with_capacity(self.members.len()),
            _ => Map::new(),
        };
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let value = match self.level {
                Level::Item => match self.members.get(key.as_ref()) {
                    None => {
                        map.next_value_seed(Checked)?;
                        continue;
                    }
                    Some(Member::Whole) => map.next_value::<Value>()?,
                    Some(Member::Elements(inner)) => map.next_value_seed(Shaped {
                        level: Level::Items,
                        members: inner,
                    })?,
                },
                Level::Items => map.next_value::<Value>()?,
                level => match level.member(&key) {
                    Some(inner) => map.next_value_seed(Shaped {
                        level: inner,
                        members: self.members,
                    })?,
                    None => map.next_value::<Value>()?,
                },
            };
            object.insert(key.into_owned(), value);
        }
        Ok(Value::Object(object))
    }
}

/// A dropped member: parsed and checked exactly as serde_json checks a value it builds (UTF-8
/// in every string and key, numbers in range, nesting depth), but nothing is kept.
///
/// `IgnoredAny` would be faster, but serde_json skips an ignored value with a lighter scanner
/// that does not validate the UTF-8 of its strings nor the range of its numbers: a file that is
/// not JSON would then be read as JSON only because no rule reads the broken member, and the
/// same file read whole would be an `error`. Projection must change no finding (invariants 2
/// and 10), so a dropped member is held to the same standard as a kept one.
struct Checked;

impl<'de> DeserializeSeed<'de> for Checked {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Checked {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Checked)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(Checked)?.is_some() {
            map.next_value_seed(Checked)?;
        }
        Ok(())
    }
}

/// An object key, borrowed from the input when it has no escapes, so a dropped member costs
/// no allocation.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn whole_members(names: &[&str]) -> Members {
        names
            .iter()
            .map(|n| ((*n).to_owned(), Member::Whole))
            .collect()
    }

    fn keep(names: &[&str]) -> Projection {
        Projection::Members(whole_members(names))
    }

    /// `names` kept whole, and `member` kept with its elements keeping `inner`.
    fn keep_nested(names: &[&str], member: &str, inner: Members) -> Projection {
        let mut members = whole_members(names);
        members.insert(member.to_owned(), Member::Elements(inner));
        Projection::Members(members)
    }

    /// Every way a projection is applied gives `expected`: parsing the file, projecting a body
    /// in memory (copied or moved), and a live read projecting item by item.
    fn assert_projects_to(body: &Value, projection: &Projection, expected: &Value) {
        assert_eq!(&parse_value(body, Layout::Collection, projection), expected);
        assert_eq!(
            &project(body, Some(Layout::Collection), projection),
            expected
        );
        assert_eq!(
            &project_owned(body.clone(), Some(Layout::Collection), projection),
            expected
        );
        let Projection::Members(members) = projection else {
            panic!("a projection by members");
        };
        let items: Vec<Value> = body["value"]
            .as_array()
            .expect("items")
            .iter()
            .map(|item| project_item(item.clone(), members))
            .collect();
        assert_eq!(&json!({"value": items}), expected);
    }

    fn parse_value(body: &Value, layout: Layout, projection: &Projection) -> Value {
        let bytes = serde_json::to_vec(body).expect("serialisable");
        parse(&bytes, Some(layout), projection).expect("valid JSON")
    }

    #[test]
    fn collection_items_keep_only_the_named_members() {
        let body = json!({
            "@odata.context": "x",
            "value": [
                {"id": "1", "userType": "member", "userDisplayName": "A", "methods": ["a"]},
                {"id": "2", "isMfaCapable": false, "nested": {"userType": "kept whole"}},
                "not an object"
            ],
            "@odata.nextLink": null
        });
        let expected = json!({
            "@odata.context": "x",
            "value": [
                {"id": "1", "userType": "member"},
                {"id": "2", "isMfaCapable": false},
                "not an object"
            ],
            "@odata.nextLink": null
        });
        let projection = keep(&["id", "userType", "isMfaCapable"]);
        assert_eq!(
            parse_value(&body, Layout::Collection, &projection),
            expected
        );
        assert_eq!(
            project(&body, Some(Layout::Collection), &projection),
            expected
        );
    }

    #[test]
    fn fan_out_entries_keep_their_ids_and_project_their_items() {
        let body = json!({
            "group-1": {"value": [{"id": "u1", "@odata.type": "#microsoft.graph.user", "mail": "x"}]},
            "group-2": {"value": []}
        });
        let expected = json!({
            "group-1": {"value": [{"id": "u1", "@odata.type": "#microsoft.graph.user"}]},
            "group-2": {"value": []}
        });
        let projection = keep(&["id", "@odata.type"]);
        assert_eq!(parse_value(&body, Layout::FanOut, &projection), expected);
        assert_eq!(project(&body, Some(Layout::FanOut), &projection), expected);
    }

    #[test]
    fn a_body_of_another_shape_is_parsed_as_it_is() {
        for body in [
            json!([1, 2]),
            json!({"value": {"id": 1, "x": 2}}),
            json!("text"),
        ] {
            let projection = keep(&["id"]);
            assert_eq!(parse_value(&body, Layout::Collection, &projection), body);
            assert_eq!(project(&body, Some(Layout::Collection), &projection), body);
        }
    }

    #[test]
    fn whole_projection_and_settings_objects_are_untouched() {
        let body = json!({"value": [{"id": "1", "x": 2}]});
        assert_eq!(
            parse_value(&body, Layout::Collection, &Projection::Whole),
            body
        );
        let bytes = serde_json::to_vec(&body).expect("serialisable");
        assert_eq!(parse(&bytes, None, &keep(&[])).expect("valid"), body);
    }

    #[test]
    fn escaped_keys_and_duplicates_read_like_serde_json() {
        let text = r#"{"value": [{"i\u0064": 1, "id": 2, "x\"y": 3, "x\"y": 4}]}"#;
        let full: Value = serde_json::from_str(text).expect("valid");
        let projected = parse(
            text.as_bytes(),
            Some(Layout::Collection),
            &keep(&["id", "x\"y"]),
        );
        assert_eq!(projected.expect("valid"), full);
    }

    #[test]
    fn bad_json_gives_serde_json_s_error() {
        for text in [
            r#"{"value": [{"id": 1,}]}"#,
            r#"{"value": []} trailing"#,
            "{",
        ] {
            let full = serde_json::from_str::<Value>(text).expect_err("invalid");
            let projected = parse(text.as_bytes(), Some(Layout::Collection), &keep(&["id"]))
                .expect_err("invalid");
            assert_eq!(projected.to_string(), full.to_string(), "{text}");
        }
    }

    #[test]
    fn a_dropped_member_is_validated_like_a_kept_one() {
        let cases: [&[u8]; 4] = [
            b"{\"value\": [{\"id\": 1, \"name\": \"a\xff\"}]}",
            b"{\"value\": [{\"id\": 1, \"big\": 1e400}]}",
            b"{\"value\": [{\"id\": 1, \"deep\": {\"k\xfe\": 1}}]}",
            b"{\"value\": [{\"id\": 1, \"list\": [\"\xc3\"]}]}",
        ];
        for bytes in cases {
            let whole = serde_json::from_slice::<Value>(bytes).expect_err("not JSON");
            let projected = parse(bytes, Some(Layout::Collection), &keep(&["id"]))
                .expect_err("a dropped member is checked too");
            assert_eq!(projected.to_string(), whole.to_string());
        }
        let deep = format!(
            "{{\"value\": [{{\"id\": 1, \"x\": {}{}}}]}}",
            "[".repeat(200),
            "]".repeat(200)
        );
        assert!(serde_json::from_str::<Value>(&deep).is_err());
        assert!(parse(deep.as_bytes(), Some(Layout::Collection), &keep(&["id"])).is_err());
    }

    #[test]
    fn object_elements_of_a_nested_member_keep_only_the_named_members() {
        let body = json!({"value": [{
            "id": "1",
            "mail": "dropped",
            "identities": [
                {"signInType": "userPrincipalName", "issuer": "zonnedorp.be", "issuerAssignedId": "a"},
                {"signInType": "federated", "issuer": "ExternalAzureAD"},
                {"signInType": "no issuer"},
                "a scalar", 3, null, ["a", {"issuer": "in a list: kept as it is"}]
            ]
        }]});
        let expected = json!({"value": [{
            "id": "1",
            "identities": [
                {"issuer": "zonnedorp.be"},
                {"issuer": "ExternalAzureAD"},
                {},
                "a scalar", 3, null, ["a", {"issuer": "in a list: kept as it is"}]
            ]
        }]});
        let projection = keep_nested(&["id"], "identities", whole_members(&["issuer"]));
        assert_projects_to(&body, &projection, &expected);
    }

    /// A wildcard or filter over an object selects its members' values: projecting them could
    /// change what is selected, so a nested member that is not an array is kept as it is.
    #[test]
    fn a_nested_member_that_is_not_an_array_is_kept_whole() {
        for identities in [
            json!({"first": {"issuer": "x", "signInType": "y"}, "issuer": "z"}),
            json!("ExternalAzureAD"),
            Value::Null,
            json!(7),
            json!([]),
        ] {
            let body = json!({"value": [{"id": "1", "identities": identities, "mail": "m"}]});
            let expected = json!({"value": [{"id": "1", "identities": identities}]});
            let projection = keep_nested(&["id"], "identities", whole_members(&["issuer"]));
            assert_projects_to(&body, &projection, &expected);
        }
    }

    #[test]
    fn elements_of_elements_are_projected_when_nested_again() {
        let body = json!({"value": [{"a": [
            {"b": [{"c": 1, "d": 2}, "s"], "e": 3, "f": {"c": 4}},
            {"b": {"c": 5, "d": 6}}
        ]}]});
        let expected = json!({"value": [{"a": [
            {"b": [{"c": 1}, "s"], "e": 3},
            {"b": {"c": 5, "d": 6}}
        ]}]});
        let mut inner = whole_members(&["e"]);
        inner.insert("b".into(), Member::Elements(whole_members(&["c"])));
        assert_projects_to(&body, &keep_nested(&[], "a", inner), &expected);
    }

    #[test]
    fn a_dropped_member_of_an_element_is_validated_like_a_kept_one() {
        let projection = keep_nested(&["id"], "identities", whole_members(&["issuer"]));
        let cases: [&[u8]; 3] = [
            b"{\"value\": [{\"identities\": [{\"issuer\": \"a\", \"signInType\": \"\xff\"}]}]}",
            b"{\"value\": [{\"identities\": [{\"issuer\": \"a\", \"n\": 1e400}]}]}",
            b"{\"value\": [{\"identities\": [{\"issuer\": \"a\", \"k\xfe\": 1}]}]}",
        ];
        for bytes in cases {
            let whole = serde_json::from_slice::<Value>(bytes).expect_err("not JSON");
            let projected = parse(bytes, Some(Layout::Collection), &projection)
                .expect_err("a dropped member is checked too");
            assert_eq!(projected.to_string(), whole.to_string());
        }
    }

    /// Projections keeping some of `a`..`d` and `value`, whole or (up to twice) by elements.
    fn projection_members() -> impl Strategy<Value = Members> {
        let names = "[a-d]|value";
        let leaf = prop::collection::btree_map(names, Just(Member::Whole), 0..4);
        leaf.prop_recursive(2, 12, 4, move |inner| {
            prop::collection::btree_map(
                names,
                prop_oneof![Just(Member::Whole), inner.prop_map(Member::Elements),],
                0..4,
            )
        })
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-z]{0,3}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-d]|value", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// The parser and the in-memory projection agree, and keeping every member is a plain parse.
        #[test]
        fn parse_and_project_agree(body in json_value(), members in projection_members()) {
            let projection = Projection::Members(members);
            for layout in [Layout::Collection, Layout::FanOut] {
                prop_assert_eq!(parse_value(&body, layout, &projection), project(&body, Some(layout), &projection));
                prop_assert_eq!(
                    project_owned(body.clone(), Some(layout), &projection),
                    project(&body, Some(layout), &projection)
                );
            }
            let all = keep(&["a", "b", "c", "d", "value"]);
            prop_assert_eq!(parse_value(&body, Layout::Collection, &all), body.clone());
        }
    }
}
