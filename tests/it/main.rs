//! The integration tests, as one test crate: one binary to build and link where there was one
//! per file (issue 13.4), run by `cargo test` like any other. Each module below was a file
//! `tests/<name>.rs` of its own and keeps its name, so `cargo test live_graph::` runs one of them.
//! The helpers in `tests/support/` are compiled once for all of them (`examples/bench.rs` includes
//! the simulator and the tenant generator from there too).

#[path = "../support/google_sim.rs"]
mod google_sim;
#[path = "../support/graph_sim.rs"]
mod graph_sim;
#[path = "../support/mutations.rs"]
mod mutations;
#[path = "../support/mod.rs"]
mod support;
#[path = "../support/tenant_gen.rs"]
mod tenant_gen;

mod absent_is_unknown;
mod allocator;
mod archive;
mod ca_mutations;
mod catalog_doc;
mod change_gate;
mod cli_exit_codes;
mod deploy_files;
mod evidence_file;
mod fault_injection;
mod fuzz_bodies;
mod google_fixtures;
mod google_mutations;
mod hostile_input;
mod identities;
mod live_google;
mod live_google_cli;
mod live_graph;
mod live_services;
mod live_start;
mod measured_else_declared;
mod measured_mutations;
mod pack_verdicts;
mod policy_errors;
mod policy_laws;
mod projection;
mod proptest_inputs;
mod report_formats;
mod several_tenants;
mod shipped_policies;
mod snapshot_faults;
mod tenant_settings;
mod vendors;
mod waivers;
