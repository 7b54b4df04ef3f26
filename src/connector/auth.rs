//! Access tokens: the OAuth 2.0 client-credentials grant against
//! `{authority}/{tenant}/oauth2/v2.0/token`, with a client secret, a certificate (signed client
//! assertion) or a federated token file (workload identity). One [`TokenSource`] per audience
//! (Graph, Exchange Online, Security & Compliance, the Teams admin API): a token is cached in
//! memory and renewed before it expires, and a token for one audience is never sent to another
//! service.
//!
//! Every secret here is a [`Secret`]; error messages carry the token endpoint's error code and
//! description, never a credential.

use super::transport::origin::origin_text;
use super::transport::{Request, Transport, TransportError, content_length};
use super::{ConnectorError, LiveConfig, Secret, one_line, redact};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{AuthType, ClientId, ClientSecret, RequestTokenError, Scope, TokenResponse, TokenUrl};
use reqwest::Url;
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Client assertions are valid this long; Entra ID accepts up to ten minutes.
const ASSERTION_LIFETIME: Duration = Duration::from_secs(300);
/// A token is kept at most this long, whatever `expires_in` says (Entra ID's access tokens live
/// 60–90 minutes): a huge value must not overflow the clock arithmetic, and a scan never needs
/// a token for longer.
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// How the app proves who it is.
#[derive(Clone)]
pub enum Credential {
    /// `AZURE_CLIENT_SECRET`.
    ClientSecret(Secret),
    /// A certificate uploaded to the app registration, with its private key.
    Certificate(CertificateKey),
    /// A file holding a token from a federated identity provider (read at every token request,
    /// since platforms rotate it).
    FederatedTokenFile(PathBuf),
}

/// Which kind of credential, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    ClientSecret,
    Certificate,
    FederatedToken,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::ClientSecret(_) => f.write_str("ClientSecret([redacted])"),
            Credential::Certificate(key) => write!(f, "Certificate(x5t#S256={})", key.x5t_s256),
            Credential::FederatedTokenFile(path) => {
                write!(f, "FederatedTokenFile({})", path.display())
            }
        }
    }
}

impl Credential {
    pub fn kind(&self) -> CredentialKind {
        match self {
            Credential::ClientSecret(_) => CredentialKind::ClientSecret,
            Credential::Certificate(_) => CredentialKind::Certificate,
            Credential::FederatedTokenFile(_) => CredentialKind::FederatedToken,
        }
    }

    /// Loads a PEM file holding the private key and the certificate (in either order).
    pub fn certificate_from_pem_file(path: &Path) -> Result<Self, ConnectorError> {
        let shown = path.display();
        // Through input_file, as every input: a FIFO or /dev/zero given by mistake must not
        // hang the scan or fill memory.
        let bytes = crate::input_file::read(path, crate::input_file::Limit::DOCUMENT).map_err(|err| {
            ConnectorError::Credential(format!(
                "--certificate {shown}: cannot read: {err}; set --certificate or AZURE_CLIENT_CERTIFICATE_PATH to a PEM file with the private key and the certificate"
            ))
        })?;
        CertificateKey::from_pem(&bytes)
            .map(Credential::Certificate)
            .map_err(|problem| {
                ConnectorError::Credential(format!(
                    "--certificate {shown}: {problem}; the file must hold a PEM private key (RSA) and its PEM certificate"
                ))
            })
    }

    /// What to tell the user to check when the token endpoint refuses this credential.
    pub(crate) fn hint(&self) -> &'static str {
        match self {
            Credential::ClientSecret(_) => {
                "check AZURE_CLIENT_SECRET (a current secret of the app registration), --client-id (AZURE_CLIENT_ID) and --tenant (AZURE_TENANT_ID)"
            }
            Credential::Certificate(_) => {
                "check --certificate (AZURE_CLIENT_CERTIFICATE_PATH): its certificate must be uploaded to the app registration named by --client-id (AZURE_CLIENT_ID) in --tenant (AZURE_TENANT_ID)"
            }
            Credential::FederatedTokenFile(_) => {
                "check --federated-token-file (AZURE_FEDERATED_TOKEN_FILE) and the app registration's federated credential, --client-id (AZURE_CLIENT_ID) and --tenant (AZURE_TENANT_ID)"
            }
        }
    }
}

/// An RSA private key and the SHA-256 thumbprint of its certificate.
#[derive(Clone)]
pub struct CertificateKey {
    key: jsonwebtoken::EncodingKey,
    /// base64url(SHA-256(certificate DER)): the `x5t#S256` header.
    x5t_s256: String,
}

