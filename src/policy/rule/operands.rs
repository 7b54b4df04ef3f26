//! The values a rule compares against, resolved: settings and evidence operands once per
//! evaluation, `{var: …}` per item, and the selection and index of every `where:` lookup that
//! reads a resource (built once, so 100k lookups cost a hash each).

use super::check::{resource_root, show, show_list};
use super::key_index::KeyIndex;
use super::{Assertion, Check, Context, Operand, Outcome, Rule, Source, Truth, Values, Where};
use crate::policy::selector::{Absences, Selector};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The values of a rule's `{setting: …}` and `{evidence: …}` operands, resolved once per
/// evaluation: a quantifier would otherwise query the settings document again for each of
/// 100k items. Keyed by the operand's address in the rule, which outlives the evaluation.
/// Likewise the selection and index of every `where:` source that reads a resource, so that
/// looking up 100k accounts' rows costs one selection and a hash lookup each.
///
/// And the outcome of every check inside a quantifier that reads only resources and no
/// `{var: …}`: it is the same for every item (MFA-04's "the cross-tenant default trusts MFA
/// done in the home organisation", judged again for each of 25 000 members without MFA), so it
/// is evaluated once per evaluation, with and without reasons, when first needed.
#[derive(Default)]
pub(super) struct Operands<'a> {
    pub(super) values: HashMap<usize, Result<Value, Outcome>>,
    pub(super) lists: HashMap<usize, Result<Vec<Value>, Outcome>>,
    /// The lists of `in:` assertions as reasons show them (`expected one of [...]`), made once
    /// per evaluation rather than for each of 50 000 failing items.
    pub(super) shown_lists: HashMap<usize, String>,
    pub(super) lookups: HashMap<usize, Result<Lookup<'a>, Outcome>>,
    pub(super) constant: HashMap<usize, Constant, foldhash::fast::RandomState>,
}

/// The outcome of a check that is the same for every item of the quantifiers around it: with
/// reasons and without, each evaluated once, when first needed.
#[derive(Default)]
pub(super) struct Constant {
    truth_only: OnceLock<Outcome>,
    with_reasons: OnceLock<Outcome>,
}

impl Constant {
    pub(super) fn get(&self, detail: bool, evaluate: impl FnOnce() -> Outcome) -> Outcome {
        let slot = if detail {
            &self.with_reasons
        } else {
            &self.truth_only
        };
        slot.get_or_init(evaluate).clone()
    }
}

/// A `where:` source's selection, indexed by its first key.
pub(super) struct Lookup<'a> {
    pub(super) found: Vec<(&'a Value, String)>,
    /// Members absent on the way, including values without the first key.
    pub(super) absent: Absences,
    pub(super) index: KeyIndex<'a>,
}

