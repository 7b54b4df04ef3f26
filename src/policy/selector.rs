//! A JSONPath parsed once, what it selects, and where it met a member that is not there.
//!
//! JSONPath itself cannot tell "absent" from "empty": `$.value[?@.state == 'enabled']` selects
//! nothing from an item without `state`, exactly as from one whose state is `disabled`. For a
//! compliance check that difference is the difference between "not the case" and "not known":
//! Graph leaves out properties it does not return, and an item we do not understand must never
//! count as one that complies. So a selection also reports its **absences**: every member that a
//! name step reads or a filter compares, on an object that lacks it (or on a value that is not an
//! object at all). `null` is a value, not an absence. Existence tests (`[?@.x]`) ask about
//! presence itself and are not absences. Whether an absence makes a check unknown is the rule's
//! choice (`absent: ok`), made in `rule.rs`.
//!
//! The values come from the general engine (`jsonpath_rust`): for a path of member names only,
//! from a direct lookup that gives the same result; for any other path, from the walk that finds
//! the absences, which applies the path segment by segment (member names looked up directly,
//! every other segment by the engine), so that a filter over 100 000 accounts is applied once.
//! Both are tested against the engine applied to the whole path.

use jsonpath_rust::parser::model::{
    Comparable, Filter, FilterAtom, FnArg, JpQuery, Segment, Selector as Step, SingularQuery,
    SingularQuerySegment, Test, TestFunction,
};
use jsonpath_rust::query::js_path_process;
use serde_json::Value;

/// How many absences a selection describes by path; the rest are only counted.
const DESCRIBED: usize = 3;

/// A JSONPath parsed once, kept with its text for messages.
#[derive(Debug, Clone)]
pub struct Selector {
    pub text: String,
    pub(super) query: JpQuery,
    /// `$.a.b`: member names only, looked up directly. Quantifiers run such paths once per
    /// item (100k accounts); the general engine allocates a result list and a path per call.
    members: Option<MemberChain>,
    /// The path step by step, for finding absent members.
    walk: Vec<WalkStep>,
}

/// A path of member names, with the normalized path of what it selects.
#[derive(Debug, Clone)]
struct MemberChain {
    names: Vec<String>,
    normalized: String,
}

impl MemberChain {
    /// The value at the end of the chain, if every member on the way is there.
    fn lookup<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        let mut value = root;
        for name in &self.names {
            match value {
                Value::Object(map) => match member(map, name) {
                    Some(inner) => value = inner,
                    None => return None,
                },
                _ => return None,
            }
        }
        Some(value)
    }
}

/// One segment of the path as the absence walk takes it.
#[derive(Debug, Clone)]
enum WalkStep {
    /// `.name` or `['a','b']`: each name is looked up in each object.
    Names(Vec<String>),
    /// A filter: the members it compares are looked up in each candidate first.
    Filter {
        compared: Vec<Compared>,
        apply: Apply,
    },
    /// Anything else (wildcard, index, slice, descendants): applied by the engine.
    Other(Apply),
}

/// How a segment that is not a plain name is applied to the values reached so far.
#[derive(Debug, Clone)]
struct Apply {
    /// The segment alone, applied to each value as its own root.
    single: JpQuery,
    /// The path up to and including the segment, applied to the real root: needed when a
    /// filter queries the root (`$`), which the single segment would read wrongly.
    prefix: Option<JpQuery>,
}

/// A member a filter compares: `@.a.b` (from the candidate) or `$.a.b` (from the root).
#[derive(Debug, Clone)]
struct Compared {
    from_root: bool,
    steps: Vec<SingularQuerySegment>,
}

/// Where a selection met members that are not there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Absences {
    pub count: usize,
    /// The first few, as `$['value'][3] has no `state``.
    pub described: Vec<String>,
}

impl Absences {
    fn note(&mut self, describe: impl FnOnce() -> String) {
        if self.described.len() < DESCRIBED {
            self.described.push(describe());
        }
        self.count += 1;
    }

