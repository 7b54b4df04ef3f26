//! Compiled rules and their evaluation: assertions over JSONPath selections, and combinators.
//!
//! Evaluation is three-valued. `Error` means "could not be decided" (unreadable or missing data),
//! and it is never turned into `Pass`: `all_of` passes only if every part passes, `any_of` only if
//! one part provably passes. This is how "never fail open" holds for composite rules.
//! Pure: no I/O, no clock, no environment.

use crate::findings::FindingItem;
use crate::snapshot::{ResourceData, Snapshot};
use jsonpath_rust::parser::model::JpQuery;
use jsonpath_rust::query::js_path_process;
use serde_json::Value;

/// A JSONPath parsed once at load time, kept with its text for messages.
#[derive(Debug, Clone)]
pub struct Selector {
    pub text: String,
    pub(super) query: JpQuery,
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
    Check(Check),
}

#[derive(Debug, Clone)]
pub struct Check {
    pub description: Option<String>,
    /// `None` inside `all`/`any`/`none`, where the selected item is the root.
    pub resource: Option<String>,
    pub path: Selector,
    pub label: Option<Selector>,
    pub allow_empty: bool,
    pub assertion: Assertion,
}

#[derive(Debug, Clone)]
pub enum Assertion {
    Exists(bool),
    Equals(Value),
    In(Vec<Value>),
    NotIn(Vec<Value>),
    Contains(Value),
    Count { min: Option<u64>, max: Option<u64> },
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
}

impl Outcome {
    fn new(truth: Truth, reason: impl Into<String>) -> Self {
        Outcome {
            truth,
            reason: reason.into(),
            items: Vec::new(),
        }
    }
}

/// Where a rule's selections start: a snapshot resource, or one selected item.
#[derive(Clone, Copy)]
enum Scope<'a> {
    Snapshot(&'a Snapshot),
    Item(&'a Value),
}

impl Rule {
    /// Evaluates against a snapshot (top-level rules name their resource).
    pub fn evaluate(&self, snapshot: &Snapshot) -> Outcome {
        self.eval(Scope::Snapshot(snapshot))
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
                if let Some(name) = &check.resource
                    && !names.contains(name)
                {
                    names.push(name.clone());
                }
            }
        }
    }

    fn eval(&self, scope: Scope<'_>) -> Outcome {
        match self {
            Rule::AllOf { description, rules } => {
                let outcomes: Vec<Outcome> = rules.iter().map(|r| r.eval(scope)).collect();
                with_description(description, all_of(outcomes))
            }
            Rule::AnyOf { description, rules } => {
                let outcomes: Vec<Outcome> = rules.iter().map(|r| r.eval(scope)).collect();
                with_description(description, any_of(outcomes))
            }
            Rule::Not { description, rule } => {
                let inner = rule.eval(scope);
                let outcome = match inner.truth {
                    Truth::Pass => Outcome::new(
                        Truth::Fail,
                        format!("not expected, but holds: {}", inner.reason),
                    ),
                    Truth::Fail => Outcome::new(
                        Truth::Pass,
                        format!("as expected, does not hold: {}", inner.reason),
                    ),
                    Truth::Error => inner,
                };
                with_description(description, outcome)
            }
            Rule::Check(check) => with_description(&check.description, check.eval(scope)),
        }
    }
}

fn with_description(description: &Option<String>, mut outcome: Outcome) -> Outcome {
    if let Some(description) = description
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
    let items = deciding.into_iter().flat_map(|o| o.items).collect();
    Outcome {
        truth,
        reason,
        items,
    }
}

/// One selected value with its normalized path inside the scope root.
struct Selected<'a> {
    value: &'a Value,
    path: String,
}

