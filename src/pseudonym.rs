//! Pseudonymisation of personal identifiers in findings: privacy by design for a GDPR tool.
//!
//! A policy marks a label as naming a person (`identity: true`). Before any report is written,
//! such labels are replaced by a keyed pseudonym (HMAC-SHA-256 over tenant and label), and every
//! other occurrence of the identifier in reasons and details is replaced too. With a stable key
//! file the same account gets the same pseudonym in every scan of that tenant, so ICT can follow
//! drift and, when needed, re-run with `--reveal-identities`. Never pseudonymises anything twice.

use crate::findings::Finding;
use hmac::{Hmac, Mac};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

use foldhash::fast::RandomState;

/// How identities appear in a report; recorded in the report itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityMode {
    /// Keyed pseudonyms from the operator's key file: stable across scans.
    Pseudonymised,
    /// Keyed pseudonyms from a key made for this scan only: not linkable to other scans.
    PseudonymisedPerScan,
    /// Real identifiers, on explicit request (`--reveal-identities`). Also assumed for a report
    /// that does not say, since it may then hold real names.
    #[default]
    Revealed,
}

/// A secret key for pseudonyms. Its bytes never appear in any output.
pub struct PseudonymKey(Vec<u8>);

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymKey(<redacted>)")
    }
}

impl PseudonymKey {
    pub fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
        (bytes.len() >= 16).then_some(PseudonymKey(bytes))
    }

    /// A random key for one scan.
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut bytes = vec![0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(PseudonymKey(bytes))
    }

    /// `p-` and 12 hex digits: short enough to read, 48 bits against accidental collisions in a
    /// tenant's few thousand accounts.
    pub fn pseudonym(&self, tenant: &str, identifier: &str) -> String {
        self.for_tenant(tenant).pseudonym(identifier)
    }

    /// The MAC keyed and fed the tenant once, so that each identifier costs only its own bytes.
    fn for_tenant(&self, tenant: &str) -> TenantPseudonyms {
        // HMAC accepts keys of any length, so this cannot fail.
        let mac = Hmac::<Sha256>::new_from_slice(&self.0).ok().map(|mut mac| {
            mac.update(tenant.as_bytes());
            mac.update(&[0]);
            mac
        });
        TenantPseudonyms { mac }
    }
}

/// Pseudonyms for one tenant: HMAC-SHA-256 over `tenant`, a NUL byte and the lower-cased
/// identifier.
struct TenantPseudonyms {
    mac: Option<Hmac<Sha256>>,
}

