//! Compiled rules and their evaluation: assertions over JSONPath selections, and combinators.
//!
//! Evaluation is three-valued. `Error` means "could not be decided" (unreadable or missing data),
//! and it is never turned into `Pass`: `all_of` passes only if every part passes, `any_of` only if
//! one part provably passes. This is how "never fail open" holds for composite rules.
//! Pure: no I/O, no clock, no environment.

pub use super::selector::Selector;
use super::selector::{Absences, Selection};
use super::{EVIDENCE_RESOURCE, SETTINGS_RESOURCE};
use crate::findings::FindingItem;
use crate::snapshot::{ResourceData, Snapshot};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgeUnit {
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
    /// An error caused only by the control's evidence declaration being absent: the verdict
    /// becomes `evidence-missing` when it decides the result.
    pub missing_evidence: bool,
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
        }
    }
}

/// What a rule may read: the snapshot, the settings document, the control's evidence
/// declaration and the scan date. Nothing else.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub snapshot: &'a Snapshot,
    pub settings: &'a Value,
    pub evidence: Option<&'a Value>,
    pub today: time::Date,
    /// `false` while a quantifier only needs each item's truth: reasons and items are then
    /// left empty, and the items it lists are evaluated again in full.
    detail: bool,
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
            today,
            detail: true,
            operands: None,
            bindings: None,
        }
    }
}

/// The values of a rule's `{setting: …}` and `{evidence: …}` operands, resolved once per
/// evaluation: a quantifier would otherwise query the settings document again for each of
/// 100k items. Keyed by the operand's address in the rule, which outlives the evaluation.
/// Likewise the selection and index of every `where:` source that reads a resource, so that
/// looking up 100k accounts' rows costs one selection and a hash lookup each.
#[derive(Default)]
struct Operands<'a> {
    values: HashMap<usize, Result<Value, Outcome>>,
    lists: HashMap<usize, Result<Vec<Value>, Outcome>>,
    lookups: HashMap<usize, Result<Lookup<'a>, Outcome>>,
}

/// A `where:` source's selection, indexed by its first key.
struct Lookup<'a> {
    found: Vec<(&'a Value, String)>,
    /// Members absent on the way, including values without the first key.
    absent: Absences,
    index: HashMap<String, Vec<usize>>,
}

impl<'a> Operands<'a> {
    fn resolve(rule: &Rule, ctx: Context<'a>) -> Operands<'a> {
        let mut operands = Operands::default();
        operands.collect(rule, ctx);
        operands
    }

    fn collect(&mut self, rule: &Rule, ctx: Context<'a>) {
        match rule {
            Rule::AllOf { rules, .. } | Rule::AnyOf { rules, .. } => {
                rules.iter().for_each(|r| self.collect(r, ctx));
            }
            Rule::Not { rule, .. } => self.collect(rule, ctx),
            Rule::Check(check) => {
                for source in &check.sources {
                    for condition in &source.lookup {
                        self.value(&condition.equals, ctx);
                    }
                    if let (Some(resource), Some(first)) = (&source.resource, source.lookup.first())
                    {
                        self.lookups
                            .insert(address(source), Lookup::build(ctx, resource, source, first));
                    }
                }
                match &check.assertion {
                    Assertion::Equals(operand)
                    | Assertion::Contains(operand)
                    | Assertion::NotOlderThan {
                        amount: operand, ..
                    } => {
                        self.value(operand, ctx);
                    }
                    Assertion::Count { min, max } => {
                        min.iter()
                            .chain(max.iter())
                            .for_each(|o| self.value(o, ctx));
                    }
                    Assertion::In(values)
                    | Assertion::NotIn(values)
                    | Assertion::Only(values)
                    | Assertion::OnlyMembers(values) => {
                        if let Values::Setting(_) = values {
                            self.lists
                                .insert(address(values), resolve_list_now(ctx, values));
                        }
                    }
                    Assertion::All(rule) | Assertion::Any(rule) | Assertion::None(rule) => {
                        self.collect(rule, ctx);
                    }
                    Assertion::Exists(_) | Assertion::Empty(_) | Assertion::Matches(_) => {}
                }
            }
        }
    }

    /// Settings and evidence operands; literals need nothing and `{var: …}` differs per item.
    fn value(&mut self, operand: &Operand, ctx: Context<'_>) {
        if matches!(operand, Operand::Setting(_) | Operand::Evidence(_)) {
            self.values
                .insert(address(operand), resolve_now(ctx, operand));
        }
    }
}

impl<'a> Lookup<'a> {
    fn build(
        ctx: Context<'a>,
        resource: &str,
        source: &Source,
        first: &Where,
    ) -> Result<Lookup<'a>, Outcome> {
        let root = resource_root(ctx, resource)?;
        let selection = source.path.select(root).map_err(|err| {
            Outcome::new(
                Truth::Error,
                format!(
                    "JSONPath {} could not be evaluated: {err}",
                    source.path.text
                ),
            )
        })?;
        let mut absent = selection.absent;
        let mut index: HashMap<String, Vec<usize>> = HashMap::new();
        for (position, (value, path)) in selection.found.iter().enumerate() {
            if let Some(key) = key_of(&first.key, value, path, &mut absent) {
                index.entry(key).or_default().push(position);
            }
        }
        Ok(Lookup {
            found: selection.found,
            absent,
            index,
        })
    }
}

