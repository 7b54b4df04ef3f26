//! Compiled rules and their evaluation: assertions over JSONPath selections, and combinators.
//!
//! Evaluation is three-valued. `Error` means "could not be decided" (unreadable or missing data),
//! and it is never turned into `Pass`: `all_of` passes only if every part passes, `any_of` only if
//! one part provably passes. This is how "never fail open" holds for composite rules.
//! Pure: no I/O, no clock, no environment.

use super::EVIDENCE_RESOURCE;
use crate::findings::FindingItem;
use crate::snapshot::{ResourceData, Snapshot};
use jsonpath_rust::parser::model::JpQuery;
use jsonpath_rust::query::js_path_process;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;

/// A JSONPath parsed once at load time, kept with its text for messages.
#[derive(Debug, Clone)]
pub struct Selector {
    pub text: String,
    pub(super) query: JpQuery,
    /// `$.a.b`: member names only, looked up directly. Quantifiers run such paths once per
    /// item (100k accounts); the general engine allocates a result list and a path per call.
    members: Option<MemberChain>,
}

/// A path of member names, with the normalized path of what it selects.
#[derive(Debug, Clone)]
struct MemberChain {
    names: Vec<String>,
    normalized: String,
}

impl Selector {
    pub(super) fn new(text: String, query: JpQuery) -> Selector {
        let members = member_chain(&query);
        Selector {
            text,
            query,
            members,
        }
    }

    /// Every value the path selects in `root`, with its normalized path.
    fn find<'a>(&self, root: &'a Value) -> Result<Vec<(&'a Value, String)>, String> {
        if let Some(chain) = &self.members {
            let mut value = root;
            for name in &chain.names {
                match value.get(name.as_str()) {
                    Some(inner) if value.is_object() => value = inner,
                    _ => return Ok(Vec::new()),
                }
            }
            return Ok(vec![(value, chain.normalized.clone())]);
        }
        js_path_process(&self.query, root)
            .map(|found| found.into_iter().map(|r| (r.val, r.path)).collect())
            .map_err(|err| err.to_string())
    }
}

/// The member names of a path made of nothing else, with the normalized path the general
/// engine gives it (asked of the engine itself, so the two cannot differ).
fn member_chain(query: &JpQuery) -> Option<MemberChain> {
    use jsonpath_rust::parser::model::{Segment, Selector as Step};
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
    pub assertion: Assertion,
    /// What the check looks at, for reasons: built once, not per item.
    pub subject: String,
}

/// One selection: a JSONPath into a resource (or the current item), optionally with groups
/// replaced by their members.
#[derive(Debug, Clone)]
pub struct Source {
    /// `None` inside `all`/`any`/`none`, where the selected item is the root.
    pub resource: Option<String>,
    pub path: Selector,
    /// A fan-out resource of group members keyed by group id: each selected group object
    /// (`@odata.type` `#microsoft.graph.group`) is replaced by the users in it.
    pub expand_groups: Option<String>,
}

/// A single value: written in the policy, or taken from the tenant settings.
#[derive(Debug, Clone)]
pub enum Operand {
    Literal(Value),
    Setting(Selector),
    /// A value from the policy's evidence declaration, e.g. the declared backup app id.
    Evidence(Selector),
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
    Equals(Operand),
    In(Values),
    NotIn(Values),
    /// Every selected value is in the list; nothing selected passes (e.g. exclusions).
    Only(Values),
    Contains(Value),
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
    operands: Option<&'a Operands>,
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
        }
    }
}

/// The values of a rule's `{setting: …}` and `{evidence: …}` operands, resolved once per
/// evaluation: a quantifier would otherwise query the settings document again for each of
/// 100k items. Keyed by the operand's address in the rule, which outlives the evaluation.
#[derive(Default)]
struct Operands {
    values: HashMap<usize, Result<Value, Outcome>>,
    lists: HashMap<usize, Result<Vec<Value>, Outcome>>,
}

impl Operands {
    fn resolve(rule: &Rule, ctx: Context<'_>) -> Operands {
        let mut operands = Operands::default();
        operands.collect(rule, ctx);
        operands
    }

    fn collect(&mut self, rule: &Rule, ctx: Context<'_>) {
        match rule {
            Rule::AllOf { rules, .. } | Rule::AnyOf { rules, .. } => {
                rules.iter().for_each(|r| self.collect(r, ctx));
            }
            Rule::Not { rule, .. } => self.collect(rule, ctx),
            Rule::Check(check) => match &check.assertion {
                Assertion::Equals(operand)
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
                Assertion::In(values) | Assertion::NotIn(values) | Assertion::Only(values) => {
                    if let Values::Setting(_) = values {
                        self.lists
                            .insert(address(values), resolve_list_now(ctx, values));
                    }
                }
                Assertion::All(rule) | Assertion::Any(rule) | Assertion::None(rule) => {
                    self.collect(rule, ctx);
                }
                Assertion::Exists(_) | Assertion::Contains(_) => {}
            },
        }
    }

    fn value(&mut self, operand: &Operand, ctx: Context<'_>) {
        if !matches!(operand, Operand::Literal(_)) {
            self.values
                .insert(address(operand), resolve_now(ctx, operand));
        }
    }
}