impl CertificateKey {
    pub fn from_pem(bytes: &[u8]) -> Result<Self, String> {
        let blocks = pem::parse_many(bytes).map_err(|err| format!("not PEM ({err})"))?;
        let cert = blocks
            .iter()
            .find(|b| b.tag() == "CERTIFICATE")
            .ok_or("no CERTIFICATE block")?;
        let key_block = blocks
            .iter()
            .find(|b| b.tag() == "PRIVATE KEY" || b.tag() == "RSA PRIVATE KEY")
            .ok_or("no PRIVATE KEY block (an RSA key is needed)")?;
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem::encode(key_block).as_bytes())
            .map_err(|err| format!("the private key is not a usable RSA key ({err})"))?;
        let x5t_s256 = URL_SAFE_NO_PAD.encode(Sha256::digest(cert.contents()));
        Ok(CertificateKey { key, x5t_s256 })
    }

    /// A signed client assertion (RFC 7523) for this token endpoint.
    fn assertion(&self, client_id: &str, token_url: &str) -> Result<Secret, String> {
        #[derive(serde::Serialize)]
        struct Claims<'a> {
            aud: &'a str,
            iss: &'a str,
            sub: &'a str,
            jti: String,
            iat: u64,
            nbf: u64,
            exp: u64,
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| "the system clock is before 1970".to_owned())?
            .as_secs();
        let claims = Claims {
            aud: token_url,
            iss: client_id,
            sub: client_id,
            jti: uuid::Uuid::new_v4().to_string(),
            iat: now,
            nbf: now,
            exp: now + ASSERTION_LIFETIME.as_secs(),
        };
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::PS256);
        header.x5t_s256 = Some(self.x5t_s256.clone());
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map(Secret::new)
            .map_err(|err| format!("cannot sign the client assertion ({err})"))
    }
}

/// A token and when to stop using it.
struct CachedToken {
    token: Secret,
    renew_at: Instant,
}

/// Why no token was obtained.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TokenError {
    /// The endpoint answered and refused (invalid_client, unauthorized_client, …).
    #[error("the token endpoint refused the credential: {0}")]
    Rejected(String),
    /// The credential is fine, but the tenant has no such resource (`invalid_resource`,
    /// AADSTS500011: a service it does not have). Only that service's reads fail.
    #[error("the token endpoint knows no such resource in this tenant: {0}")]
    NoSuchResource(String),
    /// No usable answer (network, unreadable response).
    #[error("no access token: {0}")]
    Unavailable(String),
    /// The credential could not be used here (unreadable token file, signing failed).
    #[error("no access token: {0}")]
    Credential(String),
}

impl TokenError {
    /// What to check, for the one-line error that stops a scan.
    pub fn hint<'a>(&self, credential_hint: &'a str) -> &'a str {
        match self {
            TokenError::Unavailable(_) => {
                "check --authority-url (default https://login.microsoftonline.com), the network and any proxy"
            }
            TokenError::Rejected(_) | TokenError::NoSuchResource(_) | TokenError::Credential(_) => {
                credential_hint
            }
        }
    }
}

/// The token sources of one scan: one per audience, shared by every connector that needs it.
pub struct Tokens {
    transport: Arc<dyn Transport>,
    config: LiveConfig,
    by_scope: std::sync::Mutex<std::collections::BTreeMap<String, Arc<TokenSource>>>,
}

impl Tokens {
    pub fn new(transport: Arc<dyn Transport>, config: &LiveConfig) -> Self {
        Tokens {
            transport,
            config: config.clone(),
            by_scope: std::sync::Mutex::new(std::collections::BTreeMap::new()),
        }
    }

    /// The source of tokens for `scope`: made the first time it is asked for, then the same.
    pub fn source(&self, scope: String) -> Result<Arc<TokenSource>, ConnectorError> {
        let mut by_scope = self
            .by_scope
            .lock()
            .map_err(|_| ConnectorError::Runtime("the token cache is unusable".into()))?;
        if let Some(source) = by_scope.get(&scope) {
            return Ok(Arc::clone(source));
        }
        let source = Arc::new(TokenSource::new(
            Arc::clone(&self.transport),
            &self.config,
            scope.clone(),
        )?);
        by_scope.insert(scope, Arc::clone(&source));
        Ok(source)
    }
}

/// Gets and caches access tokens for one app registration and one audience; each service's
/// connector keeps a source of its own, with that service's scope.
pub struct TokenSource {
    poster: TokenPoster,
    token_url: Url,
    client_id: String,
    scope: String,
    credential: Credential,
    timeout: Duration,
    cache: Mutex<Option<CachedToken>>,
}

