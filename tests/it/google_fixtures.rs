//! The two example Google Workspace customers, offline: Gemeente Heidebeek (compliant with its
//! settings and evidence) and Vrije Basisschool De Klimop (a realistic, non-compliant school),
//! built from the Directory and Policy APIs' documented response shapes. The same reports,
//! exit codes and pseudonyms as for a Microsoft 365 tenant, naming the suite.

use crate::support::{cloudkeur, finding, repo_path};
use serde_json::Value;

fn path(relative: &str) -> String {
    repo_path(relative).to_string_lossy().into_owned()
}

fn scan(customer: &str, extra: &[&str]) -> (i32, Value) {
    let output = cloudkeur()
        .args(["scan", "--format", "json", "--offline"])
        .arg(repo_path(&format!("fixtures/tenants/{customer}")))
        .args(extra)
        .output()
        .expect("runs");
    let report = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), report)
}

fn heidebeek_inputs() -> Vec<String> {
    vec![
        "--config".into(),
        path("fixtures/config/heidebeek.yaml"),
        "--evidence".into(),
        path("fixtures/evidence/heidebeek.yaml"),
    ]
}

/// The verdict and item labels of the Google policy serving `control`.
fn verdict(report: &Value, control: &str) -> (String, Vec<String>) {
    let found = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["control"] == control)
        .unwrap_or_else(|| panic!("no finding for {control}"));
    let items = found["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["label"].as_str().unwrap_or_default().to_owned())
        .collect();
    (
        found["verdict"].as_str().unwrap_or_default().to_owned(),
        items,
    )
}

#[test]
fn the_non_compliant_school_prints_the_table_and_exits_1() {
    let output = cloudkeur()
        .args(["scan", "--offline"])
        .arg(repo_path("fixtures/tenants/klimop"))
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        table.contains("Google Workspace customer Vrije Basisschool De Klimop (C02klmp9x)"),
        "{table}"
    );
    assert!(table.contains("NOT compliant"), "{table}");
    assert!(
        table.contains("VTC-MFA-05") && table.contains("/Leerkrachten"),
        "{table}"
    );
}

