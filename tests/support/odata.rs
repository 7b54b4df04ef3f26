//! The OData query options the simulated Graph honours, as Graph does, so that a registry entry
//! that asks for the wrong thing gets the wrong data (and a test fails) instead of the fixture:
//!
//! - `$select`: only the selected members of each item (or of a single object), plus its
//!   `@odata.*` annotations (`@odata.type` on directory objects); a property that no item has is
//!   a 400, as Graph's "Could not find a property named …".
//! - `$expand`: a navigation property (e.g. `principal`) only when asked for; anything else named
//!   there is a 400.
//! - `$filter`: comparisons `eq`/`ne`, `in (…)`, `startsWith(…)`, joined with `and`/`or`/`not`
//!   and parentheses: the forms the registry uses. Any other form (lambda operators, arithmetic,
//!   unknown functions) is a 400 like Graph's "Invalid filter clause", and so is a property that
//!   no item has.
#![allow(dead_code)]

use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Navigation properties: left out of an item unless `$expand` names them (the fixture tenants
/// hold them expanded, as read with `$expand`).
pub const NAVIGATION: &[&str] = &[
    "principal",
    "roleDefinition",
    "directoryScope",
    "appScope",
    "activatedUsing",
    "targetSchedule",
];

/// A 400 as Graph answers it: its error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadQuery {
    pub code: &'static str,
    pub message: String,
}

fn bad(code: &'static str, message: impl Into<String>) -> BadQuery {
    BadQuery {
        code,
        message: message.into(),
    }
}

fn invalid_filter(detail: impl std::fmt::Display) -> BadQuery {
    bad("BadRequest", format!("Invalid filter clause: {detail}"))
}

/// The query options of one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    pub select: Option<Vec<String>>,
    pub expand: Vec<String>,
    pub filter: Option<Expr>,
    /// The options as given, for [`Options::key`].
    text: String,
}

impl Options {
    /// Reads `$select`, `$expand` and `$filter` from a request's decoded query parameters.
    pub fn parse(params: &[(String, String)]) -> Result<Options, BadQuery> {
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let list = |text: &str| -> Vec<String> {
            text.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let filter = get("$filter").map(parse_filter).transpose()?;
        Ok(Options {
            select: get("$select").map(list),
            expand: get("$expand").map(list).unwrap_or_default(),
            filter,
            text: format!(
                "{:?}|{:?}|{:?}",
                get("$select"),
                get("$expand"),
                get("$filter")
            ),
        })
    }

    /// The same text for the same options: what a view of a resource is cached under.
    pub fn key(&self) -> &str {
        &self.text
    }

    /// A collection's items as Graph returns them with these options: filtered, then shaped.
    pub fn apply_items(&self, items: &[Value]) -> Result<Vec<Value>, BadQuery> {
        self.check(items)?;
        let mut out = Vec::new();
        for item in items {
            let keep = match &self.filter {
                Some(filter) => filter.matches(item)?,
                None => true,
            };
            if keep {
                out.push(self.shape(item));
            }
        }
        Ok(out)
    }

    /// A single object as Graph returns it with these options.
    pub fn apply_object(&self, object: &Value) -> Result<Value, BadQuery> {
        if self.filter.is_some() {
            return Err(bad(
                "BadRequest",
                "$filter is not supported on a single object",
            ));
        }
        self.check(std::slice::from_ref(object))?;
        Ok(self.shape(object))
    }

    /// Every property the options name exists on some item (when there are items to tell).
    fn check(&self, items: &[Value]) -> Result<(), BadQuery> {
        let known: BTreeSet<&str> = items
            .iter()
            .filter_map(Value::as_object)
            .flat_map(|map| map.keys().map(String::as_str))
            .collect();
        for name in &self.expand {
            if !NAVIGATION.contains(&name.as_str()) {
                return Err(bad(
                    "BadRequest",
                    format!(
                        "Parsing OData Select and Expand failed: Could not find a navigation property named '{name}'."
                    ),
                ));
            }
        }
        if items.is_empty() {
            return Ok(());
        }
        let mut named: Vec<&str> = self
            .select
            .iter()
            .flatten()
            .map(String::as_str)
            .filter(|name| *name != "*")
            .collect();
        if let Some(filter) = &self.filter {
            named.extend(filter.properties());
        }
        for name in named {
            let top = name.split('/').next().unwrap_or(name);
            if !known.contains(top) {
                return Err(bad(
                    "BadRequest",
                    format!("Could not find a property named '{top}' on this type."),
                ));
            }
        }
        Ok(())
    }

    fn shape(&self, item: &Value) -> Value {
        let Value::Object(map) = item else {
            return item.clone();
        };
        let selected = |key: &str| match &self.select {
            None => true,
            Some(names) => names.iter().any(|n| n == key || n == "*"),
        };
        let kept: Map<String, Value> = map
            .iter()
            .filter(|(key, _)| {
                if key.starts_with("@odata.") {
                    true
                } else if NAVIGATION.contains(&key.as_str()) {
                    self.expand.iter().any(|e| e == *key)
                } else {
                    selected(key)
                }
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Value::Object(kept)
    }
}

/// A parsed `$filter`.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Eq(String, Value),
    Ne(String, Value),
    In(String, Vec<Value>),
    StartsWith(String, String),
}

impl Expr {
    fn properties(&self) -> Vec<&str> {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                let mut all = a.properties();
                all.extend(b.properties());
                all
            }
            Expr::Not(e) => e.properties(),
            Expr::Eq(p, _) | Expr::Ne(p, _) | Expr::In(p, _) | Expr::StartsWith(p, _) => {
                vec![p.as_str()]
            }
        }
    }

