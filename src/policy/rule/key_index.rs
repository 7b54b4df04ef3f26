//! The rows of a `where:` lookup by the JSON text of their key, found without a copy of any
//! key: 50 000 registration rows keyed by account id took ~6 MB as a map of key texts to lists
//! of positions, held while a quantifier lists 25 000 failing accounts beside it.

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use serde_json::Value;
use std::hash::BuildHasher;

/// Rows by their key, compared as `Value::to_string` gives it (the text a `where:` operand
/// resolves to), so a lookup finds exactly the rows a map keyed by those texts would.
pub(super) struct KeyIndex<'a> {
    /// Each row's key, if it has one.
    keys: Vec<Option<&'a Value>>,
    /// Rows by the hash of their key's text, with that hash.
    rows: HashTable<(u64, usize)>,
    state: RandomState,
}

impl<'a> KeyIndex<'a> {
    pub(super) fn new(keys: Vec<Option<&'a Value>>) -> Self {
        let state = RandomState::default();
        let mut rows = HashTable::with_capacity(keys.len());
        let mut text = Vec::new();
        for (row, key) in keys.iter().enumerate() {
            if let Some(key) = key {
                let hash = state.hash_one(text_of(key, &mut text));
                rows.insert_unique(hash, (hash, row), |&(hash, _)| hash);
            }
        }
        KeyIndex { keys, rows, state }
    }

    /// The rows whose key's text is `wanted`, in row order.
    pub(super) fn rows(&self, wanted: &str) -> Vec<usize> {
        let hash = self.state.hash_one(wanted.as_bytes());
        let mut text = Vec::new();
        let mut found: Vec<usize> = self
            .rows
            .iter_hash(hash)
            .filter(|(of, _)| *of == hash)
            .map(|&(_, row)| row)
            .filter(|&row| {
                self.keys
                    .get(row)
                    .copied()
                    .flatten()
                    .is_some_and(|key| text_of(key, &mut text) == wanted.as_bytes())
            })
            .collect();
        found.sort_unstable();
        found
    }
}

/// `value`'s compact JSON text (what `Value::to_string` gives), written into `text`.
fn text_of<'t>(value: &Value, text: &'t mut Vec<u8>) -> &'t [u8] {
    text.clear();
    // Writing a `Value` into a `Vec` cannot fail: its keys are strings, and a Vec takes
    // every byte.
    let _ = serde_json::to_writer(&mut *text, value);
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// The index this one replaced: key texts to row positions.
    fn by_text(keys: &[Option<&Value>]) -> HashMap<String, Vec<usize>> {
        let mut index: HashMap<String, Vec<usize>> = HashMap::new();
        for (row, key) in keys.iter().enumerate() {
            if let Some(key) = key {
                index.entry(key.to_string()).or_default().push(row);
            }
        }
        index
    }

    fn key() -> impl Strategy<Value = Option<Value>> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-3i64..3).prop_map(Value::from),
            prop_oneof![Just(1.0f64), Just(-0.5), Just(2.5)].prop_map(Value::from),
            "[ab\"\\\\é]{0,3}".prop_map(Value::String),
        ];
        let value = leaf.prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                proptest::collection::vec(("[ab]{1,2}", inner), 0..3)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        });
        proptest::option::weighted(0.8, value)
    }

    proptest! {
        /// Every text finds the rows a map of key texts gives, in the same order: the texts
        /// of the keys themselves, and texts no key has.
        #[test]
        fn finds_what_a_map_of_key_texts_finds(
            keys in proptest::collection::vec(key(), 0..12),
            others in proptest::collection::vec("[a1\"{}:\\[\\],]{0,6}", 0..4),
        ) {
            let keys: Vec<Option<&Value>> = keys.iter().map(Option::as_ref).collect();
            let expected = by_text(&keys);
            let index = KeyIndex::new(keys.clone());
            let texts = expected.keys().cloned().chain(others);
            for text in texts {
                let want = expected.get(&text).cloned().unwrap_or_default();
                prop_assert_eq!(index.rows(&text), want, "{}", text);
            }
        }
    }
}
