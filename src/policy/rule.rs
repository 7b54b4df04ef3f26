//! Compiled rules and their evaluation: assertions over JSONPath selections, and combinators.
//!
//! Evaluation is three-valued. `Error` means "could not be decided" (unreadable or missing data),
//! and it is never turned into `Pass`: `all_of` passes only if every part passes, `any_of` only if
//! one part provably passes. This is how "never fail open" holds for composite rules.
//! Pure: no I/O, no clock, no environment.

pub use super::selector::Selector;

mod check;
mod key_index;
mod operands;

use super::{EVIDENCE_RESOURCE, SETTINGS_RESOURCE};
use crate::findings::FindingItem;
use crate::registry::Service;
use crate::snapshot::{ResourceData, Snapshot};
pub(super) use check::subject_of;
use operands::Operands;
use serde_json::Value;

#[derive(Debug, Clone)]
pub enum Rule {
    AllOf {
        description: Option<String>,
        rules: Vec<Rule>,
    },
    AnyOf {
        description: Option<String>,
        rules: Vec<Rule>,
    },
    Not {
        description: Option<String>,
        rule: Box<Rule>,
    },
    /// Boxed: a check is much larger than a combinator node.
    Check(Box<Check>),
    /// "Measured, else declared": the tenant's data decides; the declaration stands in only for
    /// resources that could not be read (see [`Fallback`]).
    Fallback(Box<Fallback>),
}

/// A `measured:` rule and the `declared:` rule that stands in for it when the resources only
/// the measured rule reads could not be read (not licensed, no role, service not selected, an
/// old snapshot without them).
///
/// Deny by default: the measurement decides whenever one of those resources was read, also
/// when it is undecided (a partial read is an error, never a declaration); a measured `fail`
/// is never overruled by a declaration (only a waiver can); and the declared rule runs only on
/// a declaration that exists, is complete and current, so it never passes on nothing.
#[derive(Debug, Clone)]
pub struct Fallback {
    pub description: Option<String>,
    pub measured: Rule,
    pub declared: Rule,
    /// The resources only the measured rule reads, with the service that answers each: the
    /// declaration stands in for exactly these, when none of them could be read. Resources the
    /// declared rule reads too are read there as well, so they stay measured.
    pub stands_in_for: Vec<(String, Service)>,
}

#[derive(Debug, Clone)]
pub struct Check {
    pub description: Option<String>,
    /// Where the values come from; several sources are concatenated (e.g. active and eligible
    /// role holders).
    pub sources: Vec<Source>,
    /// Keeps the first value per key (e.g. `$.id`), so a person holding a role twice counts once.
    pub distinct: Option<Selector>,
    pub label: Option<Selector>,
    /// The label names a person: it is pseudonymised in reports unless identities are revealed.
    pub identity: bool,
    pub allow_empty: bool,
    /// `absent: ok`: a member the path reads may be absent, and then reads as "not there"
    /// (plain JSONPath). Without it an absent member makes the check an error (unknown).
    pub absent_ok: bool,
    /// `note: true`: the enclosing all_of/any_of shows this check's reason but is not decided
    /// by it (e.g. how many disabled accounts were left out).
    pub note: bool,
    /// `as: NAME`: inside the quantifier, `{var: NAME}` is the item being judged.
    pub bind: Option<String>,
    /// `group_as: NAME`: inside the quantifier, `{var: NAME}` is the group an expanded member
    /// came from (null for a value that was not expanded from a group).
    pub bind_group: Option<String>,
    pub assertion: Assertion,
    /// What the check looks at, for reasons: built once, not per item.
    pub subject: String,
}

/// One selection: a JSONPath into a resource (or the current item), optionally with groups
/// replaced by their members.
#[derive(Debug, Clone)]
pub struct Source {
    /// The resource the path reads (also `settings` or `evidence`); `None` inside
    /// `all`/`any`/`none` without a resource of its own, where the selected item is the root.
    pub resource: Option<String>,
    pub path: Selector,
    /// A fan-out resource of group members keyed by group id: each selected group object
    /// (`@odata.type` `#microsoft.graph.group`), or group id (a string), is replaced by the
    /// members in it.
    pub expand_groups: Option<String>,
    /// `of:` for a fan-out resource (`for_each` in the registry): read the collection stored
    /// for this parent id (e.g. the instances of one access review) instead of the whole body.
    pub of: Option<Operand>,
    /// `where:`: only the values whose every key equals its operand (a lookup, e.g. the row of
    /// the account being judged). A source that reads a resource is indexed once per evaluation.
    pub lookup: Vec<Where>,
}

