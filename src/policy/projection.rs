//! Which members of each collection's items the rules can read, so the snapshot reader can drop
//! the rest while parsing (`snapshot::Projection`).
//!
//! Conservative by construction. A member is kept when any path can reach it by name from an
//! item; a resource is kept whole when any rule could observe members it does not name: a
//! wildcard, descendant, index or filter applied to an item, a bare `@` or an absolute `$`
//! query inside a filter, a label or distinct key that is the item itself, or an assertion
//! that compares or shows whole items. Keeping too much costs memory; dropping a member a rule
//! reads would let `exists: false` pass on data nobody looked at.
//!
//! A kept member is kept whole, unless every path that reaches it goes on to select its
//! elements (a wildcard, filter, index or slice: `$.identities[?@.issuer == 'X']`): then its
//! elements are judged by the same rules as items are, one level down (a [`Place`]), and keep
//! only the members read of them by name ([`Member::Elements`]). Anything that would make an
//! item whole makes such a member whole again.

use super::rule::{Assertion, Check, Operand, Rule, Selector, Source};
use super::{EVIDENCE_RESOURCE, Policy, SETTINGS_RESOURCE};
use crate::registry::Registry;
use crate::snapshot::{Layout, Member, Members, Projection, Wanted};
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
    /// values are items, or elements of members of items, that are projected.
    Within(Landing),
}

/// Where selected values sit that are projected: the places of some of them. Values nested in
/// a member kept whole, or in a resource kept whole, need nothing recorded.
#[derive(Debug, Clone, Default)]
struct Landing {
    places: BTreeSet<Place>,
}

/// The items of a resource, or the elements of a member path inside its items.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Place {
    resource: String,
    /// The members from an item down to the array whose elements are meant (through the
    /// elements of each): empty for the items themselves.
    elements_of: Vec<String>,
}

impl Place {
    fn items(resource: &str) -> Place {
        Place {
            resource: resource.to_owned(),
            elements_of: Vec::new(),
        }
    }

    /// The elements of `member` of the values here.
    fn elements(&self, member: &str) -> Place {
        let mut elements_of = self.elements_of.clone();
        elements_of.push(member.to_owned());
        Place {
            resource: self.resource.clone(),
            elements_of,
        }
    }
}

