//! The GET reader: sends `GET` to one configured origin (Microsoft Graph, the Teams admin API),
//! through the transport seam, and nothing else.
//!
//! It refuses a URL on another origin (a `@odata.nextLink` to another host) or with user info
//! before anything is sent, and reads the body with a size cap while it streams. It has no
//! method that takes an HTTP method.
//!
//! ```no_run
//! # use cloudkeur::connector::{Secret, reader::Reader};
//! # async fn read(reader: &Reader, url: reqwest::Url, token: &Secret) {
//! let response = reader.get(&url, token).await; // the one request it can send
//! # }
//! ```
//!
//! ```compile_fail,E0599
//! // There is no way to ask the reader for another method:
//! fn delete(reader: &cloudkeur::connector::reader::Reader, url: reqwest::Url) {
//!     let _ = reader.request(reqwest::Method::DELETE, url);
//! }
//! ```

use super::Secret;
use super::fetch::Answer;
use super::transport::origin::{has_user_info, origin_text, same_origin};
use super::transport::{Request, Transport, TransportError};
use reqwest::Url;
use std::sync::Arc;

/// Sends `GET` to one configured origin, and nothing else.
#[derive(Clone)]
pub struct Reader {
    transport: Arc<dyn Transport>,
    origin: Url,
    /// The service, for messages ("not the configured Graph host").
    service: &'static str,
    max_response_bytes: u64,
}

impl Reader {
    pub fn new(
        transport: Arc<dyn Transport>,
        origin: Url,
        service: &'static str,
        max_response_bytes: u64,
    ) -> Self {
        Reader {
            transport,
            origin,
            service,
            max_response_bytes,
        }
    }

    pub fn origin(&self) -> &Url {
        &self.origin
    }

    /// `GET url` with the bearer token. A URL on another origin, or with user info, is refused
    /// before anything is sent; a body longer than the cap is refused while it arrives.
    pub async fn get(&self, url: &Url, token: &Secret) -> Result<Answer, TransportError> {
        if !same_origin(url, &self.origin) {
            return Err(TransportError::Refused(format!(
                "{}: not the configured {} host",
                origin_text(url),
                self.service
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
        Answer::read(response, self.max_response_bytes).await
    }
}

#[cfg(test)]
mod tests {
    use super::super::transport::fake::Canned;
    use super::*;
    use std::time::Duration;

    fn reader(transport: &Arc<Canned>, cap: u64) -> Reader {
        let origin = Url::parse("https://graph.microsoft.com").unwrap();
        Reader::new(
            Arc::clone(transport) as Arc<dyn Transport>,
            origin,
            "Graph",
            cap,
        )
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
