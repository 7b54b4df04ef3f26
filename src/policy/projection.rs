//! Which members of each collection's items the rules can read, so the snapshot reader can drop
//! the rest while parsing (`snapshot::Projection`).
//!
//! Conservative by construction. A member is kept when any path can reach it by name from an
//! item; a resource is kept whole when any rule could observe members it does not name: a
//! wildcard, descendant, index or filter applied to an item, a bare `@` or an absolute `$`
//! query inside a filter, a label or distinct key that is the item itself, or an assertion
//! that compares or shows whole items. Keeping too much costs memory; dropping a member a rule
//! reads would let `exists: false` pass on data nobody looked at.

use super::rule::{Assertion, Check, Operand, Rule, Selector, Source};
use super::{EVIDENCE_RESOURCE, Policy, SETTINGS_RESOURCE};
use crate::registry::Registry;
use crate::snapshot::{Layout, Projection, Wanted};
use jsonpath_rust::parser::model::{
    Comparable, Comparison, Filter, FilterAtom, FnArg, Segment, Selector as Step, SingularQuery,
    SingularQuerySegment, Test, TestFunction,
};
use std::collections::BTreeSet;

/// The projection of every resource the policies read.
pub fn projections<'a>(
    policies: impl IntoIterator<Item = &'a Policy>,
    registry: &Registry,
) -> Wanted {
    let mut analysis = Analysis {
        registry,
        wanted: Wanted::new(),
        bound: Vec::new(),
    };
    for policy in policies {
        for name in &policy.resources {
            analysis.start(name);
        }
        if let Some(rule) = &policy.rule {
            analysis.rule(rule, &Scope::Top);
        }
    }
    // A derived resource is computed from its inputs whole, whatever the rules read of it.
    let derived: Vec<String> = analysis
        .wanted
        .keys()
        .filter_map(|name| registry.get(name).filter(|s| s.is_derived()))
        .flat_map(|spec| spec.derived_from.iter().cloned())
        .collect();
    for input in derived {
        analysis.wanted.insert(input, Projection::Whole);
    }
    analysis.wanted
}

struct Analysis<'a> {
    registry: &'a Registry,
    wanted: Wanted,
    /// Names bound by enclosing quantifiers (`as:`, `group_as:`), with where their values sit.
    bound: Vec<(String, Landing)>,
}

/// What the root of a check's selection is.
enum Scope {
    /// Each source reads its resource's body.
    Top,
    /// Each source reads a value an enclosing check selected; `Landing` says which of those
    /// values are whole items.
    Within(Landing),
}

/// Where selected values sit: the resources whose items some of them are. Values nested in a
/// kept member, or in a resource kept whole, need nothing recorded.
#[derive(Debug, Clone, Default)]
struct Landing {
    items_of: BTreeSet<String>,
}

