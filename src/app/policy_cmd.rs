//! `cloudkeur policy list` and `cloudkeur policy test`.

use super::{Error, Outcome, emit};
use crate::cli::ListFormat;
use crate::findings::Lang;
use crate::policy::{PackSource, PolicyPack, run_examples};
use crate::terminal::inert;
use serde_json::json;
use tabled::settings::{Style, Width, peaker::PriorityMax};
use tabled::{Table, Tabled};

#[derive(Tabled)]
struct Row {
    #[tabled(rename = "Control")]
    control: String,
    #[tabled(rename = "Kind")]
    kind: String,
    #[tabled(rename = "Policy")]
    policy: String,
    #[tabled(rename = "Sev.")]
    severity: String,
    #[tabled(rename = "Title")]
    title: String,
}

pub(super) fn list(source: &PackSource, format: ListFormat, lang: Lang) -> Result<Outcome, Error> {
    let pack = PolicyPack::load(source)?;
    let text = match format {
        ListFormat::Json => {
            let controls: Vec<_> = pack
                .catalog
                .controls()
                .iter()
                .map(|control| {
                    let policies: Vec<_> = pack
                        .policies
                        .iter()
                        .filter(|p| p.control == control.id)
                        .map(|p| {
                            let permissions: Vec<&str> = p.resources.iter().filter_map(|r| pack.registry.get(r)).map(|s| s.permission.as_str()).collect();
                            json!({
                                "id": p.id, "title": p.title, "severity": p.severity, "guideline": p.guideline,
                                "gdpr": p.gdpr, "resources": p.resources, "permissions": permissions,
                                "file": p.file.display().to_string(),
                            })
                        })
                        .collect();
                    json!({
                        "id": control.id, "area": control.area, "kind": control.kind, "title": control.title,
                        "guideline": control.guideline.section, "policies": policies,
                    })
                })
                .collect();
            let mut text = serde_json::to_string_pretty(
                &json!({"schema": "cloudkeur.policies/v1", "controls": controls}),
            )
            .unwrap_or_default();
            text.push('\n');
            text
        }
        ListFormat::Markdown => super::catalog_doc::render(&pack),
        ListFormat::Table => {
            let mut rows = Vec::new();
            for control in pack.catalog.controls() {
                let kind = format!("{:?}", control.kind).to_lowercase();
                let mut served = false;
                for policy in pack.policies.iter().filter(|p| p.control == control.id) {
                    served = true;
                    rows.push(Row {
                        control: inert(&control.id).into_owned(),
                        kind: kind.clone(),
                        policy: inert(&policy.id).into_owned(),
                        severity: policy.severity.to_string(),
                        title: inert(policy.title.get(lang)).into_owned(),
                    });
                }
                if !served {
                    rows.push(Row {
                        control: inert(&control.id).into_owned(),
                        kind,
                        policy: "-".into(),
                        severity: "-".into(),
                        title: inert(control.title.get(lang)).into_owned(),
                    });
                }
            }
            let mut table = Table::new(rows);
            table.with(Style::sharp()).with(
                Width::wrap(super::table_width())
                    .keep_words(true)
                    .priority(PriorityMax::right()),
            );
            format!(
                "{table}\n{} policies serving {} controls\n",
                pack.policies.len(),
                pack.catalog.controls().len()
            )
        }
    };
    emit(None, &text)?;
    Ok(Outcome::Compliant)
}

pub(super) fn test(source: &PackSource) -> Result<Outcome, Error> {
    let pack = PolicyPack::load(source)?;
    let results = run_examples(&pack);
    let mut out = String::new();
    for result in &results {
        match &result.problem {
            None => out.push_str(&format!(
                "ok      {} :: {}\n",
                inert(&result.policy),
                inert(&result.example)
            )),
            Some(problem) => out.push_str(&format!(
                "FAILED  {} :: {} ({}): {}\n",
                inert(&result.policy),
                inert(&result.example),
                inert(&result.location.to_string()),
                inert(problem)
            )),
        }
    }
    let failed = results.iter().filter(|r| !r.held()).count();
    out.push_str(&format!(
        "policy examples: {} passed, {failed} failed\n",
        results.len() - failed
    ));
    emit(None, &out)?;
    Ok(if failed == 0 {
        Outcome::Compliant
    } else {
        Outcome::NotCompliant
    })
}
