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
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
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

    /// The customer's primary domain (`google_domains`), the name people know it by: its
    /// display name needs `customers.get` and a scope of its own, which no control needs.
    fn tenant_name(&self, results: &BTreeMap<String, Collected>) -> Option<String> {
        if self.service != Service::GoogleDirectory {
            return None;
        }
        let Some(Collected::Read { body, .. }) = results.get("google_domains") else {
            return None;
        };
        body.get("value")?
            .as_array()?
            .iter()
            .find(|domain| domain.get("isPrimary") == Some(&Value::Bool(true)))?
            .get("domainName")?
            .as_str()
            .map(str::to_owned)
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
        let permits = job.permits.clone();
        Box::pin(async move {
            // One permit for the resource's whole chain of requests (a fan-out reads its ids
            // one after another).
            let _permit = permits.acquire().await.ok();
            let collected = match &spec.for_each {
                None => reader.read(&name, &spec).await,
                Some(_) => reader.read_fan_out(&name, &spec, parent.as_ref()).await,
            };
            as_read(collected)
        })
    }
}

/// The customer id behind `my_customer`: the `customerId` every user read carries, when they
/// all carry the same plain one. Otherwise none (the scan keeps the alias).
pub(super) fn customer_id(results: &BTreeMap<String, Collected>) -> Option<String> {
    let Some(Collected::Read { body, .. }) = results.get("google_users") else {
        return None;
    };
    let ids: BTreeSet<&str> = body
        .get("value")?
        .as_array()?
        .iter()
        .map(|user| user.get("customerId").and_then(Value::as_str))
        .collect::<Option<_>>()?;
    match ids.into_iter().collect::<Vec<_>>()[..] {
        [id] if super::is_plain_customer(id) => Some(id.to_owned()),
        _ => None,
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
            file_sha256,
            projected,
            ..
        } => Read {
            request,
            note,
            outcome: Ok(ReadBody {
                body,
                pages,
                file_sha256,
                projected,
            }),
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn users(body: Value) -> BTreeMap<String, Collected> {
        BTreeMap::from([(
            "google_users".to_owned(),
            Collected::Read {
                request: String::new(),
                http_status: 200,
                pages: 1,
                body,
                note: None,
                file_sha256: None,
                projected: false,
            },
        )])
    }

    #[test]
    fn the_customer_id_is_taken_only_when_every_user_names_the_same_plain_one() {
        let one = json!({"value": [{"customerId": "C02klmp9x"}, {"customerId": "C02klmp9x"}]});
        assert_eq!(customer_id(&users(one)).as_deref(), Some("C02klmp9x"));
        for unclear in [
            json!({"value": [{"customerId": "C02klmp9x"}, {"customerId": "C03other"}]}),
            json!({"value": [{"customerId": "C02klmp9x"}, {}]}),
            json!({"value": [{"customerId": "../C02"}]}),
            json!({"value": []}),
            json!({}),
        ] {
            assert_eq!(customer_id(&users(unclear.clone())), None, "{unclear}");
        }
        assert_eq!(customer_id(&BTreeMap::new()), None);
    }
}