impl Analysis<'_> {
    /// A collection starts with no member kept (its items can still be counted); anything
    /// else is kept whole.
    fn start(&mut self, name: &str) {
        if self.wanted.contains_key(name) {
            return;
        }
        let projected = self.registry.get(name).and_then(Layout::of).is_some();
        let projection = if projected {
            Projection::Members(BTreeSet::new())
        } else {
            Projection::Whole
        };
        self.wanted.insert(name.to_owned(), projection);
    }

    fn keep(&mut self, resource: &str, member: &str) {
        self.start(resource);
        if let Some(Projection::Members(members)) = self.wanted.get_mut(resource) {
            members.insert(member.to_owned());
        }
    }

    fn keep_whole(&mut self, resource: &str) {
        self.wanted.insert(resource.to_owned(), Projection::Whole);
    }

    fn keep_in_all(&mut self, landing: &Landing, member: &str) {
        for resource in &landing.items_of {
            self.keep(resource, member);
        }
    }

    fn whole_in_all(&mut self, landing: &Landing) {
        for resource in &landing.items_of {
            self.keep_whole(resource);
        }
    }

    fn rule(&mut self, rule: &Rule, scope: &Scope) {
        match rule {
            Rule::AllOf { rules, .. } | Rule::AnyOf { rules, .. } => {
                rules.iter().for_each(|r| self.rule(r, scope));
            }
            Rule::Not { rule, .. } => self.rule(rule, scope),
            Rule::Fallback(fallback) => {
                self.rule(&fallback.measured, scope);
                self.rule(&fallback.declared, scope);
            }
            Rule::Check(check) => self.check(check, scope),
        }
    }

    fn check(&mut self, check: &Check, scope: &Scope) {
        let mut landing = Landing::default();
        let mut groups = Landing::default();
        for source in &check.sources {
            // A source naming a resource reads it from its top, inside a quantifier too.
            let found = match (scope, &source.resource) {
                // One parent's collection of a fan-out: kept whole (small, and its layout is
                // not the one `top_source` reads).
                (_, Some(resource)) if source.of.is_some() => {
                    self.keep_whole(resource);
                    Landing::default()
                }
                (_, Some(_)) | (Scope::Top, None) => self.top_source(source),
                (Scope::Within(root), None) => self.relative(&source.path.query.segments, root),
            };
            for condition in &source.lookup {
                self.shown(&condition.key, &found);
                self.operand(&condition.equals);
            }
            if let Some(parent) = &source.of {
                self.operand(parent);
            }
            if let Some(members) = &source.expand_groups {
                // A selected group is recognised by its type and looked up by its id; the
                // members that replace it are items of the fan-out, filtered by type too.
                self.keep_in_all(&found, crate::registry::TYPE_MEMBER);
                self.keep_in_all(&found, "id");
                self.keep(members, crate::registry::TYPE_MEMBER);
                groups.items_of.extend(found.items_of.iter().cloned());
                landing.items_of.insert(members.clone());
            }
            landing.items_of.extend(found.items_of);
        }
        for key in [&check.distinct, &check.label].into_iter().flatten() {
            self.shown(key, &landing);
        }
        match &check.assertion {
            Assertion::Equals(operand)
            | Assertion::Contains(operand)
            | Assertion::EndsWith(operand)
            | Assertion::NotOlderThan {
                amount: operand, ..
            } => self.operand(operand),
            Assertion::Count { min, max } | Assertion::Number { min, max } => {
                min.iter().chain(max.iter()).for_each(|o| self.operand(o));
            }
            _ => {}
        }
        match &check.assertion {
            Assertion::Exists(_) | Assertion::Count { .. } => {}
            Assertion::All(rule) | Assertion::Any(rule) | Assertion::None(rule) => {
                let before = self.bound.len();
                if let Some(name) = &check.bind_group {
                    self.bound.push((name.clone(), groups));
                }
                if let Some(name) = &check.bind {
                    self.bound.push((name.clone(), landing.clone()));
                }
                self.rule(rule, &Scope::Within(landing));
                self.bound.truncate(before);
            }
            Assertion::Equals(_)
            | Assertion::Empty(_)
            | Assertion::OnlyMembers(_)
            | Assertion::Matches(_)
            | Assertion::In(_)
            | Assertion::NotIn(_)
            | Assertion::Only(_)
            | Assertion::Contains(_)
            | Assertion::EndsWith(_)
            | Assertion::Number { .. }
            | Assertion::NotOlderThan { .. } => self.whole_in_all(&landing),
        }
    }

    /// `{var: NAME, path: …}` reads members of the bound value; `{var: NAME}` compares all of it.
    fn operand(&mut self, operand: &Operand) {
        if let Operand::Concat(parts) = operand {
            parts.iter().for_each(|part| self.operand(part));
            return;
        }
        let Operand::Var { name, path } = operand else {
            return;
        };
        let Some(landing) = self
            .bound
            .iter()
            .rev()
            .find(|(bound, _)| bound == name)
            .map(|(_, landing)| landing.clone())
        else {
            return;
        };
        match path {
            Some(path) => {
                self.relative(&path.query.segments, &landing);
            }
            None => self.whole_in_all(&landing),
        }
    }

    /// A label or distinct key is printed or compared: the item itself as one needs all of it.
    fn shown(&mut self, selector: &Selector, landing: &Landing) {
        let found = self.relative(&selector.query.segments, landing);
        self.whole_in_all(&found);
    }

    /// A top-level path into its resource: `$.value[<items>]` and what follows.
    fn top_source(&mut self, source: &Source) -> Landing {
        let Some(resource) = source.resource.as_deref() else {
            return Landing::default();
        };
        if resource == EVIDENCE_RESOURCE || resource == SETTINGS_RESOURCE {
            return Landing::default();
        }
        self.start(resource);
        let layout = self.registry.get(resource).and_then(Layout::of);
        let segments = &source.path.query.segments;
        let at_items = Landing {
            items_of: BTreeSet::from([resource.to_owned()]),
        };
        let items = match (layout, segments.as_slice()) {
            (None, _) => return Landing::default(),
            // The `value` array itself is as safe a root as one item: a name step from it
            // selects nothing, and every other step is judged by `relative`.
            (Some(Layout::Collection), [Segment::Selector(Step::Name(value))])
                if value == "value" =>
            {
                return at_items;
            }
            (
                Some(Layout::Collection),
                [
                    Segment::Selector(Step::Name(value)),
                    Segment::Selector(items),
                    ..,
                ],
            ) if value == "value" => items,
            _ => {
                self.keep_whole(resource);
                return Landing::default();
            }
        };
        match items {
            Step::Wildcard | Step::Index(_) | Step::Slice(..) => {}
            Step::Filter(filter) => self.item_filter(filter, &at_items),
            Step::Name(_) => {
                self.keep_whole(resource);
                return Landing::default();
            }
        }
        self.relative(&segments[2..], &at_items)
    }

    /// A path relative to values that may be items: its first step names the member it reads.
    fn relative(&mut self, segments: &[Segment], root: &Landing) -> Landing {
        let Some((first, rest)) = segments.split_first() else {
            return root.clone();
        };
        if root.items_of.is_empty() {
            return Landing::default();
        }
        match first {
            Segment::Selector(Step::Name(name)) => self.keep_in_all(root, name),
            Segment::Selectors(steps) if steps.iter().all(|s| matches!(s, Step::Name(_))) => {
                for step in steps {
                    if let Step::Name(name) = step {
                        self.keep_in_all(root, name);
                    }
                }
            }
            _ => {
                self.whole_in_all(root);
                return Landing::default();
            }
        }
        // Past the member the path stays inside it, unless a filter reaches back to the root.
        if rest.iter().any(segment_has_root_query) {
            self.whole_in_all(root);
        }
        Landing::default()
    }

    /// A filter over items: `@` is the item, `$` the whole resource.
    fn item_filter(&mut self, filter: &Filter, items: &Landing) {
        match filter {
            Filter::Or(parts) | Filter::And(parts) => {
                parts.iter().for_each(|f| self.item_filter(f, items));
            }
            Filter::Atom(FilterAtom::Filter { expr, .. }) => self.item_filter(expr, items),
            Filter::Atom(FilterAtom::Test { expr, .. }) => self.item_test(expr, items),
            Filter::Atom(FilterAtom::Comparison(comparison)) => {
                let (left, right) = comparison_sides(comparison);
                self.item_comparable(left, items);
                self.item_comparable(right, items);
            }
        }
    }

    fn item_test(&mut self, test: &Test, items: &Landing) {
        match test {
            Test::RelQuery(segments) if !segments.is_empty() => {
                self.relative(segments, items);
            }
            Test::Function(function) => self.item_function(function, items),
            Test::RelQuery(_) | Test::AbsQuery(_) => self.whole_in_all(items),
        }
    }

    fn item_comparable(&mut self, comparable: &Comparable, items: &Landing) {
        match comparable {
            Comparable::Literal(_) => {}
            Comparable::Function(function) => self.item_function(function, items),
            Comparable::SingularQuery(SingularQuery::Current(segments)) => match segments.first() {
                Some(SingularQuerySegment::Name(name)) => self.keep_in_all(items, name),
                _ => self.whole_in_all(items),
            },
            Comparable::SingularQuery(SingularQuery::Root(_)) => self.whole_in_all(items),
        }
    }

    fn item_function(&mut self, function: &TestFunction, items: &Landing) {
        for arg in function_args(function) {
            match arg {
                FnArg::Literal(_) => {}
                FnArg::Test(test) => self.item_test(test, items),
                FnArg::Filter(filter) => self.item_filter(filter, items),
            }
        }
    }
}

