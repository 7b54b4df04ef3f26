//! A policy pack: the resource registry, the control catalogue and the policies, loaded together
//! from the built-in copy of `policies/` or from a directory the user names.

use super::Policy;
use super::compile::{CompileState, Compiler, Fragments, FragmentsFile};
use super::source::PolicyFile;
use crate::catalog::Catalog;
use crate::diag::{Diagnostic, Position, parse_yaml};
use crate::registry::Registry;
use include_dir::{Dir, include_dir};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

static BUILT_IN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/policies");

pub const REGISTRY_FILE: &str = "resources.yaml";
pub const CATALOG_FILE: &str = "controls.yaml";
/// Named rule fragments that policies include with `use: NAME`.
pub const FRAGMENTS_FILE: &str = "fragments.yaml";

/// Where policies come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackSource {
    /// The pack compiled into the binary, so an installed binary works anywhere.
    BuiltIn,
    /// A directory replacing the built-in policies. Its own resources.yaml and controls.yaml
    /// are used when present, the built-in ones otherwise.
    Dir(PathBuf),
}

#[derive(Debug, Clone)]
pub struct PolicyPack {
    pub registry: Registry,
    pub catalog: Catalog,
    pub policies: Vec<Policy>,
}

/// One text file of the pack, named as the user should see it in messages.
struct PackFile {
    name: PathBuf,
    text: String,
}

impl PolicyPack {
    pub fn load(source: &PackSource) -> Result<Self, Diagnostic> {
        let files = match source {
            PackSource::BuiltIn => built_in_files(),
            PackSource::Dir(dir) => dir_files(dir)?,
        };
        let (mut registry_file, mut catalog_file, mut policy_files) = (None, None, Vec::new());
        let mut fragments_file = None;
        for file in files {
            match file.name.file_name().and_then(|n| n.to_str()) {
                Some(REGISTRY_FILE) if registry_file.is_none() => registry_file = Some(file),
                Some(CATALOG_FILE) if catalog_file.is_none() => catalog_file = Some(file),
                Some(FRAGMENTS_FILE) if fragments_file.is_none() => fragments_file = Some(file),
                Some(n) if n.ends_with(".yaml") || n.ends_with(".yml") => policy_files.push(file),
                _ => {}
            }
        }
        let registry_file = registry_file.map_or_else(|| built_in_file(REGISTRY_FILE), Ok)?;
        let catalog_file = catalog_file.map_or_else(|| built_in_file(CATALOG_FILE), Ok)?;
        let fragments_file = fragments_file.map_or_else(|| built_in_file(FRAGMENTS_FILE), Ok)?;
        let registry = Registry::parse(&registry_file.name, &registry_file.text)?;
        let catalog = Catalog::parse(&catalog_file.name, &catalog_file.text)?;
        let parsed: FragmentsFile = parse_yaml(&fragments_file.name, &fragments_file.text)?;
        let fragments = Fragments {
            file: fragments_file.name.clone(),
            rules: parsed.fragments,
        };

        // Parsing and compiling a policy file is independent of the others: done on every core
        // (a live scan waits for it before it asks for a token). The first file in order that
        // fails is reported, as when they were compiled one after another.
        let compiled: Vec<Result<Policy, Diagnostic>> = policy_files
            .par_iter()
            .map(|file| {
                let raw: PolicyFile = parse_yaml(&file.name, &file.text)?;
                let state = CompileState::default();
                let compiler = Compiler {
                    evidence_allowed: raw.evidence.is_some(),
                    evidence_optional: raw.evidence.as_ref().is_some_and(|e| e.value.optional),
                    file: &file.name,
                    registry: &registry,
                    catalog: &catalog,
                    fragments: &fragments,
                    state: &state,
                };
                compiler.policy(raw)
            })
            .collect();
        let mut policies: Vec<Policy> = Vec::new();
        let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
        for (file, policy) in policy_files.iter().zip(compiled) {
            let policy = policy?;
            if let Some(first) = seen.insert(policy.id.clone(), file.name.clone()) {
                let at = crate::diag::locate_key(&file.text, "policy");
                return Err(Diagnostic::new(
                    &file.name,
                    at,
                    format!(
                        "policy id '{}' is already used by {}",
                        policy.id,
                        first.display()
                    ),
                )
                .with_fix("give every policy its own id"));
            }
            policies.push(policy);
        }
        if policies.is_empty()
            && let PackSource::Dir(dir) = source
        {
            return Err(Diagnostic::new(
                dir,
                Position::default(),
                "no policy files (*.yaml) found",
            )
            .with_fix("point --policies at a directory of policy files, e.g. policies/"));
        }
        policies.sort_by(|a, b| {
            (catalog.order_of(&a.control), &a.id).cmp(&(catalog.order_of(&b.control), &b.id))
        });
        Ok(PolicyPack {
            registry,
            catalog,
            policies,
        })
    }