impl TenantPseudonyms {
    fn pseudonym(&self, identifier: &str) -> String {
        let Some(mac) = &self.mac else {
            return "p-unavailable".to_owned();
        };
        let mut mac = mac.clone();
        mac.update(identifier.to_lowercase().as_bytes());
        let digest = mac.finalize().into_bytes();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(14);
        out.push_str("p-");
        for byte in digest.iter().take(6) {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        out
    }
}

/// Replaces every identity label, and every other mention of it, with its pseudonym.
///
/// Each text comes out exactly as if `str::replace` had been applied with every identifier in
/// turn, longest first (so "jan@x.example" is replaced before a shorter identifier inside it;
/// identifiers of one length in byte order), as this function first did. That tried every
/// identifier on every text: quadratic, 9 s for a tenant of 10 000 accounts half of which fail.
/// Now a text is searched once for the identifiers in it (see [`Scrubber`]), only those are
/// replaced, and after a replacement the text is searched again from the next identifier in
/// that order on. A property test below pins the result to the one-by-one replacement.
pub fn pseudonymise(findings: &mut [Finding], tenant: &str, key: &PseudonymKey) {
    // An identity label becomes its pseudonym whatever else happens, so it is taken out of its
    // item rather than copied: `seen` holds each identifier once, with the order it was first
    // met in, and `slots` says per item which identifier it had (or `NO_IDENTITY`).
    // Room for every label at once: growing to 100 000 identifiers rehashed them ~17 times.
    let labels = findings.iter().map(|f| f.items.len()).sum();
    let mut seen: HashMap<String, u32, RandomState> =
        HashMap::with_capacity_and_hasher(labels, RandomState::default());
    let slots: Vec<Vec<u32>> = findings
        .iter_mut()
        .map(|finding| {
            let items = finding.items.iter_mut();
            items
                .map(|item| match item.label.take_if(|_| item.identity) {
                    Some(label) => {
                        let next = u32::try_from(seen.len()).unwrap_or(NO_IDENTITY);
                        *seen.entry(label).or_insert(next)
                    }
                    None => NO_IDENTITY,
                })
                .collect()
        })
        .collect();
    if seen.is_empty() {
        return;
    }
    let scrubber = Scrubber::new(&seen, &key.for_tenant(tenant));
    for (finding, slots) in findings.iter_mut().zip(&slots) {
        scrubber.scrub(&mut finding.reason);
        // Items on every core.
        finding
            .items
            .par_iter_mut()
            .zip(slots)
            .for_each(|(item, &slot)| {
                scrubber.scrub(&mut item.detail);
                match scrubber.rank_of(slot) {
                    Some(rank) => item.label = Some(scrubber.identity_scrubbed(rank)),
                    None => {
                        if let Some(label) = &mut item.label {
                            scrubber.scrub(label);
                        }
                    }
                }
            });
    }
}

/// In `slots`: the item's label is not an identity (or there are more than `u32::MAX`).
const NO_IDENTITY: u32 = u32::MAX;

/// Finds which identifiers occur in a text without trying each of them: every window of the
/// text as long as some identifier is looked up in the map of identifiers. That is one lookup
/// per text position and distinct identifier length (account names come in a few dozen
/// lengths), and nothing to build beyond the map, where a multi-pattern automaton over 50 000
/// account names took longer to build than the whole scan.
struct Scrubber<'a> {
    /// Identifier → the order it was first met in.
    seen: &'a HashMap<String, u32, RandomState>,
    /// Replacement rank (longest first, then byte order) by that order.
    rank: Vec<u32>,
    /// The non-empty identifiers and their pseudonyms by rank.
    ranked: Vec<(&'a str, String)>,
    /// Each identifier length that occurs, longest first, with the ranks of that length.
    lengths: Vec<(usize, Range<usize>)>,
    /// The first [`PREFIX`] bytes of every identifier at least that long: a text position
    /// where none of them starts holds no such identifier, so the long ones cost one lookup
    /// per position instead of one per position and length. A failing item's detail can be
    /// hundreds of bytes (a nested rule's reasons), and 25 000 of them are all different.
    prefixes: HashSet<u64, RandomState>,
    /// The same prefixes as bits of a small table (see [`PrefixFilter`]), tested before the
    /// set: most text positions start no identifier, and a bit costs less than a hash lookup.
    filter: PrefixFilter,
    /// How many of `lengths` (its first ones) are at least [`PREFIX`] bytes long.
    long_lengths: usize,
    /// The pseudonym of an empty identifier. Being in every text, it comes last in every text
    /// (`str::replace` with an empty pattern inserts at every character boundary).
    empty: Option<String>,
}

impl<'a> Scrubber<'a> {
    fn new(seen: &'a HashMap<String, u32, RandomState>, keyed: &TenantPseudonyms) -> Self {
        let mut by_order: Vec<&str> = vec![""; seen.len()];
        for (identifier, &order) in seen {
            if let Some(at) = by_order.get_mut(order as usize) {
                *at = identifier;
            }
        }
        let mut ranked: Vec<&str> = by_order.clone();
        ranked.par_sort_unstable_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        let mut rank = vec![0; by_order.len()];
        for (at, identifier) in ranked.iter().enumerate() {
            if let Some(slot) = seen
                .get(*identifier)
                .and_then(|&o| rank.get_mut(o as usize))
            {
                *slot = u32::try_from(at).unwrap_or(NO_IDENTITY);
            }
        }
        let mut ranked: Vec<(&str, String)> = ranked
            .into_par_iter()
            .map(|identifier| (identifier, keyed.pseudonym(identifier)))
            .collect();
        let empty = match ranked.last() {
            Some(("", _)) => ranked.pop().map(|(_, pseudonym)| pseudonym),
            _ => None,
        };
        let mut lengths: Vec<(usize, Range<usize>)> = Vec::new();
        for (at, (identifier, _)) in ranked.iter().enumerate() {
            match lengths.last_mut() {
                Some((length, ranks)) if *length == identifier.len() => ranks.end = at + 1,
                _ => lengths.push((identifier.len(), at..at + 1)),
            }
        }
        let prefixes: HashSet<u64, RandomState> = ranked
            .iter()
            .filter_map(|(identifier, _)| prefix_at(identifier.as_bytes(), 0))
            .collect();
        let filter = PrefixFilter::of(&prefixes);
        let long_lengths = lengths.iter().filter(|(l, _)| *l >= PREFIX).count();
        Scrubber {
            seen,
            rank,
            ranked,
            lengths,
            empty,
            prefixes,
            filter,
            long_lengths,
        }
    }