fn comparison_sides(comparison: &Comparison) -> (&Comparable, &Comparable) {
    match comparison {
        Comparison::Eq(l, r)
        | Comparison::Ne(l, r)
        | Comparison::Gt(l, r)
        | Comparison::Gte(l, r)
        | Comparison::Lt(l, r)
        | Comparison::Lte(l, r) => (l, r),
    }
}

fn function_args(function: &TestFunction) -> Vec<&FnArg> {
    match function {
        TestFunction::Custom(_, args) => args.iter().collect(),
        TestFunction::Length(arg) => vec![arg.as_ref()],
        TestFunction::Value(arg) | TestFunction::Count(arg) => vec![arg],
        TestFunction::Search(a, b) | TestFunction::Match(a, b) => vec![a, b],
    }
}

/// Whether a filter somewhere in the segment queries from the root (`$`) rather than `@`.
fn segment_has_root_query(segment: &Segment) -> bool {
    match segment {
        Segment::Descendant(inner) => segment_has_root_query(inner),
        Segment::Selector(step) => step_has_root_query(step),
        Segment::Selectors(steps) => steps.iter().any(step_has_root_query),
    }
}

fn step_has_root_query(step: &Step) -> bool {
    match step {
        Step::Filter(filter) => filter_has_root_query(filter),
        _ => false,
    }
}

