//! Properties of the policy language, checked on random rules and documents (issue 11):
//! - `all_of`, `any_of` and `not` follow Kleene's three-valued logic (fail < error < pass), `not`
//!   twice is the identity, De Morgan holds, and an unknown part never makes a new pass;
//! - evaluating a snapshot projected to the members the rule reads gives the same finding as
//!   evaluating it whole (verdict, reason and items), for random rules and documents.

use cloudkeur::evidence::Evidence;
use cloudkeur::findings::{Finding, Verdict};
use cloudkeur::policy::{PackSource, PolicyPack, evaluate_policy, projections};
use cloudkeur::registry::ResourceKind;
use cloudkeur::settings::Settings;
use cloudkeur::snapshot::{Layout, Projection, Snapshot, SnapshotMeta, project};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// A rule tree over leaves `$.a<i>` of one settings object: `true` passes, `false` fails and an
/// absent member is unknown (error).
#[derive(Debug, Clone)]
enum Tree {
    Leaf(usize),
    AllOf(Vec<Tree>),
    AnyOf(Vec<Tree>),
    Not(Box<Tree>),
}

const LEAVES: usize = 4;

fn tree() -> impl Strategy<Value = Tree> {
    (0..LEAVES)
        .prop_map(Tree::Leaf)
        .prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..4).prop_map(Tree::AllOf),
                prop::collection::vec(inner.clone(), 1..4).prop_map(Tree::AnyOf),
                inner.prop_map(|t| Tree::Not(Box::new(t))),
            ]
        })
}

/// Each leaf: true, false, or absent (None).
fn leaves() -> impl Strategy<Value = Vec<Option<bool>>> {
    prop::collection::vec(prop::option::of(any::<bool>()), LEAVES)
}

impl Tree {
    fn rule(&self) -> Value {
        match self {
            Tree::Leaf(i) => {
                json!({"resource": "report_settings", "path": format!("$.a{i}"), "equals": true})
            }
            Tree::AllOf(parts) => {
                json!({"all_of": parts.iter().map(Tree::rule).collect::<Vec<_>>()})
            }
            Tree::AnyOf(parts) => {
                json!({"any_of": parts.iter().map(Tree::rule).collect::<Vec<_>>()})
            }
            Tree::Not(inner) => json!({"not": inner.rule()}),
        }
    }

    /// Kleene's logic, written out independently of the engine.
    fn kleene(&self, leaves: &[Option<bool>]) -> Verdict {
        match self {
            Tree::Leaf(i) => match leaves[*i] {
                Some(true) => Verdict::Pass,
                Some(false) => Verdict::Fail,
                None => Verdict::Error,
            },
            Tree::AllOf(parts) => {
                let truths: Vec<Verdict> = parts.iter().map(|p| p.kleene(leaves)).collect();
                if truths.contains(&Verdict::Fail) {
                    Verdict::Fail
                } else if truths.contains(&Verdict::Error) {
                    Verdict::Error
                } else {
                    Verdict::Pass
                }
            }
            Tree::AnyOf(parts) => {
                let truths: Vec<Verdict> = parts.iter().map(|p| p.kleene(leaves)).collect();
                if truths.contains(&Verdict::Pass) {
                    Verdict::Pass
                } else if truths.contains(&Verdict::Error) {
                    Verdict::Error
                } else {
                    Verdict::Fail
                }
            }
            Tree::Not(inner) => match inner.kleene(leaves) {
                Verdict::Pass => Verdict::Fail,
                Verdict::Fail => Verdict::Pass,
                other => other,
            },
        }
    }
}

fn meta() -> SnapshotMeta {
    SnapshotMeta {
        tenant_id: "t".into(),
        tenant_name: None,
        source: "laws".into(),
        collected_at: String::new(),
        manifest_sha256: String::new(),
    }
}

/// Loads `rule` (JSON, which is YAML) as the only policy of a pack.
fn pack_with(rule: &Value) -> PolicyPack {
    let dir = tempfile::tempdir().expect("temp dir");
    let policy = format!(
        "policy: p\ncontrol: VTC-TEL-01\ntitle: {{nl: t, en: t}}\nseverity: low\nrule: {rule}\nremediation: {{nl: r, en: r}}\n"
    );
    std::fs::write(dir.path().join("p.yaml"), policy).expect("write");
    PolicyPack::load(&PackSource::Dir(dir.path().to_owned()))
        .unwrap_or_else(|e| panic!("loads: {e}\n{rule}"))
}

