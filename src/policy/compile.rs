//! Turns a parsed policy file into a checked [`Policy`], or a located diagnostic with a fix.
//!
//! Everything that can be known before a scan is checked here: the control exists, every
//! resource is in the registry, every JSONPath parses, every rule node has exactly one meaning.

use super::rule::{
    AgeUnit, Assertion, Check, Fallback, Operand, Rule, Selector, Source, Values, Where,
};
use super::source::{PolicyFile, PolicyMeta, RawExample, RawRule, RawWhere};
use super::{EVIDENCE_RESOURCE, EvidenceNeed, Example, Policy, SETTINGS_RESOURCE};
use crate::catalog::Catalog;
use crate::diag::{Diagnostic, Position};
use crate::registry::Registry;
use crate::settings::Settings;
use crate::vendor::Vendor;
use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::{Location, Spanned};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const ASSERTIONS: &str = "exists, empty, equals, in, not_in, only, only_members, contains, \
     matches, ends_with, count, number, not_older_than, all, any, none";

/// The pack's named rule fragments (`fragments.yaml`), used by `use: NAME`.
#[derive(Debug, Default)]
pub(super) struct Fragments {
    pub file: PathBuf,
    pub rules: BTreeMap<String, Spanned<RawRule>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FragmentsFile {
    #[serde(default)]
    pub fragments: BTreeMap<String, Spanned<RawRule>>,
}

/// What compiling one policy has in scope: the names bound by enclosing quantifiers, and the
/// fragments being expanded (to refuse a fragment that uses itself).
#[derive(Default)]
pub(super) struct CompileState {
    bound: RefCell<Vec<String>>,
    using: RefCell<Vec<String>>,
    /// How many `declared:` branches enclose the rule being compiled: inside one, a measured
    /// rule may read the declaration's exports (they stand in for an unreadable service there).
    declared_depth: std::cell::Cell<usize>,
}

#[derive(Clone, Copy)]
pub(super) struct Compiler<'a> {
    pub file: &'a Path,
    /// True when the policy has an `evidence:` block, so rules may read `resource: evidence`.
    pub evidence_allowed: bool,
    /// The declaration is optional: a rule may run while there is none.
    pub evidence_optional: bool,
    pub registry: &'a Registry,
    pub catalog: &'a Catalog,
    pub fragments: &'a Fragments,
    pub state: &'a CompileState,
}

fn position(location: &Location) -> Position {
    Position::new(location.line(), location.column())
}