/// The value at `key` in `value`, as the text an index is keyed by; an absent key is noted.
fn key_of(key: &Selector, value: &Value, path: &str, absent: &mut Absences) -> Option<String> {
    let selection = key.select(value).ok()?;
    for described in selection.absent.described.iter().take(1) {
        let at = described.strip_prefix('$').unwrap_or(described);
        absent.add(format!("{path}{at}"));
    }
    selection.found.first().map(|(found, _)| found.to_string())
}

fn address<T>(node: &T) -> usize {
    std::ptr::from_ref(node) as usize
}

impl<'a> Context<'a> {
    fn truth_only(self) -> Self {
        Context {
            detail: false,
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

    fn collect_resources(&self, names: &mut Vec<String>) {
        match self {
            Rule::AllOf { rules, .. } | Rule::AnyOf { rules, .. } => {
                rules.iter().for_each(|r| r.collect_resources(names));
            }
            Rule::Not { rule, .. } => rule.collect_resources(names),
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
                with_notes(ctx, scope, rules, any_of, Truth::Pass),
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
            Rule::Check(check) => with_description(ctx, &check.description, check.eval(ctx, scope)),
        }
    }
}

impl Rule {
    /// A check marked `note: true`: reported, never deciding.
    pub(super) fn is_note(&self) -> bool {
        matches!(self, Rule::Check(check) if check.note)
    }
}

/// Combines the parts that decide, then appends what the notes among them say. When only the
/// truth is wanted (a quantifier's items), the parts stop at the first that settles it (`all_of`
/// at a fail, `any_of` at a pass): Kleene's logic gives that result whatever the rest are.
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
            let settled = !ctx.detail && outcome.truth == settles;
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
    combine(truth, outcomes, "; ")
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
    let mut outcome = combine(truth, outcomes, " | ");
    if truth == Truth::Fail {
        outcome.reason = format!("no alternative holds: {}", outcome.reason);
    }
    outcome
}

/// Keeps the reasons and items of the parts that decided the result.
fn combine(truth: Truth, outcomes: Vec<Outcome>, separator: &str) -> Outcome {
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
    let reason = deciding
        .iter()
        .map(|o| o.reason.as_str())
        .collect::<Vec<_>>()
        .join(separator);
    let missing_evidence = truth == Truth::Error
        && deciding
            .iter()
            .filter(|o| o.truth == Truth::Error)
            .all(|o| o.missing_evidence);
    let items = merge_items(deciding.into_iter().flat_map(|o| o.items));
    Outcome {
        truth,
        reason,
        items,
        missing_evidence,
    }
}

/// One entry per item: when several parts of a rule fail on the same item (a CA policy that
/// misses three requirements), the reader sees it once, with every reason.
fn merge_items(items: impl Iterator<Item = FindingItem>) -> Vec<FindingItem> {
    let mut merged: Vec<FindingItem> = Vec::new();
    for item in items {
        match merged
            .iter_mut()
            .find(|m| m.path == item.path && m.label == item.label)
        {
            Some(existing) if existing.detail.contains(&item.detail) => {}
            Some(existing) => {
                existing.detail.push_str("; ");
                existing.detail.push_str(&item.detail);
            }
            None => merged.push(item),
        }
    }
    merged
}

/// One selected value with its normalized path inside the scope root.
struct Selected<'a> {
    value: &'a Value,
    path: String,
    /// The group an expanded member came from.
    via: Option<&'a Value>,
}