#[test]
fn the_school_fails_where_its_settings_say_so_and_lists_the_units() {
    let (code, report) = scan("klimop", &["--reveal-identities"]);
    assert_eq!(code, 1);
    assert_eq!(report["scan"]["vendor"], "google");
    // Only Google's policies judge a Google customer: one finding per control.
    assert_eq!(report["findings"].as_array().unwrap().len(), 31);
    let expect = |control: &str, want: &str, items: &[&str]| {
        let (got, mut labels) = verdict(&report, control);
        assert_eq!(got, want, "{control}: {labels:?}");
        labels.sort();
        let mut items: Vec<String> = items.iter().map(|s| (*s).to_owned()).collect();
        items.sort();
        assert_eq!(labels, items, "{control}");
    };
    // The root says "off" (the epoch) and only teachers and the principal enforce; the
    // policy on a deleted org unit is judged on its own (it enforces, so it is not listed).
    expect(
        "VTC-MFA-01",
        "fail",
        &[
            "/",
            "/Leerlingen",
            "/Leerlingen/Kleuter",
            "/Leerlingen/Lager",
        ],
    );
    // Nothing configured: Google's documented default, any factor.
    expect(
        "VTC-MFA-02",
        "fail",
        &[
            "/",
            "/Directie",
            "/Leerkrachten",
            "/Leerlingen",
            "/Leerlingen/Kleuter",
            "/Leerlingen/Lager",
        ],
    );
    expect(
        "VTC-MFA-03",
        "fail",
        &[
            "directie@klimop.example",
            "ict@klimop.example",
            "juf.katrien@klimop.example",
            "support@ict-partner.example",
            "secretariaat@klimop.example",
        ],
    );
    expect(
        "VTC-MFA-04",
        "fail",
        &[
            "ict@klimop.example",
            "lotte.l5@klimop.example",
            "mats.l5@klimop.example",
            "kleuterklas.k3@klimop.example",
        ],
    );
    expect("VTC-MFA-05", "fail", &["/Leerkrachten"]);
    // ALLOW_SIGN_IN_ONLY (which ScubaGoggles passed) fails; the pupils' BLOCK_ALL passes.
    expect("VTC-RBA-03", "fail", &["/", "/Directie", "/Leerkrachten"]);
    expect(
        "VTC-SHR-01",
        "fail",
        &[
            "/",
            "/Directie",
            "/Leerkrachten",
            "group projecten@klimop.example",
        ],
    );
    expect("VTC-SHR-03", "not-applicable", &[]);
    // No data regions in this edition, and no declaration.
    expect(
        "VTC-LOC-01",
        "evidence-missing",
        &[
            "/",
            "/Directie",
            "/Leerkrachten",
            "/Leerlingen",
            "/Leerlingen/Kleuter",
            "/Leerlingen/Lager",
        ],
    );
    let (rba01, holders) = verdict(&report, "VTC-RBA-01");
    assert_eq!(rba01, "fail");
    assert!(
        holders.contains(&"support@ict-partner.example".to_owned()),
        "{holders:?}"
    );
    let reason = finding(&report, "gws-rba-01-few-super-administrators")["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reason.contains("5 found"), "{reason}");
    // User recording on at the root (Google's system policy), and automatic recording for
    // holders of one licence only: a fail stands on the root, whatever the licence does.
    let (mtg02, units) = verdict(&report, "VTC-MTG-02");
    assert_eq!(mtg02, "fail");
    assert!(units.contains(&"/".to_owned()), "{units:?}");
}

#[test]
fn the_compliant_municipality_exits_0_with_its_settings_and_evidence() {
    let args = heidebeek_inputs();
    let (code, report) = scan(
        "heidebeek",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let not_compliant: Vec<String> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["verdict"] != "pass" && f["verdict"] != "not-applicable")
        .map(|f| format!("{} {}: {}", f["control"], f["verdict"], f["reason"]))
        .collect();
    assert!(not_compliant.is_empty(), "{not_compliant:#?}");
    assert_eq!(code, 0);
    // The council may record its meetings: listed, not failed.
    let mtg02 = finding(&report, "gws-mtg-02-recording-off-by-default")["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(mtg02.contains("/Gemeenteraad"), "{mtg02}");
    // Without the evidence file the declarations are missing: exit 1.
    let (code, report) = scan("heidebeek", &[]);
    assert_eq!(code, 1);
    assert_eq!(verdict(&report, "VTC-BAK-01").0, "evidence-missing");
    assert_eq!(verdict(&report, "VTC-MFA-01").0, "pass");
}

#[test]
fn reports_name_google_workspace_and_account_names_are_pseudonymised() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("rapport.html");
    let ocsf = dir.path().join("findings.jsonl");
    let (code, report) = scan(
        "klimop",
        &[
            "--report",
            &format!("html={}", html.display()),
            "--report",
            &format!("ocsf={}", ocsf.display()),
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(report["scan"]["identities"], "pseudonymised-per-scan");
    let json = report.to_string();
    for person in [
        "directie@klimop.example",
        "lotte.l5@klimop.example",
        "support@ict-partner.example",
    ] {
        assert!(!json.contains(person), "{person} in the report");
    }
    let (_, admins) = verdict(&report, "VTC-MFA-03");
    assert!(admins.iter().all(|a| a.starts_with("p-")), "{admins:?}");
    let html = std::fs::read_to_string(&html).unwrap();
    assert!(html.contains("Google Workspace en de VTC-richtlijn"));
    assert!(html.contains("Klant-ID"));
    assert!(!html.contains("Microsoft 365 en de VTC-richtlijn") && !html.contains("Tenant-ID"));
    // The requirement as the catalogue words it for Google, not Microsoft's.
    assert!(html.contains("In Google Meet neemt niemand zonder Google-account deel"));
    assert!(!html.contains("In Teams kunnen anonieme gebruikers"));
    assert!(!html.contains("lotte.l5@klimop.example"));
    let first: Value = serde_json::from_str(
        std::fs::read_to_string(&ocsf)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["cloud"]["provider"], "Google Workspace");
}
