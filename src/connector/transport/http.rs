//! The network transport: the only code in cloudkeur that sends an HTTP request to a service.
//!
//! It admits the origins it was built for (the token authority and each service a scan reads)
//! and sends a [`Request`] as exactly the HTTP request
//! [`Request::into_http`] says: `GET` for [`Request::Read`], `POST` of a form for
//! [`Request::Token`], `POST` of a cmdlet for [`Request::Invoke`]. A URL on any other origin, or
//! carrying user info (which a client would send as Basic credentials), is refused before a
//! socket is opened. The one widening is [`Allowed::with_regional_hosts`], for the admin APIs:
//! `https://<one DNS label>.<configured host>` on the configured port, where those services send
//! a tenant to its regional host. Redirects are never followed, so a bearer token never travels
//! to another host (the admin connector judges a redirect itself, `admin::redirect`). Response
//! bodies are not decompressed (no `Accept-Encoding` is sent), so a small compressed body can
//! never expand past the size cap the readers apply.

use super::origin::{has_user_info, is_loopback, is_regional_host, origin_text, same_origin};
use super::{
    Body, BodySource, BoxFuture, HttpRequest, Request, Response, Transport, TransportError,
};
use crate::connector::ConnectorError;
use crate::connector::one_line;
use bytes::Bytes;
use reqwest::Url;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// An origin a transport may reach.
#[derive(Debug, Clone)]
pub struct Allowed {
    origin: Url,
    /// Also `<one DNS label>.<host>` on the same scheme and port.
    regional: bool,
}

impl Allowed {
    /// Exactly this origin.
    pub fn exact(origin: &Url) -> Self {
        Allowed {
            origin: origin.clone(),
            regional: false,
        }
    }

    /// This origin, and its regional hosts: one DNS label before its host, same scheme and
    /// port (`eur02b.ps.compliance.protection.outlook.com` under
    /// `ps.compliance.protection.outlook.com`).
    pub fn with_regional_hosts(origin: &Url) -> Self {
        Allowed {
            origin: origin.clone(),
            regional: true,
        }
    }

    pub fn admits(&self, url: &Url) -> bool {
        if same_origin(&self.origin, url) {
            return true;
        }
        self.regional
            && url.scheme() == self.origin.scheme()
            && url.port_or_known_default() == self.origin.port_or_known_default()
            && matches!(
                (url.host(), self.origin.host()),
                (Some(url::Host::Domain(host)), Some(url::Host::Domain(parent)))
                    if is_regional_host(host, parent)
            )
    }
}

/// Sends requests to a fixed set of origins over HTTPS (http only to loopback).
pub struct HttpTransport {
    clients: Vec<(Allowed, reqwest::Client)>,
    timeout: Duration,
    /// How many clients it built itself (the others it took from another transport): tests
    /// check that clients are shared.
    #[cfg_attr(not(test), expect(dead_code))]
    built: usize,
}

impl HttpTransport {
    /// A transport that may reach `allowed` and nothing else; each request times out after
    /// `timeout` (connect to last byte; the readers above also time out on their own clock).
    pub fn new(allowed: &[Allowed], timeout: Duration) -> Result<Self, ConnectorError> {
        Self::sharing(allowed, timeout, &[])
    }

    /// A transport that may reach `allowed` and nothing else, using the clients of this one
    /// where they fit (same kind of origin, same timeout) instead of building new ones.
    pub fn new_sharing(
        &self,
        allowed: &[Allowed],
        timeout: Duration,
    ) -> Result<Self, ConnectorError> {
        Self::sharing(allowed, timeout, std::slice::from_ref(self))
    }

    /// At most one client per kind of origin (loopback or not): building one loads the
    /// system's trust store anew (every file of /etc/ssl/certs), and a client's connections
    /// are pooled per host anyway. What the transport admits is still decided per origin by
    /// [`Allowed`], before a client is chosen.
    fn sharing(
        allowed: &[Allowed],
        timeout: Duration,
        others: &[HttpTransport],
    ) -> Result<Self, ConnectorError> {
        let mut built: Vec<(bool, reqwest::Client)> = others
            .iter()
            .filter(|other| other.timeout == timeout)
            .flat_map(|other| other.clients.iter())
            .map(|(allowed, client)| (is_loopback(&allowed.origin), client.clone()))
            .collect();
        let mut clients = Vec::with_capacity(allowed.len());
        let mut new = 0;
        for allowed in allowed {
            let loopback = is_loopback(&allowed.origin);
            let client = match built.iter().find(|(kind, _)| *kind == loopback) {
                Some((_, client)) => client.clone(),
                None => {
                    let client = build_client(loopback, timeout)?;
                    built.push((loopback, client.clone()));
                    new += 1;
                    client
                }
            };
            clients.push((allowed.clone(), client));
        }
        Ok(HttpTransport {
            clients,
            timeout,
            built: new,
        })
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
            .find(|(allowed, _)| allowed.admits(url))
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
            let HttpRequest {
                method,
                url,
                headers,
                body,
            } = request.into_http()?;
            let mut builder = client.request(method.clone(), url).headers(headers);
            if method != http::Method::GET {
                builder = builder.body(body);
            }
            let response = builder.send().await.map_err(|err| transport_error(&err))?;
            Ok(Response {
                status: response.status().as_u16(),
                headers: response.headers().clone(),
                body: Body::new(ReqwestBody(response)),
            })
        })
    }
}