impl Source {
    fn select<'a>(
        &self,
        ctx: Context<'a>,
        scope: Scope<'a>,
        name_paths: bool,
        absent_ok: bool,
    ) -> Result<(Vec<Selected<'a>>, Absences), Outcome> {
        let root = match (scope, &self.resource) {
            (_, Some(name)) => resource_root(ctx, name)?,
            (Scope::Item(item), None) => item,
            (Scope::Resource, None) => {
                return Err(Outcome::new(
                    Truth::Error,
                    "rule has no resource (loader should have refused it)",
                ));
            }
        };
        let Selection { found, mut absent } = self.found(ctx, root)?;
        if absent_ok {
            absent = Absences::default();
        }
        let mut selected = Vec::with_capacity(found.len());
        for (value, path) in found {
            let path = match (&self.resource, name_paths) {
                (Some(name), true) => format!("{name}{}", &path[1..]),
                _ => path,
            };
            match &self.expand_groups {
                Some(members) if is_group(value) || value.is_string() => {
                    for (index, member) in
                        group_members(ctx, members, value)?.into_iter().enumerate()
                    {
                        selected.push(Selected {
                            value: member,
                            path: format!("{path} member {index}"),
                            via: Some(value),
                        });
                    }
                }
                _ => selected.push(Selected {
                    value,
                    path,
                    via: None,
                }),
            }
        }
        Ok((selected, absent))
    }

    /// What the path selects in `root` and kept by `where:`, with the absences met.
    fn found<'a>(&self, ctx: Context<'a>, root: &'a Value) -> Result<Selection<'a>, Outcome> {
        let cannot = |err: String| {
            Outcome::new(
                Truth::Error,
                format!("JSONPath {} could not be evaluated: {err}", self.path.text),
            )
        };
        let Some((first, rest)) = self.lookup.split_first() else {
            return self.path.select(root).map_err(cannot);
        };
        let wanted = resolve(ctx, &first.equals)?.to_string();
        let indexed = ctx
            .operands
            .and_then(|operands| operands.lookups.get(&address(self)));
        let (mut found, mut absent) = match indexed {
            Some(Err(outcome)) => return Err(outcome.clone()),
            Some(Ok(lookup)) => (
                lookup
                    .index
                    .get(&wanted)
                    .map(|hits| hits.iter().map(|&i| lookup.found[i].clone()).collect())
                    .unwrap_or_default(),
                lookup.absent.clone(),
            ),
            None => {
                let selection = self.path.select(root).map_err(cannot)?;
                let mut absent = selection.absent;
                let found: Vec<(&'a Value, String)> = selection
                    .found
                    .into_iter()
                    .filter(|(value, path)| {
                        key_of(&first.key, value, path, &mut absent).as_deref() == Some(&wanted)
                    })
                    .collect();
                (found, absent)
            }
        };
        for condition in rest {
            let wanted = resolve(ctx, &condition.equals)?.to_string();
            found.retain(|(value, path)| {
                key_of(&condition.key, value, path, &mut absent).as_deref() == Some(&wanted)
            });
        }
        Ok(Selection { found, absent })
    }
}

/// The body a source names: a resource, the settings document or the evidence declaration.
fn resource_root<'a>(ctx: Context<'a>, name: &str) -> Result<&'a Value, Outcome> {
    match name {
        EVIDENCE_RESOURCE => ctx.evidence.ok_or_else(Outcome::no_declaration),
        SETTINGS_RESOURCE => Ok(ctx.settings),
        _ => read(ctx, name),
    }
}

fn read<'a>(ctx: Context<'a>, name: &str) -> Result<&'a Value, Outcome> {
    match ctx.snapshot.resource(name) {
        Some(ResourceData::Read(value)) => Ok(value),
        Some(ResourceData::Unreadable(reason)) => Err(Outcome::new(Truth::Error, reason.clone())),
        None => Err(Outcome::new(
            Truth::Error,
            format!("{name} was not collected in this snapshot"),
        )),
    }
}

fn is_group(value: &Value) -> bool {
    value.get("@odata.type").and_then(Value::as_str) == Some("#microsoft.graph.group")
}

/// The non-group members of a group, from a fan-out resource `{"<group id>": {"value": [...]}}`.
/// The group is a directory object or its id. A group whose members were not read makes the
/// check an error: its members are unknown.
fn group_members<'a>(
    ctx: Context<'a>,
    resource: &str,
    group: &Value,
) -> Result<Vec<&'a Value>, Outcome> {
    let id = group
        .as_str()
        .or_else(|| group.get("id").and_then(Value::as_str))
        .unwrap_or_default();
    let members = read(ctx, resource)?
        .get(id)
        .and_then(|entry| entry.get("value"))
        .and_then(Value::as_array)
        .ok_or_else(|| {
            Outcome::new(
                Truth::Error,
                format!("the members of group {id} were not read ({resource})"),
            )
        })?;
    Ok(members.iter().filter(|m| !is_group(m)).collect())
}

/// What a check over `sources` looks at, as reasons name it.
pub(super) fn subject_of(sources: &[Source]) -> String {
    let parts: Vec<String> = sources
        .iter()
        .map(|s| match &s.resource {
            Some(resource) => format!("{resource} {}", s.path.text),
            None => s.path.text.clone(),
        })
        .collect();
    parts.join(" + ")
}

