//! Decoding one page of a collection, in two steps so paging never waits for the items.
//!
//! [`Envelope::scan`] reads what the paging loop needs before it can ask for the next page: that
//! the body is a JSON object and what its `@odata.nextLink` says. It checks the structure of the
//! whole body (not the contents of its strings) and builds no tree, so it is fast (~40 µs for a
//! 100-row page). [`items`] then builds the `value` items and is the full check; the paging loop
//! runs it on the blocking pool while the next page is on its way, which takes the parsing
//! (~0.4–0.6 ms for a 100-row page) off the chain of requests that must follow one another.

use super::super::one_line;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use std::fmt;

/// Why a page could not be decoded: what goes into the snapshot's `error` entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error("the response is not valid JSON (line {line}, column {column}): {message}")]
    NotJson {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("page {0} is not a JSON object")]
    NotAnObject(u32),
    #[error("page {0} has no `value` array")]
    NoValueArray(u32),
    #[error("page {0}: @odata.nextLink is not a string")]
    NextLinkNotAString(u32),
    /// A collection holds objects; anything else is data the rules cannot judge (issue 15.1).
    #[error("page {page}: item {index} of `value` is {found}, not an object")]
    ItemNotAnObject {
        page: u32,
        index: usize,
        found: &'static str,
    },
}

impl PageError {
    /// A parse error of `body`: bad syntax anywhere in it, or else valid JSON of the wrong
    /// shape (the visitors stop at the first token of a body that is not an object, so the
    /// syntax of the rest is checked here, to name the problem as a full parse would).
    fn from_json(body: &[u8], err: &serde_json::Error, shape: PageError) -> PageError {
        if !err.is_data() {
            return not_json(err);
        }
        match serde_json::from_slice::<IgnoredAny>(body) {
            Err(syntax) => not_json(&syntax),
            Ok(_) => shape,
        }
    }
}

/// The error for a body that is not JSON at all (also for a single object's body).
pub fn not_json(err: &serde_json::Error) -> PageError {
    PageError::NotJson {
        line: err.line(),
        column: err.column(),
        message: one_line(&err.to_string()),
    }
}

/// What the paging loop needs from a page before its items are parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// `@odata.nextLink`, when present and not null.
    pub next_link: Option<String>,
}

impl Envelope {
    /// Checks that `body` is one JSON object (the structure of the whole body included) and
    /// reads its `@odata.nextLink`; every other member, `value` too, is skipped without building
    /// it. Strings are skipped undecoded: [`items`] still has to accept the page.
    pub fn scan(body: &[u8], page: u32) -> Result<Envelope, PageError> {
        match member(body, "@odata.nextLink", page)? {
            None | Some(Value::Null) => Ok(Envelope { next_link: None }),
            Some(Value::String(link)) => Ok(Envelope {
                next_link: Some(link),
            }),
            Some(_) => Err(PageError::NextLinkNotAString(page)),
        }
    }
}

/// The items of page `page`: its `value` array (the last one, as a `serde_json::Map` would keep),
/// every one of them an object.
pub fn items(body: &[u8], page: u32) -> Result<Vec<Value>, PageError> {
    match member(body, "value", page)? {
        Some(Value::Array(items)) => match items.iter().position(|item| !item.is_object()) {
            Some(index) => Err(PageError::ItemNotAnObject {
                page,
                index,
                found: crate::snapshot::kind_of(&items[index]),
            }),
            None => Ok(items),
        },
        _ => Err(PageError::NoValueArray(page)),
    }
}

/// The last member `name` of the object `body` (as a `serde_json::Map` would keep it), built;
/// every other member is only checked for its structure and skipped.
fn member(body: &[u8], name: &'static str, page: u32) -> Result<Option<Value>, PageError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    de.deserialize_map(MemberVisitor(name))
        .and_then(|value| de.end().map(|()| value))
        .map_err(|err| PageError::from_json(body, &err, PageError::NotAnObject(page)))
}

/// Builds the last member of one name and skips the rest.
struct MemberVisitor(&'static str);

impl<'de> Visitor<'de> for MemberVisitor {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == self.0 {
                found = Some(map.next_value::<Value>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_reads_the_next_link_before_or_after_the_items() {
        for body in [
            r#"{"@odata.nextLink":"https://g/x?$skiptoken=2","value":[{"id":"a"}]}"#,
            r#"{"value":[{"id":"a"}],"@odata.nextLink":"https://g/x?$skiptoken=2"}"#,
        ] {
            let envelope = Envelope::scan(body.as_bytes(), 1).unwrap();
            assert_eq!(
                envelope.next_link.as_deref(),
                Some("https://g/x?$skiptoken=2")
            );
            assert_eq!(
                items(body.as_bytes(), 1).unwrap(),
                vec![serde_json::json!({"id": "a"})]
            );
        }
        let last = Envelope::scan(br#"{"value":[],"@odata.nextLink":null}"#, 1).unwrap();
        assert_eq!(last.next_link, None);
    }

    #[test]
    fn a_bad_page_is_named_as_before() {
        assert!(matches!(
            Envelope::scan(br#"{"value":[1,2"#, 1),
            Err(PageError::NotJson { .. })
        ));
        assert!(matches!(
            Envelope::scan(br#"{"value":[]} x"#, 1),
            Err(PageError::NotJson { .. })
        ));
        assert_eq!(Envelope::scan(b"[1]", 3), Err(PageError::NotAnObject(3)));
        assert!(matches!(
            Envelope::scan(b"[1,", 3),
            Err(PageError::NotJson { .. })
        ));
        assert_eq!(
            Envelope::scan(br#"{"value":[],"@odata.nextLink":7}"#, 2),
            Err(PageError::NextLinkNotAString(2))
        );
        assert_eq!(
            items(br#"{"value":{}}"#, 4),
            Err(PageError::NoValueArray(4))
        );
        assert_eq!(
            items(br#"{"other":[]}"#, 4),
            Err(PageError::NoValueArray(4))
        );
        // The scan skips strings without decoding them; parsing the items still refuses a
        // broken escape or bytes that are not UTF-8, so such a page fails all the same.
        for body in [
            &br#"{"value":[{"id":"\ud800"}]}"#[..],
            &b"{\"value\":[{\"id\":\"\xff\"}]}"[..],
        ] {
            assert!(Envelope::scan(body, 5).is_ok());
            assert!(matches!(items(body, 5), Err(PageError::NotJson { .. })));
        }
        // Issue 15.1: an item that is not an object is not a page we understand.
        for (body, found) in [
            (&br#"{"value":[{"id":"a"},null]}"#[..], "null"),
            (&br#"{"value":["x"]}"#[..], "a string"),
            (&br#"{"value":[{"id":"a"},[1]]}"#[..], "an array"),
        ] {
            let err = items(body, 2).expect_err("refused");
            assert!(
                matches!(err, PageError::ItemNotAnObject { page: 2, found: f, .. } if f == found),
                "{err}"
            );
        }
        assert_eq!(
            PageError::NotAnObject(3).to_string(),
            "page 3 is not a JSON object"
        );
    }
}