impl Landing {
    fn items(resource: &str) -> Landing {
        Landing {
            places: BTreeSet::from([Place::items(resource)]),
        }
    }
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
            Projection::Members(Members::new())
        } else {
            Projection::Whole
        };
        self.wanted.insert(name.to_owned(), projection);
    }

    /// The members kept of the values at `place`; `None` when they are kept whole already.
    fn members_at(&mut self, place: &Place) -> Option<&mut Members> {
        self.start(&place.resource);
        let Some(Projection::Members(members)) = self.wanted.get_mut(&place.resource) else {
            return None;
        };
        let mut members = members;
        for name in &place.elements_of {
            members = match members.get_mut(name)? {
                Member::Elements(inner) => inner,
                Member::Whole => return None,
            };
        }
        Some(members)
    }

    /// `member` of the values at `place`, whole.
    fn keep(&mut self, place: &Place, member: &str) {
        if let Some(members) = self.members_at(place) {
            members.insert(member.to_owned(), Member::Whole);
        }
    }

    /// `member` of the values at `place`, its elements projected (unless it is kept whole).
    fn keep_elements(&mut self, place: &Place, member: &str) {
        if let Some(members) = self.members_at(place) {
            members
                .entry(member.to_owned())
                .or_insert_with(|| Member::Elements(Members::new()));
        }
    }

    fn keep_whole(&mut self, resource: &str) {
        self.wanted.insert(resource.to_owned(), Projection::Whole);
    }

    fn keep_in_all(&mut self, landing: &Landing, member: &str) {
        for place in &landing.places {
            self.keep(place, member);
        }
    }

    /// The values at every place of `landing` whole: a resource's items, or the member whose
    /// elements they are.
    fn whole_in_all(&mut self, landing: &Landing) {
        for place in &landing.places {
            match place.elements_of.split_last() {
                None => self.keep_whole(&place.resource),
                Some((member, path)) => {
                    let parent = Place {
                        resource: place.resource.clone(),
                        elements_of: path.to_vec(),
                    };
                    self.keep(&parent, member);
                }
            }
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
                self.keep(&Place::items(members), crate::registry::TYPE_MEMBER);
                groups.places.extend(found.places.iter().cloned());
                landing.places.insert(Place::items(members));
            }
            landing.places.extend(found.places);
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
            // What the path selects is compared whole.
            Some(path) => {
                let found = self.relative(&path.query.segments, &landing);
                self.whole_in_all(&found);
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
        let at_items = Landing::items(resource);
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
            Step::Filter(filter) => self.filter(filter, &at_items),
            Step::Name(_) => {
                self.keep_whole(resource);
                return Landing::default();
            }
        }
        self.relative(&segments[2..], &at_items)
    }

    /// A path relative to values that may be projected (items, or elements of a member): its
    /// first step names the member it reads. A member whose elements the next step selects is
    /// followed into them; any other member is kept whole.
    fn relative(&mut self, segments: &[Segment], root: &Landing) -> Landing {
        let Some((first, rest)) = segments.split_first() else {
            return root.clone();
        };
        if root.places.is_empty() {
            return Landing::default();
        }
        let names: Vec<&str> = match first {
            Segment::Selector(Step::Name(name)) => vec![name.as_str()],
            Segment::Selectors(steps) if steps.iter().all(|s| matches!(s, Step::Name(_))) => steps
                .iter()
                .filter_map(|step| match step {
                    Step::Name(name) => Some(name.as_str()),
                    _ => None,
                })
                .collect(),
            _ => {
                self.whole_in_all(root);
                return Landing::default();
            }
        };
        // A filter further on that reaches back to the root reads the root whole.
        if rest.iter().any(segment_has_root_query) {
            self.whole_in_all(root);
            return Landing::default();
        }
        let Some(steps) = rest.first().and_then(element_steps) else {
            // Past the member the path stays inside it (or it is the value selected).
            for name in names {
                self.keep_in_all(root, name);
            }
            return Landing::default();
        };
        let mut elements = Landing::default();
        for place in &root.places {
            for name in &names {
                self.keep_elements(place, name);
                elements.places.insert(place.elements(name));
            }
        }
        for step in steps {
            if let Step::Filter(filter) = step {
                self.filter(filter, &elements);
            }
        }
        self.relative(&rest[1..], &elements)
    }

    /// A filter over the values at `at`: `@` is one of them, `$` the root of the path.
    fn filter(&mut self, filter: &Filter, at: &Landing) {
        match filter {
            Filter::Or(parts) | Filter::And(parts) => {
                parts.iter().for_each(|f| self.filter(f, at));
            }
            Filter::Atom(FilterAtom::Filter { expr, .. }) => self.filter(expr, at),
            // An existence test reads no value: only whether the path selects something.
            Filter::Atom(FilterAtom::Test { expr, .. }) => match expr.as_ref() {
                Test::RelQuery(segments) if !segments.is_empty() => {
                    self.relative(segments, at);
                }
                Test::Function(function) => self.function(function, at),
                Test::RelQuery(_) | Test::AbsQuery(_) => self.whole_in_all(at),
            },
            Filter::Atom(FilterAtom::Comparison(comparison)) => {
                let (left, right) = comparison_sides(comparison);
                self.comparable(left, at);
                self.comparable(right, at);
            }
        }
    }

    fn comparable(&mut self, comparable: &Comparable, at: &Landing) {
        match comparable {
            Comparable::Literal(_) => {}
            Comparable::Function(function) => self.function(function, at),
            Comparable::SingularQuery(SingularQuery::Current(segments)) => match segments.first() {
                Some(SingularQuerySegment::Name(name)) => self.keep_in_all(at, name),
                _ => self.whole_in_all(at),
            },
            Comparable::SingularQuery(SingularQuery::Root(_)) => self.whole_in_all(at),
        }
    }

    /// A function reads the values of its arguments (a length, a match, a count).
    fn function(&mut self, function: &TestFunction, at: &Landing) {
        for arg in function_args(function) {
            match arg {
                FnArg::Literal(_) => {}
                FnArg::Test(test) => match test.as_ref() {
                    Test::RelQuery(segments) if !segments.is_empty() => {
                        let found = self.relative(segments, at);
                        self.whole_in_all(&found);
                    }
                    Test::Function(inner) => self.function(inner, at),
                    Test::RelQuery(_) | Test::AbsQuery(_) => self.whole_in_all(at),
                },
                FnArg::Filter(filter) => self.filter(filter, at),
            }
        }
    }
}