impl<'a> Operands<'a> {
    pub(super) fn resolve(rule: &Rule, ctx: Context<'a>) -> Operands<'a> {
        let mut operands = Operands::default();
        operands.collect(rule, ctx, false);
        operands
    }

    /// `quantified`: the rule is judged per item of an enclosing quantifier.
    fn collect(&mut self, rule: &Rule, ctx: Context<'a>, quantified: bool) {
        match rule {
            Rule::AllOf { rules, .. } | Rule::AnyOf { rules, .. } => {
                rules.iter().for_each(|r| self.collect(r, ctx, quantified));
            }
            Rule::Not { rule, .. } => self.collect(rule, ctx, quantified),
            Rule::Fallback(fallback) => {
                self.collect(&fallback.measured, ctx, quantified);
                self.collect(&fallback.declared, ctx, quantified);
            }
            Rule::Check(check) => {
                if quantified && is_constant(check) {
                    self.constant.insert(address(rule), Constant::default());
                }
                for source in &check.sources {
                    for condition in &source.lookup {
                        self.value(&condition.equals, ctx);
                    }
                    if let Some(parent) = &source.of {
                        self.value(parent, ctx);
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
                    | Assertion::EndsWith(operand)
                    | Assertion::NotOlderThan {
                        amount: operand, ..
                    } => {
                        self.value(operand, ctx);
                    }
                    Assertion::Count { min, max } | Assertion::Number { min, max } => {
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
                        // The list just resolved (or the literal one), not resolved again.
                        let list = match values {
                            Values::Literal(list) => Some(list),
                            Values::Setting(_) => self
                                .lists
                                .get(&address(values))
                                .and_then(|resolved| resolved.as_ref().ok()),
                        };
                        if let (Assertion::In(_), Some(list)) = (&check.assertion, list) {
                            self.shown_lists.insert(address(values), show_list(list));
                        }
                    }
                    Assertion::All(rule) | Assertion::Any(rule) | Assertion::None(rule) => {
                        self.collect(rule, ctx, true);
                    }
                    Assertion::Exists(_) | Assertion::Empty(_) | Assertion::Matches(_) => {}
                }
            }
        }
    }

    /// Settings and evidence operands; literals need nothing and `{var: …}` differs per item.
    fn value(&mut self, operand: &Operand, ctx: Context<'_>) {
        if let Operand::Concat(parts) = operand {
            parts.iter().for_each(|part| self.value(part, ctx));
            return;
        }
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
        let keys = selection
            .found
            .iter()
            .map(|(value, path)| key_value(&first.key, value, path, &mut absent))
            .collect();
        Ok(Lookup {
            found: selection.found,
            absent,
            index: KeyIndex::new(keys),
        })
    }
}

/// Whether a check gives the same outcome wherever it is evaluated within one evaluation: every
/// source names a resource (none starts at the item being judged), no operand is a `{var: …}`
/// (which differ per item), and it quantifies over nothing (whose rules could read either).
/// The rest of what a check reads (snapshot, settings, evidence, date) is fixed per evaluation.
fn is_constant(check: &Check) -> bool {
    let sources = check.sources.iter().all(|source| {
        source.resource.is_some()
            && source.of.as_ref().is_none_or(|of| !of.reads_var())
            && source.lookup.iter().all(|w| !w.equals.reads_var())
    });
    let assertion = match &check.assertion {
        Assertion::Equals(operand)
        | Assertion::Contains(operand)
        | Assertion::EndsWith(operand)
        | Assertion::NotOlderThan {
            amount: operand, ..
        } => !operand.reads_var(),
        Assertion::Count { min, max } | Assertion::Number { min, max } => {
            !min.iter().chain(max.iter()).any(Operand::reads_var)
        }
        Assertion::In(_)
        | Assertion::NotIn(_)
        | Assertion::Only(_)
        | Assertion::OnlyMembers(_)
        | Assertion::Exists(_)
        | Assertion::Empty(_)
        | Assertion::Matches(_) => true,
        Assertion::All(_) | Assertion::Any(_) | Assertion::None(_) => false,
    };
    sources && assertion && check.bind.is_none() && check.bind_group.is_none()
}

impl Operand {
    /// Whether the operand reads a value bound by a quantifier (`{var: …}`, also in a concat).
    fn reads_var(&self) -> bool {
        match self {
            Operand::Var { .. } => true,
            Operand::Concat(parts) => parts.iter().any(Operand::reads_var),
            Operand::Literal(_) | Operand::Setting(_) | Operand::Evidence(_) => false,
        }
    }
}

/// The value at `key` in `value`, as the text an index is keyed by; an absent key is noted.
pub(super) fn key_of(
    key: &Selector,
    value: &Value,
    path: &str,
    absent: &mut Absences,
) -> Option<String> {
    key_value(key, value, path, absent).map(Value::to_string)
}

/// The value at `key` in `value`; an absent key is noted.
fn key_value<'v>(
    key: &Selector,
    value: &'v Value,
    path: &str,
    absent: &mut Absences,
) -> Option<&'v Value> {
    let selection = key.select(value).ok()?;
    for described in selection.absent.described.iter().take(1) {
        let at = described.strip_prefix('$').unwrap_or(described);
        absent.add(format!("{path}{at}"));
    }
    selection.found.first().map(|(found, _)| *found)
}

pub(super) fn address<T>(node: &T) -> usize {
    std::ptr::from_ref(node) as usize
}

/// What `selector` selects in a settings document or evidence declaration (`what` names it in
/// the error).
pub(super) fn lookup<'a>(
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
pub(super) fn setting_values<'a>(
    ctx: Context<'a>,
    selector: &Selector,
) -> Result<Vec<&'a Value>, Outcome> {
    Ok(lookup(ctx.settings, selector, "setting")?
        .into_iter()
        .flat_map(|value| match value {
            Value::Array(list) => list.iter().collect::<Vec<_>>(),
            other => vec![other],
        })
        .collect())
}