/// One `where:` condition: the value at `key`, relative to a selected value, equals `equals`.
#[derive(Debug, Clone)]
pub struct Where {
    pub key: Selector,
    pub equals: Operand,
}

/// A single value: written in the policy, or taken from the tenant settings.
#[derive(Debug, Clone)]
pub enum Operand {
    Literal(Value),
    Setting(Selector),
    /// A value from the policy's evidence declaration, e.g. the declared backup app id.
    Evidence(Selector),
    /// A value bound by an enclosing quantifier's `as:`/`group_as:`, or something in it.
    Var {
        name: String,
        path: Option<Selector>,
    },
    /// `{concat: [A, B, ...]}`: the texts of the parts joined, e.g. `"Tag:"` and an assigned
    /// policy's display name give the policy's Identity. A part that is not a string or a
    /// number is unknown.
    Concat(Vec<Operand>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgeUnit {
    Days,
    Months,
    Years,
}

/// A list of values: written in the policy, or every value a settings path selects.
#[derive(Debug, Clone)]
pub enum Values {
    Literal(Vec<Value>),
    Setting(Selector),
}

#[derive(Debug, Clone)]
pub enum Assertion {
    Exists(bool),
    /// `empty: true`: every selected value is empty (null, "", [], {}, or an object whose
    /// members are all empty), and nothing selected (absent) passes. `empty: false`: something
    /// is selected and every value is non-empty.
    Empty(bool),
    Equals(Operand),
    In(Values),
    NotIn(Values),
    /// Every selected value is in the list; nothing selected passes (e.g. exclusions).
    Only(Values),
    Contains(Operand),
    /// Every selected value is a string in which the pattern is found (regex search).
    Matches(regex::Regex),
    /// Every selected value is a string that ends with the operand's text.
    EndsWith(Operand),
    /// Every selected value is a number within the bounds: a JSON number, or a string holding
    /// a decimal number (the admin APIs send `Unlimited<int>` values as text, e.g. "2555";
    /// "Unlimited" is not a number and fails).
    Number {
        min: Option<Operand>,
        max: Option<Operand>,
    },
    /// Deny by default: every selected value is an object (or null) whose members outside the
    /// list are empty; a present, non-empty member that is not listed fails, named.
    OnlyMembers(Values),
    Count {
        min: Option<Operand>,
        max: Option<Operand>,
    },
    /// Every selected value is a date no older than the amount before the scan date, and not
    /// after it (a restore test, an access review, a DPIA review).
    NotOlderThan {
        amount: Operand,
        unit: AgeUnit,
        /// `from: collection`: counted back from the day the snapshot was collected rather than
        /// from the scan date, for activity the data itself dates (a sign-in the API reported):
        /// a replay of the snapshot judges it as it was then. A snapshot that does not say when
        /// it was collected is judged from the scan date.
        from_collection: bool,
    },
    All(Box<Rule>),
    Any(Box<Rule>),
    None(Box<Rule>),
}

/// Three-valued truth of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    Pass,
    Fail,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub truth: Truth,
    pub reason: String,
    pub items: Vec<FindingItem>,
    /// An error caused only by the control's evidence declaration being absent (or expired, or
    /// incomplete, for a declaration checked when read): the verdict becomes
    /// `evidence-missing` or `evidence-expired` when it decides the result.
    pub missing_evidence: bool,
    /// A `declared:` rule stood in for a measurement and decided this outcome (the finding then
    /// says who declared it, and until when).
    pub declared: bool,
}

impl Outcome {
    fn no_declaration() -> Self {
        Outcome {
            missing_evidence: true,
            ..Outcome::new(Truth::Error, "no evidence declaration for this control")
        }
    }

    fn new(truth: Truth, reason: impl Into<String>) -> Self {
        Outcome {
            truth,
            reason: reason.into(),
            items: Vec::new(),
            missing_evidence: false,
            declared: false,
        }
    }
}

/// What a rule may read: the snapshot, the settings document, the control's evidence
/// declaration and the scan date. Nothing else.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub snapshot: &'a Snapshot,
    pub settings: &'a Value,
    /// The control's declaration, when it exists and (for a declaration checked when read) is
    /// complete and current.
    pub evidence: Option<&'a Value>,
    /// No declaration exists at all (not: one exists but is expired or incomplete). Only then
    /// may a check with `absent: ok` read the declaration as nothing.
    pub no_declaration: bool,
    pub today: time::Date,
    /// `false` while a quantifier only needs each item's truth: reasons and items are then
    /// left empty, and the items it lists are evaluated again in full.
    detail: bool,
    /// Explaining an item a quantifier lists: there, each alternative of an `any_of` that
    /// does not hold is explained by the first of its parts that fails (see
    /// [`Context::first_failure`]).
    item: bool,
    /// Inside such an alternative: an `all_of` stops at its first failing part, as it does
    /// when only the truth is wanted. Why an account is not a trusted B2B member is that it
    /// was not invited; that it has no external identity and that the tenant trusts no other
    /// organisation's MFA, repeated for 25 000 staff accounts, is noise (and was 60 % of
    /// each detail).
    first_failure: bool,
    /// The rule's settings and evidence operands, resolved once (see [`Operands`]).
    operands: Option<&'a Operands<'a>>,
    /// The values bound by enclosing quantifiers (`as:`), innermost first.
    bindings: Option<&'a Binding<'a>>,
}