impl TokenSource {
    /// Tokens for `scope` (`https://graph.microsoft.com/.default`, …), from the authority,
    /// tenant and credential in `config`, posted through `transport`.
    pub fn new(
        transport: Arc<dyn Transport>,
        config: &LiveConfig,
        scope: String,
    ) -> Result<Self, ConnectorError> {
        let (authority, tenant) = (&config.authority_url, config.tenant.as_str());
        if tenant.is_empty()
            || !tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(ConnectorError::Credential(
                "--tenant (AZURE_TENANT_ID) must be a tenant id (GUID) or a domain name such as gemeente.onmicrosoft.com".into(),
            ));
        }
        let token_url = Url::parse(&format!(
            "{}/{tenant}/oauth2/v2.0/token",
            authority.as_str().trim_end_matches('/')
        ))
        .map_err(|err| ConnectorError::BadUrl {
            flag: "--authority-url",
            url: authority.to_string(),
            problem: err.to_string(),
        })?;
        Ok(TokenSource {
            poster: TokenPoster {
                transport,
                token_url: token_url.clone(),
                max_response_bytes: config.max_response_bytes,
            },
            scope,
            token_url,
            client_id: config.client_id.clone(),
            credential: config.credential.clone(),
            timeout: config.retry.request_timeout,
            cache: Mutex::new(None),
        })
    }

    pub fn hint(&self) -> &'static str {
        self.credential.hint()
    }

    /// The scope its tokens are asked for (the audience they are valid for).
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// A valid token: the cached one, or a new one when it is missing or about to expire.
    pub async fn token(&self) -> Result<Secret, TokenError> {
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.as_ref()
            && Instant::now() < cached.renew_at
        {
            return Ok(cached.token.clone());
        }
        let (token, lifetime) = self.request_token().await?;
        *cache = Some(CachedToken {
            token: token.clone(),
            renew_at: renew_at(Instant::now(), lifetime),
        });
        Ok(token)
    }

    /// Forgets `stale` after a service said 401, so the next [`Self::token`] asks for a new one.
    pub async fn invalidate(&self, stale: &Secret) {
        let mut cache = self.cache.lock().await;
        if cache.as_ref().is_some_and(|c| &c.token == stale) {
            *cache = None;
        }
    }

    async fn request_token(&self) -> Result<(Secret, Duration), TokenError> {
        let token_url = TokenUrl::from_url(self.token_url.clone());
        let mut client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_token_uri(token_url)
            .set_auth_type(AuthType::RequestBody);
        let assertion = match &self.credential {
            Credential::ClientSecret(secret) => {
                client = client.set_client_secret(ClientSecret::new(secret.expose().to_owned()));
                None
            }
            Credential::Certificate(key) => Some(
                key.assertion(&self.client_id, self.token_url.as_str())
                    .map_err(TokenError::Credential)?,
            ),
            Credential::FederatedTokenFile(path) => {
                let text = crate::input_file::read_text(path, crate::input_file::Limit::DOCUMENT)
                    .map_err(|err| {
                    TokenError::Credential(format!(
                        "cannot read the federated token file {}: {err}",
                        path.display()
                    ))
                })?;
                let text = text.trim();
                if text.is_empty() {
                    return Err(TokenError::Credential(format!(
                        "the federated token file {} is empty",
                        path.display()
                    )));
                }
                Some(Secret::new(text))
            }
        };
        let mut request = client
            .exchange_client_credentials()
            .add_scope(Scope::new(self.scope.clone()));
        if let Some(assertion) = &assertion {
            request = request
                .add_extra_param("client_assertion_type", ASSERTION_TYPE)
                .add_extra_param("client_assertion", assertion.expose());
        }
        let send = |req: oauth2::HttpRequest| self.poster.send(req);
        let response = tokio::time::timeout(self.timeout, request.request_async(&send))
            .await
            .map_err(|_| TokenError::Unavailable("the token request timed out".into()))?
            .map_err(|err| {
                // The endpoint's words may repeat what it was sent: never the credential.
                let secret = match &self.credential {
                    Credential::ClientSecret(secret) => Some(secret),
                    _ => None,
                };
                let sent: Vec<&Secret> = secret.into_iter().chain(assertion.as_ref()).collect();
                describe(err, &sent)
            })?;
        let lifetime = response
            .expires_in()
            .unwrap_or(Duration::from_secs(3600))
            .max(Duration::from_secs(1));
        Ok((
            Secret::new(response.access_token().secret().clone()),
            lifetime,
        ))
    }
}

