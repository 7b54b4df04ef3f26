//! Access tokens for Google's APIs, with domain-wide delegation: a JWT bearer grant (RFC 7523)
//! for a service account impersonating a super administrator, for read-only scopes only.
//!
//! - Key file: the assertion is signed here (RS256, `kid` = the key's id) and posted to the
//!   token endpoint.
//! - Workload identity federation: the platform's token is exchanged at Google's STS (RFC 8693)
//!   for a federated token, with which IAM Credentials' `signJwt` signs the same assertion for
//!   the service account; then the same JWT bearer grant (google-auth's
//!   `impersonated_credentials` with a subject does exactly this).
//!
//! Claims (<https://developers.google.com/identity/protocols/oauth2/service-account#authorizingrequests>):
//! `iss` the service account, `sub` the administrator, `scope` the scopes, `aud` always
//! `https://oauth2.googleapis.com/token`, `iat` now, `exp` at most an hour later. Every request
//! goes through the transport seam; the key, the assertion, the federated and access tokens are
//! [`Secret`]s, and what an endpoint repeats of them is redacted before it is shown.

use super::super::transport::{Request, SignJwt, Transport, TransportError, content_length};
use super::super::{ConnectorError, RetryPolicy, Secret, one_line, redact};
use super::credentials::{AuthEndpoints, ExternalAccount, GoogleCredential, TOKEN_AUDIENCE};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::Mutex;
use tokio::time::Instant;

/// An assertion is valid this long: Google's maximum ("a maximum of 1 hour after the issued time").
pub const ASSERTION_LIFETIME: Duration = Duration::from_secs(3600);
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The scope of the federated token: enough to call IAM Credentials (google-auth's `_IAM_SCOPE`).
pub const IAM_SCOPE: &str = "https://www.googleapis.com/auth/iam";
/// The only scopes cloudkeur asks for on the customer's data: Google's read-only ones.
const SCOPE_PREFIX: &str = "https://www.googleapis.com/auth/";
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Why no token was obtained.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// An endpoint answered and refused (unauthorized_client, invalid_grant, PERMISSION_DENIED).
    #[error("Google refused the credential: {0}")]
    Rejected(String),
    /// No usable answer (network, server errors beyond the retries, an unreadable response).
    #[error("no access token from Google: {0}")]
    Unavailable(String),
    /// The credential could not be used here (token file unreadable, signing failed).
    #[error("no access token: {0}")]
    Credential(String),
}

/// Gets and caches the access token for one service account, administrator and scope set.
pub struct GoogleTokens {
    transport: Arc<dyn Transport>,
    endpoints: AuthEndpoints,
    credential: GoogleCredential,
    admin: String,
    scopes: Vec<String>,
    retry: RetryPolicy,
    max_response_bytes: u64,
    cache: Mutex<Option<(Secret, Instant)>>,
}

