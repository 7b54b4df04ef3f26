//! A Microsoft 365 scan's Graph token, asked for while the command layer still loads the policy
//! pack and the settings.
//!
//! Before the first Graph read a scan waits for one round trip to the authority; asked for
//! after the pack was loaded (~20 ms), the runtime started and the HTTP clients built, the
//! token reached a tenant ~45 ms after the process started. [`EarlyStart::begin`] starts, on a
//! thread of its own, the runtime, a transport that admits the authority only, and the token
//! request for Graph's audience; [`EarlyStart::collect`] then reads the tenant on that runtime
//! with that token source (the token cached), so the first Graph read finds it ready.
//!
//! What the scan does is otherwise what [`super::collect_blocking`] does: the same plan, the
//! same services' origins admitted for the reads, and a credential the token endpoint refuses
//! stops the scan with the same one-line error, after exactly one token request (the refusal
//! is kept, never asked again).

use super::auth::Tokens;
use super::transport::http::{Allowed, HttpTransport};
use super::{ConnectorError, LiveConfig, Progress, check_token, microsoft, token_scope};
use crate::registry::{Registry, Service};
use crate::snapshot::{Collection, Wanted};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::thread::JoinHandle;
use std::time::Duration;

/// A live Microsoft 365 scan whose Graph token is on its way.
pub struct EarlyStart {
    config: LiveConfig,
    started: JoinHandle<Result<Started, ConnectorError>>,
}

/// What the thread made: the runtime the scan runs on, and the token sources (Graph's asked
/// for once, with what came of it).
struct Started {
    runtime: tokio::runtime::Runtime,
    authority: Arc<HttpTransport>,
    tokens: Tokens,
    checked: Result<(), ConnectorError>,
}

impl EarlyStart {
    /// Asks for the Graph token of a scan configured by `config`, on a thread of its own. `None`
    /// when the scan may not read Graph (`--services` without it), or when no thread can be
    /// started: the scan then starts as [`super::collect_blocking`] does.
    ///
    /// Returns once the request is about to be sent (at most [`HEAD_START`] later), and
    /// [`SEND_GRACE`] after that: loading the pack keeps both cores of a small machine busy, and
    /// the token request, the longer of the two, would otherwise wait for a core behind it.
    pub fn begin(config: &LiveConfig) -> Option<EarlyStart> {
        if !config.allows(Service::Graph) {
            return None;
        }
        let owned = config.clone();
        let (ready, sending) = std::sync::mpsc::sync_channel(1);
        let started = std::thread::Builder::new()
            .name("graph-token".into())
            .spawn(move || start(&owned, &ready))
            .ok()?;
        // Sent, or the thread ended (its sender dropped), or it took too long: go on either way.
        if sending.recv_timeout(HEAD_START).is_ok() {
            std::thread::sleep(SEND_GRACE);
        }
        Some(EarlyStart {
            config: config.clone(),
            started,
        })
    }

    /// Reads `wanted` (and the resources they wait for) from the tenant, as
    /// [`super::collect_blocking`] does, on the runtime and with the token asked for early.
    pub fn collect(
        self,
        registry: &Registry,
        wanted: &BTreeSet<String>,
        keep: Option<&Wanted>,
        progress: Arc<dyn Progress>,
    ) -> Result<Collection, ConnectorError> {
        let Started {
            runtime,
            authority,
            tokens,
            checked,
        } = self.started.join().map_err(|_| {
            ConnectorError::Runtime("the thread asking for the token stopped".into())
        })??;
        runtime.block_on(microsoft::collect_early(
            &self.config,
            &authority,
            tokens,
            checked,
            registry,
            wanted,
            keep,
            progress,
        ))
    }
}

/// How long [`EarlyStart::begin`] waits at most for the token request to be on its way: far
/// more than the few milliseconds it takes (a runtime, a client that loads the trust store).
const HEAD_START: Duration = Duration::from_millis(100);

/// How long [`EarlyStart::begin`] waits more once the request is about to be sent, for the
/// thread to connect and write it (well under a millisecond of work) before the pack's loading
/// takes both cores. "About to be sent" is the last point the thread can tell; reqwest does not
/// say when a request has gone out. Measured at 10 000 accounts (BENCHMARKS.md): the request
/// reached the service 6 ms after the start in 7 of 9 scans with this wait, in 2 of 9 without
/// (17–24 ms in the others). The pack takes ~20 ms and the token's round trip longer, so the
/// wait is not on the scan's critical path.
const SEND_GRACE: Duration = Duration::from_millis(2);

/// The runtime, the authority's transport, the token sources, and Graph's token asked for;
/// `ready` is told just before the request is sent.
fn start(config: &LiveConfig, ready: &SyncSender<()>) -> Result<Started, ConnectorError> {
    let runtime = super::new_runtime()?;
    let authority = Arc::new(HttpTransport::new(
        &[Allowed::exact(&config.authority_url)],
        config.retry.request_timeout,
    )?);
    let tokens = Tokens::new(Arc::clone(&authority) as _, config);
    let checked = match tokens.source(token_scope(Service::Graph, &config.graph_url)) {
        Ok(source) => {
            let _ = ready.try_send(());
            runtime.block_on(check_token(&source))
        }
        Err(err) => Err(err),
    };
    Ok(Started {
        runtime,
        authority,
        tokens,
        checked,
    })
}
