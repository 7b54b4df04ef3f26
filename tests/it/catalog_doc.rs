//! docs/controls.md is generated from the policy pack; this fails when it is stale.

#[test]
fn docs_controls_md_matches_the_policy_pack() {
    let output = assert_cmd::Command::cargo_bin("cloudkeur")
        .expect("binary")
        .args(["policy", "list", "--format", "markdown"])
        .output()
        .expect("runs");
    assert!(output.status.success());
    let generated = String::from_utf8_lossy(&output.stdout);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/controls.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        generated == committed,
        "docs/controls.md is stale: regenerate it with `cargo run -- policy list --format markdown > docs/controls.md`"
    );
}

#[test]
fn policy_list_json_names_every_control_of_the_catalogue() {
    let output = assert_cmd::Command::cargo_bin("cloudkeur")
        .expect("binary")
        .args(["policy", "list", "--format", "json"])
        .output()
        .expect("runs");
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let listed: Vec<&str> = list["controls"]
        .as_array()
        .expect("controls")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    let catalogue = std::fs::read_to_string("../shared/CONTROLS.md")
        .or_else(|_| {
            std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/controls.yaml"),
            )
        })
        .expect("a catalogue to compare with");
    let mut expected: Vec<&str> = catalogue
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with("VTC-") && w.len() == 10)
        .collect();
    expected.sort_unstable();
    expected.dedup();
    assert_eq!(expected.len(), 31, "the catalogue has 31 controls");
    for id in expected {
        assert!(listed.contains(&id), "{id} is listed");
    }
}
