//! One check: what its sources select (joins, lookups, expanded groups), whether absent members
//! or unreadable sources leave it unknown, and its assertion over the selection.

use super::operands::{address, key_of, resolve, resolve_count, resolve_list};
use super::{
    AgeUnit, Assertion, Binding, Check, Context, Operand, Outcome, Rule, Scope, Source, Truth,
};
use crate::findings::FindingItem;
use crate::policy::selector::{Absences, Selection};
use crate::policy::{EVIDENCE_RESOURCE, SETTINGS_RESOURCE};
use crate::snapshot::ResourceData;
use rayon::prelude::*;
use serde_json::Value;

/// One selected value with its normalized path inside the scope root.
pub(super) struct Selected<'a> {
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
        static NOTHING: Value = Value::Null;
        let root = match (scope, &self.resource) {
            // `absent: ok` on the declaration: no declaration at all reads as nothing (the
            // loader allows it only with assertions that fail on nothing). An expired or
            // incomplete one is still missing evidence.
            (_, Some(name)) if name == EVIDENCE_RESOURCE && absent_ok && ctx.no_declaration => {
                ctx.evidence.unwrap_or(&NOTHING)
            }
            (_, Some(name)) => match &self.of {
                Some(parent) => fan_out_entry(ctx, name, parent)?,
                None => resource_root(ctx, name)?,
            },
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
                    .rows(&wanted)
                    .into_iter()
                    .filter_map(|i| lookup.found.get(i).cloned())
                    .collect(),
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
pub(super) fn resource_root<'a>(ctx: Context<'a>, name: &str) -> Result<&'a Value, Outcome> {
    match name {
        EVIDENCE_RESOURCE => ctx.evidence.ok_or_else(Outcome::no_declaration),
        SETTINGS_RESOURCE => Ok(ctx.settings),
        _ => read(ctx, name),
    }
}

/// `of:`: the collection a fan-out resource holds for one parent id, `{"value": [...]}`. A
/// parent whose entry was not read makes the check an error: its items are unknown.
fn fan_out_entry<'a>(ctx: Context<'a>, name: &str, parent: &Operand) -> Result<&'a Value, Outcome> {
    let id = resolve(ctx, parent)?;
    let Some(id) = id.as_str() else {
        return Err(Outcome::new(
            Truth::Error,
            format!("{name}: `of` gives {}, not an id", show(&id)),
        ));
    };
    read(ctx, name)?
        .get(id)
        .filter(|entry| entry.get("value").is_some_and(Value::is_array))
        .ok_or_else(|| Outcome::new(Truth::Error, format!("{name} was not read for {id}")))
}

pub(super) fn read<'a>(ctx: Context<'a>, name: &str) -> Result<&'a Value, Outcome> {
    match ctx.snapshot.resource(name) {
        Some(ResourceData::Read(value)) => Ok(value),
        Some(ResourceData::Unreadable(reason) | ResourceData::Unavailable(reason)) => {
            Err(Outcome::new(Truth::Error, reason.clone()))
        }
        None => Err(Outcome::new(
            Truth::Error,
            format!("{name} was not collected in this snapshot"),
        )),
    }
}

/// A group among directory objects: how a service marks one is the registry's knowledge.
pub(super) fn is_group(value: &Value) -> bool {
    crate::registry::is_group(value)
}