fn judge(rule: &Value, leaves: &[Option<bool>]) -> Verdict {
    let pack = pack_with(rule);
    let mut body = Map::new();
    for (i, leaf) in leaves.iter().enumerate() {
        if let Some(value) = leaf {
            body.insert(format!("a{i}"), Value::Bool(*value));
        }
    }
    let mut snapshot = Snapshot::new(meta());
    snapshot.insert_read("report_settings", ResourceKind::Object, Value::Object(body));
    evaluate_policy(
        &pack.policies[0],
        &snapshot,
        &Settings::default().to_document(),
        &Evidence::default(),
        time::macros::date!(2026 - 06 - 01),
    )
    .verdict
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn combinators_follow_kleene_logic(tree in tree(), leaves in leaves()) {
        prop_assert_eq!(judge(&tree.rule(), &leaves), tree.kleene(&leaves), "{:?}", tree);
    }

    #[test]
    fn not_twice_is_the_rule_itself(tree in tree(), leaves in leaves()) {
        let twice = Tree::Not(Box::new(Tree::Not(Box::new(tree.clone()))));
        prop_assert_eq!(judge(&twice.rule(), &leaves), judge(&tree.rule(), &leaves));
    }

    #[test]
    fn de_morgan_holds(a in tree(), b in tree(), leaves in leaves()) {
        let left = Tree::Not(Box::new(Tree::AllOf(vec![a.clone(), b.clone()])));
        let right = Tree::AnyOf(vec![Tree::Not(Box::new(a.clone())), Tree::Not(Box::new(b.clone()))]);
        prop_assert_eq!(judge(&left.rule(), &leaves), judge(&right.rule(), &leaves));
        let left = Tree::Not(Box::new(Tree::AnyOf(vec![a.clone(), b.clone()])));
        let right = Tree::AllOf(vec![Tree::Not(Box::new(a)), Tree::Not(Box::new(b))]);
        prop_assert_eq!(judge(&left.rule(), &leaves), judge(&right.rule(), &leaves));
    }

    /// Knowing less (a member gone) never makes a new pass.
    #[test]
    fn an_unknown_part_never_makes_a_new_pass(tree in tree(), leaves in leaves(), forget in 0..LEAVES) {
        let before = judge(&tree.rule(), &leaves);
        let mut fewer = leaves.clone();
        fewer[forget] = None;
        let after = judge(&tree.rule(), &fewer);
        prop_assert!(after != Verdict::Pass || before == Verdict::Pass, "{:?}: {:?} -> {:?}", tree, before, after);
    }
}

// ------------------------------------------------------------------ projection agrees with whole

/// Paths from a collection's top, and paths inside one item.
const TOP_PATHS: &[&str] = &[
    "$.value[*]",
    "$.value",
    "$.value[?@.a == 'x']",
    "$.value[?@.b]",
    "$.value[?!@.b]",
    "$.value[?length(@.c.d) > 0]",
    "$.value[*].a",
    "$.value[*].c.d",
    "$.value[*].c",
    "$.value[0]",
    "$.value[*].*",
    "$..d",
    // Into the elements of a member (projected inside them when only named members are read).
    "$.value[*].e[?@.d == 'x']",
    "$.value[*].e[*].d",
    "$.value[*].e[0]",
    "$.value[?@.e[?@.d == 'x']]",
    "$.value[?length(@.e[0]) > 0]",
];
const ITEM_PATHS: &[&str] = &[
    "$.a",
    "$.b",
    "$.c.d",
    "$.c",
    "$",
    "$[?@ == 'x']",
    "$.e[*]",
    "$.id",
    "$.e[?@.d == 'x']",
    "$.e[*].d",
    "$.e[-1:]",
    "$.e[?@ == 'x']",
];

fn assertion(values_of_items: bool) -> impl Strategy<Value = Value> {
    let literal = prop_oneof![
        Just(json!("x")),
        Just(json!(1)),
        Just(json!(true)),
        Just(Value::Null)
    ];
    let mut options = vec![
        Just(json!({"exists": true})).boxed(),
        Just(json!({"exists": false})).boxed(),
        Just(json!({"empty": true})).boxed(),
        Just(json!({"empty": false})).boxed(),
        literal.clone().prop_map(|v| json!({"equals": v})).boxed(),
        Just(json!({"in": ["x", "y", 1]})).boxed(),
        Just(json!({"only": ["x", "y"]})).boxed(),
        Just(json!({"not_in": ["y"]})).boxed(),
        Just(json!({"contains": "x"})).boxed(),
        Just(json!({"matches": "^x"})).boxed(),
        Just(json!({"only_members": ["a", "c"]})).boxed(),
        (0u64..3, 2u64..5)
            .prop_map(|(lo, hi)| json!({"count": {"min": lo, "max": hi}}))
            .boxed(),
    ];
    if values_of_items {
        options.push(Just(json!({"count": {"min": 1}})).boxed());
    }
    prop::strategy::Union::new(options)
}

fn item_check() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(ITEM_PATHS),
        assertion(false),
        any::<bool>(),
    )
        .prop_map(|(path, mut a, ok)| {
            a["path"] = json!(path);
            if ok {
                a["absent"] = json!("ok");
            }
            a
        })
}