    /// Notes an absence described elsewhere (a lookup key, a bound value's member).
    pub fn add(&mut self, described: String) {
        self.note(|| described);
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// One line for a reason: the described absences and how many more there are.
    pub fn summary(&self) -> String {
        let more = self.count.saturating_sub(self.described.len());
        let tail = if more > 0 {
            format!(" (and {more} more)")
        } else {
            String::new()
        };
        format!("{}{tail}", self.described.join("; "))
    }
}

/// What a path selects, with its absences.
pub struct Selection<'a> {
    pub found: Vec<(&'a Value, String)>,
    pub absent: Absences,
}

impl Selector {
    pub(super) fn new(text: String, query: JpQuery) -> Selector {
        let members = member_chain(&query);
        let walk = walk_steps(&query);
        Selector {
            text,
            query,
            members,
            walk,
        }
    }

    /// The first value the path selects in `root`, if any: for a label, without making the
    /// paths (for a member chain, without allocating at all).
    pub(super) fn first<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        match &self.members {
            Some(chain) => chain.lookup(root),
            None => self.find(root).ok()?.first().map(|(value, _)| *value),
        }
    }

    /// Every value the path selects in `root`, with its normalized path.
    pub(super) fn find<'a>(&self, root: &'a Value) -> Result<Vec<(&'a Value, String)>, String> {
        match &self.members {
            Some(chain) => Ok(chain
                .lookup(root)
                .map(|value| (value, chain.normalized.clone()))
                .into_iter()
                .collect()),
            None => self.find_general(root),
        }
    }

    /// The general engine, bypassing the member fast path (also for testing the two agree).
    pub(super) fn find_general<'a>(
        &self,
        root: &'a Value,
    ) -> Result<Vec<(&'a Value, String)>, String> {
        js_path_process(&self.query, root)
            .map(|found| found.into_iter().map(|r| (r.val, r.path)).collect())
            .map_err(|err| err.to_string())
    }

    /// What the path selects in `root`, and every member it met absent on the way.
    pub(super) fn select<'a>(&self, root: &'a Value) -> Result<Selection<'a>, String> {
        let mut absent = Absences::default();
        let Some(chain) = &self.members else {
            // The walk applies the path segment by segment, as the engine does: what it
            // reaches is what the path selects (tested against the engine), so a filter over
            // 100k accounts is applied once, not once to select and again to find absences.
            let found = self.walk_absences(root, &mut absent)?;
            return Ok(Selection { found, absent });
        };
        let found = self.find(root)?;
        // The lookup above stopped where a member was missing; say where.
        if found.is_empty() {
            let mut value = root;
            let mut path = String::from("$");
            for name in &chain.names {
                match step_into(value, name) {
                    Reached::Member(inner) => {
                        path.push_str(&name_selector(name));
                        value = inner;
                    }
                    Reached::Null => break,
                    Reached::Absent(why) => {
                        absent.note(|| format!("{path} {why}"));
                        break;
                    }
                }
            }
        }
        Ok(Selection { found, absent })
    }

    /// Applies the path step by step, noting every member met absent; returns what it selects.
    fn walk_absences<'a>(
        &self,
        root: &'a Value,
        absent: &mut Absences,
    ) -> Result<Vec<(&'a Value, String)>, String> {
        let mut nodes: Vec<(&Value, String)> = vec![(root, "$".to_owned())];
        for step in &self.walk {
            if nodes.is_empty() {
                break;
            }
            nodes = match step {
                WalkStep::Names(names) => {
                    let mut next = Vec::new();
                    for (value, path) in &nodes {
                        for name in names {
                            match step_into(value, name) {
                                Reached::Member(inner) => {
                                    next.push((inner, format!("{path}{}", name_selector(name))));
                                }
                                Reached::Null => {}
                                Reached::Absent(why) => absent.note(|| format!("{path} {why}")),
                            }
                        }
                    }
                    next
                }
                WalkStep::Filter { compared, apply } => {
                    for (value, path) in &nodes {
                        for (child, child_path) in children(value) {
                            for member in compared {
                                let from = if member.from_root { root } else { child };
                                if let Some(why) = missing(from, &member.steps) {
                                    absent.note(|| match member.from_root {
                                        true => format!("$ {why}"),
                                        false => format!("{path}{} {why}", child_path.text()),
                                    });
                                }
                            }
                        }
                    }
                    apply.run(&nodes, root)?
                }
                WalkStep::Other(apply) => apply.run(&nodes, root)?,
            };
        }
        Ok(nodes)
    }
}