impl Check {
    fn eval<'a>(&self, ctx: Context<'a>, scope: Scope<'a>) -> Outcome {
        let name_paths = self.sources.len() > 1;
        let mut selected: Vec<Selected<'a>> = Vec::new();
        let mut absent: Option<(Absences, String)> = None;
        // A source that cannot be read adds values nobody saw: like absent members, they leave
        // the outcome unknown unless the values that were read decide it (a guest among the
        // active Global Administrators fails whether or not the eligible ones could be read).
        let mut unreadable: Option<Outcome> = None;
        for source in &self.sources {
            match source.select(ctx, scope, name_paths, self.absent_ok) {
                Ok((mut found, missing)) => {
                    selected.append(&mut found);
                    if !missing.is_empty() && absent.is_none() {
                        let at = match &source.resource {
                            Some(name) => format!("{name} {}", source.path.text),
                            None => source.path.text.clone(),
                        };
                        absent = Some((missing, at));
                    }
                }
                Err(outcome) if self.sources.len() > 1 && outcome.truth == Truth::Error => {
                    unreadable.get_or_insert(outcome);
                }
                Err(outcome) => return outcome,
            }
        }
        if let Some(key) = &self.distinct {
            let mut seen = std::collections::HashSet::new();
            selected.retain(|s| {
                let id = key
                    .find(s.value)
                    .ok()
                    .and_then(|found| found.first().map(|(value, _)| value.to_string()));
                // A value without the key cannot be matched to another: keep it.
                id.is_none_or(|id| seen.insert(id))
            });
        }
        let outcome = match self.judge(ctx, &selected) {
            Ok(outcome) | Err(outcome) => outcome,
        };
        if let Some(error) = unreadable
            && !self.decided_despite_absence(ctx, &outcome, &selected)
        {
            return error;
        }
        match absent {
            Some((missing, at)) if !self.decided_despite_absence(ctx, &outcome, &selected) => {
                Outcome::new(
                    Truth::Error,
                    ctx.say(|| {
                        format!(
                            "cannot be judged: {} (absent, not null), which {at} reads; \
                             the rule does not say that absence is acceptable",
                            missing.summary()
                        )
                    }),
                )
            }
            _ => outcome,
        }
    }

    /// Whether an outcome on the values that were there stands whatever the absent members
    /// would have held (Kleene: the unknown items could be selected or not, pass or fail).
    /// `exists: true`, `any` and `count` without a maximum only gain from more values, so a
    /// pass stands; every other assertion fails on one bad value, so a fail caused by a value
    /// that *is* there stands. Anything else is unknown.
    fn decided_despite_absence(
        &self,
        ctx: Context<'_>,
        outcome: &Outcome,
        selected: &[Selected<'_>],
    ) -> bool {
        match (&self.assertion, outcome.truth) {
            (_, Truth::Error) => true,
            (Assertion::Exists(true) | Assertion::Any(_), truth) => truth == Truth::Pass,
            (Assertion::Count { max: None, .. }, truth) => truth == Truth::Pass,
            (Assertion::Count { max: Some(max), .. }, Truth::Fail) => {
                resolve_count(ctx, max).is_ok_and(|hi| selected.len() as u64 > hi)
            }
            (Assertion::Count { .. }, Truth::Pass) => false,
            (_, Truth::Fail) => !selected.is_empty(),
            (_, Truth::Pass) => false,
        }
    }

    /// `Err` carries an error outcome from resolving a settings operand.
    fn judge<'a>(&self, ctx: Context<'a>, selected: &[Selected<'a>]) -> Result<Outcome, Outcome> {
        let at = self.subject();
        Ok(match &self.assertion {
            Assertion::Exists(true) if selected.is_empty() => {
                Outcome::new(Truth::Fail, ctx.say(|| format!("nothing found at {at}")))
            }
            Assertion::Exists(true) => Outcome::new(
                Truth::Pass,
                ctx.say(|| format!("{} found at {at}", selected.len())),
            ),
            Assertion::Exists(false) if selected.is_empty() => Outcome::new(
                Truth::Pass,
                ctx.say(|| format!("nothing at {at}, as required")),
            ),
            Assertion::Exists(false) => {
                let items = selected
                    .iter()
                    .map(|s| self.item(s, "present, but must not be".into()))
                    .collect();
                Outcome {
                    truth: Truth::Fail,
                    reason: format!("{} found at {at}, expected none", selected.len()),
                    items,
                    missing_evidence: false,
                }
            }
            Assertion::Empty(true) if selected.is_empty() => Outcome::new(
                Truth::Pass,
                ctx.say(|| format!("nothing at {at} (empty, null or absent)")),
            ),
            Assertion::Empty(true) => self.each_value(ctx, selected, |v| {
                is_empty(v)
                    .then_some(())
                    .ok_or_else(|| format!("is {}, expected empty, null or absent", show(v)))
            }),
            Assertion::Empty(false) => self.each_value(ctx, selected, |v| {
                (!is_empty(v))
                    .then_some(())
                    .ok_or_else(|| format!("is {}, expected a non-empty value", show(v)))
            }),
            Assertion::Equals(expected) => {
                let expected = resolve(ctx, expected)?;
                self.each_value(ctx, selected, |v| {
                    (v == &expected)
                        .then_some(())
                        .ok_or_else(|| format!("is {}, expected {}", show(v), show(&expected)))
                })
            }
            Assertion::In(allowed) => {
                let allowed = resolve_list(ctx, allowed)?;
                self.each_value(ctx, selected, |v| {
                    allowed.contains(v).then_some(()).ok_or_else(|| {
                        format!("is {}, expected one of {}", show(v), show_list(&allowed))
                    })
                })
            }
            Assertion::NotIn(forbidden) => {
                let forbidden = resolve_list(ctx, forbidden)?;
                self.each_value(ctx, selected, |v| {
                    (!forbidden.contains(v))
                        .then_some(())
                        .ok_or_else(|| format!("is {}, which is not allowed", show(v)))
                })
            }
            Assertion::Only(_) if selected.is_empty() => {
                Outcome::new(Truth::Pass, format!("nothing at {at}"))
            }
            Assertion::Only(allowed) => {
                let allowed = resolve_list(ctx, allowed)?;
                self.each_value(ctx, selected, |v| {
                    allowed
                        .contains(v)
                        .then_some(())
                        .ok_or_else(|| format!("is {}, which is not in the allowed list", show(v)))
                })
            }
            Assertion::Contains(wanted) => {
                let wanted = resolve(ctx, wanted)?;
                self.each_value(ctx, selected, |v| match v {
                    Value::Array(list) if list.contains(&wanted) => Ok(()),
                    Value::Array(list) => Err(format!(
                        "{} does not contain {}",
                        show_list(list),
                        show(&wanted)
                    )),
                    other => Err(format!("is {}, not a list", show(other))),
                })
            }
            Assertion::Matches(pattern) => self.each_value(ctx, selected, |v| match v {
                Value::String(text) if pattern.is_match(text) => Ok(()),
                Value::String(_) => Err(format!("is {}, which does not match {pattern}", show(v))),
                other => Err(format!("is {}, not a string", show(other))),
            }),
            Assertion::OnlyMembers(known) => {
                let known = resolve_list(ctx, known)?;
                self.each_value_or_nothing(ctx, selected, |v| unknown_members(v, &known))
            }
            Assertion::Count { min, max } => {
                let min = min.as_ref().map(|b| resolve_count(ctx, b)).transpose()?;
                let max = max.as_ref().map(|b| resolve_count(ctx, b)).transpose()?;
                self.count(selected, min, max)
            }
            Assertion::NotOlderThan { amount, unit } => {
                let amount = resolve_count(ctx, amount)?;
                let Some(oldest) = go_back(ctx.today, amount, *unit) else {
                    return Err(Outcome::new(
                        Truth::Error,
                        format!("cannot go back {amount} {unit:?} from {}", ctx.today),
                    ));
                };
                self.each_value(ctx, selected, |v| {
                    match v.as_str().and_then(crate::evidence::parse_date) {
                        None => Err(format!("is {}, not a date (YYYY-MM-DD)", show(v))),
                        Some(date) if date > ctx.today => {
                            Err(format!("is {date}, after the scan date {}", ctx.today))
                        }
                        Some(date) if date < oldest => Err(format!(
                            "is {date}, older than {amount} {} (before {oldest})",
                            unit_name(*unit)
                        )),
                        Some(_) => Ok(()),
                    }
                })
            }
            Assertion::All(rule) => self.quantify(ctx, selected, rule, Quantifier::All),
            Assertion::Any(rule) => self.quantify(ctx, selected, rule, Quantifier::Any),
            Assertion::None(rule) => self.quantify(ctx, selected, rule, Quantifier::None),
        })
    }

    fn subject(&self) -> &str {
        &self.subject
    }

    fn item(&self, selected: &Selected<'_>, detail: String) -> FindingItem {
        let label = self.label.as_ref().and_then(|label| {
            label
                .find(selected.value)
                .ok()?
                .first()
                .map(|(value, _)| match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
        });
        FindingItem {
            path: selected.path.clone(),
            label,
            detail,
            identity: self.identity,
        }
    }

    /// Like `each_value`, but nothing selected passes (`only_members`: nothing there to judge).
    fn each_value_or_nothing(
        &self,
        ctx: Context<'_>,
        selected: &[Selected<'_>],
        test: impl Fn(&Value) -> Result<(), String>,
    ) -> Outcome {
        if selected.is_empty() {
            let at = self.subject();
            return Outcome::new(Truth::Pass, ctx.say(|| format!("nothing at {at}")));
        }
        self.each_value(ctx, selected, test)
    }

    /// Applies a value test to every selected value; nothing selected is a fail.
    fn each_value(
        &self,
        ctx: Context<'_>,
        selected: &[Selected<'_>],
        test: impl Fn(&Value) -> Result<(), String>,
    ) -> Outcome {
        let at = self.subject();
        if selected.is_empty() {
            return Outcome::new(Truth::Fail, ctx.say(|| format!("no value at {at}")));
        }
        let failures: Vec<(&Selected<'_>, String)> = selected
            .iter()
            .filter_map(|s| test(s.value).err().map(|why| (s, why)))
            .collect();
        if !ctx.detail {
            let truth = if failures.is_empty() {
                Truth::Pass
            } else {
                Truth::Fail
            };
            return Outcome::new(truth, String::new());
        }
        match failures.as_slice() {
            [] if selected.len() == 1 => {
                Outcome::new(Truth::Pass, format!("{at} is {}", show(selected[0].value)))
            }
            [] => Outcome::new(
                Truth::Pass,
                format!("all {} values at {at} as required", selected.len()),
            ),
            [(_, why)] if selected.len() == 1 && self.label.is_none() => {
                Outcome::new(Truth::Fail, format!("{at} {why}"))
            }
            _ => Outcome {
                truth: Truth::Fail,
                reason: format!(
                    "{} of {} values at {at} are not as required",
                    failures.len(),
                    selected.len()
                ),
                items: failures
                    .into_iter()
                    .map(|(s, why)| self.item(s, why))
                    .collect(),
                missing_evidence: false,
            },
        }
    }

    fn count(&self, selected: &[Selected<'_>], min: Option<u64>, max: Option<u64>) -> Outcome {
        let n = selected.len() as u64;
        let at = self.subject();
        let range = match (min, max) {
            // `count: {min: 0}` counts without judging (a note such as accounts left out); a few
            // plain values (policy ids) are named, never objects (they may describe people).
            (Some(0), None) => {
                const NAMED: usize = 5;
                let named: Vec<String> = selected
                    .iter()
                    .take(NAMED)
                    .filter(|s| s.value.is_string() || s.value.is_number())
                    .map(|s| show(s.value))
                    .collect();
                let named = if named.is_empty() || n > NAMED as u64 {
                    String::new()
                } else {
                    format!(": {}", named.join(", "))
                };
                return Outcome::new(Truth::Pass, format!("{n} at {at}{named}"));
            }
            (Some(lo), Some(hi)) => format!("between {lo} and {hi}"),
            (Some(lo), None) => format!("at least {lo}"),
            (None, Some(hi)) => format!("at most {hi}"),
            (None, None) => "any number".to_owned(),
        };
        if min.is_some_and(|lo| n < lo) || max.is_some_and(|hi| n > hi) {
            let items = if max.is_some_and(|hi| n > hi) {
                selected
                    .iter()
                    .map(|s| self.item(s, "counted".into()))
                    .collect()
            } else {
                Vec::new()
            };
            Outcome {
                truth: Truth::Fail,
                reason: format!("{n} found at {at}, expected {range}"),
                items,
                missing_evidence: false,
            }
        } else {
            Outcome::new(Truth::Pass, format!("{n} found at {at}, within {range}"))
        }
    }

    /// A quantifier's rule on one item, with the item (and its group) bound as the check says.
    fn on_item<'a>(&self, ctx: Context<'a>, rule: &Rule, item: &Selected<'a>) -> Outcome {
        static NULL: Value = Value::Null;
        let group = self.bind_group.as_deref().map(|name| Binding {
            name,
            value: item.via.unwrap_or(&NULL),
            outer: ctx.bindings,
        });
        let ctx = match &group {
            Some(binding) => ctx.bind(binding),
            None => ctx,
        };
        let own = self.bind.as_deref().map(|name| Binding {
            name,
            value: item.value,
            outer: ctx.bindings,
        });
        let ctx = match &own {
            Some(binding) => ctx.bind(binding),
            None => ctx,
        };
        rule.eval(ctx, Scope::Item(item.value))
    }

    fn quantify<'a>(
        &self,
        ctx: Context<'a>,
        selected: &[Selected<'a>],
        rule: &Rule,
        quantifier: Quantifier,
    ) -> Outcome {
        let at = self.subject();
        if selected.is_empty() {
            return match quantifier {
                Quantifier::None => {
                    Outcome::new(Truth::Pass, ctx.say(|| format!("nothing at {at}")))
                }
                Quantifier::All if self.allow_empty => Outcome::new(
                    Truth::Pass,
                    ctx.say(|| format!("nothing at {at} (allowed)")),
                ),
                _ => Outcome::new(Truth::Fail, ctx.say(|| format!("nothing found at {at}"))),
            };
        }
        // Each item's truth first; the few items the outcome lists or quotes are evaluated
        // again with their reasons.
        let truths: Vec<Truth> = selected
            .iter()
            .map(|s| self.on_item(ctx.truth_only(), rule, s).truth)
            .collect();
        let count = |t: Truth| truths.iter().filter(|&&truth| truth == t).count();
        let (passed, failed, errors) =
            (count(Truth::Pass), count(Truth::Fail), count(Truth::Error));
        let total = selected.len();
        let with_truth = |truth: Truth| {
            selected
                .iter()
                .zip(&truths)
                .filter(move |(_, t)| **t == truth)
                .map(|(s, _)| s)
        };
        let listed = |truth: Truth| -> Vec<FindingItem> {
            if !ctx.detail {
                return Vec::new();
            }
            with_truth(truth)
                .map(|s| self.item(s, detail_with_nested(&self.on_item(ctx, rule, s))))
                .collect()
        };
        let first_error = || {
            with_truth(Truth::Error)
                .next()
                .map(|s| self.on_item(ctx, rule, s).reason)
                .unwrap_or_default()
        };
        match quantifier {
            Quantifier::All if failed > 0 => Outcome {
                truth: Truth::Fail,
                reason: ctx.say(|| {
                    format!(
                        "{failed} of {total} items at {at} do not satisfy the rule{}",
                        also_unknown(errors, first_error)
                    )
                }),
                items: listed(Truth::Fail),
                missing_evidence: false,
            },
            Quantifier::Any if passed > 0 => Outcome::new(
                Truth::Pass,
                ctx.say(|| format!("{passed} of {total} items at {at} satisfy the rule")),
            ),
            Quantifier::None if passed > 0 => Outcome {
                truth: Truth::Fail,
                reason: ctx.say(|| {
                    format!(
                        "{passed} of {total} items at {at} match, expected none{}",
                        also_unknown(errors, first_error)
                    )
                }),
                items: listed(Truth::Pass),
                missing_evidence: false,
            },
            _ if errors > 0 => Outcome::new(
                Truth::Error,
                ctx.say(|| {
                    format!(
                        "{errors} of {total} items at {at} could not be evaluated: {}",
                        first_error()
                    )
                }),
            ),
            Quantifier::All => Outcome::new(
                Truth::Pass,
                ctx.say(|| format!("all {total} items at {at} satisfy the rule")),
            ),
            Quantifier::Any => Outcome {
                truth: Truth::Fail,
                reason: ctx.say(|| format!("none of the {total} items at {at} satisfies the rule")),
                items: listed(Truth::Fail),
                missing_evidence: false,
            },
            Quantifier::None => Outcome::new(
                Truth::Pass,
                ctx.say(|| format!("none of the {total} items at {at} match")),
            ),
        }
    }
}

/// A failing quantifier still says how many items it could not judge, and why the first not.
fn also_unknown(errors: usize, first_error: impl FnOnce() -> String) -> String {
    if errors == 0 {
        String::new()
    } else {
        format!("; {errors} more could not be evaluated: {}", first_error())
    }
}

#[derive(Clone, Copy)]
enum Quantifier {
    All,
    Any,
    None,
}

/// What `selector` selects in a settings document or evidence declaration (`what` names it in
/// the error).
fn lookup<'a>(
    document: &'a Value,
    selector: &Selector,
    what: &str,
) -> Result<Vec<&'a Value>, Outcome> {
    selector
        .find(document)
        .map(|found| found.into_iter().map(|(value, _)| value).collect())
        .map_err(|err| {
            Outcome::new(
                Truth::Error,
                format!("{what} {} could not be read: {err}", selector.text),
            )
        })
}

/// Values a settings path selects, arrays flattened: `$.break_glass_accounts[*].id` and
/// `$.accepted_geos` both give a plain list.
fn setting_values<'a>(ctx: Context<'a>, selector: &Selector) -> Result<Vec<&'a Value>, Outcome> {
    Ok(lookup(ctx.settings, selector, "setting")?
        .into_iter()
        .flat_map(|value| match value {
            Value::Array(list) => list.iter().collect::<Vec<_>>(),
            other => vec![other],
        })
        .collect())
}

