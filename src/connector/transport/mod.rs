//! The transport seam: the one narrow interface through which every request leaves cloudkeur.
//!
//! A [`Request`] can only be one of the shapes cloudkeur sends: a `GET` with a bearer token
//! ([`Request::Read`]), the token request form `POST` ([`Request::Token`]), an admin API's
//! `InvokeCommand` `POST` of a read-only cmdlet ([`Request::Invoke`], whose body is built from an
//! [`Invocation`], itself made only from a [`crate::registry::Cmdlet`]), or Google IAM
//! Credentials' `signJwt` JSON `POST` ([`Request::SignJwt`], whose URL and body only
//! [`SignJwt::new`] makes). It has no method, no free headers and no free body, so a request that
//! writes to a tenant cannot be expressed, whichever [`Transport`] carries it;
//! [`Request::into_http`] is the one place that says which HTTP request each shape is. A
//! transport answers with the status, the headers and the body as a
//! stream of chunks ([`Body`]), which the layers above read with a size cap.
//!
//! [`http::HttpTransport`] carries requests over the network and is the only code in cloudkeur
//! that opens a socket to a service; it refuses any origin it was not built for. Tests put an
//! in-process transport (the simulated Graph) under the same connector code, so retries,
//! `Retry-After` and timeouts run on tokio's paused clock instead of real sleeps.
//!
//! The seam knows no service: each connector (its own origin and token audience) sends its reads
//! through the same [`Transport`]; a new request shape is a new variant here, mapped to exactly
//! one HTTP request by [`Request::into_http`].
//!
//! ```no_run
//! # use cloudkeur::connector::{Secret, transport::{Request, Transport}};
//! # async fn read(transport: &dyn Transport, url: reqwest::Url, bearer: Secret) {
//! let response = transport.send(Request::Read { url, bearer }).await; // a GET, nothing else
//! # }
//! ```
//!
//! ```compile_fail,E0308
//! // An arbitrary HTTP request cannot go through the seam:
//! # use cloudkeur::connector::transport::Transport;
//! async fn delete(transport: &dyn Transport, url: reqwest::Url) {
//!     let _ = transport.send(reqwest::Request::new(reqwest::Method::DELETE, url)).await;
//! }
//! ```

pub mod http;
mod invoke;
pub mod origin;

pub use invoke::{Anchor, Invocation};

use super::Secret;
use ::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use ::http::{HeaderMap, Method};
use bytes::Bytes;
use reqwest::Url;
use std::future::Future;
use std::pin::Pin;

/// A boxed future, as the seam's trait methods return them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The requests cloudkeur sends. Each maps to one HTTP request ([`Request::into_http`]); there
/// is no other.
#[derive(Debug, Clone)]
pub enum Request {
    /// `GET url` with `Authorization: Bearer <bearer>` and `Accept: application/json`.
    Read { url: Url, bearer: Secret },
    /// `POST url` with the `application/x-www-form-urlencoded` body `form` (the OAuth 2.0 token
    /// request; it carries the client secret or assertion, hence a [`Secret`]).
    Token { url: Url, form: Secret },
    /// `POST url` (an admin API's `…/InvokeCommand`, or the `@odata.nextLink` of its previous
    /// page) with the JSON body of `invocation`, a read-only cmdlet, and the admin API's fixed
    /// headers: `Prefer: odata.maxpagesize=1000`, `X-ResponseFormat: json`, a fresh
    /// `client-request-id`, and `X-AnchorMailbox` when an anchor is given.
    Invoke {
        url: Url,
        bearer: Secret,
        invocation: Invocation,
        anchor: Option<Anchor>,
    },
    /// `POST …/v1/projects/-/serviceAccounts/{email}:signJwt` with a bearer token and the JSON
    /// body `{"delegates": [], "payload": …}`: Google's IAM Credentials API signs a JWT for a
    /// keyless (workload identity) service account. It signs and changes nothing; the URL and
    /// the body can only be made by [`SignJwt::new`].
    SignJwt(SignJwt),
}

/// A request as HTTP: what every transport sends, and all it sends.
pub struct HttpRequest {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    /// Empty for a `GET`.
    pub body: Bytes,
}

