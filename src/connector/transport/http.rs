//! The network transport: the only code in cloudkeur that sends an HTTP request to a service.
//!
//! It holds one `reqwest::Client` per origin it was built for (Graph and the token authority
//! today) and sends a [`Request`] as the one method that request shape maps to: `GET` for
//! [`Request::Read`], `POST` of a form for [`Request::Token`]. A URL on any other origin, or
//! carrying user info (which a client would send as Basic credentials), is refused before a
//! socket is opened. Redirects are not followed, so a bearer token never travels to another
//! host. Response bodies are not decompressed (no `Accept-Encoding` is sent), so a small
//! compressed body can never expand past the size cap the readers apply.

use super::origin::{has_user_info, is_loopback, origin_text, same_origin};
use super::{Body, BodySource, BoxFuture, Request, Response, Transport, TransportError};
use crate::connector::ConnectorError;
use crate::connector::one_line;
use bytes::Bytes;
use reqwest::Url;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use std::time::Duration;

/// Sends requests to a fixed set of origins over HTTPS (http only to loopback).
pub struct HttpTransport {
    clients: Vec<(Url, reqwest::Client)>,
}

impl HttpTransport {
    /// A transport that may reach `origins` and nothing else; each request times out after
    /// `timeout` (connect to last byte; the readers above also time out on their own clock).
    pub fn new(origins: &[&Url], timeout: Duration) -> Result<Self, ConnectorError> {
        let clients = origins
            .iter()
            .map(|origin| Ok(((*origin).clone(), build_client(origin, timeout)?)))
            .collect::<Result<_, ConnectorError>>()?;
        Ok(HttpTransport { clients })
    }

    fn client_for(&self, url: &Url) -> Result<&reqwest::Client, TransportError> {
        if has_user_info(url) {
            return Err(TransportError::Refused(format!(
                "{}: the URL carries user info",
                origin_text(url)
            )));
        }
        self.clients
            .iter()
            .find(|(origin, _)| same_origin(origin, url))
            .map(|(_, client)| client)
            .ok_or_else(|| {
                TransportError::Refused(format!("{}: not a configured host", origin_text(url)))
            })
    }
}

impl Transport for HttpTransport {
    fn send(&self, request: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
        Box::pin(async move {
            let client = self.client_for(request.url())?;
            let builder = match request {
                Request::Read { url, bearer } => {
                    let mut value = HeaderValue::from_str(&format!("Bearer {}", bearer.expose()))
                        .map_err(|_| {
                        TransportError::Connect("the access token is not a valid header".into())
                    })?;
                    value.set_sensitive(true);
                    client.get(url).header(AUTHORIZATION, value)
                }
                Request::Token { url, form } => client
                    .post(url)
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(form.expose().to_owned()),
                Request::SignJwt(sign) => {
                    let mut value =
                        HeaderValue::from_str(&format!("Bearer {}", sign.bearer().expose()))
                            .map_err(|_| {
                                TransportError::Connect(
                                    "the access token is not a valid header".into(),
                                )
                            })?;
                    value.set_sensitive(true);
                    client
                        .post(sign.url().clone())
                        .header(AUTHORIZATION, value)
                        .header(CONTENT_TYPE, "application/json")
                        .body(sign.body().expose().to_owned())
                }
            };
            let response = builder
                .header(ACCEPT, "application/json")
                .send()
                .await
                .map_err(|err| transport_error(&err))?;
            Ok(Response {
                status: response.status().as_u16(),
                headers: response.headers().clone(),
                body: Body::new(ReqwestBody(response)),
            })
        })
    }
}

struct ReqwestBody(reqwest::Response);

impl BodySource for ReqwestBody {
    fn next_chunk(&mut self) -> BoxFuture<'_, Result<Option<Bytes>, TransportError>> {
        Box::pin(async move { self.0.chunk().await.map_err(|err| transport_error(&err)) })
    }
}

/// A client for one origin. System proxy settings apply, except to a loopback host: a local
/// test server is never reached through a proxy.
fn build_client(target: &Url, timeout: Duration) -> Result<reqwest::Client, ConnectorError> {
    let mut builder = reqwest::Client::builder();
    if is_loopback(target) {
        builder = builder.no_proxy();
    }
    builder
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("cloudkeur/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| ConnectorError::Client(one_line(&err.to_string())))
}

fn transport_error(err: &reqwest::Error) -> TransportError {
    if err.is_timeout() {
        TransportError::Timeout
    } else {
        // Without the URL: a nextLink may carry query values nobody needs in a log.
        TransportError::Connect(one_line(&without_url(err)))
    }
}

/// The error and its sources as one line, without the URL reqwest puts in its own message.
fn without_url(err: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(err);
    let mut first = true;
    while let Some(cause) = source {
        let part = if first {
            if err.is_connect() {
                "cannot connect".to_owned()
            } else if err.is_body() || err.is_decode() {
                "response body could not be read".to_owned()
            } else {
                "request failed".to_owned()
            }
        } else {
            cause.to_string()
        };
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
        first = false;
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::Secret;

    #[tokio::test]
    async fn a_url_on_another_origin_or_with_user_info_is_refused_unsent() {
        let graph = Url::parse("http://127.0.0.1:9").unwrap();
        let transport = HttpTransport::new(&[&graph], Duration::from_secs(1)).unwrap();
        for url in [
            "https://elsewhere.example/v1.0/users",
            "http://127.0.0.1:10/v1.0/users",
            "http://user:pw@127.0.0.1:9/v1.0/users",
        ] {
            let request = Request::Read {
                url: Url::parse(url).unwrap(),
                bearer: Secret::new("t"),
            };
            let Err(err) = transport.send(request).await else {
                panic!("{url} was sent");
            };
            assert!(matches!(err, TransportError::Refused(_)), "{url}: {err}");
            assert!(!err.to_string().contains("pw"), "{err}");
        }
    }
}