    /// The rank of the identifier met in this order, if any.
    fn rank_of(&self, order: u32) -> Option<usize> {
        self.rank.get(order as usize).map(|&rank| rank as usize)
    }

    /// An identity label, scrubbed: it is itself the first identifier to replace in it (every
    /// identifier ranked before it is longer, or as long and different), so it starts as its
    /// pseudonym, searched for the identifiers ranked after it. The empty identifier has no
    /// rank here; as a label it becomes its pseudonym.
    fn identity_scrubbed(&self, rank: usize) -> String {
        match self.ranked.get(rank) {
            Some((_, pseudonym)) => self.scrubbed(pseudonym, rank + 1),
            None => self.empty.clone().unwrap_or_default(),
        }
    }

    /// Scrubs `text` in place. Most texts hold no identifier (a detail such as "$.isMfaCapable
    /// is false, expected true"): those are searched once and left as they are, with no copy.
    /// Searching costs about what hashing a text to remember it would: texts are not remembered.
    fn scrub(&self, text: &mut String) {
        let first = self.first_in(text, 0);
        if first.is_none() && self.empty.is_none() {
            return;
        }
        *text = self.replaced(text, first);
    }

    /// `text` with the identifiers ranked `from` and after replaced, one by one in rank order,
    /// and then the empty identifier, if any.
    fn scrubbed(&self, text: &str, from: usize) -> String {
        self.replaced(text, self.first_in(text, from))
    }

    /// [`Self::scrubbed`] once the first identifier in `text` is known (`first`, its rank), so
    /// that a text searched to see whether it holds any is not searched for it again.
    fn replaced(&self, text: &str, first: Option<usize>) -> String {
        let mut text = text.to_owned();
        let mut found = first;
        while let Some(rank) = found {
            let Some((identifier, pseudonym)) = self.ranked.get(rank) else {
                break;
            };
            text = text.replace(identifier, pseudonym);
            found = self.first_in(&text, rank + 1);
        }
        if let Some(pseudonym) = &self.empty {
            text = text.replace("", pseudonym);
        }
        text
    }

    /// The first identifier, in replacement order from rank `from` on, that occurs in `text`.
    fn first_in(&self, text: &str, from: usize) -> Option<usize> {
        // Every rank of a length comes before those of shorter lengths, so the least rank found
        // among the identifiers of `PREFIX` bytes or more is the answer when there is one.
        let (long, short) = self.lengths.split_at(self.long_lengths);
        if let Some(rank) = self.first_long_in(text, from, long) {
            return Some(rank);
        }
        // Longest first, as above. A window that is not on character boundaries cannot equal
        // an identifier, which is UTF-8.
        for (length, ranks) in short {
            if *length > text.len() || ranks.end <= from {
                continue;
            }
            let first = (0..=text.len() - length)
                .filter_map(|start| text.get(start..start + length))
                .filter_map(|window| self.seen.get(window))
                .filter_map(|&order| self.rank_of(order))
                .filter(|rank| *rank >= from)
                .min();
            if first.is_some() {
                return first;
            }
        }
        None
    }