/// `Prefer` for the admin APIs: pages of up to 1000 objects (the service's own maximum).
pub const ADMIN_PAGE_SIZE: &str = "odata.maxpagesize=1000";

impl Request {
    pub fn url(&self) -> &Url {
        match self {
            Request::Read { url, .. }
            | Request::Token { url, .. }
            | Request::Invoke { url, .. } => url,
            Request::SignJwt(sign) => &sign.url,
        }
    }

    /// The HTTP request this is: its one method, its fixed headers, its body. The bearer token
    /// is marked sensitive (never logged by the HTTP client).
    pub fn into_http(self) -> Result<HttpRequest, TransportError> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let bearer = |headers: &mut HeaderMap, token: &Secret| {
            let mut value =
                HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                    TransportError::Connect("the access token is not a valid header".into())
                })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
            Ok::<_, TransportError>(())
        };
        let (method, url, body) = match self {
            Request::Read { url, bearer: token } => {
                bearer(&mut headers, &token)?;
                (Method::GET, url, Bytes::new())
            }
            Request::Token { url, form } => {
                headers.insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                );
                (Method::POST, url, Bytes::from(form.expose().to_owned()))
            }
            Request::Invoke {
                url,
                bearer: token,
                invocation,
                anchor,
            } => {
                bearer(&mut headers, &token)?;
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                headers.insert(
                    HeaderName::from_static("prefer"),
                    HeaderValue::from_static(ADMIN_PAGE_SIZE),
                );
                headers.insert(
                    HeaderName::from_static("x-responseformat"),
                    HeaderValue::from_static("json"),
                );
                if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
                    headers.insert(HeaderName::from_static("client-request-id"), id);
                }
                if let Some(anchor) = anchor {
                    let value = HeaderValue::from_str(anchor.as_str()).map_err(|_| {
                        TransportError::Refused("an anchor mailbox that is not a header".into())
                    })?;
                    headers.insert(HeaderName::from_static("x-anchormailbox"), value);
                }
                (Method::POST, url, Bytes::from(invocation.body()))
            }
            Request::SignJwt(SignJwt {
                url,
                bearer: token,
                body,
            }) => {
                bearer(&mut headers, &token)?;
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                (Method::POST, url, Bytes::from(body.expose().to_owned()))
            }
        };
        Ok(HttpRequest {
            method,
            url,
            headers,
            body,
        })
    }
}

/// The one JSON `POST` cloudkeur sends: IAM Credentials' `signJwt` for a service account.
#[derive(Debug, Clone)]
pub struct SignJwt {
    url: Url,
    bearer: Secret,
    body: Secret,
}

impl SignJwt {
    /// The request on `origin` (the IAM Credentials API, `https://iamcredentials.googleapis.com`)
    /// for `service_account` (an email), signing `payload` (JWT claims). Refused when the
    /// account is not an email that fits in the path as it is.
    pub fn new(
        origin: &Url,
        service_account: &str,
        bearer: Secret,
        payload: &serde_json::Value,
    ) -> Result<SignJwt, TransportError> {
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@');
        if service_account.split('@').count() != 2 || !service_account.chars().all(plain) {
            return Err(TransportError::Refused(
                "a service account that is not an email address".into(),
            ));
        }
        let url = origin
            .join(&format!(
                "/v1/projects/-/serviceAccounts/{service_account}:signJwt"
            ))
            .map_err(|err| TransportError::Refused(format!("a signJwt URL: {err}")))?;
        let body = serde_json::json!({"delegates": [], "payload": payload.to_string()});
        Ok(SignJwt {
            url,
            bearer,
            body: Secret::new(body.to_string()),
        })
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn bearer(&self) -> &Secret {
        &self.bearer
    }

    /// The JSON body (it names the administrator impersonated: kept out of logs).
    pub fn body(&self) -> &Secret {
        &self.body
    }
}

/// What came back: status and headers, and the body still to be read.
pub struct Response {
    pub status: u16,
    pub headers: ::http::HeaderMap,
    pub body: Body,
}

/// Why no (whole) response arrived. Never holds a URL's query, a token or a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// Not sent: the URL is not one this transport or reader may send to. Not retried.
    #[error("refused to send a request to {0}")]
    Refused(String),
    #[error("request timed out")]
    Timeout,
    /// The connection failed or dropped, before or during the body.
    #[error("connection failed: {0}")]
    Connect(String),
    /// The body is longer than the cap; nothing beyond the cap was kept. Not retried.
    #[error(
        "the response body is larger than the limit of {limit} bytes (--max-response-bytes); raise the limit if this tenant's pages really are that large"
    )]
    TooLarge { limit: u64 },
}