/// One name bound by a quantifier, and the bindings around it.
pub(super) struct Binding<'a> {
    name: &'a str,
    value: &'a Value,
    outer: Option<&'a Binding<'a>>,
}

impl<'a> Context<'a> {
    pub fn new(
        snapshot: &'a Snapshot,
        settings: &'a Value,
        evidence: Option<&'a Value>,
        today: time::Date,
    ) -> Self {
        Context {
            snapshot,
            settings,
            evidence,
            no_declaration: evidence.is_none(),
            today,
            detail: true,
            item: false,
            first_failure: false,
            operands: None,
            bindings: None,
        }
    }
}

impl<'a> Context<'a> {
    fn truth_only(self) -> Self {
        Context {
            detail: false,
            ..self
        }
    }

    /// The context of an item a quantifier lists, explained in full but for its alternatives.
    fn listing_item(self) -> Self {
        Context { item: true, ..self }
    }

    /// The context of an `any_of`'s alternatives: explained by their first failure inside a
    /// listed item, in full elsewhere.
    fn alternatives(self) -> Self {
        Context {
            first_failure: self.item,
            ..self
        }
    }

    /// The same context with `name` bound to `value` for the rules inside a quantifier.
    fn bind(self, binding: &'a Binding<'a>) -> Self {
        Context {
            bindings: Some(binding),
            ..self
        }
    }

    fn var(self, name: &str) -> Option<&'a Value> {
        let mut binding = self.bindings;
        while let Some(bound) = binding {
            if bound.name == name {
                return Some(bound.value);
            }
            binding = bound.outer;
        }
        None
    }

    /// The reason text, when reasons are wanted.
    fn say(self, reason: impl FnOnce() -> String) -> String {
        if self.detail { reason() } else { String::new() }
    }
}

/// Where a check's selection starts: its resource, or the item an `all`/`any`/`none` selected.
#[derive(Clone, Copy)]
enum Scope<'a> {
    Resource,
    Item(&'a Value),
}

impl Rule {
    /// Evaluates against the context: top-level rules name their resource, `{setting: ...}`
    /// operands read the settings document, `resource: evidence` the declaration.
    pub fn evaluate(&self, ctx: Context<'_>) -> Outcome {
        let operands = Operands::resolve(self, ctx);
        let ctx = Context {
            operands: Some(&operands),
            ..ctx
        };
        self.eval(ctx, Scope::Resource)
    }

    /// Every resource the rule reads, in first-use order.
    pub fn resources(&self) -> Vec<String> {
        let mut names = Vec::new();
        self.collect_resources(&mut names);
        names
    }

    /// Every JSONPath the rule's checks select with, in rule order (for documentation: which
    /// settings a policy reads, e.g. `@.setting == 'security.less_secure_apps'`).
    pub fn paths(&self) -> Vec<&str> {
        let mut paths = Vec::new();
        self.collect_paths(&mut paths);
        paths
    }