/// The non-group members of a group, from a fan-out resource `{"<group id>": {"value": [...]}}`.
/// The group is a directory object or its id. A group whose members were not read makes the
/// check an error: its members are unknown.
pub(super) fn group_members<'a>(
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
pub(in crate::policy) fn subject_of(sources: &[Source]) -> String {
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
    pub(super) fn eval<'a>(&self, ctx: Context<'a>, scope: Scope<'a>) -> Outcome {
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
                    declared: false,
                }
            }
            Assertion::Empty(true) if selected.is_empty() => Outcome::new(
                Truth::Pass,
                ctx.say(|| format!("nothing at {at} (empty, null or absent)")),
            ),
            Assertion::Empty(true) => self.each_value(ctx, selected, |v| {
                is_empty(v).then_some(()).ok_or_else(|| {
                    ctx.say(|| format!("is {}, expected empty, null or absent", show(v)))
                })
            }),
            Assertion::Empty(false) => self.each_value(ctx, selected, |v| {
                (!is_empty(v)).then_some(()).ok_or_else(|| {
                    ctx.say(|| format!("is {}, expected a non-empty value", show(v)))
                })
            }),
            Assertion::Equals(expected) => {
                let expected = resolve(ctx, expected)?;
                self.each_value(ctx, selected, |v| {
                    (v == &expected).then_some(()).ok_or_else(|| {
                        ctx.say(|| format!("is {}, expected {}", show(v), show(&expected)))
                    })
                })
            }
            Assertion::In(values) => {
                let allowed = resolve_list(ctx, values)?;
                // Shown once per evaluation (or at least once per item) for the thousands of
                // values that may fail it.
                let made = ctx
                    .operands
                    .and_then(|operands| operands.shown_lists.get(&address(values)));
                let shown = std::cell::OnceCell::new();
                self.each_value(ctx, selected, |v| {
                    allowed.contains(v).then_some(()).ok_or_else(|| {
                        ctx.say(|| {
                            let expected =
                                made.unwrap_or_else(|| shown.get_or_init(|| show_list(&allowed)));
                            format!("is {}, expected one of {expected}", show(v))
                        })
                    })
                })
            }
            Assertion::NotIn(forbidden) => {
                let forbidden = resolve_list(ctx, forbidden)?;
                self.each_value(ctx, selected, |v| {
                    (!forbidden.contains(v))
                        .then_some(())
                        .ok_or_else(|| ctx.say(|| format!("is {}, which is not allowed", show(v))))
                })
            }
            Assertion::Only(_) if selected.is_empty() => {
                Outcome::new(Truth::Pass, format!("nothing at {at}"))
            }
            Assertion::Only(allowed) => {
                let allowed = resolve_list(ctx, allowed)?;
                self.each_value(ctx, selected, |v| {
                    allowed.contains(v).then_some(()).ok_or_else(|| {
                        ctx.say(|| format!("is {}, which is not in the allowed list", show(v)))
                    })
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
            Assertion::EndsWith(suffix) => {
                let suffix = resolve(ctx, suffix)?;
                let Some(suffix) = suffix.as_str() else {
                    return Err(Outcome::new(
                        Truth::Error,
                        format!("ends_with needs a text, got {}", show(&suffix)),
                    ));
                };
                self.each_value(ctx, selected, |v| match v {
                    Value::String(text) if text.ends_with(suffix) => Ok(()),
                    Value::String(_) => Err(format!(
                        "is {}, which does not end with {suffix:?}",
                        show(v)
                    )),
                    other => Err(format!("is {}, not a string", show(other))),
                })
            }
            Assertion::Number { min, max } => {
                let bound = |operand: &Option<Operand>| -> Result<Option<f64>, Outcome> {
                    let Some(operand) = operand else {
                        return Ok(None);
                    };
                    let value = resolve(ctx, operand)?;
                    number_of(&value).map(Some).ok_or_else(|| {
                        Outcome::new(
                            Truth::Error,
                            format!("number bound {} is not a number", show(&value)),
                        )
                    })
                };
                let (min, max) = (bound(min)?, bound(max)?);
                self.each_value(ctx, selected, |v| match number_of(v) {
                    None => Err(format!("is {}, not a number", show(v))),
                    Some(n) if min.is_some_and(|lo| n < lo) => {
                        Err(format!("is {}, below {}", show(v), min.unwrap_or_default()))
                    }
                    Some(n) if max.is_some_and(|hi| n > hi) => {
                        Err(format!("is {}, above {}", show(v), max.unwrap_or_default()))
                    }
                    Some(_) => Ok(()),
                })
            }
            Assertion::OnlyMembers(known) => {
                let known = resolve_list(ctx, known)?;
                self.each_value_or_nothing(ctx, selected, |v| unknown_members(v, &known))
            }
            Assertion::Count { min, max } => {
                let min = min.as_ref().map(|b| resolve_count(ctx, b)).transpose()?;
                let max = max.as_ref().map(|b| resolve_count(ctx, b)).transpose()?;
                self.count(selected, min, max)
            }
            Assertion::NotOlderThan {
                amount,
                unit,
                from_collection,
            } => {
                let amount = resolve_count(ctx, amount)?;
                // A snapshot built in memory may not say when it was collected: then the scan
                // date, which is never earlier, is the stricter reference.
                let collected = from_collection
                    .then(|| crate::evidence::parse_date(&ctx.snapshot.meta.collected_at))
                    .flatten();
                let (reference, what) = match collected {
                    Some(day) => (day, "the collection date"),
                    None => (ctx.today, "the scan date"),
                };
                let Some(oldest) = go_back(reference, amount, *unit) else {
                    return Err(Outcome::new(
                        Truth::Error,
                        format!("cannot go back {amount} {unit:?} from {reference}"),
                    ));
                };
                self.each_value(ctx, selected, |v| {
                    match v.as_str().and_then(crate::evidence::parse_date) {
                        None => Err(format!("is {}, not a date (YYYY-MM-DD)", show(v))),
                        Some(date) if date > reference => {
                            Err(format!("is {date}, after {what} {reference}"))
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
            label.first(selected.value).map(|value| match value {
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

    /// Applies a value test to every selected value; nothing selected is a fail. A test words
    /// its failure through `ctx.say`, so that the truth-only pass (which drops the words) does
    /// not format them for every failing value: 25 000 users outside the EU, and each member
    /// without MFA through MFA-04's B2B alternative, are formatted once, when listed.
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
                declared: false,
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
                declared: false,
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
        // Each item's truth first, without reasons (most items of a large selection pass, and
        // a pass needs no words); the items the outcome lists are then evaluated again with
        // their reasons. Both on every core when there are many (50 000 accounts, of which
        // 25 000 members without MFA): a live scan's last answer is often the accounts', and
        // judging them is then all that stands between it and the report.
        let judge = |s: &Selected<'a>| Judgement::of(&self.on_item(ctx.truth_only(), rule, s));
        let truths: Vec<Judgement> = if selected.len() >= PARALLEL_FROM {
            selected.par_iter().map(judge).collect()
        } else {
            selected.iter().map(judge).collect()
        };
        // An error of the whole is missing evidence when every item's error is; a pass of
        // `all` rests on every item, a pass of `any` on the items that pass.
        let missing_evidence = truths
            .iter()
            .filter(|j| j.truth == Truth::Error)
            .all(|j| j.missing_evidence);
        let declared_by = |truth: Truth| truths.iter().any(|j| j.truth == truth && j.declared);
        let count = |t: Truth| truths.iter().filter(|j| j.truth == t).count();
        let (passed, failed, errors) =
            (count(Truth::Pass), count(Truth::Fail), count(Truth::Error));
        let total = selected.len();
        let with_truth = |truth: Truth| {
            selected
                .iter()
                .zip(&truths)
                .filter(move |(_, j)| j.truth == truth)
                .map(|(s, _)| s)
        };
        let listed = |truth: Truth| -> Result<Vec<FindingItem>, Outcome> {
            if !ctx.detail {
                return Ok(Vec::new());
            }
            let items: Vec<&Selected<'a>> = with_truth(truth).collect();
            let again: Vec<(&Selected<'a>, Listed)> = if items.len() >= PARALLEL_FROM {
                items
                    .par_iter()
                    .map(|&s| (s, self.listed_item(ctx, rule, s)))
                    .collect()
            } else {
                items
                    .iter()
                    .map(|&s| (s, self.listed_item(ctx, rule, s)))
                    .collect()
            };
            self.agreeing(again, truth)
        };
        let first_error = || {
            with_truth(Truth::Error)
                .next()
                .map(|s| self.on_item(ctx, rule, s).reason)
                .unwrap_or_default()
        };
        // A fail that lists the items judged `truth` (or unknown, if the passes disagree).
        let fail_listing = |truth: Truth, reason: String| match listed(truth) {
            Ok(items) => Outcome {
                truth: Truth::Fail,
                reason,
                items,
                missing_evidence: false,
                declared: false,
            },
            Err(unknown) => unknown,
        };
        match quantifier {
            Quantifier::All if failed > 0 => fail_listing(
                Truth::Fail,
                ctx.say(|| {
                    format!(
                        "{failed} of {total} items at {at} do not satisfy the rule{}",
                        also_unknown(errors, first_error)
                    )
                }),
            ),
            Quantifier::Any if passed > 0 => Outcome {
                declared: declared_by(Truth::Pass),
                ..Outcome::new(
                    Truth::Pass,
                    ctx.say(|| format!("{passed} of {total} items at {at} satisfy the rule")),
                )
            },
            Quantifier::None if passed > 0 => fail_listing(
                Truth::Pass,
                ctx.say(|| {
                    format!(
                        "{passed} of {total} items at {at} match, expected none{}",
                        also_unknown(errors, first_error)
                    )
                }),
            ),
            _ if errors > 0 => Outcome {
                missing_evidence,
                ..Outcome::new(
                    Truth::Error,
                    ctx.say(|| {
                        format!(
                            "{errors} of {total} items at {at} could not be evaluated: {}",
                            first_error()
                        )
                    }),
                )
            },
            Quantifier::All => Outcome {
                declared: declared_by(Truth::Pass),
                ..Outcome::new(
                    Truth::Pass,
                    ctx.say(|| format!("all {total} items at {at} satisfy the rule")),
                )
            },
            Quantifier::Any => fail_listing(
                Truth::Fail,
                ctx.say(|| format!("none of the {total} items at {at} satisfies the rule")),
            ),
            Quantifier::None => Outcome::new(
                Truth::Pass,
                ctx.say(|| format!("none of the {total} items at {at} match")),
            ),
        }
    }

    /// The listed items, each evaluated again with its reasons, if every one of them came out
    /// `truth` again, as the first pass found. Never fail open: an item judged one way without
    /// reasons and another way with them (a bug in the evaluator) makes the whole unknown,
    /// never a pass or a list that says something else.
    fn agreeing(
        &self,
        again: Vec<(&Selected<'_>, Listed)>,
        truth: Truth,
    ) -> Result<Vec<FindingItem>, Outcome> {
        match again.iter().find(|(_, listed)| listed.truth != truth) {
            Some((item, _)) => Err(disagreement(self, item, truth)),
            None => Ok(again.into_iter().map(|(_, listed)| listed.item).collect()),
        }
    }

    /// An item the outcome lists: evaluated again with reasons, its detail and its truth (which
    /// must be the truth the first pass found).
    fn listed_item<'a>(&self, ctx: Context<'a>, rule: &Rule, item: &Selected<'a>) -> Listed {
        let outcome = self.on_item(ctx.listing_item(), rule, item);
        Listed {
            truth: outcome.truth,
            item: self.item(item, detail_with_nested(&outcome)),
        }
    }
}

/// From a quantifier's selection on: more items than this are judged on every core.
pub(super) const PARALLEL_FROM: usize = 256;

/// What the first pass keeps of an item's outcome: its truth and the flags the quantifier's
/// own outcome takes from it (not its empty reason: 50 000 of them were kept).
struct Judgement {
    truth: Truth,
    missing_evidence: bool,
    declared: bool,
}

impl Judgement {
    fn of(outcome: &Outcome) -> Self {
        Judgement {
            truth: outcome.truth,
            missing_evidence: outcome.missing_evidence,
            declared: outcome.declared,
        }
    }
}

/// An item evaluated again with reasons, for the finding's list.
struct Listed {
    truth: Truth,
    item: FindingItem,
}

/// The two passes over an item disagree: a bug in the evaluator, reported as unknown (never
/// fail open), naming the item so that it can be reproduced.
fn disagreement(check: &Check, item: &Selected<'_>, first: Truth) -> Outcome {
    Outcome::new(
        Truth::Error,
        format!(
            "internal error: the item at {} of {} was judged {first:?} without reasons and \
             differently with them; please report this",
            item.path,
            check.subject()
        ),
    )
}

/// A failing quantifier still says how many items it could not judge, and why the first not.
pub(super) fn also_unknown(errors: usize, first_error: impl FnOnce() -> String) -> String {
    if errors == 0 {
        String::new()
    } else {
        format!("; {errors} more could not be evaluated: {}", first_error())
    }
}

#[derive(Clone, Copy)]
pub(super) enum Quantifier {
    All,
    Any,
    None,
}

/// An item's detail: why it failed, plus what inside it failed (e.g. which excluded account),
/// since the nested items themselves are not listed at the top level. Built at its exact
/// length: it is kept for every listed item (25 000 members without MFA), and a string grown
/// piece by piece would hold up to twice its length until the report is written.
pub(super) fn detail_with_nested(outcome: &Outcome) -> String {
    const SHOWN: usize = 5;
    if outcome.items.is_empty() {
        return outcome.reason.clone();
    }
    let more = outcome.items.len().saturating_sub(SHOWN);
    let more = if more > 0 {
        format!("; +{more} more")
    } else {
        String::new()
    };
    let inner = || {
        outcome.items.iter().take(SHOWN).map(|i| match &i.label {
            Some(label) => (label.as_str(), ": ", i.detail.as_str()),
            None => (i.path.as_str(), " ", i.detail.as_str()),
        })
    };
    let length = outcome.reason.len()
        + " (".len()
        + inner()
            .map(|(name, between, detail)| name.len() + between.len() + detail.len())
            .sum::<usize>()
        + "; ".len() * (inner().count() - 1)
        + more.len()
        + ")".len();
    let mut detail = String::with_capacity(length);
    detail.push_str(&outcome.reason);
    detail.push_str(" (");
    for (at, (name, between, text)) in inner().enumerate() {
        if at > 0 {
            detail.push_str("; ");
        }
        detail.push_str(name);
        detail.push_str(between);
        detail.push_str(text);
    }
    detail.push_str(&more);
    detail.push(')');
    detail
}

/// The date `amount` days, months or years before `today`; months and years clamped to the
/// month's last day.
pub(super) fn go_back(today: time::Date, amount: u64, unit: AgeUnit) -> Option<time::Date> {
    let months = match unit {
        AgeUnit::Days => {
            return today.checked_sub(time::Duration::days(i64::try_from(amount).ok()?));
        }
        AgeUnit::Months => i64::try_from(amount).ok()?,
        AgeUnit::Years => i64::try_from(amount).ok()?.checked_mul(12)?,
    };
    let total = i64::from(today.year()) * 12 + i64::from(u8::from(today.month())) - 1 - months;
    let year = i32::try_from(total.div_euclid(12)).ok()?;
    let month = time::Month::try_from(u8::try_from(total.rem_euclid(12) + 1).ok()?).ok()?;
    let day = today.day().min(time::util::days_in_month(month, year));
    time::Date::from_calendar_date(year, month, day).ok()
}

pub(super) fn unit_name(unit: AgeUnit) -> &'static str {
    match unit {
        AgeUnit::Days => "days",
        AgeUnit::Months => "months",
        AgeUnit::Years => "years",
    }
}

/// Deny by default: the members of `value` that are present, not empty, and not in `known`.
/// `null` has none; anything but an object or null is not understood.
pub(super) fn unknown_members(value: &Value, known: &[Value]) -> Result<(), String> {
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
pub(in crate::policy) fn is_empty(value: &Value) -> bool {
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
pub(in crate::policy) fn is_annotation(member: &str) -> bool {
    member.contains('@')
}

/// A JSON number, or a string holding a plain decimal number (`"2555"`, `"-1.5"`): the admin
/// APIs send `Unlimited<int>` and similar values as text. Anything else (`"Unlimited"`,
/// `"1e3"`, `"NaN"`, `true`) is not a number.
pub(super) fn number_of(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(text) => {
            let digits = text.strip_prefix('-').unwrap_or(text);
            let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
            let plain = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
            if plain(whole) && plain(fraction) {
                text.parse().ok()
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Short JSON rendering of a value for a reason text.
pub(super) fn show(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 80 {
        let cut: String = text.chars().take(77).collect();
        format!("{cut}...")
    } else {
        text
    }
}

pub(super) fn show_list(values: &[Value]) -> String {
    show(&Value::Array(values.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    /// The compiled check of a pack whose only policy has `rule` (JSON, which is YAML).
    fn compiled(rule: &serde_json::Value) -> Check {
        let pack = crate::policy::pack_with_rule(rule);
        match &pack.policies[0].rule.as_ref().expect("a rule") {
            Rule::Check(check) => (**check).clone(),
            other => panic!("not a check: {other:?}"),
        }
    }

    /// Never fail open: when an item listed with its reasons comes out otherwise than the
    /// truth-only pass judged it, the quantifier is unknown (naming the item), never a list
    /// that contradicts its own verdict.
    #[test]
    fn passes_that_disagree_on_an_item_make_the_quantifier_unknown() {
        let check = compiled(&serde_json::json!({
            "resource": "users", "path": "$.value[*]", "all": {"path": "$.n", "equals": 1}
        }));
        let value = serde_json::json!({"n": 2});
        let selected = Selected {
            value: &value,
            path: "$['value'][4]".into(),
            via: None,
        };
        let listed = |truth: Truth| Listed {
            truth,
            item: FindingItem {
                path: selected.path.clone(),
                label: None,
                detail: "$.n is 2, expected 1".into(),
                identity: false,
            },
        };
        let agreeing = check.agreeing(vec![(&selected, listed(Truth::Fail))], Truth::Fail);
        assert_eq!(agreeing.map(|items| items.len()), Ok(1));
        for other in [Truth::Pass, Truth::Error] {
            let unknown = check
                .agreeing(vec![(&selected, listed(other))], Truth::Fail)
                .expect_err("the passes disagree");
            assert_eq!(unknown.truth, Truth::Error);
            assert!(
                unknown.reason.contains("$['value'][4]"),
                "{}",
                unknown.reason
            );
            assert!(unknown.items.is_empty());
        }
    }

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
        assert_eq!(
            go_back(date!(2026 - 03 - 01), 2, AgeUnit::Days),
            Some(date!(2026 - 02 - 27))
        );
    }

    #[test]
    fn numbers_are_json_numbers_or_plain_decimal_text() {
        use serde_json::json;
        assert_eq!(number_of(&json!(2555)), Some(2555.0));
        assert_eq!(number_of(&json!("2555")), Some(2555.0));
        assert_eq!(number_of(&json!("-1.5")), Some(-1.5));
        for not_a_number in [
            json!("Unlimited"),
            json!(""),
            json!("1e3"),
            json!("NaN"),
            json!("inf"),
            json!("12."),
            json!(" 12"),
            json!(true),
            json!(null),
        ] {
            assert_eq!(number_of(&not_a_number), None, "{not_a_number}");
        }
    }
}