impl std::fmt::Debug for GoogleTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleTokens")
            .field("credential", &self.credential)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl GoogleTokens {
    /// Tokens for `scopes`, impersonating `admin`. Every scope must be one of Google's read-only
    /// scopes (`https://www.googleapis.com/auth/….readonly`): nothing else is ever requested.
    pub fn new(
        transport: Arc<dyn Transport>,
        endpoints: AuthEndpoints,
        credential: GoogleCredential,
        admin: &str,
        scopes: Vec<String>,
        retry: RetryPolicy,
        max_response_bytes: u64,
    ) -> Result<Self, ConnectorError> {
        if let Some(scope) = scopes.iter().find(|s| !is_read_only_scope(s)) {
            return Err(ConnectorError::Credential(format!(
                "scope {scope} is not one of Google's read-only scopes; cloudkeur requests only https://www.googleapis.com/auth/….readonly"
            )));
        }
        if scopes.is_empty() {
            return Err(ConnectorError::Credential("no scope to request".into()));
        }
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@' | '+');
        if admin.split('@').count() != 2 || !admin.chars().all(plain) {
            return Err(ConnectorError::Credential(
                "the administrator to impersonate must be an email address (a super administrator of the customer)".into(),
            ));
        }
        Ok(GoogleTokens {
            transport,
            endpoints,
            credential,
            admin: admin.to_owned(),
            scopes,
            retry,
            max_response_bytes,
            cache: Mutex::new(None),
        })
    }

    pub fn hint(&self) -> &'static str {
        self.credential.hint()
    }

    /// A valid token: the cached one, or a new one when it is missing or about to expire.
    pub async fn token(&self) -> Result<Secret, TokenError> {
        let mut cache = self.cache.lock().await;
        if let Some((token, renew_at)) = cache.as_ref()
            && Instant::now() < *renew_at
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = match &self.credential {
            GoogleCredential::ServiceAccountKey(key) => {
                let assertion = self.sign_here(key)?;
                self.jwt_bearer(&assertion).await?
            }
            GoogleCredential::ExternalAccount(account) => {
                let federated = self.exchange(account).await?;
                let assertion = self.sign_remotely(account, &federated).await?;
                self.jwt_bearer(&assertion).await?
            }
        };
        *cache = Some((token.clone(), renew_at(Instant::now(), lifetime)));
        Ok(token)
    }

    /// Forgets `stale` after an API said 401, so the next [`Self::token`] asks for a new one.
    pub async fn invalidate(&self, stale: &Secret) {
        let mut cache = self.cache.lock().await;
        if cache.as_ref().is_some_and(|(token, _)| token == stale) {
            *cache = None;
        }
    }

    /// The assertion's claims for `issuer` (the service account).
    fn claims(&self, issuer: &str) -> Result<Value, TokenError> {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_err(|_| TokenError::Credential("the system clock is before 1970".into()))?
            .as_secs();
        Ok(json!({
            "iss": issuer,
            "sub": self.admin,
            "scope": self.scopes.join(" "),
            "aud": TOKEN_AUDIENCE,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME.as_secs(),
        }))
    }

    fn sign_here(&self, key: &super::credentials::ServiceAccountKey) -> Result<Secret, TokenError> {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = key.key_id.clone();
        let claims = self.claims(&key.client_email)?;
        jsonwebtoken::encode(&header, &claims, &key.key)
            .map(Secret::new)
            .map_err(|err| TokenError::Credential(format!("cannot sign the assertion ({err})")))
    }

    /// The platform's token exchanged at Google's STS for a federated token.
    async fn exchange(&self, account: &ExternalAccount) -> Result<Secret, TokenError> {
        let bytes =
            crate::input_file::read(&account.token_file, crate::input_file::Limit::DOCUMENT)
                .map_err(|err| {
                    TokenError::Credential(format!(
                        "the federated token file {}: {}",
                        account.token_file.display(),
                        err.explained()
                    ))
                })?;
        let subject = Secret::new(String::from_utf8_lossy(&bytes).trim().to_owned());
        if subject.expose().is_empty() {
            return Err(TokenError::Credential(format!(
                "the federated token file {} is empty",
                account.token_file.display()
            )));
        }
        let form = form(&[
            ("grant_type", TOKEN_EXCHANGE),
            ("audience", &account.audience),
            ("scope", IAM_SCOPE),
            ("requested_token_type", ACCESS_TOKEN_TYPE),
            ("subject_token", subject.expose()),
            ("subject_token_type", &account.subject_token_type),
        ]);
        let url = self.endpoints.sts.clone();
        let (status, body) = self
            .send(
                || Request::Token {
                    url: url.clone(),
                    form: form.clone(),
                },
                &[&subject, &form],
            )
            .await?;
        token_from(
            status,
            &body,
            &[&subject, &form],
            "the Security Token Service",
        )
        .map(|t| t.0)
    }

    /// The assertion signed by IAM Credentials for the service account.
    async fn sign_remotely(
        &self,
        account: &ExternalAccount,
        federated: &Secret,
    ) -> Result<Secret, TokenError> {
        let claims = self.claims(&account.service_account)?;
        let request = SignJwt::new(
            &self.endpoints.iam_credentials,
            &account.service_account,
            federated.clone(),
            &claims,
        )
        .map_err(|err| TokenError::Credential(err.to_string()))?;
        let (status, body) = self
            .send(|| Request::SignJwt(request.clone()), &[federated])
            .await?;
        let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if status != 200 {
            return Err(TokenError::Rejected(format!(
                "IAM Credentials signJwt answered HTTP {status}: {}",
                error_text(&parsed, &[federated])
            )));
        }
        parsed
            .get("signedJwt")
            .and_then(Value::as_str)
            .filter(|jwt| !jwt.is_empty())
            .map(Secret::new)
            .ok_or_else(|| {
                TokenError::Unavailable("IAM Credentials signJwt returned no signedJwt".into())
            })
    }

    /// The JWT bearer grant at the token endpoint.
    async fn jwt_bearer(&self, assertion: &Secret) -> Result<(Secret, Duration), TokenError> {
        let form = form(&[
            ("grant_type", JWT_BEARER),
            ("assertion", assertion.expose()),
        ]);
        let url = self.endpoints.token.clone();
        let (status, body) = self
            .send(
                || Request::Token {
                    url: url.clone(),
                    form: form.clone(),
                },
                &[assertion, &form],
            )
            .await?;
        token_from(status, &body, &[assertion, &form], "the token endpoint")
    }

    /// Sends a request, retrying what google-auth retries (408, 429, 500, 503, 504 and failed
    /// connections) within the retry policy; returns the status and the body.
    async fn send(
        &self,
        request: impl Fn() -> Request,
        secrets: &[&Secret],
    ) -> Result<(u16, Vec<u8>), TokenError> {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = tokio::time::timeout(self.retry.request_timeout, async {
                let response = self.transport.send(request()).await?;
                let length = content_length(&response.headers);
                let body = response
                    .body
                    .read_to_end(self.max_response_bytes, length)
                    .await?;
                Ok::<_, TransportError>((response.status, body))
            })
            .await
            .unwrap_or(Err(TransportError::Timeout));
            let retryable = match &sent {
                Ok((status, _)) => matches!(status, 408 | 429 | 500 | 503 | 504),
                Err(err) => err.is_retryable(),
            };
            let delay = self
                .retry
                .delay(attempt, None, crate::connector::retry::jitter())
                .filter(|d| {
                    retryable
                        && attempt < self.retry.max_attempts
                        && started.elapsed() + *d < self.retry.max_total
                });
            match (sent, delay) {
                (_, Some(delay)) => tokio::time::sleep(delay).await,
                (Ok(answer), None) => return Ok(answer),
                (Err(err), None) => {
                    return Err(TokenError::Unavailable(one_line(&redact(
                        &err.to_string(),
                        secrets,
                    ))));
                }
            }
        }
    }
}