    fn collect_paths<'a>(&'a self, paths: &mut Vec<&'a str>) {
        match self {
            Rule::AllOf { rules, .. } | Rule::AnyOf { rules, .. } => {
                rules.iter().for_each(|r| r.collect_paths(paths));
            }
            Rule::Not { rule, .. } => rule.collect_paths(paths),
            Rule::Fallback(fallback) => {
                fallback.measured.collect_paths(paths);
                fallback.declared.collect_paths(paths);
            }
            Rule::Check(check) => {
                paths.extend(check.sources.iter().map(|s| s.path.text.as_str()));
                if let Assertion::All(rule) | Assertion::Any(rule) | Assertion::None(rule) =
                    &check.assertion
                {
                    rule.collect_paths(paths);
                }
            }
        }
    }

    fn collect_resources(&self, names: &mut Vec<String>) {
        match self {
            Rule::AllOf { rules, .. } | Rule::AnyOf { rules, .. } => {
                rules.iter().for_each(|r| r.collect_resources(names));
            }
            Rule::Not { rule, .. } => rule.collect_resources(names),
            Rule::Fallback(fallback) => {
                fallback.measured.collect_resources(names);
                fallback.declared.collect_resources(names);
            }
            Rule::Check(check) => {
                let used = check
                    .sources
                    .iter()
                    .flat_map(|s| s.resource.iter().chain(s.expand_groups.iter()));
                for name in used {
                    if name != EVIDENCE_RESOURCE
                        && name != SETTINGS_RESOURCE
                        && !names.contains(name)
                    {
                        names.push(name.clone());
                    }
                }
                if let Assertion::All(rule) | Assertion::Any(rule) | Assertion::None(rule) =
                    &check.assertion
                {
                    rule.collect_resources(names);
                }
            }
        }
    }

    fn eval<'a>(&self, ctx: Context<'a>, scope: Scope<'a>) -> Outcome {
        match self {
            Rule::AllOf { description, rules } => with_description(
                ctx,
                description,
                with_notes(ctx, scope, rules, all_of, Truth::Fail),
            ),
            Rule::AnyOf { description, rules } => with_description(
                ctx,
                description,
                with_notes(ctx.alternatives(), scope, rules, any_of, Truth::Pass),
            ),
            Rule::Not { description, rule } => {
                let inner = rule.eval(ctx, scope);
                let outcome = match inner.truth {
                    Truth::Pass => Outcome::new(
                        Truth::Fail,
                        ctx.say(|| format!("not expected, but holds: {}", inner.reason)),
                    ),
                    Truth::Fail => Outcome::new(
                        Truth::Pass,
                        ctx.say(|| format!("as expected, does not hold: {}", inner.reason)),
                    ),
                    Truth::Error => inner,
                };
                with_description(ctx, description, outcome)
            }
            Rule::Check(check) => {
                let evaluate = || with_description(ctx, &check.description, check.eval(ctx, scope));
                let constant = ctx
                    .operands
                    .filter(|operands| !operands.constant.is_empty())
                    .and_then(|operands| operands.constant.get(&operands::address(self)));
                match constant {
                    Some(constant) => constant.get(ctx.detail, evaluate),
                    None => evaluate(),
                }
            }
            Rule::Fallback(fallback) => {
                with_description(ctx, &fallback.description, fallback.eval(ctx, scope))
            }
        }
    }
}

impl Fallback {
    /// The measurement, unless none of the resources the declaration stands in for could be
    /// had: then the declaration, if there is a valid one.
    fn eval<'a>(&self, ctx: Context<'a>, scope: Scope<'a>) -> Outcome {
        let unavailable: Vec<(&str, Service, String)> = self
            .stands_in_for
            .iter()
            .filter_map(|(name, service)| {
                unavailable_reason(ctx.snapshot, name).map(|why| (name.as_str(), *service, why))
            })
            .collect();
        if unavailable.len() < self.stands_in_for.len() {
            let mut outcome = self.measured.eval(ctx, scope);
            if outcome.truth == Truth::Error && !unavailable.is_empty() && ctx.detail {
                let other: Vec<&str> = self
                    .stands_in_for
                    .iter()
                    .map(|(name, _)| name.as_str())
                    .filter(|name| !unavailable.iter().any(|(u, _, _)| u == name))
                    .collect();
                outcome.reason = format!(
                    "{}; the declaration does not stand in for part of a measurement ({} was read, or failed rather than being refused)",
                    outcome.reason,
                    other.join(", ")
                );
            }
            return outcome;
        }
        let missing = ctx.say(|| unread_summary(&unavailable));
        if ctx.evidence.is_none() {
            return Outcome {
                reason: ctx
                    .say(|| format!("{missing}; there is no valid declaration to fall back on")),
                ..Outcome::no_declaration()
            };
        }
        let declared = self.declared.eval(ctx, scope);
        Outcome {
            reason: ctx
                .say(|| format!("{missing}; judged on the declaration: {}", declared.reason)),
            declared: declared.truth != Truth::Error || declared.declared,
            ..declared
        }
    }
}

/// Why a resource is unavailable to this scan for good (refused with 401 or 403, not read, not
/// in the snapshot), or `None` when it was read, or its read failed (a server error, a bad
/// body, an altered file): a declaration stands in only for the first.
fn unavailable_reason(snapshot: &Snapshot, name: &str) -> Option<String> {
    match snapshot.resource(name) {
        Some(ResourceData::Read(_) | ResourceData::Unreadable(_)) => None,
        Some(ResourceData::Unavailable(reason)) => Some(reason.clone()),
        None => Some(
            "not in this snapshot (collected before cloudkeur read it, or not collected)"
                .to_owned(),
        ),
    }
}

