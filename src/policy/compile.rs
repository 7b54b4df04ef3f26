//! Turns a parsed policy file into a checked [`Policy`], or a located diagnostic with a fix.
//!
//! Everything that can be known before a scan is checked here: the control exists, every
//! resource is in the registry, every JSONPath parses, every rule node has exactly one meaning.

use super::rule::{Assertion, Check, Rule, Selector};
use super::source::{PolicyFile, RawExample, RawRule};
use super::{Example, Policy};
use crate::catalog::Catalog;
use crate::diag::{Diagnostic, Position};
use crate::registry::Registry;
use serde_saphyr::{Location, Spanned};
use std::path::Path;

const ASSERTIONS: &str = "exists, equals, in, not_in, contains, count, all, any, none";

pub(super) struct Compiler<'a> {
    pub file: &'a Path,
    pub registry: &'a Registry,
    pub catalog: &'a Catalog,
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
        let rule = self.rule(&raw.rule, None, false)?;
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
            guideline: raw
                .guideline
                .unwrap_or_else(|| control.guideline.section.clone()),
            gdpr: raw.gdpr.unwrap_or_else(|| control.gdpr.clone()),
            remediation: raw.remediation,
            references: raw.references,
            resources: rule.resources(),
            rule,
            examples,
            file: self.file.to_path_buf(),
        })
    }

    /// `inherited` is the resource named by an enclosing combinator; `in_item` is true inside
    /// `all`/`any`/`none`, where the selected item is the root and no resource may be named.
    fn rule(
        &self,
        node: &Spanned<RawRule>,
        inherited: Option<&str>,
        in_item: bool,
    ) -> Result<Rule, Diagnostic> {
        let raw = &node.value;
        let at = &node.referenced;
        if in_item && let Some(resource) = &raw.resource {
            return Err(self.error(
                &resource.referenced,
                "`resource` inside all/any/none: there the selected item is the root",
                "remove `resource` and write the path relative to the item, e.g. $.state",
            ));
        }
        let resource = match &raw.resource {
            Some(name) => Some(self.resource(name)?),
            None => inherited.map(str::to_owned),
        };
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
            if raw.path.is_some() || count_assertions(raw) > 0 {
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
                    list.iter()
                        .map(|r| self.rule(r, resource.as_deref(), in_item))
                        .collect()
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
        let Some(path) = &raw.path else {
            return Err(self.error(at, "a rule node needs `path` with one assertion, or a combinator (all_of, any_of, not)",
                "add e.g. `path: $.displayConcealedNames` and `equals: true`"));
        };
        if resource.is_none() && !in_item {
            return Err(self.error(at, "this check names no resource",
                "add `resource: NAME` (from policies/resources.yaml) here or on an enclosing all_of/any_of"));
        }
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
        let assertion = self.assertion(raw, at)?;
        if raw.allow_empty.is_some() && !matches!(assertion, Assertion::All(_)) {
            return Err(self.error(
                at,
                "`allow_empty` only applies to `all`",
                "remove allow_empty",
            ));
        }
        Ok(Rule::Check(Check {
            description: raw.description.clone(),
            resource: if in_item { None } else { resource },
            path: self.selector(path)?,
            label: raw.label.as_ref().map(|l| self.selector(l)).transpose()?,
            allow_empty: raw.allow_empty.unwrap_or(false),
            assertion,
        }))
    }

    fn assertion(&self, raw: &RawRule, at: &Location) -> Result<Assertion, Diagnostic> {
        let nested = |inner: &Spanned<RawRule>| self.rule(inner, None, true).map(Box::new);
        Ok(if let Some(value) = raw.exists {
            Assertion::Exists(value)
        } else if let Some(value) = &raw.equals {
            Assertion::Equals(value.clone())
        } else if let Some(list) = &raw.one_of {
            Assertion::In(list.clone())
        } else if let Some(list) = &raw.not_in {
            Assertion::NotIn(list.clone())
        } else if let Some(value) = &raw.contains {
            Assertion::Contains(value.clone())
        } else if let Some(count) = &raw.count {
            let (min, max) = (count.value.min, count.value.max);
            if min.is_none() && max.is_none() {
                return Err(self.error(
                    &count.referenced,
                    "`count` needs `min`, `max` or both",
                    "e.g. `count: {min: 2, max: 4}`",
                ));
            }
            if let (Some(lo), Some(hi)) = (min, max)
                && lo > hi
            {
                return Err(self.error(
                    &count.referenced,
                    format!("`count` has min {lo} above max {hi}"),
                    "swap them",
                ));
            }
            Assertion::Count { min, max }
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

    fn resource(&self, name: &Spanned<String>) -> Result<String, Diagnostic> {
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
        let text = path.value.trim();
        if !text.starts_with('$') {
            return Err(self.error(
                &path.referenced,
                format!("JSONPath '{text}' does not start with '$'"),
                "start at the root, e.g. $.value[*].state",
            ));
        }
        match jsonpath_rust::parser::parse_json_path(text) {
            Ok(query) => Ok(Selector { text: text.to_owned(), query }),
            Err(err) => Err(self.error(&path.referenced, format!("invalid JSONPath '{text}': {}", crate::diag::one_line(&err.to_string())),
                "write RFC 9535 JSONPath, e.g. $.value[?@.state == 'enabled'] (filters use @ and single quotes)")),
        }
    }

    fn example(&self, node: &Spanned<RawExample>) -> Result<Example, Diagnostic> {
        let raw = &node.value;
        for name in raw.resources.keys().chain(raw.unreadable.keys()) {
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
            items: raw.items.clone(),
            position: position(&node.referenced),
        })
    }
}

fn count_assertions(raw: &RawRule) -> usize {
    [
        raw.exists.is_some(),
        raw.equals.is_some(),
        raw.one_of.is_some(),
        raw.not_in.is_some(),
        raw.contains.is_some(),
        raw.count.is_some(),
        raw.all.is_some(),
        raw.any.is_some(),
        raw.none.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count()
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