fn resolve(ctx: Context<'_>, operand: &Operand) -> Result<Value, Outcome> {
    if let Operand::Literal(value) = operand {
        return Ok(value.clone());
    }
    match ctx.operands.and_then(|o| o.values.get(&address(operand))) {
        Some(resolved) => resolved.clone(),
        None => resolve_now(ctx, operand),
    }
}

fn resolve_now(ctx: Context<'_>, operand: &Operand) -> Result<Value, Outcome> {
    let (found, missing) = match operand {
        Operand::Literal(value) => return Ok(value.clone()),
        Operand::Var { name, path } => {
            let bound = ctx.var(name).ok_or_else(|| {
                Outcome::new(Truth::Error, format!("{{var: {name}}} is not bound here"))
            })?;
            let Some(path) = path else {
                return Ok(bound.clone());
            };
            // An absent member of the bound value is unknown; null is a value.
            let selection = path.select(bound).map_err(|err| {
                Outcome::new(
                    Truth::Error,
                    format!("{{var: {name}}} {}: {err}", path.text),
                )
            })?;
            if !selection.absent.is_empty() {
                return Err(Outcome::new(
                    Truth::Error,
                    format!(
                        "cannot be judged: {name} {} (absent, not null)",
                        selection.absent.summary()
                    ),
                ));
            }
            return Ok(selection
                .found
                .first()
                .map_or(Value::Null, |(value, _)| (*value).clone()));
        }
        Operand::Evidence(selector) => {
            let declaration = ctx.evidence.ok_or_else(Outcome::no_declaration)?;
            (
                lookup(declaration, selector, "evidence")?,
                format!("the evidence declaration has no {}", selector.text),
            )
        }
        Operand::Setting(selector) => (
            lookup(ctx.settings, selector, "setting")?,
            format!("setting {} is not set", selector.text),
        ),
    };
    found
        .first()
        .map(|value| (*value).clone())
        .ok_or_else(|| Outcome::new(Truth::Error, missing))
}