/// "Exchange Online could not be read (a, b: HTTP 403 ...)": the services, and each distinct
/// reason with the resources it applies to.
fn unread_summary(unread: &[(&str, Service, String)]) -> String {
    let mut services: Vec<&str> = Vec::new();
    let mut reasons: Vec<(Vec<&str>, &str)> = Vec::new();
    for (name, service, why) in unread {
        let title = service_title(*service);
        if !services.contains(&title) {
            services.push(title);
        }
        match reasons.iter_mut().find(|(_, reason)| reason == why) {
            Some((names, _)) => names.push(name),
            None => reasons.push((vec![name], why)),
        }
    }
    let reasons: Vec<String> = reasons
        .iter()
        .map(|(names, why)| format!("{}: {why}", names.join(", ")))
        .collect();
    format!(
        "{} could not be read ({})",
        services.join(" and "),
        reasons.join("; ")
    )
}

/// The service as a reader of the report knows it.
pub(super) fn service_title(service: Service) -> &'static str {
    match service {
        Service::Graph => "Microsoft Graph",
        Service::Exchange => "Exchange Online",
        Service::Compliance => "Security & Compliance (Purview)",
        Service::Teams => "the Teams admin API",
        Service::GoogleDirectory => "Google's Admin SDK Directory API",
        Service::GooglePolicy => "Google's Cloud Identity Policy API",
    }
}

impl Rule {
    /// Whether a `measured:`/`declared:` node sits anywhere in the rule: the control is read from
    /// the tenant, and the declaration stands in only when the service cannot be read.
    pub fn has_fallback(&self) -> bool {
        match self {
            Rule::AllOf { rules, .. } | Rule::AnyOf { rules, .. } => {
                rules.iter().any(Rule::has_fallback)
            }
            Rule::Not { rule, .. } => rule.has_fallback(),
            Rule::Fallback(_) => true,
            Rule::Check(check) => match &check.assertion {
                Assertion::All(rule) | Assertion::Any(rule) | Assertion::None(rule) => {
                    rule.has_fallback()
                }
                _ => false,
            },
        }
    }

    /// A check marked `note: true`: reported, never deciding.
    pub(super) fn is_note(&self) -> bool {
        matches!(self, Rule::Check(check) if check.note)
    }

    /// Whether the rule reads the evidence declaration (`resource: evidence` or an
    /// `{evidence: …}` operand); with `outside_declared`, only where no `declared:` branch
    /// stands in for a measurement.
    pub(super) fn reads_evidence(&self, outside_declared: bool) -> bool {
        match self {
            Rule::AllOf { rules, .. } | Rule::AnyOf { rules, .. } => {
                rules.iter().any(|r| r.reads_evidence(outside_declared))
            }
            Rule::Not { rule, .. } => rule.reads_evidence(outside_declared),
            Rule::Fallback(fallback) => {
                fallback.measured.reads_evidence(outside_declared)
                    || (!outside_declared && fallback.declared.reads_evidence(false))
            }
            Rule::Check(check) => {
                let in_sources = check.sources.iter().any(|source| {
                    source.resource.as_deref() == Some(EVIDENCE_RESOURCE)
                        || source.lookup.iter().any(|w| w.equals.reads_evidence())
                        || source.of.as_ref().is_some_and(Operand::reads_evidence)
                });
                let in_assertion = match &check.assertion {
                    Assertion::Equals(operand)
                    | Assertion::Contains(operand)
                    | Assertion::EndsWith(operand)
                    | Assertion::NotOlderThan {
                        amount: operand, ..
                    } => operand.reads_evidence(),
                    Assertion::Count { min, max } | Assertion::Number { min, max } => {
                        min.iter().chain(max.iter()).any(Operand::reads_evidence)
                    }
                    Assertion::All(rule) | Assertion::Any(rule) | Assertion::None(rule) => {
                        rule.reads_evidence(outside_declared)
                    }
                    _ => false,
                };
                in_sources || in_assertion
            }
        }
    }
}

impl Operand {
    fn reads_evidence(&self) -> bool {
        match self {
            Operand::Evidence(_) => true,
            Operand::Concat(parts) => parts.iter().any(Operand::reads_evidence),
            Operand::Literal(_) | Operand::Setting(_) | Operand::Var { .. } => false,
        }
    }
}