/// Why the token request failed, in words safe to print: every credential in `sent` is
/// redacted from what the endpoint said (before the text is shortened, so no part survives).
fn describe<E: std::error::Error>(
    err: RequestTokenError<E, oauth2::StandardErrorResponse<BasicErrorResponseType>>,
    sent: &[&Secret],
) -> TokenError {
    let safe = |text: &str| one_line(&redact(text, sent));
    match err {
        RequestTokenError::ServerResponse(response) => {
            let mut text = response.error().to_string();
            if let Some(description) = response.error_description() {
                text.push_str(": ");
                text.push_str(description);
            }
            if response.error().to_string() == "invalid_resource" {
                TokenError::NoSuchResource(safe(&text))
            } else {
                TokenError::Rejected(safe(&text))
            }
        }
        RequestTokenError::Request(err) => TokenError::Unavailable(safe(&err.to_string())),
        RequestTokenError::Parse(_, _) => {
            TokenError::Unavailable("the token endpoint's response is not a token response".into())
        }
        RequestTokenError::Other(text) => TokenError::Unavailable(safe(&text)),
    }
}

/// When to stop using a token that lives `lifetime` from `now`: a little before it expires (five
/// minutes early, or a quarter early for short lives). Saturating: any `expires_in`, up to
/// 2^64−1 seconds, gives an instant at most [`MAX_TOKEN_LIFETIME`] away.
fn renew_at(now: Instant, lifetime: Duration) -> Instant {
    let lifetime = lifetime.min(MAX_TOKEN_LIFETIME);
    let margin = Duration::from_secs(300).min(lifetime / 4);
    let keep = lifetime.saturating_sub(margin);
    now.checked_add(keep).unwrap_or(now)
}

/// Posts the token request form to the one token URL, through the transport, and nothing else.
struct TokenPoster {
    transport: Arc<dyn Transport>,
    token_url: Url,
    max_response_bytes: u64,
}

impl TokenPoster {
    /// The adapter between the `oauth2` crate and the transport: only a form POST to the token
    /// URL passes; any other request the crate might build is refused unsent.
    async fn send(
        &self,
        request: oauth2::HttpRequest,
    ) -> Result<oauth2::HttpResponse, TransportError> {
        let url = Url::parse(&request.uri().to_string())
            .map_err(|_| TransportError::Refused("an unparsable token URL".into()))?;
        if request.method() != http::Method::POST || url != self.token_url {
            return Err(TransportError::Refused(format!(
                "{}: not the token request",
                origin_text(&url)
            )));
        }
        let form = String::from_utf8(request.into_body())
            .map_err(|_| TransportError::Refused("a token form that is not text".into()))?;
        let response = self
            .transport
            .send(Request::Token {
                url,
                form: Secret::new(form),
            })
            .await?;
        let content_type = response.headers.get(http::header::CONTENT_TYPE).cloned();
        let length = content_length(&response.headers);
        let body = response
            .body
            .read_to_end(self.max_response_bytes, length)
            .await?;
        let mut builder = http::Response::builder().status(response.status);
        if let Some(value) = content_type {
            builder = builder.header(http::header::CONTENT_TYPE, value);
        }
        builder
            .body(body)
            .map_err(|err| TransportError::Connect(err.to_string()))
    }
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_debug_never_shows_the_secret() {
        let credential = Credential::ClientSecret(Secret::new("canary-value"));
        assert!(!format!("{credential:?}").contains("canary"));
    }

    #[tokio::test]
    async fn token_poster_refuses_any_request_but_post_to_the_token_url() {
        use super::super::transport::fake::Canned;
        let transport = Arc::new(Canned::new(200, b"{}"));
        let poster = TokenPoster {
            transport: Arc::clone(&transport) as Arc<dyn Transport>,
            token_url: Url::parse("http://127.0.0.1:9/t/oauth2/v2.0/token").unwrap(),
            max_response_bytes: 1 << 20,
        };
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
        assert_eq!(transport.sent(), 0);
        let token = http::Request::builder()
            .method(http::Method::POST)
            .uri("http://127.0.0.1:9/t/oauth2/v2.0/token")
            .body(b"grant_type=client_credentials".to_vec())
            .unwrap();
        assert!(poster.send(token).await.is_ok());
        assert_eq!(transport.sent(), 1);
    }

    #[test]
    fn any_token_lifetime_gives_a_renewal_time_without_overflow() {
        let now = Instant::now();
        assert_eq!(
            renew_at(now, Duration::from_secs(3599)),
            now + Duration::from_secs(3299)
        );
        assert_eq!(
            renew_at(now, Duration::from_secs(4)),
            now + Duration::from_secs(3)
        );
        assert_eq!(
            renew_at(now, Duration::from_secs(u64::MAX)),
            now + MAX_TOKEN_LIFETIME - Duration::from_secs(300)
        );
        assert_eq!(
            renew_at(now, Duration::MAX),
            renew_at(now, MAX_TOKEN_LIFETIME)
        );
    }

    #[test]
    fn certificate_file_without_a_key_is_refused() {
        let err = CertificateKey::from_pem(
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        );
        assert!(err.is_err_and(|e| e.contains("PRIVATE KEY")));
    }
}