fn address<T>(node: &T) -> usize {
    std::ptr::from_ref(node) as usize
}

impl Context<'_> {
    fn truth_only(self) -> Self {
        Context {
            detail: false,
            ..self
        }
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
                    if name != EVIDENCE_RESOURCE && !names.contains(name) {
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
            Rule::AllOf { description, rules } => {
                let outcomes: Vec<Outcome> = rules.iter().map(|r| r.eval(ctx, scope)).collect();
                with_description(ctx, description, all_of(outcomes))
            }
            Rule::AnyOf { description, rules } => {
                let outcomes: Vec<Outcome> = rules.iter().map(|r| r.eval(ctx, scope)).collect();
                with_description(ctx, description, any_of(outcomes))
            }
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
/// misses three requirements), the reader sees it once, with every reason. Items stay in the
/// order they first appear; each is found by a hash of its path and label, not by a search of
/// those before it, so that 25 000 failing accounts cost 25 000 lookups rather than 300 million
/// comparisons (the table holds positions only: no key is copied).
fn merge_items(items: impl Iterator<Item = FindingItem>) -> Vec<FindingItem> {
    let mut merged: Vec<FindingItem> = Vec::new();
    let mut positions: hashbrown::HashTable<usize> = hashbrown::HashTable::new();
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

/// One selected value with its normalized path inside the scope root.
struct Selected<'a> {
    value: &'a Value,
    path: String,
}

impl Source {
    fn select<'a>(
        &self,
        ctx: Context<'a>,
        scope: Scope<'a>,
        name_paths: bool,
    ) -> Result<Vec<Selected<'a>>, Outcome> {
        let root = match (scope, &self.resource) {
            (Scope::Item(item), _) => item,
            (Scope::Resource, Some(name)) if name == EVIDENCE_RESOURCE => {
                ctx.evidence.ok_or_else(Outcome::no_declaration)?
            }
            (Scope::Resource, Some(name)) => read(ctx, name)?,
            (Scope::Resource, None) => {
                return Err(Outcome::new(
                    Truth::Error,
                    "rule has no resource (loader should have refused it)",
                ));
            }
        };
        let found = self.path.find(root).map_err(|err| {
            Outcome::new(
                Truth::Error,
                format!("JSONPath {} could not be evaluated: {err}", self.path.text),
            )
        })?;
        let mut selected = Vec::with_capacity(found.len());
        for (value, path) in found {
            let path = match (&self.resource, name_paths) {
                (Some(name), true) => format!("{name}{}", &path[1..]),
                _ => path,
            };
            match &self.expand_groups {
                Some(members) if is_group(value) => {
                    for (index, member) in
                        group_members(ctx, members, value)?.into_iter().enumerate()
                    {
                        selected.push(Selected {
                            value: member,
                            path: format!("{path} member {index}"),
                        });
                    }
                }
                _ => selected.push(Selected { value, path }),
            }
        }
        Ok(selected)
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
/// A group whose members were not read makes the check an error: its members are unknown.
fn group_members<'a>(
    ctx: Context<'a>,
    resource: &str,
    group: &Value,
) -> Result<Vec<&'a Value>, Outcome> {
    let id = group.get("id").and_then(Value::as_str).unwrap_or_default();
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
        for source in &self.sources {
            match source.select(ctx, scope, name_paths) {
                Ok(mut found) => selected.append(&mut found),
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
        match self.judge(ctx, &selected) {
            Ok(outcome) | Err(outcome) => outcome,
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
            Assertion::Contains(wanted) => self.each_value(ctx, selected, |v| match v {
                Value::Array(list) if list.contains(wanted) => Ok(()),
                Value::Array(list) => Err(format!(
                    "{} does not contain {}",
                    show_list(list),
                    show(wanted)
                )),
                other => Err(format!("is {}, not a list", show(other))),
            }),
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
            .map(|s| rule.eval(ctx.truth_only(), Scope::Item(s.value)).truth)
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
                .map(|s| self.item(s, detail_with_nested(&rule.eval(ctx, Scope::Item(s.value)))))
                .collect()
        };
        let first_error = || {
            with_truth(Truth::Error)
                .next()
                .map(|s| rule.eval(ctx, Scope::Item(s.value)).reason)
                .unwrap_or_default()
        };
        match quantifier {
            Quantifier::All if failed > 0 => Outcome {
                truth: Truth::Fail,
                reason: ctx
                    .say(|| format!("{failed} of {total} items at {at} do not satisfy the rule")),
                items: listed(Truth::Fail),
                missing_evidence: false,
            },
            Quantifier::Any if passed > 0 => Outcome::new(
                Truth::Pass,
                ctx.say(|| format!("{passed} of {total} items at {at} satisfy the rule")),
            ),
            Quantifier::None if passed > 0 => Outcome {
                truth: Truth::Fail,
                reason: ctx
                    .say(|| format!("{passed} of {total} items at {at} match, expected none")),
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
            proptest::prop_assert_eq!(merge_items(items.into_iter()), searched);
        }
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