/// Combines the parts that decide, then appends what the notes among them say. When only the
/// truth is wanted (a quantifier's items), or the first failure explains it (an alternative
/// inside a listed item), the parts stop at the first that settles it (`all_of` at a fail,
/// `any_of` at a pass): Kleene's logic gives that result whatever the rest are, and a pass of
/// `any_of` quotes only its first passing part anyway.
fn with_notes<'a>(
    ctx: Context<'a>,
    scope: Scope<'a>,
    rules: &[Rule],
    combine: fn(Vec<Outcome>) -> Outcome,
    settles: Truth,
) -> Outcome {
    let mut deciding = Vec::with_capacity(rules.len());
    let mut notes = Vec::new();
    for rule in rules {
        if rule.is_note() {
            if ctx.detail {
                notes.push(rule.eval(ctx, scope).reason);
            }
        } else {
            let outcome = rule.eval(ctx, scope);
            let settled = (!ctx.detail || ctx.first_failure) && outcome.truth == settles;
            deciding.push(outcome);
            if settled {
                break;
            }
        }
    }
    let mut outcome = combine(deciding);
    if !notes.is_empty() {
        outcome.reason = format!("{} (note: {})", outcome.reason, notes.join("; "));
    }
    outcome
}

fn with_description(
    ctx: Context<'_>,
    description: &Option<String>,
    mut outcome: Outcome,
) -> Outcome {
    if let Some(description) = description
        && ctx.detail
        && outcome.truth != Truth::Error
    {
        outcome.reason = format!("{description}: {}", outcome.reason);
    }
    outcome
}

/// Kleene conjunction: any fail is a fail; otherwise any error is an error.
fn all_of(outcomes: Vec<Outcome>) -> Outcome {
    let truth = if outcomes.iter().any(|o| o.truth == Truth::Fail) {
        Truth::Fail
    } else if outcomes.iter().any(|o| o.truth == Truth::Error) {
        Truth::Error
    } else {
        Truth::Pass
    };
    combine(truth, outcomes, "; ", true)
}

/// Kleene disjunction: any pass is a pass; otherwise any error is an error.
fn any_of(outcomes: Vec<Outcome>) -> Outcome {
    let truth = if outcomes.iter().any(|o| o.truth == Truth::Pass) {
        Truth::Pass
    } else if outcomes.iter().any(|o| o.truth == Truth::Error) {
        Truth::Error
    } else {
        Truth::Fail
    };
    let mut outcome = combine(truth, outcomes, " | ", false);
    if truth == Truth::Fail {
        outcome.reason = format!("no alternative holds: {}", outcome.reason);
    }
    outcome
}

/// Keeps the reasons and items of the parts that decided the result.
/// `conjunction`: a pass rests on every part (`all_of`), though its reason quotes the first.
fn combine(truth: Truth, outcomes: Vec<Outcome>, separator: &str, conjunction: bool) -> Outcome {
    let declared = truth == Truth::Pass && conjunction && outcomes.iter().any(|o| o.declared);
    let deciding: Vec<Outcome> = match truth {
        Truth::Pass => outcomes
            .into_iter()
            .filter(|o| o.truth == Truth::Pass)
            .take(1)
            .collect(),
        _ => outcomes
            .into_iter()
            .filter(|o| o.truth != Truth::Pass)
            .collect(),
    };
    // Parts that fail for the same reason (one unreadable resource behind five checks) say it
    // once.
    let mut reasons: Vec<&str> = Vec::with_capacity(deciding.len());
    for outcome in &deciding {
        if !reasons.contains(&outcome.reason.as_str()) {
            reasons.push(&outcome.reason);
        }
    }
    let reason = reasons.join(separator);
    let missing_evidence = truth == Truth::Error
        && deciding
            .iter()
            .filter(|o| o.truth == Truth::Error)
            .all(|o| o.missing_evidence);
    let declared = declared || deciding.iter().any(|o| o.declared);
    let count = deciding.iter().map(|o| o.items.len()).sum();
    let items = merge_items(deciding.into_iter().flat_map(|o| o.items), count);
    Outcome {
        truth,
        reason,
        items,
        missing_evidence,
        declared,
    }
}