impl TransportError {
    /// A timeout or a dropped connection may go better next time; a refusal or an oversized
    /// body will not.
    pub fn is_retryable(&self) -> bool {
        matches!(self, TransportError::Timeout | TransportError::Connect(_))
    }
}

/// Sends requests. Implemented by [`http::HttpTransport`] and, in tests, by simulators.
pub trait Transport: Send + Sync {
    fn send(&self, request: Request) -> BoxFuture<'_, Result<Response, TransportError>>;
}

/// Where a body's chunks come from.
pub trait BodySource: Send {
    /// The next chunk, or `None` at the end of the body.
    fn next_chunk(&mut self) -> BoxFuture<'_, Result<Option<Bytes>, TransportError>>;
}

/// A response body, read chunk by chunk so that its size can be capped while it arrives.
pub struct Body(Box<dyn BodySource>);

impl Body {
    pub fn new(source: impl BodySource + 'static) -> Self {
        Body(Box::new(source))
    }

    /// A body that is already in memory.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        Body::from_chunks(vec![Ok(bytes.into())])
    }

    /// A body of these chunks in order; an `Err` ends it as a connection failure would.
    pub fn from_chunks(chunks: Vec<Result<Bytes, TransportError>>) -> Self {
        Body::new(Chunks(chunks.into_iter()))
    }

    /// Reads the whole body, refusing it as soon as it is known to exceed `limit` bytes: at once
    /// when `Content-Length` says so, else when the chunks received pass the limit. A body of
    /// several gigabytes thus costs at most `limit` bytes of memory, never an aborted process.
    pub async fn read_to_end(
        mut self,
        limit: u64,
        content_length: Option<u64>,
    ) -> Result<Vec<u8>, TransportError> {
        if content_length.is_some_and(|len| len > limit) {
            return Err(TransportError::TooLarge { limit });
        }
        let capacity = content_length.map_or(0, |len| usize::try_from(len).unwrap_or(0));
        let mut body = Vec::with_capacity(capacity);
        while let Some(chunk) = self.0.next_chunk().await? {
            let total = body.len() as u64 + chunk.len() as u64;
            if total > limit {
                return Err(TransportError::TooLarge { limit });
            }
            if body.is_empty() && chunk.len() >= capacity {
                // The first chunk as the buffer: no copy when it is the whole body.
                body = Vec::from(chunk);
            } else {
                body.extend_from_slice(&chunk);
            }
        }
        Ok(body)
    }
}