/// Resolves `localhost` names to 127.0.0.1 and nothing else: the resolver of loopback clients.
struct LocalhostOnly;

impl reqwest::dns::Resolve for LocalhostOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        let local = host == "localhost" || host.ends_with(".localhost");
        Box::pin(async move {
            if local {
                let addrs: reqwest::dns::Addrs =
                    Box::new(std::iter::once(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))));
                Ok(addrs)
            } else {
                Err(format!("{host} is not a localhost name").into())
            }
        })
    }
}

struct ReqwestBody(reqwest::Response);

impl BodySource for ReqwestBody {
    fn next_chunk(&mut self) -> BoxFuture<'_, Result<Option<Bytes>, TransportError>> {
        Box::pin(async move { self.0.chunk().await.map_err(|err| transport_error(&err)) })
    }
}

/// A client for the loopback origins, or for the others. System proxy settings apply, except to
/// a loopback host: a local test server is never reached through a proxy, and its `localhost`
/// names (`localhost`, `eur02b.localhost`) are resolved to 127.0.0.1 here, never by DNS
/// (RFC 6761, section 6.3). The client for the other origins resolves names as usual, so it is
/// never used for a loopback origin, nor the reverse.
fn build_client(loopback: bool, timeout: Duration) -> Result<reqwest::Client, ConnectorError> {
    let mut builder = reqwest::Client::builder();
    if loopback {
        builder = builder
            .no_proxy()
            .dns_resolver(std::sync::Arc::new(LocalhostOnly));
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
        let transport =
            HttpTransport::new(&[Allowed::exact(&graph)], Duration::from_secs(1)).unwrap();
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

    #[test]
    fn one_client_per_kind_of_origin_and_each_origin_still_checked() {
        let timeout = Duration::from_secs(1);
        let origins = [
            "http://127.0.0.1:9",
            "http://localhost:10",
            "https://graph.example",
        ]
        .map(|url| Allowed::exact(&Url::parse(url).unwrap()));
        let transport = HttpTransport::new(&origins, timeout).unwrap();
        assert_eq!(transport.built, 2, "one loopback client, one for the rest");
        for (url, admitted) in [
            ("http://127.0.0.1:9/v1.0/users", true),
            ("http://localhost:10/v1.0/users", true),
            ("https://graph.example/v1.0/users", true),
            ("http://127.0.0.1:10/v1.0/users", false),
            ("https://other.example/v1.0/users", false),
        ] {
            assert_eq!(
                transport.client_for(&Url::parse(url).unwrap()).is_ok(),
                admitted,
                "{url}"
            );
        }
        let wider = transport
            .new_sharing(
                &[Allowed::exact(&Url::parse("http://127.0.0.1:11").unwrap())],
                timeout,
            )
            .unwrap();
        assert_eq!(
            wider.built, 0,
            "the loopback client is taken, not built again"
        );
        assert!(
            wider
                .client_for(&Url::parse("http://127.0.0.1:9/x").unwrap())
                .is_err()
        );
        let slower = transport
            .new_sharing(&origins[..1], Duration::from_secs(2))
            .unwrap();
        assert_eq!(slower.built, 1, "a client of another timeout is not taken");
    }

    #[test]
    fn a_regional_host_is_one_label_under_the_configured_host_on_its_port() {
        let front = Url::parse("https://ps.compliance.protection.outlook.com").unwrap();
        let allowed = Allowed::with_regional_hosts(&front);
        for ok in [
            "https://ps.compliance.protection.outlook.com/adminapi/beta/t/InvokeCommand",
            "https://eur02b.ps.compliance.protection.outlook.com/adminapi/beta/t/InvokeCommand",
            "https://EUR02B.ps.compliance.protection.outlook.com:443/x",
        ] {
            assert!(allowed.admits(&Url::parse(ok).unwrap()), "{ok}");
        }
        for bad in [
            "https://a.b.ps.compliance.protection.outlook.com/x",
            "https://eur02b.admin.protection.outlook.com/x",
            "https://eur02b.ps.compliance.protection.outlook.com:446/x",
            "http://eur02b.ps.compliance.protection.outlook.com/x",
            "https://evil.example/?ps.compliance.protection.outlook.com",
            "https://eur02bps.compliance.protection.outlook.com/x",
            "https://-x.ps.compliance.protection.outlook.com/x",
        ] {
            assert!(!allowed.admits(&Url::parse(bad).unwrap()), "{bad}");
        }
        let exact = Allowed::exact(&front);
        assert!(
            !exact.admits(
                &Url::parse("https://eur02b.ps.compliance.protection.outlook.com/x").unwrap()
            )
        );
    }
}
