//! How cloudkeur proves to Google who it is: a service account with domain-wide delegation,
//! impersonating a super administrator — by its JSON key file, or keyless through workload
//! identity federation (an `external_account` file).
//!
//! The file formats are Google's (google-auth's `service_account.py` and `external_account.py`,
//! <https://google.aip.dev/auth/4112>, <https://google.aip.dev/auth/4117>). The private key is a
//! [`Secret`] from the moment it is read, and no message repeats it. A file naming endpoints
//! other than the configured ones is refused: a credentials file must not be able to send a
//! signed assertion or a federated token anywhere else.

use super::super::{ConnectorError, Secret};
use crate::input_file::{Limit, read};
use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};

/// A service account's key, or the recipe for a keyless one.
#[derive(Clone)]
pub enum GoogleCredential {
    /// `"type": "service_account"`: the assertion is signed here with the private key.
    ServiceAccountKey(ServiceAccountKey),
    /// `"type": "external_account"`: a federated token is exchanged at Google's STS, and IAM
    /// Credentials signs the assertion for the service account.
    ExternalAccount(ExternalAccount),
}

/// The parts of a service-account key file cloudkeur uses.
#[derive(Clone)]
pub struct ServiceAccountKey {
    /// `client_email`: the assertion's issuer.
    pub client_email: String,
    /// `client_id`: the numeric id an administrator enters on the domain-wide delegation page.
    pub client_id: Option<String>,
    /// `private_key_id`: the JWT's `kid`.
    pub key_id: Option<String>,
    pub(super) key: jsonwebtoken::EncodingKey,
}

/// The parts of an external-account file cloudkeur uses.
#[derive(Clone)]
pub struct ExternalAccount {
    /// The workload identity pool provider, `//iam.googleapis.com/projects/…/providers/…`.
    pub audience: String,
    /// e.g. `urn:ietf:params:oauth:token-type:jwt`.
    pub subject_token_type: String,
    /// The file the platform writes the federated token to (read at every exchange: it rotates).
    pub token_file: PathBuf,
    /// The service account to sign for, from `service_account_impersonation_url`.
    pub service_account: String,
}

impl fmt::Debug for GoogleCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GoogleCredential::ServiceAccountKey(key) => {
                write!(f, "ServiceAccountKey({}, key [redacted])", key.client_email)
            }
            GoogleCredential::ExternalAccount(account) => write!(
                f,
                "ExternalAccount({}, token file {})",
                account.service_account,
                account.token_file.display()
            ),
        }
    }
}

/// Where the credential's own requests go: the token endpoint, Google's STS and IAM Credentials.
/// Defaults are Google's; tests and a proxying set-up change them, and a credentials file may
/// not name others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthEndpoints {
    /// The OAuth 2.0 token endpoint (JWT bearer grant).
    pub token: Url,
    /// Google's Security Token Service (token exchange).
    pub sts: Url,
    /// The IAM Credentials API's origin (`signJwt`).
    pub iam_credentials: Url,
}

/// The `aud` of every assertion: Google's token endpoint, whatever URL the request goes to
/// ("When making an access token request this value is always
/// `https://oauth2.googleapis.com/token`", <https://developers.google.com/identity/protocols/oauth2/service-account>).
pub const TOKEN_AUDIENCE: &str = "https://oauth2.googleapis.com/token";

impl Default for AuthEndpoints {
    fn default() -> Self {
        let url = |text: &str| Url::parse(text).unwrap_or_else(|_| unreachable_url());
        AuthEndpoints {
            token: url(TOKEN_AUDIENCE),
            sts: url("https://sts.googleapis.com/v1/token"),
            iam_credentials: url("https://iamcredentials.googleapis.com"),
        }
    }
}

impl AuthEndpoints {
    /// Every endpoint of a credential on the origin of `token` (`--google-token-url`, a test
    /// server): the token endpoint `token` itself, the Security Token Service at `/v1/token`,
    /// IAM Credentials at the origin (its `…:signJwt` path as Google's).
    pub fn on_origin_of(token: Url) -> Self {
        let mut origin = token.clone();
        origin.set_path("/");
        origin.set_query(None);
        origin.set_fragment(None);
        let mut sts = origin.clone();
        sts.set_path("/v1/token");
        AuthEndpoints {
            token,
            sts,
            iam_credentials: origin,
        }
    }
}

/// Only for constant URLs that parse; kept apart so no `unwrap` touches input.
fn unreachable_url() -> Url {
    Url::parse("https://invalid.invalid").unwrap_or_else(|_| unreachable!("a constant URL"))
}