impl Apply {
    fn run<'a>(
        &self,
        nodes: &[(&'a Value, String)],
        root: &'a Value,
    ) -> Result<Vec<(&'a Value, String)>, String> {
        if let Some(prefix) = &self.prefix {
            return js_path_process(prefix, root)
                .map(|found| found.into_iter().map(|r| (r.val, r.path)).collect())
                .map_err(|err| err.to_string());
        }
        let mut next = Vec::new();
        for (value, path) in nodes {
            let found = js_path_process(&self.single, *value).map_err(|err| err.to_string())?;
            next.extend(
                found
                    .into_iter()
                    .map(|r| (r.val, format!("{path}{}", &r.path[1..]))),
            );
        }
        Ok(next)
    }
}

/// Objects up to this many members are searched in order rather than through their hash table.
const SCANNED: usize = 8;

/// The member `name` of an object. Items of the large collections have a handful of members
/// once projected, and serde_json's map hashes every key looked up with SipHash: comparing
/// lengths, then bytes, along a few keys costs less than hashing one, and quantifiers look up
/// members of every item, for the truth and again for the words of each failing item.
fn member<'a>(map: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    if map.len() <= SCANNED {
        map.iter()
            .find_map(|(key, value)| (key.as_str() == name).then_some(value))
    } else {
        map.get(name)
    }
}

/// What a name step finds in a value.
enum Reached<'a> {
    Member(&'a Value),
    /// The value is `null`: nothing there, and known to be nothing.
    Null,
    /// The member is not there (or the value is not an object): why, for the reason.
    Absent(String),
}

fn step_into<'a>(value: &'a Value, name: &str) -> Reached<'a> {
    match value {
        Value::Object(map) => match member(map, name) {
            Some(inner) => Reached::Member(inner),
            None => Reached::Absent(format!("has no `{name}`")),
        },
        Value::Null => Reached::Null,
        other => Reached::Absent(format!(
            "is {}, so it has no `{name}`",
            crate::snapshot::kind_of(other)
        )),
    }
}

/// Why `steps` cannot be followed from `value` because a member is absent, if so.
fn missing(value: &Value, steps: &[SingularQuerySegment]) -> Option<String> {
    let mut value = value;
    let mut walked = Vec::new();
    for step in steps {
        match step {
            SingularQuerySegment::Name(name) => {
                walked.push(name.as_str());
                match step_into(value, name) {
                    Reached::Member(inner) => value = inner,
                    Reached::Null => return None,
                    Reached::Absent(_) => {
                        return Some(format!("has no `{}`", walked.join(".")));
                    }
                }
            }
            // An index past the end of a list is a known "nothing there", not an absence.
            SingularQuerySegment::Index(index) => {
                match value.as_array().and_then(|list| {
                    usize::try_from(*index)
                        .ok()
                        .or_else(|| list.len().checked_sub(usize::try_from(-index).ok()?))
                        .and_then(|i| list.get(i))
                }) {
                    Some(inner) => value = inner,
                    None => return None,
                }
            }
        }
    }
    None
}

/// The values a filter is applied to: the elements of a list, the members of an object, each
/// with the step to it from `value`, written out only when an absence names it.
fn children(value: &Value) -> Vec<(&Value, ChildStep<'_>)> {
    match value {
        Value::Array(list) => list
            .iter()
            .enumerate()
            .map(|(i, item)| (item, ChildStep::Index(i)))
            .collect(),
        Value::Object(map) => map
            .iter()
            .map(|(key, item)| (item, ChildStep::Member(key)))
            .collect(),
        _ => Vec::new(),
    }
}

/// The step from a value to one of its children.
#[derive(Clone, Copy)]
enum ChildStep<'a> {
    Index(usize),
    Member(&'a str),
}

impl ChildStep<'_> {
    /// `[3]`, `['name']`.
    fn text(self) -> String {
        match self {
            ChildStep::Index(i) => format!("[{i}]"),
            ChildStep::Member(name) => name_selector(name),
        }
    }
}

