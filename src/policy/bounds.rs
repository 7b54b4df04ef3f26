//! Limits a policy must keep, checked when it loads: the size of a JSONPath, how deep its
//! filters and the rule's combinators nest, and that every `match()`/`search()` pattern is a
//! regular expression that compiles.
//!
//! Why at load time: a JSONPath of 150 000 segments overflowed the stack while parsed or
//! evaluated (on a rayon worker, whose stack is small), and an invalid pattern loaded fine and
//! then silently matched nothing at every scan, which is a rule that can never find anything.
//! A policy author learns both at once, as one located line. The limits are far above what
//! any policy needs (the shipped pack's longest path has under 300 characters and about a
//! dozen segments), and low enough that the deepest policy they allow evaluates safely on a
//! worker thread's stack (`tests/it/hostile_input.rs` runs one).

use super::source::RawRule;
use jsonpath_rust::parser::model::{
    Comparable, Comparison, Filter, FilterAtom, FnArg, JpQuery, Literal, Segment, Selector, Test,
    TestFunction,
};
use serde_saphyr::Spanned;

/// Characters in one JSONPath, checked before it is parsed.
pub const MAX_PATH_CHARS: usize = 1_000;
/// Segments in one JSONPath, counting those of the queries inside its filters.
pub const MAX_PATH_SEGMENTS: usize = 64;
/// Filters inside filters (`$[?@.a[?@.b]]` nests two).
pub const MAX_FILTER_NESTING: usize = 8;
/// Combinators and quantifiers inside one another (`all_of`, `any_of`, `not`, `all`, `any`,
/// `none`).
pub const MAX_RULE_NESTING: usize = 16;

/// Checks a JSONPath's length before it is parsed; the message names the limit.
pub fn check_path_text(text: &str) -> Result<(), String> {
    let chars = text.chars().count();
    if chars > MAX_PATH_CHARS {
        return Err(format!(
            "JSONPath of {chars} characters, above the limit of {MAX_PATH_CHARS}"
        ));
    }
    Ok(())
}

/// Checks a parsed JSONPath: segments, filter nesting, functions and their patterns.
pub fn check_query(query: &JpQuery) -> Result<(), String> {
    let mut walk = Walk::default();
    walk.segments(&query.segments, 0)?;
    if walk.segments > MAX_PATH_SEGMENTS {
        return Err(format!(
            "JSONPath of {} segments, above the limit of {MAX_PATH_SEGMENTS}",
            walk.segments
        ));
    }
    Ok(())
}

/// The first rule node nested deeper than [`MAX_RULE_NESTING`], with its depth.
pub fn too_deep(rule: &Spanned<RawRule>) -> Option<(&Spanned<RawRule>, usize)> {
    deepest(rule, 1)
}

fn deepest(node: &Spanned<RawRule>, depth: usize) -> Option<(&Spanned<RawRule>, usize)> {
    if depth > MAX_RULE_NESTING {
        return Some((node, depth));
    }
    let raw = &node.value;
    let lists = [&raw.all_of, &raw.any_of];
    let singles = [&raw.not, &raw.all, &raw.any, &raw.none];
    lists
        .into_iter()
        .flatten()
        .flatten()
        .chain(singles.into_iter().flatten().map(|boxed| &**boxed))
        .find_map(|child| deepest(child, depth + 1))
}

#[derive(Default)]
struct Walk {
    segments: usize,
}

impl Walk {
    fn segments(&mut self, segments: &[Segment], nesting: usize) -> Result<(), String> {
        for segment in segments {
            self.segment(segment, nesting)?;
        }
        Ok(())
    }

    fn segment(&mut self, segment: &Segment, nesting: usize) -> Result<(), String> {
        self.segments += 1;
        match segment {
            Segment::Descendant(inner) => self.segment(inner, nesting),
            Segment::Selector(selector) => self.selector(selector, nesting),
            Segment::Selectors(selectors) => selectors
                .iter()
                .try_for_each(|selector| self.selector(selector, nesting)),
        }
    }

    fn selector(&mut self, selector: &Selector, nesting: usize) -> Result<(), String> {
        match selector {
            Selector::Filter(filter) => {
                let nesting = nesting + 1;
                if nesting > MAX_FILTER_NESTING {
                    return Err(format!(
                        "JSONPath filters nested {nesting} deep, above the limit of {MAX_FILTER_NESTING}"
                    ));
                }
                self.filter(filter, nesting)
            }
            _ => Ok(()),
        }
    }