fn filter_has_root_query(filter: &Filter) -> bool {
    match filter {
        Filter::Or(parts) | Filter::And(parts) => parts.iter().any(filter_has_root_query),
        Filter::Atom(FilterAtom::Filter { expr, .. }) => filter_has_root_query(expr),
        Filter::Atom(FilterAtom::Test { expr, .. }) => test_has_root_query(expr),
        Filter::Atom(FilterAtom::Comparison(comparison)) => {
            let (left, right) = comparison_sides(comparison);
            comparable_has_root_query(left) || comparable_has_root_query(right)
        }
    }
}

fn test_has_root_query(test: &Test) -> bool {
    match test {
        Test::AbsQuery(_) => true,
        Test::RelQuery(segments) => segments.iter().any(segment_has_root_query),
        Test::Function(function) => function_has_root_query(function),
    }
}

fn comparable_has_root_query(comparable: &Comparable) -> bool {
    match comparable {
        Comparable::Literal(_) => false,
        Comparable::Function(function) => function_has_root_query(function),
        Comparable::SingularQuery(SingularQuery::Root(_)) => true,
        Comparable::SingularQuery(SingularQuery::Current(_)) => false,
    }
}

fn function_has_root_query(function: &TestFunction) -> bool {
    function_args(function).into_iter().any(|arg| match arg {
        FnArg::Literal(_) => false,
        FnArg::Test(test) => test_has_root_query(test),
        FnArg::Filter(filter) => filter_has_root_query(filter),
    })
}

#[cfg(test)]
mod tests {
    use crate::policy::{PackSource, PolicyPack};
    use crate::snapshot::Projection;

    /// The projection of `resource` when `rule` (YAML, indented by two) is the pack's only policy.
    fn projection_of(rule: &str, resource: &str) -> Projection {
        // The block starts on the line after `rule: `.
        let pack = crate::policy::pack_with_rule(format_args!("\n{rule}"));
        pack.projections().remove(resource).expect("resource read")
    }

    fn members(names: &[&str]) -> Projection {
        Projection::Members(names.iter().map(|n| (*n).to_owned()).collect())
    }

    const URD: &str = "  resource: user_registration_details\n";

    #[test]
    fn filter_label_and_nested_paths_name_the_members_kept() {
        let rule = format!(
            "{URD}  path: $.value[?@.userType == 'member' && length(@.methodsRegistered) > 1]\n  \
             label: $.userPrincipalName\n  all:\n    path: $.isMfaCapable\n    equals: true"
        );
        assert_eq!(
            projection_of(&rule, "user_registration_details"),
            members(&[
                "isMfaCapable",
                "methodsRegistered",
                "userPrincipalName",
                "userType"
            ])
        );
    }

