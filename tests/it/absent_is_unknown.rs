//! Issue 15.1, as a class: data the rules do not understand is unknown (`error`), never a pass.
//! An item that is not an object where a collection holds objects, and an item that lacks a
//! member a rule compares (absent, not null), both make the verdict `error`, in an offline scan of
//! a real snapshot directory (the live page decoding has its own test in `connector::graph::page`).

use crate::support::{finding, repo_path, scan_json};
use serde_json::{Value, json};

/// Stad Kleinwaarde's snapshot copied, with one resource file replaced and its hash resealed.
fn kleinwaarde_with(resource: &str, body: &Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = repo_path("fixtures/tenants/kleinwaarde");
    for entry in std::fs::read_dir(&source).expect("fixture") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
    }
    let manifest_path = dir.path().join("manifest.json");
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).expect("manifest")).expect("json");
    let entry = &mut manifest["resources"][resource];
    let file = entry["file"].as_str().expect("file").to_owned();
    let bytes = serde_json::to_vec(body).expect("json");
    std::fs::write(dir.path().join(&file), &bytes).expect("write");
    entry["sha256"] = json!(cloudkeur::digest::sha256_hex(&bytes));
    std::fs::write(
        &manifest_path,
        serde_json::to_vec_pretty(&manifest).expect("json"),
    )
    .expect("write manifest");
    dir
}

fn rba02(dir: &std::path::Path) -> (String, String) {
    let (_, report) = scan_json(dir, &["VTC-RBA-02"]);
    let found = finding(&report, "rba-02-no-standing-privileged-roles");
    (
        found["verdict"].as_str().unwrap_or_default().to_owned(),
        found["reason"].as_str().unwrap_or_default().to_owned(),
    )
}

fn original_instances() -> Value {
    let path = repo_path("fixtures/tenants/kleinwaarde/role_assignment_schedule_instances.json");
    serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("json")
}

#[test]
fn kleinwaarde_fails_rba_02_as_collected() {
    let dir = kleinwaarde_with("role_assignment_schedule_instances", &original_instances());
    assert_eq!(rba02(dir.path()).0, "fail");
}

/// The reported case: `{"value":[null,null]}` turned Kleinwaarde's RBA-02 from fail into pass.
#[test]
fn items_that_are_not_objects_give_error_not_pass() {
    for item in [
        json!(null),
        json!("Assigned"),
        json!(7),
        json!(["Assigned"]),
    ] {
        let dir = kleinwaarde_with(
            "role_assignment_schedule_instances",
            &json!({"value": [item, item]}),
        );
        let (verdict, reason) = rba02(dir.path());
        assert_eq!(verdict, "error", "{item}: {reason}");
        assert!(reason.contains("not an object"), "{reason}");
    }
}

/// The same instances with the member the rule filters on taken away: nothing is selected by
/// `[?@.assignmentType == 'Assigned']`, which plain JSONPath would read as "no standing roles".
#[test]
fn items_lacking_the_filtered_member_give_error_not_pass() {
    let mut body = original_instances();
    for item in body["value"].as_array_mut().expect("items") {
        item.as_object_mut()
            .expect("object")
            .remove("assignmentType");
    }
    let dir = kleinwaarde_with("role_assignment_schedule_instances", &body);
    let (verdict, reason) = rba02(dir.path());
    assert_eq!(verdict, "error", "{reason}");
    assert!(reason.contains("has no `assignmentType`"), "{reason}");
}

/// `null` is a value: an item whose assignmentType is null is judged (not standing), not unknown.
#[test]
fn a_null_member_is_judged_not_unknown() {
    let mut body = original_instances();
    for item in body["value"].as_array_mut().expect("items") {
        item["assignmentType"] = Value::Null;
    }
    let dir = kleinwaarde_with("role_assignment_schedule_instances", &body);
    let (verdict, reason) = rba02(dir.path());
    assert_eq!(verdict, "pass", "{reason}");
}