impl Check {
    fn eval(&self, scope: Scope<'_>) -> Outcome {
        let root = match (scope, &self.resource) {
            (Scope::Item(item), _) => item,
            (Scope::Snapshot(snapshot), Some(name)) => match snapshot.resource(name) {
                Some(ResourceData::Read(value)) => value,
                Some(ResourceData::Unreadable(reason)) => {
                    return Outcome::new(Truth::Error, reason.clone());
                }
                None => {
                    return Outcome::new(
                        Truth::Error,
                        format!("{name} was not collected in this snapshot"),
                    );
                }
            },
            (Scope::Snapshot(_), None) => {
                return Outcome::new(
                    Truth::Error,
                    "rule has no resource (loader should have refused it)",
                );
            }
        };
        let selected: Vec<Selected<'_>> = match js_path_process(&self.path.query, root) {
            Ok(found) => found
                .into_iter()
                .map(|r| Selected {
                    value: r.val,
                    path: r.path,
                })
                .collect(),
            Err(err) => {
                return Outcome::new(
                    Truth::Error,
                    format!("JSONPath {} could not be evaluated: {err}", self.path.text),
                );
            }
        };
        let at = self.subject();
        match &self.assertion {
            Assertion::Exists(true) if selected.is_empty() => {
                Outcome::new(Truth::Fail, format!("nothing found at {at}"))
            }
            Assertion::Exists(true) => {
                Outcome::new(Truth::Pass, format!("{} found at {at}", selected.len()))
            }
            Assertion::Exists(false) if selected.is_empty() => {
                Outcome::new(Truth::Pass, format!("nothing at {at}, as required"))
            }
            Assertion::Exists(false) => {
                let items = selected
                    .iter()
                    .map(|s| self.item(s, "present, but must not be".into()))
                    .collect();
                Outcome {
                    truth: Truth::Fail,
                    reason: format!("{} found at {at}, expected none", selected.len()),
                    items,
                }
            }
            Assertion::Equals(expected) => self.each_value(&selected, |v| {
                (v == expected)
                    .then_some(())
                    .ok_or_else(|| format!("is {}, expected {}", show(v), show(expected)))
            }),
            Assertion::In(allowed) => self.each_value(&selected, |v| {
                allowed.contains(v).then_some(()).ok_or_else(|| {
                    format!("is {}, expected one of {}", show(v), show_list(allowed))
                })
            }),
            Assertion::NotIn(forbidden) => self.each_value(&selected, |v| {
                (!forbidden.contains(v))
                    .then_some(())
                    .ok_or_else(|| format!("is {}, which is not allowed", show(v)))
            }),
            Assertion::Contains(wanted) => self.each_value(&selected, |v| match v {
                Value::Array(list) if list.contains(wanted) => Ok(()),
                Value::Array(list) => Err(format!(
                    "{} does not contain {}",
                    show_list(list),
                    show(wanted)
                )),
                other => Err(format!("is {}, not a list", show(other))),
            }),
            Assertion::Count { min, max } => self.count(&selected, *min, *max),
            Assertion::All(rule) => self.quantify(&selected, rule, Quantifier::All),
            Assertion::Any(rule) => self.quantify(&selected, rule, Quantifier::Any),
            Assertion::None(rule) => self.quantify(&selected, rule, Quantifier::None),
        }
    }

    fn subject(&self) -> String {
        match &self.resource {
            Some(resource) => format!("{resource} {}", self.path.text),
            None => self.path.text.clone(),
        }
    }

    fn item(&self, selected: &Selected<'_>, detail: String) -> FindingItem {
        let label = self.label.as_ref().and_then(|label| {
            js_path_process(&label.query, selected.value)
                .ok()?
                .first()
                .map(|r| match r.val {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
        });
        FindingItem {
            path: selected.path.clone(),
            label,
            detail,
        }
    }

    /// Applies a value test to every selected value; nothing selected is a fail.
    fn each_value(
        &self,
        selected: &[Selected<'_>],
        test: impl Fn(&Value) -> Result<(), String>,
    ) -> Outcome {
        let at = self.subject();
        if selected.is_empty() {
            return Outcome::new(Truth::Fail, format!("no value at {at}"));
        }
        let failures: Vec<(&Selected<'_>, String)> = selected
            .iter()
            .filter_map(|s| test(s.value).err().map(|why| (s, why)))
            .collect();
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
            }
        } else {
            Outcome::new(Truth::Pass, format!("{n} found at {at}, within {range}"))
        }
    }

    fn quantify(&self, selected: &[Selected<'_>], rule: &Rule, quantifier: Quantifier) -> Outcome {
        let at = self.subject();
        if selected.is_empty() {
            return match quantifier {
                Quantifier::None => Outcome::new(Truth::Pass, format!("nothing at {at}")),
                Quantifier::All if self.allow_empty => {
                    Outcome::new(Truth::Pass, format!("nothing at {at} (allowed)"))
                }
                _ => Outcome::new(Truth::Fail, format!("nothing found at {at}")),
            };
        }
        let outcomes: Vec<(&Selected<'_>, Outcome)> = selected
            .iter()
            .map(|s| (s, rule.eval(Scope::Item(s.value))))
            .collect();
        let count = |t: Truth| outcomes.iter().filter(|(_, o)| o.truth == t).count();
        let (passed, failed, errors) =
            (count(Truth::Pass), count(Truth::Fail), count(Truth::Error));
        let total = selected.len();
        let listed = |truth: Truth| -> Vec<FindingItem> {
            outcomes
                .iter()
                .filter(|(_, o)| o.truth == truth)
                .map(|(s, o)| self.item(s, o.reason.clone()))
                .collect()
        };
        let first_error = || {
            outcomes
                .iter()
                .find(|(_, o)| o.truth == Truth::Error)
                .map(|(_, o)| o.reason.clone())
                .unwrap_or_default()
        };
        match quantifier {
            Quantifier::All if failed > 0 => Outcome {
                truth: Truth::Fail,
                reason: format!("{failed} of {total} items at {at} do not satisfy the rule"),
                items: listed(Truth::Fail),
            },
            Quantifier::Any if passed > 0 => Outcome::new(
                Truth::Pass,
                format!("{passed} of {total} items at {at} satisfy the rule"),
            ),
            Quantifier::None if passed > 0 => Outcome {
                truth: Truth::Fail,
                reason: format!("{passed} of {total} items at {at} match, expected none"),
                items: listed(Truth::Pass),
            },
            _ if errors > 0 => Outcome::new(
                Truth::Error,
                format!(
                    "{errors} of {total} items at {at} could not be evaluated: {}",
                    first_error()
                ),
            ),
            Quantifier::All => Outcome::new(
                Truth::Pass,
                format!("all {total} items at {at} satisfy the rule"),
            ),
            Quantifier::Any => Outcome {
                truth: Truth::Fail,
                reason: format!("none of the {total} items at {at} satisfies the rule"),
                items: listed(Truth::Fail),
            },
            Quantifier::None => Outcome::new(
                Truth::Pass,
                format!("none of the {total} items at {at} match"),
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