fn resolve_list<'r>(ctx: Context<'r>, values: &'r Values) -> Result<Cow<'r, [Value]>, Outcome> {
    if let Values::Literal(list) = values {
        return Ok(Cow::Borrowed(list));
    }
    match ctx.operands.and_then(|o| o.lists.get(&address(values))) {
        Some(Ok(list)) => Ok(Cow::Borrowed(list)),
        Some(Err(outcome)) => Err(outcome.clone()),
        None => resolve_list_now(ctx, values).map(Cow::Owned),
    }
}

fn resolve_list_now(ctx: Context<'_>, values: &Values) -> Result<Vec<Value>, Outcome> {
    match values {
        Values::Literal(list) => Ok(list.clone()),
        Values::Setting(selector) => Ok(setting_values(ctx, selector)?
            .into_iter()
            .cloned()
            .collect()),
    }
}

fn resolve_count(ctx: Context<'_>, bound: &Operand) -> Result<u64, Outcome> {
    let value = resolve(ctx, bound)?;
    value.as_u64().ok_or_else(|| {
        Outcome::new(
            Truth::Error,
            format!("count bound {} is not a whole number", show(&value)),
        )
    })
}

/// An item's detail: why it failed, plus what inside it failed (e.g. which excluded account),
/// since the nested items themselves are not listed at the top level.
fn detail_with_nested(outcome: &Outcome) -> String {
    const SHOWN: usize = 5;
    if outcome.items.is_empty() {
        return outcome.reason.clone();
    }
    let inner: Vec<String> = outcome
        .items
        .iter()
        .take(SHOWN)
        .map(|i| match &i.label {
            Some(label) => format!("{label}: {}", i.detail),
            None => format!("{} {}", i.path, i.detail),
        })
        .collect();
    let more = outcome.items.len().saturating_sub(SHOWN);
    let more = if more > 0 {
        format!("; +{more} more")
    } else {
        String::new()
    };
    format!("{} ({}{more})", outcome.reason, inner.join("; "))
}