    /// The least rank from `from` on of the identifiers with the lengths `long` (all at least
    /// [`PREFIX`] bytes) that occur in `text`, looked up only where one of their prefixes starts.
    fn first_long_in(
        &self,
        text: &str,
        from: usize,
        long: &[(usize, Range<usize>)],
    ) -> Option<usize> {
        if long.iter().all(|(_, ranks)| ranks.end <= from) {
            return None;
        }
        let bytes = text.as_bytes();
        let mut first: Option<usize> = None;
        for start in 0..bytes.len().saturating_sub(PREFIX - 1) {
            let starts_one = prefix_at(bytes, start)
                .is_some_and(|p| self.filter.may_hold(p) && self.prefixes.contains(&p));
            if !starts_one {
                continue;
            }
            for (length, ranks) in long {
                if ranks.end <= from {
                    continue;
                }
                let found = text
                    .get(start..start + length)
                    .and_then(|window| self.seen.get(window))
                    .and_then(|&order| self.rank_of(order))
                    .filter(|rank| *rank >= from);
                if let Some(rank) = found {
                    first = Some(first.map_or(rank, |f| f.min(rank)));
                }
            }
        }
        first
    }
}

/// A set of prefixes as one bit each in a table of `2^BITS` bits, at a position given by a
/// multiplicative hash: a prefix whose bit is clear is not in the set, one whose bit is set may
/// be (the set decides). At 50 000 accounts half failing the details hold 18 MB of text, and
/// this test is most of what their positions cost: the table (128 KiB) stays in the cache.
struct PrefixFilter {
    bits: Vec<u64>,
}

impl PrefixFilter {
    const BITS: u32 = 20;

    fn of(prefixes: &HashSet<u64, RandomState>) -> Self {
        let mut bits = vec![0u64; 1 << (Self::BITS - 6)];
        for &prefix in prefixes {
            let at = Self::position(prefix);
            if let Some(word) = bits.get_mut(at >> 6) {
                *word |= 1 << (at & 63);
            }
        }
        PrefixFilter { bits }
    }

    fn position(prefix: u64) -> usize {
        // Fibonacci hashing: the top bits of the product depend on every byte of the prefix.
        (prefix.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - Self::BITS)) as usize
    }

    fn may_hold(&self, prefix: u64) -> bool {
        let at = Self::position(prefix);
        self.bits
            .get(at >> 6)
            .is_some_and(|word| word & (1 << (at & 63)) != 0)
    }
}

/// Bytes of an identifier's prefix that [`Scrubber`] looks up per text position.
const PREFIX: usize = 8;