/// One entry per item: when several parts of a rule fail on the same item (a CA policy that
/// misses three requirements), the reader sees it once, with every reason. Items stay in the
/// order they first appear; each is found by a hash of its path and label, not by a search of
/// those before it, so that 25 000 failing accounts cost 25 000 lookups rather than 300 million
/// comparisons (the table holds positions only: no key is copied).
///
/// `count` is how many items come at most: room for them is made at once, not by doubling the
/// list and rehashing the table (49 000 items at 50 000 accounts half failing).
fn merge_items(items: impl Iterator<Item = FindingItem>, count: usize) -> Vec<FindingItem> {
    let mut merged: Vec<FindingItem> = Vec::with_capacity(count);
    let mut positions: hashbrown::HashTable<usize> = hashbrown::HashTable::with_capacity(count);
    let state = foldhash::fast::RandomState::default();
    let hash =
        |item: &FindingItem| std::hash::BuildHasher::hash_one(&state, (&item.path, &item.label));
    for item in items {
        let hashed = hash(&item);
        let same = |at: &usize| merged[*at].path == item.path && merged[*at].label == item.label;
        match positions.find(hashed, same).copied() {
            Some(at) => {
                let existing = &mut merged[at];
                if !existing.detail.contains(&item.detail) {
                    existing.detail.push_str("; ");
                    existing.detail.push_str(&item.detail);
                }
            }
            None => {
                positions.insert_unique(hashed, merged.len(), |at| hash(&merged[*at]));
                merged.push(item);
            }
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(truth: Truth) -> Outcome {
        Outcome::new(truth, format!("{truth:?}"))
    }

    #[test]
    fn an_item_failing_several_parts_is_listed_once_with_every_reason() {
        let item = |detail: &str| FindingItem {
            path: "$['value'][0]".into(),
            label: Some("CA1".into()),
            detail: detail.into(),
            identity: false,
        };
        let merged = merge_items(
            [item("no MFA"), item("excludes a group"), item("no MFA")].into_iter(),
            3,
        );
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].detail, "no MFA; excludes a group");
    }

    #[test]
    fn merged_items_keep_the_order_they_first_appear_in() {
        let item = |path: &str, label: Option<&str>, detail: &str| FindingItem {
            path: path.into(),
            label: label.map(Into::into),
            detail: detail.into(),
            identity: false,
        };
        let merged = merge_items(
            [
                item("$[2]", Some("c"), "x"),
                item("$[0]", Some("a"), "x"),
                item("$[0]", None, "no label"),
                item("$[2]", Some("c"), "y"),
                item("$[1]", Some("a"), "x"),
            ]
            .into_iter(),
            5,
        );
        let seen: Vec<(&str, Option<&str>, &str)> = merged
            .iter()
            .map(|m| (m.path.as_str(), m.label.as_deref(), m.detail.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("$[2]", Some("c"), "x; y"),
                ("$[0]", Some("a"), "x"),
                ("$[0]", None, "no label"),
                ("$[1]", Some("a"), "x"),
            ]
        );
    }

    proptest::proptest! {
        /// The hash lookup gives what the search of every earlier item gave.
        #[test]
        fn merging_by_lookup_gives_what_a_linear_search_gives(
            items in proptest::collection::vec(
                ("[ab]", proptest::option::of("[xy]"), "[pq]{0,2}"),
                0..12,
            )
        ) {
            let items: Vec<FindingItem> = items
                .into_iter()
                .map(|(path, label, detail)| FindingItem { path, label, detail, identity: false })
                .collect();
            let mut searched: Vec<FindingItem> = Vec::new();
            for item in items.clone() {
                match searched
                    .iter_mut()
                    .find(|m| m.path == item.path && m.label == item.label)
                {
                    Some(existing) if existing.detail.contains(&item.detail) => {}
                    Some(existing) => {
                        existing.detail.push_str("; ");
                        existing.detail.push_str(&item.detail);
                    }
                    None => searched.push(item),
                }
            }
            let count = items.len();
            proptest::prop_assert_eq!(merge_items(items.into_iter(), count), searched);
        }
    }

    fn finding_on(
        pack: &crate::policy::PolicyPack,
        users: Vec<serde_json::Value>,
    ) -> crate::findings::Finding {
        use crate::registry::ResourceKind;
        let mut snapshot = Snapshot::new(crate::snapshot::SnapshotMeta {
            tenant_id: "t".into(),
            tenant_name: None,
            source: "test".into(),
            collected_at: String::new(),
            manifest_sha256: String::new(),
        });
        snapshot.insert_read(
            "users",
            ResourceKind::Collection,
            serde_json::json!({ "value": users }),
        );
        snapshot.insert_read(
            "report_settings",
            ResourceKind::Object,
            serde_json::json!({"displayConcealedNames": false}),
        );
        crate::policy::evaluate_policy(
            &pack.policies[0],
            &snapshot,
            &crate::settings::Settings::default().to_document(),
            &crate::evidence::Evidence::default(),
            time::macros::date!(2026 - 06 - 01),
        )
    }

    /// The items a quantifier lists are evaluated again with reasons (on every core when
    /// there are many) and the reasons of a check that reads no item are evaluated once: each
    /// listed item must still carry its own reasons, in order, exactly as a tenant holding that
    /// one item lists it. Fails if a listed item got another item's outcome, or a kept
    /// outcome without reasons.
    #[test]
    fn every_listed_item_carries_its_own_reasons() {
        let pack = crate::policy::pack_with_rule(serde_json::json!({
            "resource": "users",
            "path": "$.value[*]",
            "label": "$.name",
            "all": {"all_of": [
                {"path": "$.n", "in": [0, 7]},
                {"description": "names are shown", "resource": "report_settings",
                 "path": "$.displayConcealedNames", "equals": true},
                {"description": "a tag", "any": {"path": "$.tags[*]", "equals": "t"},
                 "path": "$"}
            ]}
        }));
        let user = |n: usize| serde_json::json!({"name": format!("user {n}"), "n": n, "tags": [format!("tag {n}")]});
        let many = 2 * check::PARALLEL_FROM;
        let finding = finding_on(&pack, (0..many).map(user).collect());
        assert_eq!(finding.items.len(), many);
        for (n, item) in finding.items.iter().enumerate() {
            assert_eq!(item.label.as_deref(), Some(format!("user {n}").as_str()));
            assert_eq!(item.path, format!("$['value'][{n}]"));
            assert!(item.detail.contains("names are shown"), "{}", item.detail);
            let alone = finding_on(&pack, vec![user(n)]);
            assert_eq!(alone.items.len(), 1);
            assert_eq!(item.detail, alone.items[0].detail, "item {n}");
            assert_eq!(
                item.detail.contains(&format!("$.n is {n},")),
                n != 0 && n != 7,
                "{}",
                item.detail
            );
        }
    }

    /// A listed item explains each alternative that does not hold by its first failing part
    /// (an ordinary account is not a trusted B2B member because it was not invited); an item's
    /// own `all_of` still names every part it misses, and so does a rule outside any quantifier.
    #[test]
    fn a_listed_item_explains_an_alternative_by_its_first_failure() {
        let alternatives = serde_json::json!({"any_of": [
            {"description": "registered", "path": "$.mfa", "equals": true},
            {"description": "a guest", "all_of": [
                {"description": "invited", "path": "$.invited", "equals": true},
                {"description": "homed elsewhere", "path": "$.external", "equals": true}
            ]}
        ]});
        let user = serde_json::json!({"name": "u", "mfa": false, "invited": false, "external": false, "n": 1});
        let listed = crate::policy::pack_with_rule(serde_json::json!({
            "resource": "users", "path": "$.value[*]", "label": "$.name",
            "all": {"all_of": [alternatives, {"description": "numbered", "path": "$.n", "equals": 0}]}
        }));
        let finding = finding_on(&listed, vec![user.clone()]);
        let detail = &finding.items[0].detail;
        assert!(detail.contains("registered: $.mfa is false"), "{detail}");
        assert!(detail.contains("invited: $.invited is false"), "{detail}");
        assert!(!detail.contains("homed elsewhere"), "{detail}");
        assert!(detail.contains("numbered: $.n is 1"), "{detail}");

        let check = |description: &str, member: &str| {
            serde_json::json!({"description": description, "resource": "users",
                "path": format!("$.value[0].{member}"), "equals": true})
        };
        let whole = crate::policy::pack_with_rule(serde_json::json!({"any_of": [
            check("registered", "mfa"),
            {"description": "a guest", "all_of": [
                check("invited", "invited"), check("homed elsewhere", "external")
            ]}
        ]}));
        let finding = finding_on(&whole, vec![user]);
        assert_eq!(finding.verdict, crate::findings::Verdict::Fail);
        assert!(
            finding
                .reason
                .contains("homed elsewhere: users $.value[0].external is false"),
            "{}",
            finding.reason
        );
    }

    #[test]
    fn all_of_is_kleene_conjunction() {
        use Truth::*;
        assert_eq!(all_of(vec![outcome(Pass), outcome(Pass)]).truth, Pass);
        assert_eq!(all_of(vec![outcome(Pass), outcome(Error)]).truth, Error);
        assert_eq!(all_of(vec![outcome(Error), outcome(Fail)]).truth, Fail);
    }

    #[test]
    fn any_of_never_turns_an_error_into_a_pass() {
        use Truth::*;
        assert_eq!(any_of(vec![outcome(Fail), outcome(Error)]).truth, Error);
        assert_eq!(any_of(vec![outcome(Error), outcome(Pass)]).truth, Pass);
        assert_eq!(any_of(vec![outcome(Fail), outcome(Fail)]).truth, Fail);
    }
}
