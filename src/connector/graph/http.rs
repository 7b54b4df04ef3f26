//! The read-only HTTP layer: the only code in cloudkeur that sends a request.
//!
//! The `reqwest::Client` never leaves this module. Two narrow handles wrap it:
//! [`GraphReader`] can only send `GET` to URLs on the configured Graph origin, and
//! [`TokenPoster`] can only `POST` a form to the one configured token URL. Neither has a method
//! that takes an HTTP method, so nothing else can be sent, and neither follows redirects, so a
//! bearer token never travels to another host.
//!
//! ```no_run
//! # use cloudkeur::connector::{Secret, graph::http::GraphReader};
//! # async fn read(reader: &GraphReader, url: reqwest::Url, token: &Secret) {
//! let response = reader.get(&url, token).await; // the one request it can send
//! # }
//! ```
//!
//! ```compile_fail
//! // There is no way to ask the Graph reader for another method:
//! fn delete(reader: &cloudkeur::connector::graph::http::GraphReader, url: reqwest::Url) {
//!     let _ = reader.request(reqwest::Method::DELETE, url);
//! }
//! ```

use super::super::{ConnectorError, Secret};
use reqwest::Url;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

/// Checks a base URL given by a flag: https anywhere, http only for a loopback host; no user
/// info, query or fragment. Returns it without a trailing slash.
pub fn check_base_url(flag: &'static str, text: &str) -> Result<Url, ConnectorError> {
    let bad = |problem: &str| ConnectorError::BadUrl {
        flag,
        url: text.to_owned(),
        problem: problem.to_owned(),
    };
    let url = Url::parse(text).map_err(|err| bad(&format!("not a URL ({err})")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(bad(
                "plain http is refused for a host that is not loopback (127.0.0.0/8, ::1, localhost); use https",
            ));
        }
        other => return Err(bad(&format!("unsupported scheme '{other}'; use https"))),
    }
    if url.host().is_none() {
        return Err(bad("no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("user info in the URL is not allowed"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("a base URL takes no query or fragment"));
    }
    let trimmed = url.as_str().trim_end_matches('/').to_owned();
    Url::parse(&trimmed).map_err(|err| bad(&format!("not a URL ({err})")))
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip == Ipv6Addr::LOCALHOST,
        None => false,
    }
}

/// Same scheme, host and port (default ports made explicit).
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && a.port_or_known_default() == b.port_or_known_default()
}

/// A response as the layers above need it.
#[derive(Debug)]
pub struct GraphResponse {
    pub status: u16,
    /// `Retry-After` (seconds or an HTTP date), when the server sent one.
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

/// Why no response arrived. Never holds a URL's secret parts or a token.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("refused to send a request to {0}: not the configured Graph host")]
    ForeignOrigin(String),
    #[error("request timed out")]
    Timeout,
    #[error("connection failed: {0}")]
    Connect(String),
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
        TransportError::Connect(one_line(&err.without_url_string()))
    }
}

trait WithoutUrl {
    fn without_url_string(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_string(&self) -> String {
        let mut text = String::new();
        let mut source: Option<&dyn std::error::Error> = Some(self);
        let mut first = true;
        while let Some(err) = source {
            let part = if first {
                if self.is_connect() {
                    "cannot connect".to_owned()
                } else if self.is_body() || self.is_decode() {
                    "response body could not be read".to_owned()
                } else {
                    "request failed".to_owned()
                }
            } else {
                err.to_string()
            };
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
            first = false;
            source = err.source();
        }
        text
    }
}

/// Sends `GET` to the configured Graph origin, and nothing else.
#[derive(Clone)]
pub struct GraphReader {
    client: reqwest::Client,
    origin: Url,
}

impl GraphReader {
    pub fn new(origin: Url, timeout: Duration) -> Result<Self, ConnectorError> {
        Ok(GraphReader {
            client: build_client(&origin, timeout)?,
            origin,
        })
    }

    pub fn origin(&self) -> &Url {
        &self.origin
    }

    /// `GET url` with the bearer token. A URL on another origin is refused before any socket
    /// is opened.
    pub async fn get(&self, url: &Url, token: &Secret) -> Result<GraphResponse, TransportError> {
        if !same_origin(url, &self.origin) {
            return Err(TransportError::ForeignOrigin(origin_text(url)));
        }
        let mut bearer =
            HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                TransportError::Connect("the access token is not a valid header".into())
            })?;
        bearer.set_sensitive(true);
        let response = self
            .client
            .get(url.clone())
            .header(AUTHORIZATION, bearer)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|err| transport_error(&err))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| super::retry::parse_retry_after(v, std::time::SystemTime::now()));
        let body = response
            .bytes()
            .await
            .map_err(|err| transport_error(&err))?;
        Ok(GraphResponse {
            status,
            retry_after,
            body: body.to_vec(),
        })
    }
}

