//! The one command an admin API request can carry: a read-only cmdlet from the compiled-in list
//! ([`Cmdlet`]) and its scalar parameters, sent as `InvokeCommand`'s JSON body
//! `{"CmdletInput":{"CmdletName":"Get-…","Parameters":{…}}}`.
//!
//! `InvokeCommand` is a POST, and the admin APIs run whatever cmdlet it names, `Set-`, `New-` and
//! `Remove-` too. So the name is never a string: an [`Invocation`] is made from a [`Cmdlet`], an
//! enum of `Get-*` cmdlets only, and the body is built here from it.
//!
//! ```
//! # use cloudkeur::connector::transport::Invocation;
//! # use cloudkeur::registry::Cmdlet;
//! let read = Invocation::new(Cmdlet::GetAdminAuditLogConfig, &Default::default()).unwrap();
//! assert_eq!(
//!     read.body(),
//!     br#"{"CmdletInput":{"CmdletName":"Get-AdminAuditLogConfig","Parameters":{}}}"#
//! );
//! ```
//!
//! A cmdlet named by a string cannot be sent:
//!
//! ```compile_fail,E0308
//! # use cloudkeur::connector::transport::Invocation;
//! let write = Invocation::new("Set-AdminAuditLogConfig", &Default::default());
//! ```
//!
//! Nor can a `Set-`, `New-` or `Remove-` cmdlet be named, for there is none in the list:
//!
//! ```compile_fail,E0599
//! # use cloudkeur::connector::transport::Invocation;
//! # use cloudkeur::registry::Cmdlet;
//! let write = Invocation::new(Cmdlet::SetAdminAuditLogConfig, &Default::default());
//! ```
//!
//! ```compile_fail,E0599
//! # use cloudkeur::connector::transport::Invocation;
//! # use cloudkeur::registry::Cmdlet;
//! let write = Invocation::new(Cmdlet::NewLabel, &Default::default());
//! ```
//!
//! ```compile_fail,E0599
//! # use cloudkeur::connector::transport::Invocation;
//! # use cloudkeur::registry::Cmdlet;
//! let write = Invocation::new(Cmdlet::RemoveRetentionCompliancePolicy, &Default::default());
//! ```
//!
//! And a request cannot carry a body of its own making:
//!
//! ```compile_fail,E0559
//! # use cloudkeur::connector::{Secret, transport::Request};
//! # fn build(url: reqwest::Url) -> Request {
//! Request::Invoke {
//!     url,
//!     bearer: Secret::new("t"),
//!     body: br#"{"CmdletInput":{"CmdletName":"Remove-Mailbox"}}"#.to_vec(),
//! }
//! # }
//! ```

use crate::registry::{Cmdlet, is_parameter_name};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::fmt;

/// A read-only cmdlet and its parameters, as one `InvokeCommand` sends them.
#[derive(Clone, PartialEq)]
pub struct Invocation {
    cmdlet: Cmdlet,
    /// Name (letters and digits, as PowerShell's parameter names) → string, number or boolean.
    parameters: BTreeMap<String, Value>,
}

impl Invocation {
    /// `cmdlet` with `parameters`; a parameter whose name is not a plain word, or whose value is
    /// not a string, number or boolean, is refused (the registry refuses them when it loads).
    pub fn new(cmdlet: Cmdlet, parameters: &BTreeMap<String, Value>) -> Result<Self, String> {
        for (name, value) in parameters {
            if !is_parameter_name(name) {
                return Err(format!("{cmdlet}: '{name}' is not a parameter name"));
            }
            if !(value.is_string() || value.is_number() || value.is_boolean()) {
                return Err(format!(
                    "{cmdlet}: parameter {name} is not a string, number or boolean"
                ));
            }
        }
        Ok(Invocation {
            cmdlet,
            parameters: parameters.clone(),
        })
    }

    pub fn cmdlet(&self) -> Cmdlet {
        self.cmdlet
    }

    /// The JSON body: `{"CmdletInput":{"CmdletName":"Get-…","Parameters":{…}}}` (`Parameters` an
    /// object, `{}` when there are none: the service tells `null` from `{}`).
    pub fn body(&self) -> Vec<u8> {
        let parameters: Map<String, Value> = self
            .parameters
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        let body = json!({
            "CmdletInput": {
                "CmdletName": self.cmdlet.as_str(),
                "Parameters": parameters,
            }
        });
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

impl fmt::Debug for Invocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::registry::cmdlet_line(self.cmdlet, &self.parameters))
    }
}

/// The mailbox an Exchange Online request is routed by (`X-AnchorMailbox`): the tenant's system
/// mailbox, as the Exchange Online module sends it when it signs in as an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor(String);

/// The system mailbox's fixed name, the same in every tenant.
const SYSTEM_MAILBOX: &str = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}";

impl Anchor {
    /// `APP:SystemMailbox{…}@<tenant>`, for a tenant id or domain of letters, digits, `-` and `.`.
    pub fn system_mailbox(tenant: &str) -> Option<Anchor> {
        let plain = !tenant.is_empty()
            && tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        plain.then(|| Anchor(format!("APP:{SYSTEM_MAILBOX}@{tenant}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_names_the_cmdlet_and_its_scalar_parameters() {
        let mut parameters = BTreeMap::new();
        parameters.insert("IncludeDetailedLabelActions".to_owned(), json!(true));
        let invocation = Invocation::new(Cmdlet::GetLabel, &parameters).unwrap();
        let body: Value = serde_json::from_slice(&invocation.body()).unwrap();
        assert_eq!(
            body,
            json!({"CmdletInput": {"CmdletName": "Get-Label", "Parameters": {"IncludeDetailedLabelActions": true}}})
        );
        assert_eq!(
            format!("{invocation:?}"),
            "InvokeCommand Get-Label -IncludeDetailedLabelActions true"
        );
    }

    #[test]
    fn a_parameter_of_another_shape_is_refused() {
        for (name, value) in [
            ("Identity", json!(["a"])),
            ("Identity", json!({"a": 1})),
            ("Identity", Value::Null),
            ("Bad-Name", json!(true)),
            ("\"CmdletName\"", json!("Set-Mailbox")),
            ("", json!(true)),
        ] {
            let parameters = BTreeMap::from([(name.to_owned(), value.clone())]);
            assert!(
                Invocation::new(Cmdlet::GetLabel, &parameters).is_err(),
                "{name} {value}"
            );
        }
    }

    #[test]
    fn the_anchor_is_the_system_mailbox_of_a_plain_tenant_name() {
        assert_eq!(
            Anchor::system_mailbox("zonnedorp.onmicrosoft.com")
                .unwrap()
                .as_str(),
            "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@zonnedorp.onmicrosoft.com"
        );
        for bad in ["", "a b", "x\r\nX-Evil: 1", "t/../x"] {
            assert_eq!(Anchor::system_mailbox(bad), None, "{bad}");
        }
    }
}