/// An OAuth 2.0 form body.
fn form(pairs: &[(&str, &str)]) -> Secret {
    Secret::new(
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish(),
    )
}

/// The token in an OAuth 2.0 token response, or why there is none (RFC 6749 §5.2's
/// `error`/`error_description`, with everything that was sent redacted).
fn token_from(
    status: u16,
    body: &[u8],
    sent: &[&Secret],
    who: &str,
) -> Result<(Secret, Duration), TokenError> {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if status != 200 {
        return Err(TokenError::Rejected(format!(
            "{who} answered HTTP {status}: {}",
            error_text(&parsed, sent)
        )));
    }
    let token = parsed
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| TokenError::Unavailable(format!("{who}'s response has no access_token")))?;
    // "Some services ... send expires_in as a JSON String" (google-auth).
    let lifetime = match parsed.get("expires_in") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .unwrap_or(3600);
    Ok((Secret::new(token), Duration::from_secs(lifetime.max(1))))
}

/// An error body in either of Google's dialects, as one redacted line.
fn error_text(parsed: &Value, sent: &[&Secret]) -> String {
    let text = match parsed.get("error") {
        Some(Value::String(code)) => {
            match parsed.get("error_description").and_then(Value::as_str) {
                Some(description) => format!("{code}: {description}"),
                None => code.clone(),
            }
        }
        Some(Value::Object(error)) => {
            let status = error.get("status").and_then(Value::as_str).unwrap_or("");
            let message = error.get("message").and_then(Value::as_str).unwrap_or("");
            format!("{status} {message}")
        }
        _ => "an answer that is not an OAuth 2.0 error".to_owned(),
    };
    one_line(&redact(&text, sent))
}

/// `https://www.googleapis.com/auth/<something>.readonly`, and nothing else.
pub fn is_read_only_scope(scope: &str) -> bool {
    scope.strip_prefix(SCOPE_PREFIX).is_some_and(|rest| {
        rest.ends_with(".readonly")
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')
    })
}

/// When to stop using a token that lives `lifetime` from `now`: five minutes early (or a
/// quarter early for short lives), never further away than a day.
fn renew_at(now: Instant, lifetime: Duration) -> Instant {
    let lifetime = lifetime.min(MAX_TOKEN_LIFETIME);
    let margin = Duration::from_secs(300).min(lifetime / 4);
    now.checked_add(lifetime.saturating_sub(margin))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_googles_read_only_scopes_are_accepted() {
        for ok in [
            "https://www.googleapis.com/auth/admin.directory.user.readonly",
            "https://www.googleapis.com/auth/cloud-identity.policies.readonly",
        ] {
            assert!(is_read_only_scope(ok), "{ok}");
        }
        for bad in [
            "https://www.googleapis.com/auth/cloud-identity.policies",
            "https://www.googleapis.com/auth/admin.directory.user.security",
            "https://mail.google.com/",
            "https://www.googleapis.com/auth/x.readonly extra",
            "https://evil.example/auth/x.readonly",
        ] {
            assert!(!is_read_only_scope(bad), "{bad}");
        }
    }

    #[test]
    fn an_error_response_is_shown_without_what_was_sent() {
        let assertion = Secret::new("eyJhbGciOi.canary.sig");
        let body = json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature: eyJhbGciOi.canary.sig"});
        let err = token_from(
            400,
            body.to_string().as_bytes(),
            &[&assertion],
            "the token endpoint",
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("invalid_grant") && text.contains("[redacted]"),
            "{text}"
        );
        assert!(!text.contains("canary"), "{text}");
        let ok = json!({"access_token": "ya29.x", "expires_in": "3599", "token_type": "Bearer"});
        let (token, lifetime) = token_from(200, ok.to_string().as_bytes(), &[], "t").unwrap();
        assert_eq!(token.expose(), "ya29.x");
        assert_eq!(lifetime, Duration::from_secs(3599));
        assert!(token_from(200, b"{}", &[], "t").is_err());
    }
}