/// `scheme://host:port` only, for messages.
pub fn origin_text(url: &Url) -> String {
    match url.port() {
        Some(port) => format!("{}://{}:{port}", url.scheme(), url.host_str().unwrap_or("")),
        None => format!("{}://{}", url.scheme(), url.host_str().unwrap_or("")),
    }
}

/// Posts the token request form to the one configured token URL, and nothing else.
#[derive(Clone)]
pub struct TokenPoster {
    client: reqwest::Client,
    token_url: Url,
}

impl TokenPoster {
    pub fn new(token_url: Url, timeout: Duration) -> Result<Self, ConnectorError> {
        Ok(TokenPoster {
            client: build_client(&token_url, timeout)?,
            token_url,
        })
    }

    /// The adapter between the `oauth2` crate and reqwest: only a form POST to the token URL
    /// passes; any other request the crate might build is refused unsent.
    pub async fn send(
        &self,
        request: oauth2::HttpRequest,
    ) -> Result<oauth2::HttpResponse, TransportError> {
        let url = Url::parse(&request.uri().to_string())
            .map_err(|_| TransportError::ForeignOrigin("an unparsable token URL".into()))?;
        if request.method() != http::Method::POST || url != self.token_url {
            return Err(TransportError::ForeignOrigin(origin_text(&url)));
        }
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .cloned()
            .unwrap_or_else(|| HeaderValue::from_static("application/x-www-form-urlencoded"));
        let response = self
            .client
            .post(self.token_url.clone())
            .header(CONTENT_TYPE, content_type)
            .header(reqwest::header::ACCEPT, "application/json")
            .body(request.into_body())
            .send()
            .await
            .map_err(|err| transport_error(&err))?;
        let mut builder = http::Response::builder().status(response.status().as_u16());
        if let Some(value) = response.headers().get(CONTENT_TYPE) {
            builder = builder.header(CONTENT_TYPE, value.clone());
        }
        let body = response
            .bytes()
            .await
            .map_err(|err| transport_error(&err))?;
        builder
            .body(body.to_vec())
            .map_err(|err| TransportError::Connect(err.to_string()))
    }
}

pub(crate) fn one_line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() > 300 {
        let cut: String = joined.chars().take(300).collect();
        format!("{cut}…")
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_is_accepted_only_for_loopback_hosts() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://[::1]:5",
            "http://localhost:1",
            "https://graph.microsoft.com/",
        ] {
            assert!(check_base_url("--graph-url", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://graph.microsoft.com",
            "http://10.0.0.1",
            "http://[::2]",
            "ftp://127.0.0.1",
            "https://u:p@graph.microsoft.com",
            "https://graph.microsoft.com/?x=1",
        ] {
            assert!(check_base_url("--graph-url", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn other_port_or_host_is_another_origin() {
        let base = Url::parse("https://graph.microsoft.com").unwrap();
        let same = Url::parse("https://GRAPH.microsoft.com:443/v1.0/users?$skiptoken=x").unwrap();
        assert!(same_origin(&base, &same));
        for other in [
            "https://graph.microsoft.com:8443/v1.0",
            "http://graph.microsoft.com/v1.0",
            "https://evil.example/v1.0",
        ] {
            assert!(!same_origin(&base, &Url::parse(other).unwrap()), "{other}");
        }
    }

    #[tokio::test]
    async fn graph_reader_refuses_a_foreign_origin_before_connecting() {
        let base = Url::parse("http://127.0.0.1:9").unwrap();
        let reader = GraphReader::new(base, Duration::from_secs(1)).unwrap();
        let foreign = Url::parse("https://elsewhere.example/v1.0/users").unwrap();
        let err = reader.get(&foreign, &Secret::new("t")).await.unwrap_err();
        assert!(matches!(err, TransportError::ForeignOrigin(_)));
    }

    #[tokio::test]
    async fn token_poster_refuses_any_request_but_post_to_the_token_url() {
        let token_url = Url::parse("http://127.0.0.1:9/t/oauth2/v2.0/token").unwrap();
        let poster = TokenPoster::new(token_url, Duration::from_secs(1)).unwrap();
        let get = http::Request::builder()
            .method(http::Method::GET)
            .uri("http://127.0.0.1:9/t/oauth2/v2.0/token")
            .body(Vec::new())
            .unwrap();
        assert!(poster.send(get).await.is_err());
        let elsewhere = http::Request::builder()
            .method(http::Method::POST)
            .uri("http://127.0.0.1:9/other")
            .body(Vec::new())
            .unwrap();
        assert!(poster.send(elsewhere).await.is_err());
    }
}
