//! The Graph reader: sends `GET` to the configured Graph origin, through the transport seam, and
//! nothing else.
//!
//! It refuses a URL on another origin (a `@odata.nextLink` to another host) or with user info
//! before anything is sent, reads `Retry-After` in both of its forms, and reads the body with a
//! size cap while it streams. It has no method that takes an HTTP method.
//!
//! ```no_run
//! # use cloudkeur::connector::{Secret, graph::reader::GraphReader};
//! # async fn read(reader: &GraphReader, url: reqwest::Url, token: &Secret) {
//! let response = reader.get(&url, token).await; // the one request it can send
//! # }
//! ```
//!
//! ```compile_fail
//! // There is no way to ask the Graph reader for another method:
//! fn delete(reader: &cloudkeur::connector::graph::reader::GraphReader, url: reqwest::Url) {
//!     let _ = reader.request(reqwest::Method::DELETE, url);
//! }
//! ```

use super::super::Secret;
use super::super::transport::origin::{has_user_info, origin_text, same_origin};
use super::super::transport::{Request, Transport, TransportError, content_length};
use super::retry::parse_retry_after;
use reqwest::Url;
use reqwest::header::RETRY_AFTER;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A response as the layers above need it.
#[derive(Debug)]
pub struct GraphResponse {
    pub status: u16,
    /// `Retry-After` (seconds or an HTTP date), when the server sent one.
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

/// Sends `GET` to the configured Graph origin, and nothing else.
#[derive(Clone)]
pub struct GraphReader {
    transport: Arc<dyn Transport>,
    origin: Url,
    max_response_bytes: u64,
}

impl GraphReader {
    pub fn new(transport: Arc<dyn Transport>, origin: Url, max_response_bytes: u64) -> Self {
        GraphReader {
            transport,
            origin,
            max_response_bytes,
        }
    }

    pub fn origin(&self) -> &Url {
        &self.origin
    }

    /// `GET url` with the bearer token. A URL on another origin, or with user info, is refused
    /// before anything is sent; a body longer than the cap is refused while it arrives.
    pub async fn get(&self, url: &Url, token: &Secret) -> Result<GraphResponse, TransportError> {
        if !same_origin(url, &self.origin) {
            return Err(TransportError::Refused(format!(
                "{}: not the configured Graph host",
                origin_text(url)
            )));
        }
        if has_user_info(url) {
            return Err(TransportError::Refused(format!(
                "{}: the URL carries user info, which would be sent as Basic credentials",
                origin_text(url)
            )));
        }
        let request = Request::Read {
            url: url.clone(),
            bearer: token.clone(),
        };
        let response = self.transport.send(request).await?;
        let retry_after = response
            .headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let length = content_length(&response.headers);
        let body = response
            .body
            .read_to_end(self.max_response_bytes, length)
            .await?;
        Ok(GraphResponse {
            status: response.status,
            retry_after,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::transport::fake::Canned;
    use super::*;

    fn reader(transport: &Arc<Canned>, cap: u64) -> GraphReader {
        let origin = Url::parse("https://graph.microsoft.com").unwrap();
        GraphReader::new(Arc::clone(transport) as Arc<dyn Transport>, origin, cap)
    }

    #[tokio::test]
    async fn a_foreign_origin_or_user_info_is_refused_before_anything_is_sent() {
        let transport = Arc::new(Canned::new(200, b"{}"));
        let reader = reader(&transport, 1 << 20);
        for url in [
            "https://elsewhere.example/v1.0/users",
            "https://graph.microsoft.com:8443/v1.0/users",
            "https://user:pw@graph.microsoft.com/v1.0/users",
        ] {
            let url = Url::parse(url).unwrap();
            let err = reader.get(&url, &Secret::new("t")).await.unwrap_err();
            assert!(matches!(err, TransportError::Refused(_)), "{url}: {err}");
            assert!(!err.to_string().contains("pw"), "{err}");
        }
        assert_eq!(transport.sent(), 0);
        let ok = Url::parse("https://graph.microsoft.com/v1.0/users").unwrap();
        assert!(reader.get(&ok, &Secret::new("t")).await.is_ok());
        assert_eq!(transport.sent(), 1);
    }

    #[tokio::test]
    async fn retry_after_and_the_body_cap_are_applied() {
        let mut canned = Canned::new(429, br#"{"error":{"code":"TooManyRequests"}}"#);
        canned.headers.push(("retry-after", "7".into()));
        let transport = Arc::new(canned);
        let url = Url::parse("https://graph.microsoft.com/v1.0/users").unwrap();
        let response = reader(&transport, 1 << 20)
            .get(&url, &Secret::new("t"))
            .await
            .unwrap();
        assert_eq!(response.status, 429);
        assert_eq!(response.retry_after, Some(Duration::from_secs(7)));
        let err = reader(&transport, 10)
            .get(&url, &Secret::new("t"))
            .await
            .unwrap_err();
        assert_eq!(err, TransportError::TooLarge { limit: 10 });
    }
}