    fn matches(&self, item: &Value) -> Result<bool, BadQuery> {
        let value = |path: &str| {
            path.split('/')
                .try_fold(item, |v, key| v.get(key))
                .cloned()
                .unwrap_or(Value::Null)
        };
        Ok(match self {
            Expr::And(a, b) => a.matches(item)? && b.matches(item)?,
            Expr::Or(a, b) => a.matches(item)? || b.matches(item)?,
            Expr::Not(e) => !e.matches(item)?,
            Expr::Eq(path, literal) => value(path) == *literal,
            Expr::Ne(path, literal) => value(path) != *literal,
            Expr::In(path, literals) => literals.contains(&value(path)),
            Expr::StartsWith(path, prefix) => value(path)
                .as_str()
                .is_some_and(|text| text.starts_with(prefix.as_str())),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Open,
    Close,
    Comma,
}

fn tokens(text: &str) -> Result<Vec<Token>, BadQuery> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            ',' => {
                chars.next();
                out.push(Token::Comma);
            }
            '\'' => {
                chars.next();
                let mut literal = String::new();
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            literal.push('\'');
                        }
                        Some('\'') => break,
                        Some(c) => literal.push(c),
                        None => return Err(invalid_filter("unterminated string literal")),
                    }
                }
                out.push(Token::Text(literal));
            }
            c if c.is_ascii_alphanumeric() || "_-./@".contains(c) => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_ascii_alphanumeric() || "_-./@".contains(c) {
                        word.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Word(word));
            }
            other => return Err(invalid_filter(format!("unexpected '{other}'"))),
        }
    }
    Ok(out)
}

fn parse_filter(text: &str) -> Result<Expr, BadQuery> {
    let tokens = tokens(text)?;
    let mut parser = Parser { tokens, at: 0 };
    let expr = parser.or()?;
    if parser.at != parser.tokens.len() {
        return Err(invalid_filter(format!(
            "unexpected {:?}",
            parser.tokens[parser.at]
        )));
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w == word)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn expect(&mut self, token: Token) -> Result<(), BadQuery> {
        match self.next() {
            Some(t) if t == token => Ok(()),
            other => Err(invalid_filter(format!(
                "expected {token:?}, found {other:?}"
            ))),
        }
    }

    fn or(&mut self) -> Result<Expr, BadQuery> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.at += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, BadQuery> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.at += 1;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, BadQuery> {
        if self.peek_word("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.tokens.get(self.at) == Some(&Token::Open) {
            self.at += 1;
            let inner = self.or()?;
            self.expect(Token::Close)?;
            return Ok(inner);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, BadQuery> {
        let Some(Token::Word(first)) = self.next() else {
            return Err(invalid_filter("expected a property or a function"));
        };
        if first == "startsWith" || first == "startswith" {
            self.expect(Token::Open)?;
            let path = self.property()?;
            self.expect(Token::Comma)?;
            let Some(Token::Text(prefix)) = self.next() else {
                return Err(invalid_filter("startsWith takes a string"));
            };
            self.expect(Token::Close)?;
            return Ok(Expr::StartsWith(path, prefix));
        }
        if self.tokens.get(self.at) == Some(&Token::Open) {
            return Err(invalid_filter(format!("unsupported function '{first}'")));
        }
        let path = checked_property(first)?;
        match self.next() {
            Some(Token::Word(op)) if op == "eq" => Ok(Expr::Eq(path, self.literal()?)),
            Some(Token::Word(op)) if op == "ne" => Ok(Expr::Ne(path, self.literal()?)),
            Some(Token::Word(op)) if op == "in" => {
                self.expect(Token::Open)?;
                let mut values = vec![self.literal()?];
                while self.tokens.get(self.at) == Some(&Token::Comma) {
                    self.at += 1;
                    values.push(self.literal()?);
                }
                self.expect(Token::Close)?;
                Ok(Expr::In(path, values))
            }
            other => Err(invalid_filter(format!("unsupported operator {other:?}"))),
        }
    }

    fn property(&mut self) -> Result<String, BadQuery> {
        match self.next() {
            Some(Token::Word(word)) => checked_property(word),
            other => Err(invalid_filter(format!(
                "expected a property, found {other:?}"
            ))),
        }
    }

    fn literal(&mut self) -> Result<Value, BadQuery> {
        match self.next() {
            Some(Token::Text(text)) => Ok(Value::String(text)),
            Some(Token::Word(word)) => match word.as_str() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                "null" => Ok(Value::Null),
                _ => word
                    .parse::<i64>()
                    .map(Value::from)
                    .map_err(|_| invalid_filter(format!("'{word}' is not a literal"))),
            },
            other => Err(invalid_filter(format!(
                "expected a literal, found {other:?}"
            ))),
        }
    }
}

/// A property path: names joined by `/` (no lambda variables, no casts).
fn checked_property(word: String) -> Result<String, BadQuery> {
    let ok = !word.is_empty()
        && word.split('/').all(|part| {
            part.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    if ok {
        Ok(word)
    } else {
        Err(invalid_filter(format!("'{word}' is not a property")))
    }
}