    fn filter(&mut self, filter: &Filter, nesting: usize) -> Result<(), String> {
        match filter {
            Filter::Or(parts) | Filter::And(parts) => {
                parts.iter().try_for_each(|part| self.filter(part, nesting))
            }
            Filter::Atom(FilterAtom::Filter { expr, .. }) => self.filter(expr, nesting),
            Filter::Atom(FilterAtom::Test { expr, .. }) => self.test(expr, nesting),
            Filter::Atom(FilterAtom::Comparison(comparison)) => {
                let (left, right) = comparison_sides(comparison);
                self.comparable(left, nesting)?;
                self.comparable(right, nesting)
            }
        }
    }

    fn test(&mut self, test: &Test, nesting: usize) -> Result<(), String> {
        match test {
            Test::RelQuery(segments) => self.segments(segments, nesting),
            Test::AbsQuery(query) => self.segments(&query.segments, nesting),
            Test::Function(function) => self.function(function, nesting),
        }
    }

    fn comparable(&mut self, comparable: &Comparable, nesting: usize) -> Result<(), String> {
        match comparable {
            Comparable::Function(function) => self.function(function, nesting),
            Comparable::SingularQuery(_) | Comparable::Literal(_) => Ok(()),
        }
    }

    fn function(&mut self, function: &TestFunction, nesting: usize) -> Result<(), String> {
        match function {
            TestFunction::Length(arg) => self.argument(arg, nesting),
            TestFunction::Value(arg) | TestFunction::Count(arg) => self.argument(arg, nesting),
            TestFunction::Match(subject, pattern) | TestFunction::Search(subject, pattern) => {
                self.argument(subject, nesting)?;
                check_pattern(pattern)
            }
            // jsonpath-rust's grammar refuses unknown names today; its model allows them and
            // evaluates them to nothing, so a misspelt `serch(...)` would match nothing.
            TestFunction::Custom(name, _) => Err(format!(
                "unknown JSONPath function '{name}()'; the functions are length(), count(), value(), match() and search()"
            )),
        }
    }

    fn argument(&mut self, argument: &FnArg, nesting: usize) -> Result<(), String> {
        match argument {
            FnArg::Literal(_) => Ok(()),
            FnArg::Test(test) => self.test(test, nesting),
            FnArg::Filter(filter) => self.filter(filter, nesting),
        }
    }
}

fn comparison_sides(comparison: &Comparison) -> (&Comparable, &Comparable) {
    comparison.vals()
}

/// A `match()`/`search()` pattern must be a string literal that compiles: jsonpath-rust treats
/// a pattern that does not compile (or that comes from the data) as "no match", silently.
fn check_pattern(pattern: &FnArg) -> Result<(), String> {
    let FnArg::Literal(Literal::String(text)) = pattern else {
        return Err(format!(
            "the pattern of match()/search() must be a string literal, not {pattern}, so that it can be checked when the policy loads"
        ));
    };
    regex::Regex::new(text).map(|_| ()).map_err(|err| {
        let first = err.to_string();
        let reason = first
            .lines()
            .rev()
            .find(|line| line.starts_with("error:"))
            .unwrap_or(first.as_str())
            .trim_start_matches("error:")
            .trim();
        format!("the pattern '{text}' is not a valid regular expression: {reason}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(path: &str) -> Result<(), String> {
        check_path_text(path)?;
        let query = jsonpath_rust::parser::parse_json_path(path).map_err(|e| e.to_string())?;
        check_query(&query)
    }

    #[test]
    fn ordinary_paths_pass() {
        for path in [
            "$.displayConcealedNames",
            "$.value[?@.state == 'enabled'].grantControls.authenticationStrength.allowedCombinations[?search(@, 'sms|voice')]",
            "$[?match(@.dpo_contact, '[^@ ]+@[^@ ]+[.][^@ ]+')]",
            "$.value[?length(@.members) > 2 && count(@.x[*]) < 4]",
        ] {
            assert_eq!(check(path), Ok(()), "{path}");
        }
    }

    #[test]
    fn long_deep_and_unknown_are_refused() {
        assert!(check(&format!("${}", ".a".repeat(600))).is_err_and(|e| e.contains("characters")));
        assert!(check(&format!("${}", ".a".repeat(65))).is_err_and(|e| e.contains("65 segments")));
        let nested = format!("${}.x{}", "[?@".repeat(9), "]".repeat(9));
        assert!(
            check(&nested).is_err_and(|e| e.contains("nested 9 deep")),
            "{nested}"
        );
        // The grammar refuses unknown functions itself; Custom is refused here in case it stops.
        assert!(check("$[?serch(@, 'a')]").is_err());
    }

    #[test]
    fn patterns_must_be_literals_that_compile() {
        let bad = check("$[?match(@, '[unclosed')]").unwrap_err();
        assert!(bad.contains("not a valid regular expression"), "{bad}");
        assert!(!bad.contains('\n'));
        assert!(check("$[?search(@.a, @.b)]").is_err_and(|e| e.contains("string literal")));
    }
}
