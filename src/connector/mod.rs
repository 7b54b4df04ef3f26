//! Connectors: read a tenant's resources into a snapshot.
//!
//! One engine ([`engine`]) reads a scan's resources, each with the connector of its service
//! ([`engine::ServiceConnector`]): Microsoft Graph ([`graph`], GET), Exchange Online and Security &
//! Compliance ([`admin`], the admin API's `InvokeCommand` POST of a read-only cmdlet) and the Teams
//! admin API ([`teams`], GET). Every request goes through the transport seam ([`transport`]),
//! whose request type can express only those reads and the token request; the network transport
//! is the only code in cloudkeur that opens a socket to a service, and only to the configured
//! origins. Connectors must never write to a tenant and never let a secret (client secret, client
//! assertion, access token) reach a log, an error message, a snapshot or a report.
//!
//! The public surface is small: a [`LiveConfig`] resolved by the command layer, a [`Credential`],
//! and [`collect_blocking`], which returns the [`Collection`] that `snapshot::write` stores (or
//! [`EarlyStart`], the same with the Graph token asked for while the command layer still loads
//! the policy pack).

pub mod admin;
pub mod auth;
mod config;
mod early;
pub mod engine;
pub mod fetch;
pub mod google;
pub mod graph;
mod microsoft;
pub mod next_link;
pub mod permits;
mod plan;
pub mod reader;
pub mod retry;
pub mod teams;
pub mod transport;

pub use auth::{Credential, CredentialKind};
pub use config::{
    DEFAULT_MAX_RESPONSE_BYTES, LiveConfig, TEAMS_ADMIN_API_APP_ID, default_origin, origin_flag,
    token_scope,
};
pub use early::EarlyStart;
pub use microsoft::{collect, collect_keeping, collect_with};
pub use retry::RetryPolicy;
pub use transport::origin::check_base_url;

use crate::registry::Registry;
use crate::snapshot::{Collection, Wanted};
use auth::TokenSource;
use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

/// Told about progress; the command layer draws a bar with it on a terminal.
pub trait Progress: Send + Sync {
    fn start(&self, _resources: usize) {}
    fn finished(&self, _resource: &str, _ok: bool) {}
}

/// Reports nothing.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Gets a first token from `tokens`: a refused credential is a setup error of the whole scan
/// (exit 2). A service the tenant does not have is not: its reads fail one by one, saying so.
pub(crate) async fn check_token(tokens: &TokenSource) -> Result<(), ConnectorError> {
    match tokens.token().await {
        Ok(_) | Err(auth::TokenError::NoSuchResource(_)) => Ok(()),
        Err(err) => Err(ConnectorError::Auth {
            message: err.to_string(),
            hint: err.hint(tokens.hint()).to_owned(),
        }),
    }
}

/// A value that must never be shown: its `Debug` and `Display` print `[redacted]`.
///
/// The only way to read it is [`Secret::expose`], called where the value goes on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Why a live scan could not start or could not authenticate: exit code 2, one line, never a
/// secret. A single resource that fails is not an error of the scan; it is recorded in the
/// snapshot and its policies give `error`.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// A URL flag is not acceptable (scheme, host, shape).
    #[error("{flag} {url}: {problem}")]
    BadUrl {
        flag: &'static str,
        url: String,
        problem: String,
    },
    /// The credential could not be loaded from its file.
    #[error("{0}")]
    Credential(String),
    /// The token endpoint refused the credential or could not be reached.
    #[error("{message}; {hint}")]
    Auth { message: String, hint: String },
    /// A resource name not in the registry.
    #[error("resource '{0}' is not in the registry (policies/resources.yaml)")]
    UnknownResource(String),
    #[error("cannot start the HTTP client: {0}")]
    Client(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(String),
}

/// [`collect`] on a small runtime of its own, so the rest of cloudkeur stays synchronous.
pub fn collect_blocking(
    config: &LiveConfig,
    registry: &Registry,
    wanted: &BTreeSet<String>,
    keep: Option<&Wanted>,
    progress: Arc<dyn Progress>,
) -> Result<Collection, ConnectorError> {
    on_own_runtime(collect(config, registry, wanted, keep, progress))
}

/// Runs a live read on a small runtime of its own (one per scan, whichever vendor), so the
/// command layer stays synchronous.
pub(crate) fn on_own_runtime<T>(
    read: impl std::future::Future<Output = Result<T, ConnectorError>>,
) -> Result<T, ConnectorError> {
    new_runtime()?.block_on(read)
}

/// A small runtime (one thread: the scan's reads interleave while they wait on the network).
fn new_runtime() -> Result<tokio::runtime::Runtime, ConnectorError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| ConnectorError::Runtime(err.to_string()))
}

/// The names of the resources a live scan reads for `wanted`: those plus every resource they
/// wait for (a fan-out's parent, a `read_if`'s deciding resource).
pub fn resources_to_read(
    registry: &Registry,
    wanted: &BTreeSet<String>,
) -> Result<BTreeSet<String>, ConnectorError> {
    Ok(plan::plan(registry, wanted)?.into_keys().collect())
}

/// `text` on one line (whitespace runs made one space), at most 300 characters: for messages
/// built from what a server sent.
pub(crate) fn one_line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() > 300 {
        let cut: String = joined.chars().take(300).collect();
        format!("{cut}…")
    } else {
        joined
    }
}

/// `text` with every secret in `secrets` replaced by `[redacted]`: as is, and as a form body or
/// a URL would encode it. For messages that repeat what a server said, which may echo what it
/// was sent (a token endpoint's error description, a Graph error message).
pub(crate) fn redact(text: &str, secrets: &[&Secret]) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        let raw = secret.expose();
        let form: String = url::form_urlencoded::byte_serialize(raw.as_bytes()).collect();
        let percent = form.replace('+', "%20");
        for variant in [raw, form.as_str(), percent.as_str()] {
            if !variant.is_empty() {
                out = out.replace(variant, "[redacted]");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_removes_a_secret_as_is_and_encoded() {
        let secret = Secret::new("s3 cr+t/=&");
        let text = "raw s3 cr+t/=& form s3+cr%2Bt%2F%3D%26 url s3%20cr%2Bt%2F%3D%26 end";
        assert_eq!(
            redact(text, &[&secret]),
            "raw [redacted] form [redacted] url [redacted] end"
        );
        assert_eq!(redact("nothing here", &[&Secret::new("")]), "nothing here");
    }

    #[test]
    fn secret_never_prints_its_value() {
        let secret = Secret::new("canary-s3cr3t");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert!(!format!("{secret:?}").contains("canary"));
        assert_eq!(secret.expose(), "canary-s3cr3t");
    }
}