/// The date `amount` months or years before `today`, clamped to the month's last day.
fn go_back(today: time::Date, amount: u64, unit: AgeUnit) -> Option<time::Date> {
    let months = match unit {
        AgeUnit::Months => i64::try_from(amount).ok()?,
        AgeUnit::Years => i64::try_from(amount).ok()?.checked_mul(12)?,
    };
    let total = i64::from(today.year()) * 12 + i64::from(u8::from(today.month())) - 1 - months;
    let year = i32::try_from(total.div_euclid(12)).ok()?;
    let month = time::Month::try_from(u8::try_from(total.rem_euclid(12) + 1).ok()?).ok()?;
    let day = today.day().min(time::util::days_in_month(month, year));
    time::Date::from_calendar_date(year, month, day).ok()
}

fn unit_name(unit: AgeUnit) -> &'static str {
    match unit {
        AgeUnit::Months => "months",
        AgeUnit::Years => "years",
    }
}

/// Deny by default: the members of `value` that are present, not empty, and not in `known`.
/// `null` has none; anything but an object or null is not understood.
fn unknown_members(value: &Value, known: &[Value]) -> Result<(), String> {
    match value {
        Value::Null => Ok(()),
        Value::Object(map) => {
            let unknown: Vec<String> = map
                .iter()
                .filter(|(key, member)| {
                    !is_annotation(key)
                        && !is_empty(member)
                        && !known.iter().any(|k| k.as_str() == Some(key.as_str()))
                })
                .map(|(key, member)| format!("{key} = {}", show(member)))
                .collect();
            if unknown.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "sets {}, which the pack neither knows as neutral nor judges",
                    unknown.join(", ")
                ))
            }
        }
        other => Err(format!("is {}, not an object", show(other))),
    }
}