    /// The policies whose control or id is in `only` (all when `only` is empty).
    pub fn retain(&mut self, only: &[String]) {
        if !only.is_empty() {
            self.policies
                .retain(|p| only.iter().any(|o| o == &p.id || o == &p.control));
        }
    }

    /// Drops the policies' examples: a scan runs none, and their resources (a few MB of parsed
    /// JSON) would otherwise stay beside the tenant's snapshot until it ends.
    pub fn drop_examples(&mut self) {
        for policy in &mut self.policies {
            policy.examples = Vec::new();
        }
    }

    /// Every resource the pack's policies read, with the item members they read.
    pub fn projections(&self) -> crate::snapshot::Wanted {
        super::projections(&self.policies, &self.registry)
    }

    /// Every resource the pack's policies read, and those a derived one is made from.
    pub fn needed_resources(&self) -> std::collections::BTreeSet<String> {
        let direct: std::collections::BTreeSet<String> = self
            .policies
            .iter()
            .flat_map(|p| p.resources.iter().cloned())
            .collect();
        let inputs: Vec<String> = direct
            .iter()
            .filter_map(|name| self.registry.get(name))
            .flat_map(|spec| spec.derived_from.iter().cloned())
            .collect();
        direct.into_iter().chain(inputs).collect()
    }
}

fn built_in_files() -> Vec<PackFile> {
    let mut files = Vec::new();
    collect_built_in(&BUILT_IN, &mut files);
    files.sort_by(|a, b| a.name.cmp(&b.name));
    files
}

fn collect_built_in(dir: &Dir<'static>, files: &mut Vec<PackFile>) {
    for file in dir.files() {
        if let Some(text) = file.contents_utf8() {
            files.push(PackFile {
                name: Path::new("policies").join(file.path()),
                text: text.to_owned(),
            });
        }
    }
    for sub in dir.dirs() {
        collect_built_in(sub, files);
    }
}

fn built_in_file(name: &str) -> Result<PackFile, Diagnostic> {
    BUILT_IN
        .get_file(name)
        .and_then(|f| f.contents_utf8())
        .map(|text| PackFile {
            name: Path::new("policies").join(name),
            text: text.to_owned(),
        })
        .ok_or_else(|| {
            Diagnostic::new(
                name,
                Position::default(),
                "missing from the built-in policy pack",
            )
            .with_fix("rebuild cloudkeur from a complete checkout")
        })
}

fn dir_files(dir: &Path) -> Result<Vec<PackFile>, Diagnostic> {
    let mut paths = Vec::new();
    walk(dir, &mut paths).map_err(|err| {
        Diagnostic::new(
            dir,
            Position::default(),
            format!("cannot read policy directory: {err}"),
        )
        .with_fix("point --policies at an existing directory of policy files")
    })?;
    paths.sort();
    paths
        .into_iter()
        .map(|name| {
            let relative = name.strip_prefix(dir).unwrap_or(&name);
            match crate::input_file::read_text_inside(
                dir,
                relative,
                crate::input_file::Limit::DOCUMENT,
            ) {
                Ok(text) => Ok(PackFile { name, text }),
                Err(err) => {
                    Err(err.diagnostic(&name, "policy file", "make the file readable UTF-8 text"))
                }
            }
        })
        .collect()
}

/// Collects YAML files below `dir`; hidden entries are skipped (editor swap files, .git).
fn walk(dir: &Path, paths: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        // Not through a link: a link to a parent directory would never end.
        if entry.file_type()?.is_dir() {
            walk(&path, paths)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            paths.push(path);
        }
    }
    Ok(())
}

/// A pack whose only policy (of VTC-MFA-04) has `rule` as written after `rule: ` (YAML; a JSON
/// value's text is YAML too): the evaluator's unit tests compile their rules through it.
#[cfg(test)]
pub(crate) fn pack_with_rule(rule: impl std::fmt::Display) -> PolicyPack {
    let dir = tempfile::tempdir().expect("temp dir");
    let policy = format!(
        "policy: p\ncontrol: VTC-MFA-04\ntitle: {{nl: t, en: t}}\nseverity: high\n\
         rule: {rule}\nremediation: {{nl: r, en: r}}\n"
    );
    std::fs::write(dir.path().join("p.yaml"), policy).expect("write");
    PolicyPack::load(&PackSource::Dir(dir.path().to_owned())).expect("loads")
}