pub(super) fn resolve(ctx: Context<'_>, operand: &Operand) -> Result<Value, Outcome> {
    if let Operand::Literal(value) = operand {
        return Ok(value.clone());
    }
    match ctx.operands.and_then(|o| o.values.get(&address(operand))) {
        Some(resolved) => resolved.clone(),
        None => resolve_now(ctx, operand),
    }
}

pub(super) fn resolve_now(ctx: Context<'_>, operand: &Operand) -> Result<Value, Outcome> {
    let (found, missing) = match operand {
        Operand::Literal(value) => return Ok(value.clone()),
        Operand::Concat(parts) => {
            let mut text = String::new();
            for part in parts {
                match resolve(ctx, part)? {
                    Value::String(part) => text.push_str(&part),
                    Value::Number(number) => text.push_str(&number.to_string()),
                    other => {
                        return Err(Outcome::new(
                            Truth::Error,
                            format!(
                                "cannot be judged: concat has a part that is {}, not a text",
                                show(&other)
                            ),
                        ));
                    }
                }
            }
            return Ok(Value::String(text));
        }
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

pub(super) fn resolve_list<'r>(
    ctx: Context<'r>,
    values: &'r Values,
) -> Result<Cow<'r, [Value]>, Outcome> {
    if let Values::Literal(list) = values {
        return Ok(Cow::Borrowed(list));
    }
    match ctx.operands.and_then(|o| o.lists.get(&address(values))) {
        Some(Ok(list)) => Ok(Cow::Borrowed(list)),
        Some(Err(outcome)) => Err(outcome.clone()),
        None => resolve_list_now(ctx, values).map(Cow::Owned),
    }
}

pub(super) fn resolve_list_now(ctx: Context<'_>, values: &Values) -> Result<Vec<Value>, Outcome> {
    match values {
        Values::Literal(list) => Ok(list.clone()),
        Values::Setting(selector) => Ok(setting_values(ctx, selector)?
            .into_iter()
            .cloned()
            .collect()),
    }
}

pub(super) fn resolve_count(ctx: Context<'_>, bound: &Operand) -> Result<u64, Outcome> {
    let value = resolve(ctx, bound)?;
    value.as_u64().ok_or_else(|| {
        Outcome::new(
            Truth::Error,
            format!("count bound {} is not a whole number", show(&value)),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(rule: &serde_json::Value) -> Check {
        let pack = crate::policy::pack_with_rule(format_args!(
            "{{resource: users, path: '$.value[*]', as: u, all: {rule}}}"
        ));
        match &pack.policies[0].rule.as_ref().expect("a rule") {
            Rule::Check(outer) => match &outer.assertion {
                Assertion::All(inner) => match &**inner {
                    Rule::Check(inner) => (**inner).clone(),
                    other => panic!("not a check: {other:?}"),
                },
                other => panic!("not a quantifier: {other:?}"),
            },
            other => panic!("not a check: {other:?}"),
        }
    }

    /// Only a check that reads no item is evaluated once for all items: one that starts at
    /// the item, compares with a bound value or looks a row up by it, or quantifies, is not.
    #[test]
    fn only_checks_that_read_no_item_are_constant() {
        use serde_json::json;
        let constant = [
            json!({"resource": "report_settings", "path": "$.displayConcealedNames", "equals": true}),
            json!({"resource": "users", "path": "$.value[?@.n == 1]", "exists": false}),
            json!({"resource": "users", "path": "$.value[*].n", "in": {"setting": "$.accepted_geos"}}),
        ];
        for rule in constant {
            assert!(is_constant(&check(&rule)), "{rule}");
        }
        let per_item = [
            json!({"path": "$.n", "equals": 1}),
            json!({"resource": "users", "path": "$.value[*].n", "equals": {"var": "u", "path": "$.n"}}),
            json!({"resource": "users", "path": "$.value[*]",
                   "where": [{"key": "$.id", "equals": {"var": "u", "path": "$.id"}}],
                   "exists": true}),
            json!({"resource": "users", "path": "$.value[*]", "any": {"path": "$.n", "equals": 1}}),
            json!({"resource": "users", "path": "$.value[*]", "equals": {"concat": ["x", {"var": "u", "path": "$.n"}]}}),
        ];
        for rule in per_item {
            assert!(!is_constant(&check(&rule)), "{rule}");
        }
    }
}