/// Empty means nothing configured: `null`, `""`, `[]`, `{}`, or an object whose members are all
/// empty. OData annotations (`@odata.type`, `x@odata.context`) describe a value and are not part
/// of it.
pub(super) fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(list) => list.is_empty(),
        Value::Object(map) => map
            .iter()
            .all(|(key, member)| is_annotation(key) || is_empty(member)),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

/// `@odata.type`, `authenticationStrength@odata.context`: metadata about a value.
pub(super) fn is_annotation(member: &str) -> bool {
    member.contains('@')
}

/// Short JSON rendering of a value for a reason text.
fn show(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 80 {
        let cut: String = text.chars().take(77).collect();
        format!("{cut}...")
    } else {
        text
    }
}

fn show_list(values: &[Value]) -> String {
    show(&Value::Array(values.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn going_back_months_clamps_to_the_last_day() {
        assert_eq!(
            go_back(date!(2026 - 03 - 31), 1, AgeUnit::Months),
            Some(date!(2026 - 02 - 28))
        );
        assert_eq!(
            go_back(date!(2026 - 01 - 15), 12, AgeUnit::Months),
            Some(date!(2025 - 01 - 15))
        );
        assert_eq!(
            go_back(date!(2026 - 06 - 01), 3, AgeUnit::Years),
            Some(date!(2023 - 06 - 01))
        );
    }

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
        let merged =
            merge_items([item("no MFA"), item("excludes a group"), item("no MFA")].into_iter());
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].detail, "no MFA; excludes a group");
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