/// A check on an item, or a quantifier over the elements of its member `e`.
fn item_rule() -> impl Strategy<Value = Value> {
    let over_elements = (
        prop::sample::select(vec!["all", "any", "none"]),
        item_check(),
    )
        .prop_map(|(q, inner)| json!({"path": "$.e[*]", q: inner}));
    prop_oneof![3 => item_check(), 1 => over_elements].prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..3).prop_map(|r| json!({"all_of": r})),
            prop::collection::vec(inner.clone(), 1..3).prop_map(|r| json!({"any_of": r})),
            inner.prop_map(|r| json!({"not": r})),
        ]
    })
}

/// A check on `users` (a collection): an assertion, or a quantifier over items; sometimes with
/// a label, a distinct key, or a join that looks each item's partner up in `sites`.
fn top_rule() -> impl Strategy<Value = Value> {
    let join = json!({
        "resource": "sites", "path": "$.value[*]",
        "where": [{"key": "$.id", "equals": {"var": "item", "path": "$.id"}}],
        "any": {"path": "$.a", "absent": "ok", "exists": true}
    });
    let quantified = (
        prop::sample::select(vec!["all", "any", "none"]),
        item_rule(),
        0..4usize,
    )
        .prop_map(move |(q, inner, shape)| match shape {
            0 => json!({q: inner}),
            1 => json!({q: join.clone(), "as": "item"}),
            2 => json!({q: {"all_of": [inner, join.clone()]}, "as": "item"}),
            _ => json!({q: {"any_of": [inner, join.clone()]}, "as": "item"}),
        });
    let check = prop_oneof![assertion(true), quantified];
    (
        prop::sample::select(TOP_PATHS),
        check,
        prop::option::of(prop::sample::select(vec!["$.a", "$.c.d", "$"])),
        prop::option::of(prop::sample::select(vec!["$.id", "$.a"])),
        any::<bool>(),
    )
        .prop_map(|(path, mut check, label, distinct, ok)| {
            check["resource"] = json!("users");
            check["path"] = json!(path);
            if let Some(label) = label {
                check["label"] = json!(label);
            }
            if let Some(distinct) = distinct {
                check["distinct"] = json!(distinct);
            }
            if ok {
                check["absent"] = json!("ok");
            }
            check
        })
}

fn member_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("x")),
        Just(json!("y")),
        Just(json!("")),
        Just(json!(1)),
        Just(json!(true)),
        Just(Value::Null),
        Just(json!([])),
        Just(json!(["x"])),
        Just(json!({"d": "x"})),
        Just(json!({"d": ""})),
        Just(json!({})),
        Just(json!([{"d": "x", "f": 1}, "x"])),
        Just(json!([{"f": {"d": "x"}}, {"d": ""}, null])),
    ]
}

fn item() -> impl Strategy<Value = Value> {
    // Ids from a small set (or absent), so that joins find partners.
    let id = prop::option::weighted(0.8, prop::sample::select(vec!["u1", "u2", "u3"]));
    (
        prop::collection::btree_map(
            prop::sample::select(vec!["a", "b", "c", "d", "e", "f"]),
            member_value(),
            0..5,
        ),
        id,
    )
        .prop_map(|(members, id)| {
            let mut map: Map<String, Value> = members
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
            if let Some(id) = id {
                map.insert("id".into(), json!(id));
            }
            Value::Object(map)
        })
}

fn collection() -> impl Strategy<Value = Value> {
    prop::collection::vec(item(), 0..5).prop_map(|items| json!({"value": items}))
}

fn finding(pack: &PolicyPack, bodies: &[(&str, Value)], projected: bool) -> Finding {
    let wanted = projections(&pack.policies, &pack.registry);
    let mut snapshot = Snapshot::new(meta());
    for (name, body) in bodies {
        let spec = pack.registry.get(name).expect("registry resource");
        let body = if projected {
            let projection = wanted.get(*name).cloned().unwrap_or(Projection::Whole);
            project(body, Layout::of(spec), &projection)
        } else {
            body.clone()
        };
        snapshot.insert_read(*name, spec.kind, body);
    }
    evaluate_policy(
        &pack.policies[0],
        &snapshot,
        &Settings::default().to_document(),
        &Evidence::default(),
        time::macros::date!(2026 - 06 - 01),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Invariant 10: projection changes no finding, whatever the rule and the data.
    #[test]
    fn projected_and_whole_evaluation_agree(rule in top_rule(), users in collection(), sites in collection()) {
        let pack = pack_with(&rule);
        let bodies = [("users", users), ("sites", sites)];
        let whole = finding(&pack, &bodies, false);
        let projected = finding(&pack, &bodies, true);
        prop_assert_eq!(&projected.verdict, &whole.verdict, "{}\n{:?}", rule, bodies);
        prop_assert_eq!(&projected.reason, &whole.reason, "{}", rule);
        prop_assert_eq!(&projected.items, &whole.items, "{}", rule);
    }
}