/// `['name']`, as normalized paths write a member (for messages only).
fn name_selector(name: &str) -> String {
    format!("['{}']", name.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn walk_steps(query: &JpQuery) -> Vec<WalkStep> {
    let segments = &query.segments;
    segments
        .iter()
        .enumerate()
        .map(|(index, segment)| {
            let apply = || Apply {
                single: JpQuery::new(vec![segment.clone()]),
                prefix: segment_reaches_root(segment)
                    .then(|| JpQuery::new(segments[..=index].to_vec())),
            };
            match segment {
                Segment::Selector(Step::Name(name)) => WalkStep::Names(vec![name.clone()]),
                Segment::Selectors(steps) if steps.iter().all(|s| matches!(s, Step::Name(_))) => {
                    WalkStep::Names(
                        steps
                            .iter()
                            .filter_map(|s| match s {
                                Step::Name(name) => Some(name.clone()),
                                _ => None,
                            })
                            .collect(),
                    )
                }
                Segment::Selector(Step::Filter(filter)) => {
                    let mut compared = Vec::new();
                    compared_in_filter(filter, &mut compared);
                    WalkStep::Filter {
                        compared,
                        apply: apply(),
                    }
                }
                _ => WalkStep::Other(apply()),
            }
        })
        .collect()
}

/// The members a filter compares (not those it only tests for existence).
fn compared_in_filter(filter: &Filter, out: &mut Vec<Compared>) {
    match filter {
        Filter::Or(parts) | Filter::And(parts) => {
            parts.iter().for_each(|f| compared_in_filter(f, out));
        }
        Filter::Atom(FilterAtom::Filter { expr, .. }) => compared_in_filter(expr, out),
        Filter::Atom(FilterAtom::Test { expr, .. }) => {
            if let Test::Function(function) = expr.as_ref() {
                compared_in_function(function, out);
            }
        }
        Filter::Atom(FilterAtom::Comparison(comparison)) => {
            let (left, right) = comparison.vals();
            for side in [left, right] {
                match side {
                    Comparable::Literal(_) => {}
                    Comparable::Function(function) => compared_in_function(function, out),
                    Comparable::SingularQuery(SingularQuery::Current(steps)) => {
                        out.push(Compared {
                            from_root: false,
                            steps: steps.clone(),
                        });
                    }
                    Comparable::SingularQuery(SingularQuery::Root(steps)) => {
                        out.push(Compared {
                            from_root: true,
                            steps: steps.clone(),
                        });
                    }
                }
            }
        }
    }
}

/// A function's arguments are compared values: `length(@.x) > 0`, `match(@.x, '...')`.
fn compared_in_function(function: &TestFunction, out: &mut Vec<Compared>) {
    let args: Vec<&FnArg> = match function {
        TestFunction::Custom(_, args) => args.iter().collect(),
        TestFunction::Length(arg) => vec![arg.as_ref()],
        TestFunction::Value(arg) | TestFunction::Count(arg) => vec![arg],
        TestFunction::Search(a, b) | TestFunction::Match(a, b) => vec![a, b],
    };
    for arg in args {
        if let FnArg::Test(test) = arg {
            let (from_root, segments) = match test.as_ref() {
                Test::RelQuery(segments) => (false, segments.as_slice()),
                Test::AbsQuery(query) => (true, query.segments.as_slice()),
                Test::Function(inner) => {
                    compared_in_function(inner, out);
                    continue;
                }
            };
            // The leading member names: what must be there for the argument to have a value.
            let steps: Vec<SingularQuerySegment> = segments
                .iter()
                .map_while(|segment| match segment {
                    Segment::Selector(Step::Name(name)) => {
                        Some(SingularQuerySegment::Name(name.clone()))
                    }
                    Segment::Selector(Step::Index(i)) => Some(SingularQuerySegment::Index(*i)),
                    _ => None,
                })
                .collect();
            if !steps.is_empty() {
                out.push(Compared { from_root, steps });
            }
        }
    }
}

fn segment_reaches_root(segment: &Segment) -> bool {
    match segment {
        Segment::Descendant(inner) => segment_reaches_root(inner),
        Segment::Selector(step) => step_reaches_root(step),
        Segment::Selectors(steps) => steps.iter().any(step_reaches_root),
    }
}

fn step_reaches_root(step: &Step) -> bool {
    match step {
        Step::Filter(filter) => filter_reaches_root(filter),
        _ => false,
    }
}

fn filter_reaches_root(filter: &Filter) -> bool {
    match filter {
        Filter::Or(parts) | Filter::And(parts) => parts.iter().any(filter_reaches_root),
        Filter::Atom(FilterAtom::Filter { expr, .. }) => filter_reaches_root(expr),
        Filter::Atom(FilterAtom::Test { expr, .. }) => test_reaches_root(expr),
        Filter::Atom(FilterAtom::Comparison(comparison)) => {
            let (left, right) = comparison.vals();
            comparable_reaches_root(left) || comparable_reaches_root(right)
        }
    }
}

fn test_reaches_root(test: &Test) -> bool {
    match test {
        Test::AbsQuery(_) => true,
        Test::RelQuery(segments) => segments.iter().any(segment_reaches_root),
        Test::Function(function) => function_reaches_root(function),
    }
}

fn comparable_reaches_root(comparable: &Comparable) -> bool {
    match comparable {
        Comparable::Literal(_) => false,
        Comparable::Function(function) => function_reaches_root(function),
        Comparable::SingularQuery(SingularQuery::Root(_)) => true,
        Comparable::SingularQuery(SingularQuery::Current(_)) => false,
    }
}

fn function_reaches_root(function: &TestFunction) -> bool {
    let args: Vec<&FnArg> = match function {
        TestFunction::Custom(_, args) => args.iter().collect(),
        TestFunction::Length(arg) => vec![arg.as_ref()],
        TestFunction::Value(arg) | TestFunction::Count(arg) => vec![arg],
        TestFunction::Search(a, b) | TestFunction::Match(a, b) => vec![a, b],
    };
    args.into_iter().any(|arg| match arg {
        FnArg::Literal(_) => false,
        FnArg::Test(test) => test_reaches_root(test),
        FnArg::Filter(filter) => filter_reaches_root(filter),
    })
}

/// The member names of a path made of nothing else, with the normalized path the general
/// engine gives it (asked of the engine itself, so the two cannot differ).
fn member_chain(query: &JpQuery) -> Option<MemberChain> {
    let names = query
        .segments
        .iter()
        .map(|segment| match segment {
            Segment::Selector(Step::Name(name)) => Some(name.clone()),
            _ => None,
        })
        .collect::<Option<Vec<String>>>()?;
    let probe = names.iter().rev().fold(Value::Null, |inner, name| {
        Value::Object(std::iter::once((name.clone(), inner)).collect())
    });
    let found = js_path_process(query, &probe).ok()?;
    match found.as_slice() {
        [hit] => Some(MemberChain {
            normalized: hit.path.clone(),
            names,
        }),
        _ => None,
    }
}

/// Parses a JSONPath (for tests).
#[cfg(test)]
pub fn parse(text: &str) -> Result<Selector, String> {
    jsonpath_rust::parser::parse_json_path(text)
        .map(|query| Selector::new(text.to_owned(), query))
        .map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn absences(path: &str, root: &Value) -> Absences {
        parse(path)
            .expect("path")
            .select(root)
            .expect("selects")
            .absent
    }

    #[test]
    fn a_filter_over_items_lacking_the_compared_member_reports_them() {
        let body = json!({"value": [{"assignmentType": "Assigned"}, {"id": "x"}, {"assignmentType": null}]});
        let absent = absences("$.value[?@.assignmentType == 'Assigned']", &body);
        assert_eq!(absent.count, 1);
        assert_eq!(
            absent.described,
            vec!["$['value'][1] has no `assignmentType`"]
        );
    }

    #[test]
    fn null_is_a_value_and_existence_tests_ask_about_presence() {
        let body = json!({"a": null, "value": [{"x": 1}, {}]});
        assert!(absences("$.a.b.c", &body).is_empty());
        assert!(absences("$.value[?@.x]", &body).is_empty());
        assert!(absences("$.value[?!@.x]", &body).is_empty());
    }

    #[test]
    fn a_member_chain_names_where_it_stopped() {
        let body = json!({"conditions": {"users": {}}});
        let absent = absences("$.conditions.users.excludeUsers", &body);
        assert_eq!(
            absent.described,
            vec!["$['conditions']['users'] has no `excludeUsers`"]
        );
        let absent = absences("$.conditions.users.excludeUsers", &json!({"conditions": 3}));
        assert_eq!(
            absent.described,
            vec!["$['conditions'] is a number, so it has no `users`"]
        );
    }

    #[test]
    fn functions_compare_their_arguments_and_steps_after_a_filter_are_walked() {
        let body = json!({"value": [{"siteCollection": {}}, {"siteCollection": {"dataLocationCode": "EUR"}, "webUrl": "u"}]});
        let absent = absences(
            "$.value[?length(@.siteCollection.dataLocationCode) > 0]",
            &body,
        );
        assert_eq!(
            absent.described,
            vec!["$['value'][0] has no `siteCollection.dataLocationCode`"]
        );
        let absent = absences(
            "$.value[?@.siteCollection.dataLocationCode == 'EUR'].id",
            &body,
        );
        assert_eq!(absent.described.len(), 2, "{absent:?}");
        assert!(
            absent.described[1].ends_with("[1] has no `id`"),
            "{absent:?}"
        );
    }

    #[test]
    fn an_empty_list_is_not_an_absence() {
        assert!(absences("$.value[*].id", &json!({"value": []})).is_empty());
        assert!(absences("$.value[0].id", &json!({"value": []})).is_empty());
        assert_eq!(absences("$.value[*].id", &json!({})).count, 1);
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (0i64..3).prop_map(|n| json!(n)),
            "[a-b]{0,2}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::btree_map("[a-c]|x y|'q", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn member_path() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec!["a", "b", "c", "['x y']", "['\\'q']"]),
            1..5,
        )
        .prop_map(|names| {
            let mut path = String::from("$");
            for name in names {
                if name.starts_with('[') {
                    path.push_str(name);
                } else {
                    path.push('.');
                    path.push_str(name);
                }
            }
            path
        })
    }

    proptest! {
        /// The member fast path selects what the general engine selects, with the same
        /// normalized path, and notes the same absences as the general walk.
        #[test]
        fn the_member_fast_path_agrees_with_the_general_engine(path in member_path(), root in json_value()) {
            let selector = parse(&path).expect("parses");
            prop_assert!(selector.members.is_some(), "{} is a member chain", path);
            prop_assert_eq!(selector.find(&root), selector.find_general(&root), "{}", path);
            let general = Selector { members: None, ..selector.clone() };
            // The first value (a label) is the first the engine selects, both ways.
            let first = selector.find_general(&root).expect("selects").first().map(|(v, _)| *v);
            prop_assert_eq!(selector.first(&root), first, "{}", path);
            prop_assert_eq!(general.first(&root), first, "{}", path);
            let fast = selector.select(&root).expect("selects").absent;
            let walked = general.select(&root).expect("selects").absent;
            prop_assert_eq!(fast, walked, "{}", path);
        }
    }

    fn general_path() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec![
                ".a",
                ".b",
                "['x y']",
                "['\\'q']",
                "['a','b']",
                "[*]",
                "[0]",
                "[-1]",
                "[0:2]",
                "..a",
                "[?@.a == 1]",
                "[?@.a == $.b]",
                "[?@.a == 1 && @.b != 'a']",
                "[?length(@.a) > 0]",
                "[?@.a]",
                "[?!@.b]",
                "[?@.a.b == 2 || @['x y'] == null]",
            ]),
            1..5,
        )
        .prop_map(|segments| format!("${}", segments.concat()))
    }

    proptest! {
        /// A path that is not a member chain selects by its walk what the engine selects, in
        /// the same order and with the same normalized paths.
        #[test]
        fn the_walk_selects_what_the_general_engine_selects(path in general_path(), root in json_value()) {
            let selector = parse(&path).expect("parses");
            let general = Selector { members: None, ..selector.clone() };
            let walked = general.select(&root);
            let engine = selector.find_general(&root);
            match (walked, engine) {
                (Ok(walked), Ok(engine)) => prop_assert_eq!(walked.found, engine, "{}", path),
                (walked, engine) => prop_assert_eq!(walked.is_ok(), engine.is_ok(), "{}", path),
            }
        }
    }

    proptest! {
        /// Searching a small object in order finds what its hash table finds, on both sides
        /// of the size where the search changes.
        #[test]
        fn a_member_is_found_as_the_map_finds_it(
            names in prop::collection::btree_set("[a-e]{1,3}", 0..2 * SCANNED),
            wanted in "[a-e]{1,3}",
        ) {
            let map: serde_json::Map<String, Value> =
                names.iter().enumerate().map(|(i, n)| (n.clone(), json!(i))).collect();
            prop_assert_eq!(member(&map, &wanted), map.get(&wanted));
            for name in &names {
                prop_assert_eq!(member(&map, name), map.get(name));
            }
        }
    }

    #[test]
    fn filters_reading_the_root_are_applied_from_the_root() {
        let body = json!({"want": "b", "value": [{"id": "a"}, {"id": "b", "x": 1}]});
        let selector = parse("$.value[?@.id == $.want].x").expect("path");
        let selection = selector.select(&body).expect("selects");
        assert_eq!(selection.found.len(), 1);
        assert!(selection.absent.is_empty(), "{:?}", selection.absent);
    }
}