/// The steps of a segment that selects the elements of an array (a wildcard, filter, index or
/// slice, alone or several in brackets); `None` for a name step or descendants.
fn element_steps(segment: &Segment) -> Option<Vec<&Step>> {
    let steps: Vec<&Step> = match segment {
        Segment::Selector(step) => vec![step],
        Segment::Selectors(steps) => steps.iter().collect(),
        Segment::Descendant(_) => return None,
    };
    let elements = !steps.is_empty() && steps.iter().all(|step| !matches!(step, Step::Name(_)));
    elements.then_some(steps)
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
    use crate::snapshot::{Member, Members, Projection};

    /// The projection of `resource` when `rule` (YAML, indented by two) is the pack's only policy.
    fn projection_of(rule: &str, resource: &str) -> Projection {
        // The block starts on the line after `rule: `.
        let pack = crate::policy::pack_with_rule(format_args!("\n{rule}"));
        pack.projections().remove(resource).expect("resource read")
    }

    fn members(names: &[&str]) -> Projection {
        Projection::Members(whole_members(names))
    }

    fn whole_members(names: &[&str]) -> Members {
        names
            .iter()
            .map(|n| ((*n).to_owned(), Member::Whole))
            .collect()
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
        // MFA-04 reads only the issuer of each identity (`[?@.issuer == 'ExternalAzureAD']`).
        let mut users = whole_members(&[
            "accountEnabled",
            "creationType",
            "externalUserState",
            "id",
            "preferredDataLocation",
            "userPrincipalName",
            "userType",
        ]);
        users.insert(
            "identities".into(),
            Member::Elements(whole_members(&["issuer"])),
        );
        assert_eq!(wanted.get("users"), Some(&Projection::Members(users)));
    }

    const USERS: &str = "  resource: users
";

    /// `names` kept whole, and `identities` kept with its elements keeping `inner`.
    fn with_identities(names: &[&str], inner: &[&str]) -> Projection {
        let mut members = whole_members(names);
        members.insert("identities".into(), Member::Elements(whole_members(inner)));
        Projection::Members(members)
    }

    #[test]
    fn a_filter_over_elements_keeps_the_member_it_compares() {
        let rules = [
            format!(
                "{USERS}  path: \"$.value[*].identities[?@.issuer == 'ExternalAzureAD']\"\n  \
                 exists: true"
            ),
            // Inside a quantifier over items, as MFA-04 reads it.
            format!(
                "{USERS}  path: $.value[*]\n  all:\n    \
                 path: \"$.identities[?@.issuer == 'ExternalAzureAD']\"\n    exists: true"
            ),
            // As an existence test in a filter over items.
            format!(
                "{USERS}  path: \"$.value[?@.identities[?@.issuer == 'ExternalAzureAD']]\"\n  \
                 count: {{min: 1}}"
            ),
            // Counted, after an existence test: neither reads a value.
            format!(
                "{USERS}  path: $.value[*]\n  all:\n    \
                 path: \"$.identities[?@.issuer]\"\n    count: {{max: 3}}"
            ),
        ];
        for rule in rules {
            assert_eq!(
                projection_of(&rule, "users"),
                with_identities(&[], &["issuer"]),
                "{rule}"
            );
        }
    }

    #[test]
    fn a_quantifier_over_elements_keeps_the_members_its_rules_read() {
        let rule = format!(
            "{USERS}  path: $.value[*].identities[*]\n  label: $.issuerAssignedId\n  all:\n    \
             all_of:\n      - path: $.issuer\n        equals: ExternalAzureAD\n      \
             - path: $.signInType\n        exists: true"
        );
        assert_eq!(
            projection_of(&rule, "users"),
            with_identities(&[], &["issuer", "issuerAssignedId", "signInType"])
        );
    }

    #[test]
    fn a_value_bound_to_an_element_keeps_what_its_path_reads() {
        let rule = format!(
            "{USERS}  path: $.value[*].identities[*]\n  as: identity\n  all:\n    \
             resource: user_registration_details\n    path: $.value[*]\n    where: [{{key: $.id, equals: {{var: identity, path: $.issuer}}}}]\n    \
             exists: true"
        );
        assert_eq!(
            projection_of(&rule, "users"),
            with_identities(&[], &["issuer"])
        );
        let whole = rule.replace("{var: identity, path: $.issuer}", "{var: identity}");
        assert_eq!(projection_of(&whole, "users"), members(&["identities"]));
    }

    #[test]
    fn an_index_or_slice_of_elements_is_followed_into_them() {
        for path in [
            "$.value[*].identities[0].issuer",
            "$.value[*].identities[-2:].issuer",
            "$.value[*].identities[0, 2].issuer",
        ] {
            let rule = format!("{USERS}  path: \"{path}\"\n  equals: x");
            assert_eq!(
                projection_of(&rule, "users"),
                with_identities(&[], &["issuer"]),
                "{path}"
            );
        }
    }

    /// Whatever would keep an item whole keeps a member whole when it applies to its elements.
    #[test]
    fn what_can_see_unnamed_members_of_elements_keeps_the_member_whole() {
        let rules = [
            // Whole elements compared, shown or listed.
            format!("{USERS}  path: $.value[*].identities[*]\n  equals: {{issuer: x}}"),
            format!("{USERS}  path: $.value[*].identities[0]\n  empty: false"),
            format!("{USERS}  path: $.value[*].identities[*]\n  only_members: [issuer]"),
            format!("{USERS}  path: $.value[*].identities[*]\n  label: $\n  exists: false"),
            format!("{USERS}  path: $.value[*].identities[*]\n  distinct: $\n  count: {{max: 1}}"),
            // The member itself, or its elements' own members, selected.
            format!("{USERS}  path: $.value[*].identities\n  exists: true"),
            format!("{USERS}  path: $.value[*].identities..issuer\n  exists: true"),
            format!("{USERS}  path: $.value[*].identities[*].*\n  exists: false"),
            format!("{USERS}  path: $.value[*].identities[*][0]\n  exists: false"),
            format!(
                "{USERS}  path: $.value[*].identities[*]\n  all:\n    path: $[*]\n    exists: true"
            ),
            format!(
                "{USERS}  path: $.value[*].identities[*]\n  all:\n    path: $..x\n    exists: false"
            ),
            // A bare `@` in a filter over elements, or a value read by a function.
            format!("{USERS}  path: \"$.value[*].identities[?@ == 'x']\"\n  exists: false"),
            format!("{USERS}  path: \"$.value[*].identities[?@]\"\n  exists: false"),
            format!("{USERS}  path: \"$.value[*].identities[?length(@) > 2]\"\n  exists: false"),
            format!("{USERS}  path: \"$.value[?length(@.identities[0]) > 2]\"\n  exists: false"),
        ];
        for rule in rules {
            assert_eq!(
                projection_of(&rule, "users"),
                members(&["identities"]),
                "{rule}"
            );
        }
    }

    /// `$` in a filter over elements is the root of the path: an item, or the whole body.
    #[test]
    fn a_filter_over_elements_reaching_the_root_keeps_the_root_whole() {
        let rules = [
            format!(
                "{USERS}  path: \"$.value[*].identities[?@.issuer == $.value[0].id]\"\n  \
                 exists: false"
            ),
            format!(
                "{USERS}  path: $.value[*]\n  all:\n    \
                 path: \"$.identities[?@.issuer == $.userType]\"\n    exists: false"
            ),
        ];
        for rule in rules {
            assert_eq!(projection_of(&rule, "users"), Projection::Whole, "{rule}");
        }
    }

    /// A member one rule reads whole stays whole, in whichever order the rules come.
    #[test]
    fn a_member_read_whole_anywhere_is_kept_whole() {
        let nested = "    - resource: users\n      \
                      path: \"$.value[*].identities[?@.issuer == 'x']\"\n      exists: true\n";
        let whole =
            "    - resource: users\n      path: $.value[*].identities\n      exists: true\n";
        for (first, second) in [(nested, whole), (whole, nested)] {
            let rule = format!("  all_of:\n{first}{second}");
            assert_eq!(
                projection_of(&rule, "users"),
                members(&["identities"]),
                "{rule}"
            );
        }
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