    #[test]
    fn counting_items_keeps_no_member() {
        let rule = format!("{URD}  path: $.value[*]\n  count: {{min: 1}}");
        assert_eq!(
            projection_of(&rule, "user_registration_details"),
            members(&[])
        );
        let rule = format!("{URD}  path: $.value\n  exists: true");
        assert_eq!(
            projection_of(&rule, "user_registration_details"),
            members(&[])
        );
    }

    #[test]
    fn a_member_reached_deeper_is_kept_whole() {
        let rule =
            format!("{URD}  path: $.value[*].methodsRegistered[*]\n  only: [fido2SecurityKey]");
        assert_eq!(
            projection_of(&rule, "user_registration_details"),
            members(&["methodsRegistered"])
        );
    }

    #[test]
    fn paths_that_can_see_unnamed_members_keep_the_items_whole() {
        let rules = [
            format!("{URD}  path: $.value[*].*\n  exists: false"),
            format!("{URD}  path: $..isAdmin\n  exists: false"),
            format!("{URD}  path: $.value[0]\n  equals: {{id: x}}"),
            format!("{URD}  path: $.value[?length(@) > 2]\n  exists: false"),
            format!("{URD}  path: $.value[?@.id == $.value[0].id]\n  exists: false"),
            format!("{URD}  path: $.value[?@.userType == 'member']\n  label: $\n  exists: false"),
            format!(
                "{URD}  path: $.value[*]\n  none:\n    path: \"$[?search(@, '#EXT#')]\"\n    exists: true"
            ),
            format!("{URD}  path: $.value[*]\n  all:\n    path: $[0]\n    exists: true"),
            format!("{URD}  path: $['@odata.context']\n  exists: true"),
        ];
        for rule in rules {
            assert_eq!(
                projection_of(&rule, "user_registration_details"),
                Projection::Whole,
                "{rule}"
            );
        }
    }

    #[test]
    fn expanded_groups_keep_what_identifies_a_group_and_its_members() {
        let rule = "  select:\n    - resource: directory_role_assignments\n      \
                    path: $.value[*]\n      expand_groups: group_transitive_members\n  \
                    distinct: $.id\n  label: $.userPrincipalName\n  count: {max: 4}";
        assert_eq!(
            projection_of(rule, "directory_role_assignments"),
            members(&["@odata.type", "id", "userPrincipalName"])
        );
        assert_eq!(
            projection_of(rule, "group_transitive_members"),
            members(&["@odata.type", "id", "userPrincipalName"])
        );
    }

    #[test]
    fn settings_objects_are_never_projected() {
        let rule = "  resource: report_settings\n  path: $.displayConcealedNames\n  equals: true";
        assert_eq!(projection_of(rule, "report_settings"), Projection::Whole);
    }

    /// The shipped pack reads two members of an account's registration details (the id it is
    /// joined by, and isMfaCapable), so the others (names, methods, admin flags) never reach
    /// memory.
    #[test]
    fn the_shipped_pack_reads_few_members_of_the_largest_resources() {
        let pack = PolicyPack::load(&PackSource::BuiltIn).expect("pack");
        let wanted = pack.projections();
        assert_eq!(
            wanted.get("user_registration_details"),
            Some(&members(&["id", "isMfaCapable"]))
        );
        assert_eq!(
            wanted.get("users"),
            Some(&members(&[
                "accountEnabled",
                "creationType",
                "externalUserState",
                "id",
                "identities",
                "preferredDataLocation",
                "userPrincipalName",
                "userType"
            ]))
        );
    }

    #[test]
    fn a_join_keeps_the_key_and_what_the_bound_item_is_read_for() {
        let rule = "  resource: users\n  path: $.value[*]\n  as: account\n  all:\n    \
                    resource: user_registration_details\n    path: $.value[*]\n    \
                    where: [{key: $.id, equals: {var: account, path: $.id}}]\n    any:\n      \
                    path: $.isMfaCapable\n      equals: true";
        assert_eq!(
            projection_of(rule, "user_registration_details"),
            members(&["id", "isMfaCapable"])
        );
        assert_eq!(projection_of(rule, "users"), members(&["id"]));
    }
}