#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: String,
    client_email: Option<String>,
    client_id: Option<String>,
    private_key_id: Option<String>,
    private_key: Option<String>,
    audience: Option<String>,
    subject_token_type: Option<String>,
    token_url: Option<String>,
    service_account_impersonation_url: Option<String>,
    credential_source: Option<Value>,
}

impl GoogleCredential {
    /// Reads a credentials file (`GOOGLE_APPLICATION_CREDENTIALS`): a service-account key or an
    /// external-account file. `endpoints` are the hosts the credential may use.
    pub fn from_file(path: &Path, endpoints: &AuthEndpoints) -> Result<Self, ConnectorError> {
        let shown = path.display().to_string();
        let fail = |problem: String| {
            ConnectorError::Credential(format!(
                "Google credentials file {shown}: {problem}; give the JSON key of a service account with domain-wide delegation, or an external-account file (workload identity federation)"
            ))
        };
        let bytes = read(path, Limit::DOCUMENT).map_err(|err| fail(err.explained()))?;
        Self::from_json(&bytes, endpoints, path.parent()).map_err(fail)
    }

    /// The credential in a file's bytes (`base` is where a relative token file is found).
    pub fn from_json(
        bytes: &[u8],
        endpoints: &AuthEndpoints,
        base: Option<&Path>,
    ) -> Result<Self, String> {
        // serde's message would quote the text it choked on, which may be the private key.
        let file: KeyFile = serde_json::from_slice(bytes)
            .map_err(|err| format!("not a Google credentials file (JSON line {})", err.line()))?;
        match file.kind.as_str() {
            "service_account" => service_account(file).map(GoogleCredential::ServiceAccountKey),
            "external_account" => {
                external_account(file, endpoints, base).map(GoogleCredential::ExternalAccount)
            }
            other => Err(format!(
                "type \"{}\" is not supported (service_account or external_account)",
                crate::connector::one_line(other)
            )),
        }
    }

    /// What to check when Google refuses this credential.
    pub fn hint(&self) -> &'static str {
        match self {
            GoogleCredential::ServiceAccountKey(_) => {
                "check that the service account's client ID is on the Admin console's domain-wide delegation page (Security > Access and data control > API controls) with exactly the scopes `cloudkeur permissions --vendor google` lists, and that the impersonated account is a super administrator"
            }
            GoogleCredential::ExternalAccount(_) => {
                "check the workload identity pool provider (audience), that the federated principal holds roles/iam.serviceAccountTokenCreator on the service account, that the IAM Credentials API is enabled, and the domain-wide delegation page (Security > Access and data control > API controls)"
            }
        }
    }
}

fn service_account(file: KeyFile) -> Result<ServiceAccountKey, String> {
    let client_email = file
        .client_email
        .filter(|e| e.contains('@'))
        .ok_or("no client_email")?;
    let pem = Secret::new(file.private_key.ok_or("no private_key")?);
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem.expose().as_bytes())
        .map_err(|_| "private_key is not a PEM RSA private key".to_owned())?;
    Ok(ServiceAccountKey {
        client_email,
        client_id: file.client_id,
        key_id: file.private_key_id,
        key,
    })
}