/// `Content-Length`, when present and a number.
pub fn content_length(headers: &::http::HeaderMap) -> Option<u64> {
    headers
        .get(::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

struct Chunks(std::vec::IntoIter<Result<Bytes, TransportError>>);

impl BodySource for Chunks {
    fn next_chunk(&mut self) -> BoxFuture<'_, Result<Option<Bytes>, TransportError>> {
        let next = self.0.next().transpose();
        Box::pin(std::future::ready(next))
    }
}

/// A transport for unit tests: answers every request with one canned response and keeps the
/// requests it was given.
#[cfg(test)]
pub(crate) mod fake {
    use super::*;
    use std::sync::Mutex;

    pub(crate) struct Canned {
        pub status: u16,
        pub headers: Vec<(&'static str, String)>,
        pub body: Vec<u8>,
        pub sent: Mutex<Vec<Request>>,
    }

    impl Canned {
        pub(crate) fn new(status: u16, body: &[u8]) -> Self {
            Canned {
                status,
                headers: Vec::new(),
                body: body.to_vec(),
                sent: Mutex::new(Vec::new()),
            }
        }

        pub(crate) fn sent(&self) -> usize {
            self.sent.lock().map(|s| s.len()).unwrap_or(0)
        }
    }

    impl Transport for Canned {
        fn send(&self, request: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
            if let Ok(mut sent) = self.sent.lock() {
                sent.push(request);
            }
            let mut headers = ::http::HeaderMap::new();
            for (name, value) in &self.headers {
                if let (Ok(name), Ok(value)) = (
                    ::http::HeaderName::from_bytes(name.as_bytes()),
                    ::http::HeaderValue::from_str(value),
                ) {
                    headers.insert(name, value);
                }
            }
            let response = Response {
                status: self.status,
                headers,
                body: Body::from_bytes(self.body.clone()),
            };
            Box::pin(std::future::ready(Ok(response)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body that never ends: each chunk is 1 MiB of zeros.
    struct Endless;
    impl BodySource for Endless {
        fn next_chunk(&mut self) -> BoxFuture<'_, Result<Option<Bytes>, TransportError>> {
            Box::pin(async { Ok(Some(Bytes::from(vec![0u8; 1 << 20]))) })
        }
    }

    #[tokio::test]
    async fn a_body_beyond_the_cap_is_refused_while_it_streams() {
        let err = Body::new(Endless)
            .read_to_end(8 << 20, None)
            .await
            .unwrap_err();
        assert_eq!(err, TransportError::TooLarge { limit: 8 << 20 });
        assert!(err.to_string().contains("--max-response-bytes"), "{err}");
        assert!(!err.is_retryable());
    }

    #[tokio::test]
    async fn a_content_length_beyond_the_cap_is_refused_before_reading() {
        let err = Body::new(Endless)
            .read_to_end(1000, Some(3_000_000_000))
            .await
            .unwrap_err();
        assert_eq!(err, TransportError::TooLarge { limit: 1000 });
    }

    #[tokio::test]
    async fn a_body_within_the_cap_is_read_whole_in_order() {
        let body = Body::from_chunks(vec![Ok(Bytes::from("{\"value\"")), Ok(Bytes::from(":[]}"))]);
        assert_eq!(body.read_to_end(12, None).await.unwrap(), b"{\"value\":[]}");
        let exact = Body::from_bytes("12345");
        assert_eq!(exact.read_to_end(5, Some(5)).await.unwrap(), b"12345");
        let over = Body::from_chunks(vec![Ok(Bytes::from("123")), Ok(Bytes::from("456"))]);
        assert!(over.read_to_end(5, None).await.is_err());
    }

    #[test]
    fn sign_jwt_goes_only_to_one_service_accounts_sign_jwt_path() {
        let origin = Url::parse("https://iamcredentials.googleapis.com").unwrap();
        let payload = serde_json::json!({"iss": "a@b.iam.gserviceaccount.com", "sub": "admin@school.example"});
        let sign = SignJwt::new(
            &origin,
            "scanner@project.iam.gserviceaccount.com",
            Secret::new("t"),
            &payload,
        )
        .unwrap();
        assert_eq!(
            sign.url().as_str(),
            "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/scanner@project.iam.gserviceaccount.com:signJwt"
        );
        let body: serde_json::Value = serde_json::from_str(sign.body().expose()).unwrap();
        assert_eq!(body["delegates"], serde_json::json!([]));
        assert_eq!(body["payload"], payload.to_string());
        for bad in [
            "no-at-sign",
            "a@b/../../x@y",
            "a@b?x=1",
            "a@b#f",
            "a b@c",
            "a@b@c",
        ] {
            assert!(
                SignJwt::new(&origin, bad, Secret::new("t"), &payload).is_err(),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn a_body_that_breaks_off_is_a_connection_failure() {
        let body = Body::from_chunks(vec![
            Ok(Bytes::from("{\"val")),
            Err(TransportError::Connect("reset".into())),
        ]);
        let err = body.read_to_end(1 << 20, None).await.unwrap_err();
        assert!(err.is_retryable());
    }
}