impl Compiler<'_> {
    fn error(
        &self,
        at: &Location,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::new(self.file, position(at), message).with_fix(fix)
    }

    pub fn policy(&self, raw: PolicyFile) -> Result<Policy, Diagnostic> {
        let id = &raw.policy;
        if !is_policy_id(&id.value) {
            return Err(self.error(
                &id.referenced,
                format!("policy id '{}' is not a lowercase slug", id.value),
                "use lowercase letters, digits and '-', e.g. tel-01-usage-reports-conceal-names",
            ));
        }
        let control = self.catalog.get(&raw.control.value).ok_or_else(|| {
            let known: Vec<&str> = self
                .catalog
                .controls()
                .iter()
                .map(|c| c.id.as_str())
                .collect();
            self.error(
                &raw.control.referenced,
                format!("unknown control '{}'", raw.control.value),
                suggest(
                    &raw.control.value,
                    &known,
                    "use a control ID from policies/controls.yaml, e.g. VTC-MFA-01",
                ),
            )
        })?;
        let vendors = self.vendors(&raw)?;
        if let Some(reason) = &raw.not_applicable {
            return self.not_applicable(raw.clone_meta(), control, vendors, reason);
        }
        let Some(remediation) = raw.remediation.clone() else {
            return Err(self.error(
                &raw.policy.referenced,
                "a policy needs a `remediation` (nl and en)",
                "say what an administrator does to comply, in both languages",
            ));
        };
        let mut evidence = raw.evidence.as_ref().map(|need| EvidenceNeed {
            optional: need.value.optional,
            values: need.value.values.clone(),
            files: need.value.files.clone(),
            direct: false,
        });
        if let Some((node, depth)) = raw.rule.as_ref().and_then(super::bounds::too_deep) {
            return Err(self.error(
                &node.referenced,
                format!(
                    "the rule nests {depth} levels deep here, above the limit of {}",
                    super::bounds::MAX_RULE_NESTING
                ),
                "flatten it: all_of inside all_of is one all_of, and not(not(x)) is x",
            ));
        }
        let rule = match &raw.rule {
            Some(rule) => Some(self.rule(rule, None, false)?),
            None if evidence.as_ref().is_some_and(|e| e.optional) => {
                return Err(self.error(
                    &raw.policy.referenced,
                    "optional evidence needs a `rule` that can pass without it",
                    "add the rule that Graph data alone can satisfy, or drop `optional: true`",
                ));
            }
            None if evidence.is_some() => None,
            None => {
                return Err(self.error(&raw.policy.referenced, "a policy needs a `rule`, an `evidence` block, or both",
                    "add `rule:` (policies/README.md), or `evidence:` for a control proven by a declaration"));
            }
        };
        let resources = rule.as_ref().map(Rule::resources).unwrap_or_default();
        self.check_vendors(&raw, &vendors, &resources)?;
        if let (Some(rule), Some(need)) = (&rule, evidence.as_mut()) {
            need.direct = rule.reads_evidence(true);
            if rule.has_fallback() && !need.optional {
                let at = raw
                    .evidence
                    .as_ref()
                    .map_or(&raw.policy.referenced, |e| &e.referenced);
                return Err(self.error(
                    at,
                    "a policy with `measured:`/`declared:` needs its declaration only when the measurement cannot be made, but the `evidence:` block requires it always",
                    "add `optional: true` to the `evidence:` block",
                ));
            }
        }
        let examples = raw
            .examples
            .iter()
            .map(|e| self.example(e))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy {
            id: raw.policy.value.clone(),
            control: control.id.clone(),
            title: raw.title,
            severity: raw.severity,
            vendors,
            not_applicable: None,
            guideline: raw
                .guideline
                .unwrap_or_else(|| control.guideline.section.clone()),
            gdpr: raw.gdpr.unwrap_or_else(|| control.gdpr.clone()),
            remediation,
            references: raw.references,
            resources,
            evidence,
            rule,
            examples,
            file: self.file.to_path_buf(),
        })
    }

    /// The policy's `vendors`: `[microsoft]` when left out; never empty or repeated.
    fn vendors(&self, raw: &PolicyFile) -> Result<Vec<Vendor>, Diagnostic> {
        let Some(listed) = &raw.vendors else {
            return Ok(vec![Vendor::default()]);
        };
        let mut vendors = listed.value.clone();
        vendors.sort();
        vendors.dedup();
        if vendors.is_empty() || vendors.len() != listed.value.len() {
            return Err(self.error(
                &listed.referenced,
                "`vendors` must name each suite once, and at least one",
                "write e.g. vendors: [google], or vendors: [microsoft, google] for a declaration that means the same for both",
            ));
        }
        Ok(vendors)
    }

    /// Every resource a rule reads belongs to a service of each vendor the policy is for: a
    /// Microsoft Graph read cannot judge a Google customer. A policy for several vendors can
    /// therefore read only the declaration and the settings.
    fn check_vendors(
        &self,
        raw: &PolicyFile,
        vendors: &[Vendor],
        resources: &[String],
    ) -> Result<(), Diagnostic> {
        for name in resources {
            let Some(spec) = self.registry.get(name) else {
                continue;
            };
            let owner = spec.service.vendor();
            if let Some(other) = vendors.iter().find(|v| **v != owner) {
                let at = raw
                    .vendors
                    .as_ref()
                    .map_or(&raw.policy.referenced, |v| &v.referenced);
                return Err(self.error(
                    at,
                    format!(
                        "the rule reads {name}, a {} resource, but the policy is for {other} too",
                        owner.suite()
                    ),
                    format!("write `vendors: [{owner}]`, or split the policy: one file per vendor"),
                ));
            }
        }
        Ok(())
    }

    /// A policy saying the control has no meaning for its vendors: the reason and nothing to
    /// judge, so no rule, evidence or examples.
    fn not_applicable(
        &self,
        raw: PolicyMeta,
        control: &crate::catalog::Control,
        vendors: Vec<Vendor>,
        reason: &Spanned<String>,
    ) -> Result<Policy, Diagnostic> {
        if raw.has_rule_or_evidence_or_examples {
            return Err(self.error(
                &reason.referenced,
                "a not_applicable policy judges nothing: it takes no rule, evidence or examples",
                "remove `rule`, `evidence` and `examples`, or remove `not_applicable`",
            ));
        }
        if reason.value.trim().is_empty() {
            return Err(self.error(
                &reason.referenced,
                "not_applicable needs its reason",
                "say why the control has no meaning for this vendor",
            ));
        }
        Ok(Policy {
            id: raw.id,
            control: control.id.clone(),
            title: raw.title,
            severity: raw.severity,
            vendors,
            not_applicable: Some(reason.value.trim().to_owned()),
            guideline: raw
                .guideline
                .unwrap_or_else(|| control.guideline.section.clone()),
            gdpr: raw.gdpr.unwrap_or_else(|| control.gdpr.clone()),
            remediation: raw
                .remediation
                .unwrap_or_else(|| crate::findings::Localized {
                    nl: String::new(),
                    en: String::new(),
                }),
            references: raw.references,
            resources: Vec::new(),
            evidence: None,
            rule: None,
            examples: Vec::new(),
            file: self.file.to_path_buf(),
        })
    }

    /// `inherited` is the resource named by an enclosing combinator; `in_item` is true inside
    /// `all`/`any`/`none`, where the selected item is the root unless a check names a resource
    /// of its own (a join: it then reads that resource, e.g. to look an item's partner up).
    fn rule(
        &self,
        node: &Spanned<RawRule>,
        inherited: Option<&str>,
        in_item: bool,
    ) -> Result<Rule, Diagnostic> {
        let raw = &node.value;
        let at = &node.referenced;
        if let Some(name) = &raw.use_fragment {
            return self.fragment(raw, name, inherited, in_item);
        }
        let resource = match &raw.resource {
            Some(name) => Some(self.resource(name)?),
            None => inherited.map(str::to_owned),
        };
        if raw.measured.is_some() || raw.declared.is_some() {
            return self.fallback(raw, at, resource.as_deref(), in_item);
        }
        let combinators = [
            raw.all_of.is_some(),
            raw.any_of.is_some(),
            raw.not.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if combinators > 1 {
            return Err(self.error(
                at,
                "a rule node has more than one of all_of, any_of, not",
                "nest them: put the second combinator inside a list item of the first",
            ));
        }
        if combinators == 1 {
            if let Some(absent) = &raw.absent {
                return Err(self.error(
                    &absent.referenced,
                    "`absent` on a combinator: it applies to the path of one check",
                    "put `absent: ok` on each check whose path may meet an absent member",
                ));
            }
            if raw.note.is_some() || raw.bind.is_some() || raw.group_as.is_some() {
                return Err(self.error(
                    at,
                    "`note`, `as` and `group_as` belong on a check, not on a combinator",
                    "put them on the check they are about",
                ));
            }
            if raw.path.is_some() || raw.select.is_some() || count_assertions(raw) > 0 {
                return Err(self.error(
                    at,
                    "a rule node mixes a combinator (all_of/any_of/not) with path or an assertion",
                    "move the check into the combinator's list",
                ));
            }
            let description = raw.description.clone();
            let children =
                |list: &Vec<Spanned<RawRule>>, key: &str| -> Result<Vec<Rule>, Diagnostic> {
                    if list.is_empty() {
                        return Err(self.error(
                            at,
                            format!("`{key}` has an empty list"),
                            "give it at least one rule, or remove it",
                        ));
                    }
                    let rules = list
                        .iter()
                        .map(|r| self.rule(r, resource.as_deref(), in_item))
                        .collect::<Result<Vec<Rule>, Diagnostic>>()?;
                    if rules.iter().all(Rule::is_note) {
                        return Err(self.error(
                            at,
                            format!("`{key}` has only notes, which decide nothing"),
                            "add the rule the notes are about",
                        ));
                    }
                    Ok(rules)
                };
            return Ok(if let Some(list) = &raw.all_of {
                Rule::AllOf {
                    description,
                    rules: children(list, "all_of")?,
                }
            } else if let Some(list) = &raw.any_of {
                Rule::AnyOf {
                    description,
                    rules: children(list, "any_of")?,
                }
            } else if let Some(inner) = &raw.not {
                Rule::Not {
                    description,
                    rule: Box::new(self.rule(inner, resource.as_deref(), in_item)?),
                }
            } else {
                unreachable!("one combinator is present")
            });
        }
        let sources = self.sources(raw, at, resource.as_deref(), in_item)?;
        let n = count_assertions(raw);
        if n != 1 {
            let message = if n == 0 {
                "a check has `path` but no assertion".to_owned()
            } else {
                format!("a check has {n} assertions; it must have exactly one")
            };
            return Err(self.error(
                at,
                message,
                format!("keep exactly one of {ASSERTIONS}; combine several with all_of"),
            ));
        }
        let quantified = raw.all.is_some() || raw.any.is_some() || raw.none.is_some();
        let binds: Vec<&Spanned<String>> = raw.bind.iter().chain(raw.group_as.iter()).collect();
        for name in &binds {
            if !quantified {
                return Err(self.error(
                    &name.referenced,
                    "`as`/`group_as` name the item a quantifier judges, but this check has no all/any/none",
                    "put it on a check with all, any or none",
                ));
            }
            if !is_policy_id(&name.value.replace('_', "-")) {
                return Err(self.error(
                    &name.referenced,
                    format!("'{}' is not a plain name", name.value),
                    "use lowercase letters, digits and '_', e.g. `as: account`",
                ));
            }
        }
        if let Some(group) = &raw.group_as
            && !sources.iter().any(|s| s.expand_groups.is_some())
        {
            return Err(self.error(
                &group.referenced,
                "`group_as` names the group an expanded member came from, but nothing is expanded",
                "add `expand_groups:` to the selection, or remove group_as",
            ));
        }
        let pushed = binds.len();
        self.state
            .bound
            .borrow_mut()
            .extend(binds.iter().map(|b| b.value.clone()));
        let assertion = self.assertion(raw, at);
        {
            let mut bound = self.state.bound.borrow_mut();
            let keep = bound.len().saturating_sub(pushed);
            bound.truncate(keep);
        }
        let assertion = assertion?;
        if raw.allow_empty.is_some() && !matches!(assertion, Assertion::All(_)) {
            return Err(self.error(
                at,
                "`allow_empty` only applies to `all`",
                "remove allow_empty",
            ));
        }
        let absent_ok = match &raw.absent {
            None => false,
            Some(word) if word.value == "ok" => true,
            Some(word) if word.value == "error" => false,
            Some(word) => {
                return Err(self.error(
                    &word.referenced,
                    format!("`absent: {}` is not a choice", word.value),
                    "write `absent: ok` (an absent member reads as not there) or leave it out (absent = unknown, an error)",
                ));
            }
        };
        if absent_ok
            && self.evidence_optional
            && sources
                .iter()
                .any(|s| s.resource.as_deref() == Some(EVIDENCE_RESOURCE))
            && !fails_on_nothing(&assertion, raw.allow_empty.unwrap_or(false))
        {
            return Err(self.error(
                at,
                "`absent: ok` on the declaration lets a missing declaration read as nothing, and this assertion passes on nothing",
                "use an assertion that fails when nothing is selected (equals, in, contains, matches, exists: true, any, ...), so evidence never passes by default",
            ));
        }
        if raw.identity.is_some() && raw.label.is_none() {
            return Err(self.error(
                at,
                "`identity` marks the label as naming a person, but there is no `label`",
                "add `label: $.userPrincipalName`, or remove identity",
            ));
        }
        Ok(Rule::Check(Box::new(Check {
            description: raw.description.clone(),
            subject: super::rule::subject_of(&sources),
            sources,
            distinct: raw
                .distinct
                .as_ref()
                .map(|d| self.selector(d))
                .transpose()?,
            label: raw.label.as_ref().map(|l| self.selector(l)).transpose()?,
            identity: raw.identity.unwrap_or(false),
            allow_empty: raw.allow_empty.unwrap_or(false),
            // `empty: true` is the assertion that absence is acceptable.
            absent_ok: absent_ok || matches!(assertion, Assertion::Empty(true)),
            note: raw.note.unwrap_or(false),
            bind: raw.bind.as_ref().map(|b| b.value.clone()),
            bind_group: raw.group_as.as_ref().map(|b| b.value.clone()),
            assertion,
        })))
    }

    /// `measured:` + `declared:`: measured, else declared (see `rule::Fallback`).
    fn fallback(
        &self,
        raw: &RawRule,
        at: &Location,
        inherited: Option<&str>,
        in_item: bool,
    ) -> Result<Rule, Diagnostic> {
        let (Some(measured), Some(declared)) = (&raw.measured, &raw.declared) else {
            return Err(self.error(
                at,
                "`measured` and `declared` go together",
                "give both: `measured:` the rule on the tenant's data, `declared:` the rule on the declaration that stands in for it",
            ));
        };
        let others = [
            raw.all_of.is_some(),
            raw.any_of.is_some(),
            raw.not.is_some(),
            raw.path.is_some(),
            raw.select.is_some(),
            raw.note.is_some(),
            raw.bind.is_some(),
            raw.group_as.is_some(),
            raw.absent.is_some(),
            raw.label.is_some(),
            raw.lookup.is_some(),
            raw.of.is_some(),
            count_assertions(raw) > 0,
        ];
        if others.into_iter().any(|b| b) {
            return Err(self.error(
                at,
                "a `measured`/`declared` node has other keys beside them and `description`",
                "put the checks inside `measured:` and `declared:`",
            ));
        }
        if !self.evidence_allowed {
            return Err(self.error(
                at,
                "`declared:` in a policy without an `evidence:` block",
                "add `evidence: {optional: true, values: [...]}` naming what the declaration carries",
            ));
        }
        let measured_rule = self.rule(measured, inherited, in_item)?;
        let depth = &self.state.declared_depth;
        depth.set(depth.get() + 1);
        let declared_rule = self.rule(declared, inherited, in_item);
        depth.set(depth.get() - 1);
        let declared_rule = declared_rule?;
        if depth.get() == 0 && measured_rule.reads_evidence(true) {
            return Err(self.error(
                &measured.referenced,
                "the `measured:` rule reads the declaration",
                "a measurement judges the tenant's data only; read the declaration in `declared:`",
            ));
        }
        if !declared_rule.reads_evidence(false) {
            return Err(self.error(
                &declared.referenced,
                "the `declared:` rule does not read the declaration",
                "judge the declaration there (`resource: evidence` or `{evidence: ...}`), so it never passes on nothing",
            ));
        }
        let also_declared = declared_rule.resources();
        let stands_in_for: Vec<(String, crate::registry::Service)> = measured_rule
            .resources()
            .into_iter()
            .filter(|name| !also_declared.contains(name))
            .map(|name| {
                let service = self
                    .registry
                    .get(&name)
                    .map(|spec| spec.service)
                    .unwrap_or_default();
                (name, service)
            })
            .collect();
        if stands_in_for.is_empty() {
            return Err(self.error(
                &measured.referenced,
                "the `declared:` rule reads every resource the `measured:` rule reads, so the declaration stands in for nothing",
                "read in `declared:` only what the declaration does not replace",
            ));
        }
        Ok(Rule::Fallback(Box::new(Fallback {
            description: raw.description.clone(),
            measured: measured_rule,
            declared: declared_rule,
            stands_in_for,
        })))
    }

    /// `use: NAME`: the fragment compiled where it is used, as if written there; its mistakes
    /// are reported at their place in `fragments.yaml`.
    fn fragment(
        &self,
        raw: &RawRule,
        name: &Spanned<String>,
        inherited: Option<&str>,
        in_item: bool,
    ) -> Result<Rule, Diagnostic> {
        let others = [
            raw.all_of.is_some(),
            raw.any_of.is_some(),
            raw.not.is_some(),
            raw.resource.is_some(),
            raw.path.is_some(),
            raw.select.is_some(),
            raw.expand_groups.is_some(),
            raw.distinct.is_some(),
            raw.label.is_some(),
            raw.identity.is_some(),
            raw.allow_empty.is_some(),
            raw.absent.is_some(),
            raw.bind.is_some(),
            raw.group_as.is_some(),
            raw.note.is_some(),
            raw.lookup.is_some(),
            raw.of.is_some(),
            raw.measured.is_some(),
            raw.declared.is_some(),
            count_assertions(raw) > 0,
        ];
        if others.into_iter().any(|b| b) {
            return Err(self.error(
                &name.referenced,
                "`use` stands alone: a rule node with `use` has no other keys but `description`",
                "wrap it: `all_of: [{use: NAME}, {...your check...}]`",
            ));
        }
        let Some(fragment) = self.fragments.rules.get(&name.value) else {
            let known: Vec<&str> = self.fragments.rules.keys().map(String::as_str).collect();
            return Err(self.error(
                &name.referenced,
                format!("unknown fragment '{}'", name.value),
                suggest(
                    &name.value,
                    &known,
                    "name a fragment from policies/fragments.yaml",
                ),
            ));
        };
        if self.state.using.borrow().contains(&name.value) {
            return Err(self.error(
                &name.referenced,
                format!("fragment '{}' uses itself", name.value),
                "break the cycle in fragments.yaml",
            ));
        }
        self.state.using.borrow_mut().push(name.value.clone());
        let inner = Compiler {
            file: &self.fragments.file,
            ..*self
        };
        let compiled = inner.rule(fragment, inherited, in_item);
        self.state.using.borrow_mut().pop();
        let compiled = compiled?;
        Ok(match &raw.description {
            None => compiled,
            Some(description) => Rule::AllOf {
                description: Some(description.clone()),
                rules: vec![compiled],
            },
        })
    }

    /// `path` (+ `expand_groups`) with the node's resource, or a `select:` list of sources.
    fn sources(
        &self,
        raw: &RawRule,
        at: &Location,
        resource: Option<&str>,
        in_item: bool,
    ) -> Result<Vec<Source>, Diagnostic> {
        match (&raw.path, &raw.select) {
            (Some(_), Some(_)) => Err(self.error(at, "a check has both `path` and `select`", "use `path` for one selection, `select` for several")),
            (None, None) => Err(self.error(at, "a rule node needs `path` with one assertion, or a combinator (all_of, any_of, not)",
                "add e.g. `path: $.displayConcealedNames` and `equals: true`")),
            (Some(path), None) => Ok(vec![self.source(resource, path, raw.expand_groups.as_ref(), raw.of.as_ref(), raw.lookup.as_deref(), in_item, at)?]),
            (None, Some(list)) => {
                if raw.expand_groups.is_some() || raw.lookup.is_some() || raw.of.is_some() {
                    return Err(self.error(at, "`expand_groups`, `of` or `where` beside `select`", "put them inside each select entry that needs them"));
                }
                if list.is_empty() {
                    return Err(self.error(at, "`select` has an empty list", "give at least one {resource, path}"));
                }
                list.iter()
                    .map(|entry| {
                        let own = entry.value.resource.as_ref().map(|r| self.resource(r)).transpose()?;
                        let resource = own.as_deref().or(resource);
                        self.source(resource, &entry.value.path, entry.value.expand_groups.as_ref(), entry.value.of.as_ref(), entry.value.lookup.as_deref(), in_item, &entry.referenced)
                    })
                    .collect()
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn source(
        &self,
        resource: Option<&str>,
        path: &Spanned<String>,
        expand: Option<&Spanned<String>>,
        of: Option<&Spanned<Value>>,
        lookup: Option<&[Spanned<RawWhere>]>,
        in_item: bool,
        at: &Location,
    ) -> Result<Source, Diagnostic> {
        if resource.is_none() && !in_item {
            return Err(self.error(at, "this check names no resource",
                "add `resource: NAME` (from policies/resources.yaml) here or on an enclosing all_of/any_of"));
        }
        let expand_groups = match expand {
            None => None,
            Some(name) => {
                let checked = self.resource(name)?;
                if self
                    .registry
                    .get(&checked)
                    .is_none_or(|spec| spec.for_each.is_none())
                {
                    return Err(self.error(&name.referenced, format!("expand_groups names '{checked}', which is not a fan-out (for_each) resource of group members"),
                        "name a resource with `for_each` in resources.yaml, e.g. group_transitive_members"));
                }
                Some(checked)
            }
        };
        let lookup = lookup
            .unwrap_or_default()
            .iter()
            .map(|condition| {
                let equals = condition.value.equals.as_ref().ok_or_else(|| {
                    self.error(
                        &condition.referenced,
                        "a `where` condition has no `equals`",
                        "write `where: [{key: $.id, equals: {var: account, path: $.id}}]`",
                    )
                })?;
                Ok(Where {
                    key: self.selector(&condition.value.key)?,
                    equals: self.operand(equals, &condition.referenced)?,
                })
            })
            .collect::<Result<Vec<Where>, Diagnostic>>()?;
        let of = match of {
            None => None,
            Some(parent) => {
                let is_fan_out = resource
                    .and_then(|name| self.registry.get(name))
                    .is_some_and(|spec| spec.for_each.is_some());
                if !is_fan_out || expand_groups.is_some() {
                    return Err(self.error(
                        &parent.referenced,
                        format!(
                            "`of` reads one parent's collection of a fan-out resource, but '{}' is not one (or groups are expanded too)",
                            resource.unwrap_or("the item")
                        ),
                        "use `of` with a resource that has `for_each` in resources.yaml, e.g. `resource: access_review_instances, of: {var: review, path: $.id}`",
                    ));
                }
                Some(self.operand(&parent.value, &parent.referenced)?)
            }
        };
        Ok(Source {
            resource: resource.map(str::to_owned),
            path: self.selector(path)?,
            expand_groups,
            of,
            lookup,
        })
    }

    fn assertion(&self, raw: &RawRule, at: &Location) -> Result<Assertion, Diagnostic> {
        let nested = |inner: &Spanned<RawRule>| self.rule(inner, None, true).map(Box::new);
        Ok(if let Some(value) = raw.exists {
            Assertion::Exists(value)
        } else if let Some(value) = raw.empty {
            Assertion::Empty(value)
        } else if let Some(value) = &raw.equals {
            Assertion::Equals(self.operand(value, at)?)
        } else if let Some(list) = &raw.one_of {
            Assertion::In(self.values(list, "in")?)
        } else if let Some(list) = &raw.not_in {
            Assertion::NotIn(self.values(list, "not_in")?)
        } else if let Some(list) = &raw.only {
            Assertion::Only(self.values(list, "only")?)
        } else if let Some(value) = &raw.contains {
            Assertion::Contains(self.operand(value, at)?)
        } else if let Some(pattern) = &raw.matches {
            Assertion::Matches(regex::Regex::new(&pattern.value).map_err(|err| {
                self.error(
                    &pattern.referenced,
                    format!(
                        "`matches` pattern '{}' is not a regular expression: {}",
                        pattern.value,
                        crate::diag::one_line(&err.to_string())
                    ),
                    "write a regular expression, e.g. '#EXT#' or '^[a-z]+$'",
                )
            })?)
        } else if let Some(value) = &raw.ends_with {
            Assertion::EndsWith(self.operand(value, at)?)
        } else if let Some(bounds) = &raw.number {
            let at = &bounds.referenced;
            let bound = |value: &Option<Value>| -> Result<Option<Operand>, Diagnostic> {
                match value {
                    None => Ok(None),
                    Some(value)
                        if value.is_number()
                            || setting_path(value).is_some()
                            || reference(value, "evidence").is_some() =>
                    {
                        self.operand(value, at).map(Some)
                    }
                    Some(other) => Err(self.error(
                        at,
                        format!("`number` bound {other} is not a number"),
                        "write a number, or {setting: $.retention_max_days}",
                    )),
                }
            };
            let (min, max) = (bound(&bounds.value.min)?, bound(&bounds.value.max)?);
            if min.is_none() && max.is_none() {
                return Err(self.error(
                    at,
                    "`number` needs `min`, `max` or both",
                    "e.g. `number: {min: 1, max: {setting: $.retention_max_days}}`",
                ));
            }
            Assertion::Number { min, max }
        } else if let Some(list) = &raw.only_members {
            Assertion::OnlyMembers(self.values(list, "only_members")?)
        } else if let Some(count) = &raw.count {
            let at = &count.referenced;
            let bound = |value: &Option<Value>| -> Result<Option<Operand>, Diagnostic> {
                match value {
                    None => Ok(None),
                    Some(value)
                        if value.is_u64()
                            || setting_path(value).is_some()
                            || reference(value, "evidence").is_some() =>
                    {
                        self.operand(value, at).map(Some)
                    }
                    Some(other) => Err(self.error(
                        at,
                        format!("`count` bound {other} is not a whole number"),
                        "write a whole number, or {setting: $.global_admins.max}",
                    )),
                }
            };
            let (min, max) = (bound(&count.value.min)?, bound(&count.value.max)?);
            if min.is_none() && max.is_none() {
                return Err(self.error(
                    at,
                    "`count` needs `min`, `max` or both",
                    "e.g. `count: {min: 2, max: 4}`",
                ));
            }
            if let (Some(Operand::Literal(lo)), Some(Operand::Literal(hi))) = (&min, &max)
                && lo.as_u64() > hi.as_u64()
            {
                return Err(self.error(
                    at,
                    format!("`count` has min {lo} above max {hi}"),
                    "swap them",
                ));
            }
            Assertion::Count { min, max }
        } else if let Some(age) = &raw.not_older_than {
            let at = &age.referenced;
            let (amount, unit) = match (&age.value.days, &age.value.months, &age.value.years) {
                (Some(days), None, None) => (days, AgeUnit::Days),
                (None, Some(months), None) => (months, AgeUnit::Months),
                (None, None, Some(years)) => (years, AgeUnit::Years),
                _ => {
                    return Err(self.error(
                        at,
                        "`not_older_than` needs exactly one of `days`, `months` or `years`",
                        "e.g. `not_older_than: {months: 12}`",
                    ));
                }
            };
            let from_collection = match age.value.from.as_deref() {
                None | Some("scan") => false,
                Some("collection") => true,
                Some(other) => {
                    return Err(self.error(
                        at,
                        format!("`not_older_than` counts from `scan` or `collection`, not '{other}'"),
                        "write `from: collection` to count from the day the snapshot was collected, or leave `from` out for the scan date",
                    ));
                }
            };
            Assertion::NotOlderThan {
                amount: self.operand(amount, at)?,
                unit,
                from_collection,
            }
        } else if let Some(inner) = &raw.all {
            Assertion::All(nested(inner)?)
        } else if let Some(inner) = &raw.any {
            Assertion::Any(nested(inner)?)
        } else if let Some(inner) = &raw.none {
            Assertion::None(nested(inner)?)
        } else {
            return Err(self.error(at, "no assertion", format!("add one of {ASSERTIONS}")));
        })
    }

    /// A literal value, `{setting: JSONPath}` into the tenant settings, `{evidence: JSONPath}`
    /// into the declaration, or `{var: NAME}` / `{var: NAME, path: JSONPath}` for a value an
    /// enclosing quantifier bound with `as:`.
    fn operand(&self, value: &Value, at: &Location) -> Result<Operand, Diagnostic> {
        if let Some((name, path)) = var_reference(value) {
            if !self.state.bound.borrow().iter().any(|b| b == name) {
                return Err(self.error(
                    at,
                    format!("`{{var: {name}}}` is not bound here"),
                    "bind it with `as: NAME` on an enclosing check with all/any/none",
                ));
            }
            return Ok(Operand::Var {
                name: name.to_owned(),
                path: path.map(|p| self.parse_selector(p, at)).transpose()?,
            });
        }
        if let Some(parts) = value
            .as_object()
            .filter(|map| map.len() == 1)
            .and_then(|map| map.get("concat"))
        {
            let parts = match parts.as_array() {
                Some(parts) if parts.len() >= 2 => parts,
                _ => {
                    return Err(self.error(
                        at,
                        "`concat` takes a list of at least two parts",
                        "e.g. `{concat: [\"Tag:\", {var: assigned, path: $.displayName}]}`",
                    ));
                }
            };
            return Ok(Operand::Concat(
                parts
                    .iter()
                    .map(|part| self.operand(part, at))
                    .collect::<Result<_, _>>()?,
            ));
        }
        if let Some(path) = reference(value, "evidence") {
            if !self.evidence_allowed {
                return Err(self.error(
                    at,
                    "`{evidence: ...}` in a policy without an `evidence:` block",
                    "add `evidence:` naming the values the declaration must carry",
                ));
            }
            return Ok(Operand::Evidence(self.parse_selector(path, at)?));
        }
        match setting_path(value) {
            Some(path) => Ok(Operand::Setting(self.setting_selector(path, at)?)),
            None => Ok(Operand::Literal(value.clone())),
        }
    }

    /// A literal list, or `{setting: JSONPath}` selecting a list from the tenant settings.
    fn values(&self, node: &Spanned<Value>, key: &str) -> Result<Values, Diagnostic> {
        let at = &node.referenced;
        match (&node.value, setting_path(&node.value)) {
            (_, Some(path)) => Ok(Values::Setting(self.setting_selector(path, at)?)),
            (Value::Array(list), None) => Ok(Values::Literal(list.clone())),
            (other, None) => Err(self.error(
                at,
                format!("`{key}` takes a list, found {other}"),
                format!("write `{key}: [a, b]` or `{key}: {{setting: $.accepted_geos}}`"),
            )),
        }
    }

    fn setting_selector(&self, path: &str, at: &Location) -> Result<Selector, Diagnostic> {
        let defaults = Settings::default().to_document();
        let top = path
            .trim_start_matches('$')
            .trim_start_matches('.')
            .split(['.', '['])
            .next()
            .unwrap_or_default();
        if defaults.get(top).is_none() {
            let known: Vec<&str> = defaults
                .as_object()
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            return Err(self.error(
                at,
                format!("unknown setting '{top}' in {path}"),
                suggest(top, &known, &format!("settings are: {}", known.join(", "))),
            ));
        }
        self.parse_selector(path, at)
    }

    fn resource(&self, name: &Spanned<String>) -> Result<String, Diagnostic> {
        if name.value == SETTINGS_RESOURCE {
            return Ok(name.value.clone());
        }
        if name.value == EVIDENCE_RESOURCE {
            return if self.evidence_allowed {
                Ok(name.value.clone())
            } else {
                Err(self.error(
                    &name.referenced,
                    "`resource: evidence` in a policy without an `evidence:` block",
                    "add `evidence:` naming the values the declaration must carry",
                ))
            };
        }
        if self.registry.contains(&name.value) {
            return Ok(name.value.clone());
        }
        let known: Vec<&str> = self.registry.names().collect();
        Err(self.error(
            &name.referenced,
            format!("unknown resource '{}'", name.value),
            suggest(
                &name.value,
                &known,
                "use a resource name from policies/resources.yaml",
            ),
        ))
    }

    fn selector(&self, path: &Spanned<String>) -> Result<Selector, Diagnostic> {
        self.parse_selector(&path.value, &path.referenced)
    }

    fn parse_selector(&self, text: &str, at: &Location) -> Result<Selector, Diagnostic> {
        let text = text.trim();
        if !text.starts_with('$') {
            return Err(self.error(
                at,
                format!("JSONPath '{text}' does not start with '$'"),
                "start at the root, e.g. $.value[*].state",
            ));
        }
        let fix = "write RFC 9535 JSONPath, e.g. $.value[?@.state == 'enabled'] (filters use @ and single quotes)";
        let shown = shorten(text);
        // Bounded before parsing: a path of 150 000 segments overflows the stack otherwise.
        super::bounds::check_path_text(text).map_err(|limit| {
            self.error(
                at,
                format!("JSONPath '{shown}': {limit}"),
                "split the check into shorter paths, or select a parent and check it with all/any",
            )
        })?;
        let query = jsonpath_rust::parser::parse_json_path(text).map_err(|err| {
            self.error(
                at,
                format!(
                    "invalid JSONPath '{shown}': {}",
                    shorten(&crate::diag::one_line(&err.to_string()))
                ),
                fix,
            )
        })?;
        super::bounds::check_query(&query).map_err(|problem| {
            self.error(
                at,
                format!("JSONPath '{shown}': {problem}"),
                "keep paths short and filters shallow; write patterns as regex literals in single quotes, e.g. search(@, 'sms|voice')",
            )
        })?;
        Ok(Selector::new(text.to_owned(), query))
    }

    fn example(&self, node: &Spanned<RawExample>) -> Result<Example, Diagnostic> {
        let raw = &node.value;
        for name in raw
            .resources
            .keys()
            .chain(raw.unreadable.keys())
            .chain(raw.unavailable.keys())
        {
            if self
                .registry
                .get(name)
                .is_some_and(|spec| spec.is_derived())
            {
                return Err(self.error(
                    &node.referenced,
                    format!(
                        "example '{}' gives {name}, which cloudkeur derives from other resources",
                        raw.name
                    ),
                    "give the resources it is derived from (derived_from in resources.yaml), as the API returns them",
                ));
            }
            if !self.registry.contains(name) {
                let known: Vec<&str> = self.registry.names().collect();
                return Err(self.error(
                    &node.referenced,
                    format!("example '{}' gives unknown resource '{name}'", raw.name),
                    suggest(
                        name,
                        &known,
                        "use a resource name from policies/resources.yaml",
                    ),
                ));
            }
        }
        Ok(Example {
            name: raw.name.clone(),
            expect: raw.expect,
            resources: raw.resources.clone(),
            unreadable: raw.unreadable.clone(),
            unavailable: raw.unavailable.clone(),
            settings: raw.settings.clone().unwrap_or_default(),
            evidence: raw.evidence.clone(),
            today: match &raw.today {
                None => EXAMPLE_TODAY,
                Some(text) => crate::evidence::parse_date(text).ok_or_else(|| {
                    self.error(
                        &node.referenced,
                        format!("example '{}': today '{text}' is not a date", raw.name),
                        "write it as YYYY-MM-DD",
                    )
                })?,
            },
            items: raw.items.clone(),
            position: position(&node.referenced),
        })
    }
}

/// The scan date examples are evaluated on unless they say `today:`, so that expiry and age
/// checks in examples give the same verdict every day.
pub(super) const EXAMPLE_TODAY: time::Date = time::macros::date!(2026 - 06 - 01);

/// A JSONPath as quoted in a diagnostic: its start, when it is long.
fn shorten(text: &str) -> String {
    const SHOWN: usize = 120;
    if text.chars().count() <= SHOWN {
        return text.to_owned();
    }
    format!("{}…", text.chars().take(SHOWN).collect::<String>())
}

fn count_assertions(raw: &RawRule) -> usize {
    [
        raw.exists.is_some(),
        raw.empty.is_some(),
        raw.equals.is_some(),
        raw.one_of.is_some(),
        raw.not_in.is_some(),
        raw.only.is_some(),
        raw.contains.is_some(),
        raw.only_members.is_some(),
        raw.matches.is_some(),
        raw.ends_with.is_some(),
        raw.number.is_some(),
        raw.count.is_some(),
        raw.not_older_than.is_some(),
        raw.all.is_some(),
        raw.any.is_some(),
        raw.none.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count()
}

/// Whether an assertion fails when its path selects nothing: only such an assertion may read a
/// declaration that may be absent (`absent: ok`), so that evidence never passes by default.
fn fails_on_nothing(assertion: &Assertion, allow_empty: bool) -> bool {
    match assertion {
        Assertion::Exists(present) => *present,
        Assertion::Empty(empty) => !*empty,
        Assertion::Equals(_)
        | Assertion::In(_)
        | Assertion::NotIn(_)
        | Assertion::Contains(_)
        | Assertion::Matches(_)
        | Assertion::EndsWith(_)
        | Assertion::Number { .. }
        | Assertion::NotOlderThan { .. }
        | Assertion::Any(_) => true,
        Assertion::All(_) => !allow_empty,
        Assertion::Count { min, .. } => {
            matches!(min, Some(Operand::Literal(n)) if n.as_u64().is_some_and(|n| n >= 1))
        }
        Assertion::Only(_) | Assertion::OnlyMembers(_) | Assertion::None(_) => false,
    }
}

fn is_policy_id(id: &str) -> bool {
    !id.is_empty()
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// "did you mean X?" when a known name is close, otherwise the general fix.
fn suggest(given: &str, known: &[&str], otherwise: &str) -> String {
    known
        .iter()
        .map(|k| {
            (
                strsim::jaro_winkler(&given.to_lowercase(), &k.to_lowercase()),
                *k,
            )
        })
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!("did you mean '{k}'?"))
        .unwrap_or_else(|| otherwise.to_owned())
}

/// `{var: NAME}` or `{var: NAME, path: PATH}`: a value bound by an enclosing quantifier.
fn var_reference(value: &Value) -> Option<(&str, Option<&str>)> {
    let map = value.as_object()?;
    let name = map.get("var")?.as_str()?;
    match (map.len(), map.get("path")) {
        (1, None) => Some((name, None)),
        (2, Some(path)) => Some((name, Some(path.as_str()?))),
        _ => None,
    }
}

/// `{setting: PATH}` (an object with that one key) refers to the tenant settings.
fn setting_path(value: &Value) -> Option<&str> {
    reference(value, "setting")
}

/// `{KEY: PATH}`: an object with that one key and a string value.
fn reference<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    let map = value.as_object()?;
    if map.len() != 1 {
        return None;
    }
    map.get(key)?.as_str()
}