/// The [`PREFIX`] bytes of `bytes` from `start`, as one number, if there are that many.
fn prefix_at(bytes: &[u8], start: usize) -> Option<u64> {
    let window: [u8; PREFIX] = bytes
        .get(start..start.checked_add(PREFIX)?)?
        .try_into()
        .ok()?;
    Some(u64::from_le_bytes(window))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{FindingItem, Localized, Severity, Verdict};
    use proptest::prelude::*;

    fn finding_with(label: &str, identity: bool) -> Finding {
        let text = Localized {
            nl: "t".into(),
            en: "t".into(),
        };
        Finding {
            control: "VTC-MFA-04".into(),
            policy: "p".into(),
            title: text.clone(),
            severity: Severity::High,
            verdict: Verdict::Fail,
            reason: format!("1 of 3 items fail; first is {label}"),
            items: vec![FindingItem {
                path: "$['value'][1]".into(),
                label: Some(label.into()),
                detail: format!("{label} is not MFA capable"),
                identity,
            }],
            remediation: text,
            guideline: "g".into(),
            gdpr: vec![],
            resources: vec![],
            waiver: None,
        }
    }

    fn key() -> PseudonymKey {
        PseudonymKey::from_bytes(b"0123456789abcdef0123456789abcdef".to_vec()).expect("long enough")
    }

    proptest! {
        /// The bit table only ever rules prefixes out: every prefix in the set may be held.
        #[test]
        fn the_prefix_filter_never_misses_a_prefix(
            prefixes in proptest::collection::hash_set(any::<u64>(), 0..2000),
            others in proptest::collection::vec(any::<u64>(), 0..200),
        ) {
            let set: HashSet<u64, RandomState> = prefixes.iter().copied().collect();
            let filter = PrefixFilter::of(&set);
            for prefix in &prefixes {
                prop_assert!(filter.may_hold(*prefix));
            }
            let empty = PrefixFilter::of(&HashSet::default());
            for other in others {
                prop_assert!(!empty.may_hold(other));
            }
        }
    }

    #[test]
    fn identity_labels_are_replaced_everywhere() {
        let mut findings = vec![finding_with("an.voorbeeld@zonnedorp.example", true)];
        pseudonymise(&mut findings, "tenant-1", &key());
        let json = serde_json::to_string(&findings).expect("json");
        assert!(!json.contains("an.voorbeeld"), "{json}");
        assert!(
            findings[0].items[0]
                .label
                .as_deref()
                .is_some_and(|l| l.starts_with("p-") && l.len() == 14)
        );
    }

    #[test]
    fn pseudonyms_are_stable_per_tenant_and_key_but_differ_between_tenants() {
        let k = key();
        assert_eq!(
            k.pseudonym("t1", "An@X.example"),
            k.pseudonym("t1", "an@x.example")
        );
        assert_ne!(
            k.pseudonym("t1", "an@x.example"),
            k.pseudonym("t2", "an@x.example")
        );
        let other = PseudonymKey::from_bytes(b"fedcba9876543210fedcba9876543210".to_vec())
            .expect("long enough");
        assert_ne!(
            k.pseudonym("t1", "an@x.example"),
            other.pseudonym("t1", "an@x.example")
        );
    }

    #[test]
    fn labels_that_are_not_identities_stay() {
        let mut findings = vec![finding_with("CA001 MFA for all users", false)];
        pseudonymise(&mut findings, "tenant-1", &key());
        assert_eq!(
            findings[0].items[0].label.as_deref(),
            Some("CA001 MFA for all users")
        );
    }

    #[test]
    fn a_pseudonym_is_the_first_six_bytes_of_the_hmac_in_hex() {
        // HMAC-SHA-256(key, "tenant-1" NUL "an.voorbeeld@zonnedorp.example"), computed apart
        // from this code: pins the pseudonyms of earlier reports.
        assert_eq!(
            key().pseudonym("tenant-1", "An.Voorbeeld@Zonnedorp.example"),
            "p-43f54018d22f"
        );
    }

    /// The pseudonymiser as it was first written: every identifier, longest first, tried on
    /// every text with `str::replace`. Quadratic, but obviously what it says; the fast one must
    /// give exactly its output.
    fn reference(findings: &mut [Finding], tenant: &str, key: &PseudonymKey) {
        use std::collections::BTreeMap;
        let mut pseudonyms: BTreeMap<String, String> = BTreeMap::new();
        for finding in findings.iter() {
            for item in finding.items.iter().filter(|i| i.identity) {
                if let Some(label) = &item.label {
                    pseudonyms
                        .entry(label.clone())
                        .or_insert_with(|| key.pseudonym(tenant, label));
                }
            }
        }
        let mut by_length: Vec<(&String, &String)> = pseudonyms.iter().collect();
        by_length.sort_by_key(|(identifier, _)| std::cmp::Reverse(identifier.len()));
        let scrub = |text: &mut String| {
            for (identifier, pseudonym) in &by_length {
                if text.contains(identifier.as_str()) {
                    *text = text.replace(identifier.as_str(), pseudonym);
                }
            }
        };
        for finding in findings.iter_mut() {
            scrub(&mut finding.reason);
            for item in &mut finding.items {
                scrub(&mut item.detail);
                if let Some(label) = &mut item.label {
                    scrub(label);
                }
            }
        }
    }

    /// An item as generated: label, detail, whether the label names a person.
    type Item = (Option<String>, String, bool);

    /// Findings with these reasons and items.
    fn findings_from(cases: Vec<(String, Vec<Item>)>) -> Vec<Finding> {
        cases
            .into_iter()
            .map(|(reason, items)| {
                let mut finding = finding_with("x", false);
                finding.reason = reason;
                finding.items = items
                    .into_iter()
                    .enumerate()
                    .map(|(i, (label, detail, identity))| FindingItem {
                        path: format!("$['value'][{i}]"),
                        label,
                        detail,
                        identity,
                    })
                    .collect();
                finding
            })
            .collect()
    }

    /// Texts from a small alphabet that pseudonyms share (`p`, `-`, hex digits), so that
    /// identifiers overlap, nest, occur inside one another's pseudonyms and across their edges.
    fn text(max: usize) -> impl Strategy<Value = String> {
        proptest::string::string_regex(&format!("[ab1p@.-]{{0,{max}}}")).expect("valid regex")
    }

    fn findings_strategy() -> impl Strategy<Value = Vec<Finding>> {
        findings_with_labels_up_to(4, 16)
    }

    /// Labels up to `label` bytes long, details up to `detail`.
    fn findings_with_labels_up_to(
        label: usize,
        detail: usize,
    ) -> impl Strategy<Value = Vec<Finding>> {
        let item = (
            proptest::option::weighted(0.9, text(label)),
            text(detail),
            any::<bool>(),
        );
        proptest::collection::vec(
            (text(detail + 8), proptest::collection::vec(item, 0..6)),
            0..4,
        )
        .prop_map(findings_from)
    }

    /// Labels drawn from a pool of up to six texts of 6 to 14 bytes; every reason and detail
    /// joins pool entries and short fragments, so identifiers overlap and nest in the texts.
    fn findings_of_pooled_labels() -> impl Strategy<Value = Vec<Finding>> {
        let pool = proptest::collection::vec(
            proptest::string::string_regex("[ab1p@.-]{6,14}").expect("valid regex"),
            1..6,
        );
        pool.prop_flat_map(|pool| {
            let n = pool.len();
            let texts = |pool: Vec<String>| {
                proptest::collection::vec((0..n, text(3)), 0..5).prop_map(move |pieces| {
                    pieces
                        .into_iter()
                        .map(|(at, fragment)| format!("{}{fragment}", pool[at]))
                        .collect::<String>()
                })
            };
            let reasons = texts(pool.clone());
            let details = texts(pool.clone());
            let item = (
                proptest::option::weighted(0.9, (0..n).prop_map(move |at| pool[at].clone())),
                details,
                any::<bool>(),
            );
            proptest::collection::vec((reasons, proptest::collection::vec(item, 0..6)), 0..4)
                .prop_map(findings_from)
        })
    }

    /// The pseudonymiser gives exactly what replacing one identity after another gives.
    fn as_one_by_one(findings: Vec<Finding>) -> Result<(), TestCaseError> {
        let mut fast = findings.clone();
        let mut slow = findings;
        pseudonymise(&mut fast, "tenant-1", &key());
        reference(&mut slow, "tenant-1", &key());
        prop_assert_eq!(
            serde_json::to_value(&fast).expect("json"),
            serde_json::to_value(&slow).expect("json")
        );
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn gives_exactly_what_one_by_one_replacement_gives(findings in findings_strategy()) {
            as_one_by_one(findings)?;
        }

        /// Identifiers of `PREFIX` bytes and more, found through their prefixes, beside and
        /// inside shorter ones (the small alphabet makes prefixes shared and windows overlap).
        #[test]
        fn long_identifiers_give_exactly_what_one_by_one_replacement_gives(
            findings in findings_with_labels_up_to(14, 40)
        ) {
            as_one_by_one(findings)?;
        }

        /// Texts made of the identifiers themselves, overlapping and nested, so that several
        /// long ones occur in one text and the order of replacement decides the result.
        #[test]
        fn texts_full_of_long_identifiers_give_what_one_by_one_replacement_gives(
            findings in findings_of_pooled_labels()
        ) {
            as_one_by_one(findings)?;
        }
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(PseudonymKey::from_bytes(b"short".to_vec()).is_none());
    }
}
