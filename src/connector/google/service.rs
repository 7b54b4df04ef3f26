//! The Google services as the engine's [`ServiceConnector`]s: the Directory API and the Cloud
//! Identity Policy API each get one, both reading through one [`Reader`] (one token source, one
//! customer). The engine decides what is read and when (a fan-out after the list that names its
//! ids, everything else at once, at most `--concurrency` reads at a time); these decide how.

use super::read::Reader;
use crate::connector::ConnectorError;
use crate::connector::engine::{Job, LocalFuture, Read, ServiceConnector};
use crate::connector::fetch::{ReadBody, ReadFailure};
use crate::registry::Service;
use crate::snapshot::Collected;
use reqwest::Url;
use std::sync::Arc;

/// One Google service's connector.
pub(super) struct GoogleConnector {
    service: Service,
    origin: Url,
    reader: Arc<Reader>,
}

impl GoogleConnector {
    /// The connector of `service`, when it is a Google API.
    pub fn new(service: Service, reader: &Arc<Reader>) -> Option<Self> {
        let origin = reader.origin(service)?.clone();
        Some(GoogleConnector {
            service,
            origin,
            reader: Arc::clone(reader),
        })
    }
}

impl ServiceConnector for GoogleConnector {
    fn service(&self) -> Service {
        self.service
    }

    fn origin(&self) -> &Url {
        &self.origin
    }

    fn check_credential(&self) -> LocalFuture<'_, Result<(), ConnectorError>> {
        Box::pin(async move {
            let tokens = &self.reader.tokens;
            tokens
                .token()
                .await
                .map(|_| ())
                .map_err(|err| ConnectorError::Auth {
                    message: err.to_string(),
                    hint: tokens.hint().to_owned(),
                })
        })
    }

    fn read(&self, job: Job<'_>) -> LocalFuture<'static, Read> {
        let reader = Arc::clone(&self.reader);
        let name = job.name.to_owned();
        let spec = job.spec.clone();
        // A fan-out's parent is recorded before the engine starts it.
        let parent = spec
            .for_each
            .as_ref()
            .and_then(|fan_out| job.results.get(&fan_out.resource))
            .cloned();
        let permits = Arc::clone(job.permits);
        Box::pin(async move {
            // One permit for the resource's whole chain of requests (a fan-out reads its ids
            // one after another).
            let _permit = permits.acquire_owned().await.ok();
            let collected = match &spec.for_each {
                None => reader.read(&name, &spec).await,
                Some(_) => reader.read_fan_out(&name, &spec, parent.as_ref()).await,
            };
            as_read(collected)
        })
    }
}

/// What the reader recorded, as the engine takes it.
fn as_read(collected: Collected) -> Read {
    match collected {
        Collected::Read {
            request,
            pages,
            body,
            note,
            ..
        } => Read {
            request,
            note,
            outcome: Ok(ReadBody { body, pages }),
        },
        Collected::Failed {
            request,
            http_status,
            error,
            note,
        } => Read {
            request,
            note,
            outcome: Err(ReadFailure {
                http_status,
                error,
                unavailable: false,
            }),
        },
        Collected::NotNeeded { request, reason } => Read {
            request,
            note: None,
            outcome: Err(ReadFailure {
                http_status: None,
                error: reason,
                unavailable: false,
            }),
        },
    }
}
