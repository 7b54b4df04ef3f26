//! cloudkeur: a cloud-configuration compliance scanner for local governments.
//!
//! Data flows one way: connector → [`snapshot`] → [`policy`] evaluation → [`findings`] →
//! [`report`] renderers. See ARCHITECTURE.md for the map and the invariants.
//!
//! These docs are for the people who maintain cloudkeur, not a library's users: read them with
//! `cargo doc --document-private-items`, where links to private items resolve.
#![allow(rustdoc::private_intra_doc_links)]

pub mod allocator;
pub mod app;
pub mod archive;
pub mod catalog;
pub mod cli;
pub mod connector;
pub mod diag;
pub mod digest;
pub mod evidence;
pub mod findings;
pub mod google;
pub mod input_file;
pub mod logging;
pub mod policy;
pub mod pseudonym;
pub mod registry;
pub mod report;
pub mod settings;
pub mod snapshot;
pub mod syslog;
pub mod terminal;
pub mod vendor;
pub mod waiver;