fn external_account(
    file: KeyFile,
    endpoints: &AuthEndpoints,
    base: Option<&Path>,
) -> Result<ExternalAccount, String> {
    let audience = file
        .audience
        .filter(|a| !a.is_empty())
        .ok_or("no audience")?;
    let subject_token_type = file
        .subject_token_type
        .filter(|t| !t.is_empty())
        .ok_or("no subject_token_type")?;
    if let Some(token_url) = &file.token_url {
        let named = Url::parse(token_url).map_err(|_| "token_url is not a URL".to_owned())?;
        if named != endpoints.sts {
            return Err(format!(
                "token_url names {}, not the configured Security Token Service {}",
                crate::connector::transport::origin::origin_text(&named),
                endpoints.sts
            ));
        }
    }
    // Domain-wide delegation needs a service account to sign for: the impersonation URL names it
    // (…/serviceAccounts/{email}:generateAccessToken).
    let impersonation = file
        .service_account_impersonation_url
        .ok_or("no service_account_impersonation_url: keyless domain-wide delegation signs for a service account")?;
    let url = Url::parse(&impersonation)
        .map_err(|_| "service_account_impersonation_url is not a URL".to_owned())?;
    if !crate::connector::transport::origin::same_origin(&url, &endpoints.iam_credentials) {
        return Err(format!(
            "service_account_impersonation_url is on {}, not the configured IAM Credentials API {}",
            crate::connector::transport::origin::origin_text(&url),
            endpoints.iam_credentials
        ));
    }
    let service_account = url
        .path()
        .rsplit('/')
        .next()
        .and_then(|last| last.split(':').next())
        .filter(|email| email.contains('@'))
        .ok_or("service_account_impersonation_url names no service account")?
        .to_owned();
    let source = file.credential_source.ok_or("no credential_source")?;
    let token_file = match source.get("file").and_then(Value::as_str) {
        Some(file) => {
            let path = PathBuf::from(file);
            match base {
                Some(base) if path.is_relative() => base.join(path),
                _ => path,
            }
        }
        None => {
            return Err(
                "credential_source is not a file (url, executable, AWS and certificate sources are not supported)"
                    .into(),
            );
        }
    };
    Ok(ExternalAccount {
        audience,
        subject_token_type,
        token_file,
        service_account,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A throwaway RSA key (PKCS#8 PEM, as Google's key files hold it).
    pub(crate) fn rsa_pem() -> String {
        rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
            .expect("RSA key")
            .serialize_pem()
    }

    #[test]
    fn a_service_account_key_is_read_and_never_shown() {
        let file = json!({
            "type": "service_account", "project_id": "cloudkeur-test", "private_key_id": "k1",
            "private_key": rsa_pem(), "client_email": "scanner@cloudkeur-test.iam.gserviceaccount.com",
            "client_id": "104857600123456789012", "token_uri": "https://oauth2.googleapis.com/token"
        });
        let credential = GoogleCredential::from_json(
            file.to_string().as_bytes(),
            &AuthEndpoints::default(),
            None,
        )
        .unwrap();
        let shown = format!("{credential:?}");
        assert!(shown.contains("scanner@cloudkeur-test"), "{shown}");
        assert!(
            !shown.contains("PRIVATE KEY") && !shown.contains("MII"),
            "{shown}"
        );
        let GoogleCredential::ServiceAccountKey(key) = credential else {
            panic!("not a key");
        };
        assert_eq!(key.key_id.as_deref(), Some("k1"));
    }

    #[test]
    fn a_bad_file_says_what_is_wrong_without_repeating_the_key() {
        let endpoints = AuthEndpoints::default();
        for (file, problem) in [
            (json!({"type": "authorized_user"}), "not supported"),
            (
                json!({"type": "service_account", "client_email": "a@b"}),
                "no private_key",
            ),
            (
                json!({"type": "service_account", "client_email": "a@b", "private_key": "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWNhbmFyeQ==\n-----END PRIVATE KEY-----\n"}),
                "not a PEM RSA private key",
            ),
        ] {
            let err = GoogleCredential::from_json(file.to_string().as_bytes(), &endpoints, None)
                .unwrap_err();
            assert!(err.contains(problem), "{err}");
            assert!(!err.contains("c2VjcmV0"), "{err}");
        }
        let err =
            GoogleCredential::from_json(b"{\"private_key\": \"secret-canary", &endpoints, None)
                .unwrap_err();
        assert!(!err.contains("secret-canary"), "{err}");
    }

    fn external(extra: serde_json::Value) -> serde_json::Value {
        let mut file = json!({
            "type": "external_account",
            "audience": "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/ci/providers/gitlab",
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": "https://sts.googleapis.com/v1/token",
            "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/scanner@cloudkeur-test.iam.gserviceaccount.com:generateAccessToken",
            "credential_source": {"file": "token.jwt"}
        });
        if let (Some(file), Some(extra)) = (file.as_object_mut(), extra.as_object()) {
            file.extend(extra.clone());
        }
        file
    }

    #[test]
    fn an_external_account_names_its_service_account_and_only_configured_endpoints() {
        let endpoints = AuthEndpoints::default();
        let credential = GoogleCredential::from_json(
            external(json!({})).to_string().as_bytes(),
            &endpoints,
            Some(Path::new("/run/secrets")),
        )
        .unwrap();
        let GoogleCredential::ExternalAccount(account) = credential else {
            panic!("not external");
        };
        assert_eq!(
            account.service_account,
            "scanner@cloudkeur-test.iam.gserviceaccount.com"
        );
        assert_eq!(account.token_file, Path::new("/run/secrets/token.jwt"));
        for (extra, problem) in [
            (
                json!({"token_url": "https://sts.evil.example/v1/token"}),
                "not the configured Security Token Service",
            ),
            (
                json!({"service_account_impersonation_url": "https://evil.example/v1/projects/-/serviceAccounts/a@b:generateAccessToken"}),
                "not the configured IAM Credentials API",
            ),
            (
                json!({"credential_source": {"url": "http://169.254.169.254/token"}}),
                "not a file",
            ),
            (
                json!({"service_account_impersonation_url": null}),
                "no service_account_impersonation_url",
            ),
        ] {
            let err = GoogleCredential::from_json(
                external(extra).to_string().as_bytes(),
                &endpoints,
                None,
            )
            .unwrap_err();
            assert!(err.contains(problem), "{err}");
        }
    }
}
