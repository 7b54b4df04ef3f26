//! Decoding one page of an admin API answer (Exchange Online, Security & Compliance):
//! `{"@odata.context": …, "@adminapi.warnings": [...], "value": [objects], "@odata.nextLink": …}`.
//!
//! The service can answer 200 with an error inside (`error`, `@odata.error`), or a body that is
//! not JSON at all; both are errors here, never an empty page. The items are kept exactly as sent,
//! annotations (`Member@odata.type`) included.

use crate::connector::one_line;
use serde_json::{Map, Value};

/// One page, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminPage {
    pub items: Vec<Value>,
    /// `@odata.nextLink`, when present and not null.
    pub next_link: Option<String>,
    /// `@adminapi.warnings`: what the service warned about (e.g. that it cut a result short).
    pub warnings: Vec<String>,
}

/// Decodes page `page` (from 1) of an answer.
pub fn decode(body: &[u8], page: u32) -> Result<AdminPage, String> {
    let value: Value = serde_json::from_slice(body).map_err(|err| {
        format!(
            "page {page}: the response is not JSON ({})",
            one_line(&err.to_string())
        )
    })?;
    let Value::Object(mut map) = value else {
        return Err(format!("page {page}: the response is not a JSON object"));
    };
    if let Some(error) = map.get("error").or_else(|| map.get("@odata.error")) {
        return Err(format!(
            "page {page}: the service answered with an error: {}",
            error_text(error)
        ));
    }
    let items = match map.remove("value") {
        Some(Value::Array(items)) => items,
        _ => return Err(format!("page {page} has no `value` array")),
    };
    if let Some((index, item)) = items.iter().enumerate().find(|(_, i)| !i.is_object()) {
        return Err(format!(
            "page {page}: item {index} of `value` is {}, not an object",
            crate::snapshot::kind_of(item)
        ));
    }
    let next_link = match map.remove("@odata.nextLink") {
        None | Some(Value::Null) => None,
        Some(Value::String(link)) => Some(link),
        Some(_) => return Err(format!("page {page}: @odata.nextLink is not a string")),
    };
    let warnings = match map.remove("@adminapi.warnings") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .into_iter()
            .map(|w| match w {
                Value::String(text) => one_line(&text),
                other => one_line(&other.to_string()),
            })
            .collect(),
        Some(other) => vec![one_line(&other.to_string())],
    };
    Ok(AdminPage {
        items,
        next_link,
        warnings,
    })
}

/// An admin API error object as one line: `code: message: detail`, where a detail's message
/// `Ex6F9304|Microsoft.Exchange…Exception|The operation couldn't be performed…` gives its text.
pub fn error_text(error: &Value) -> String {
    let field = |map: &Map<String, Value>, key: &str| {
        map.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let Some(map) = error.as_object() else {
        return one_line(&error.to_string());
    };
    let mut parts: Vec<String> = [field(map, "code"), field(map, "message")]
        .into_iter()
        .flatten()
        .collect();
    let details = map.get("details").and_then(Value::as_array);
    for detail in details.into_iter().flatten().filter_map(Value::as_object) {
        if let Some(message) = field(detail, "message") {
            let text = message.rsplit('|').next().unwrap_or(&message).to_owned();
            parts.push(text);
        }
    }
    if parts.is_empty() {
        "no error details".to_owned()
    } else {
        one_line(&parts.join(": "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_page_keeps_its_items_as_sent_with_its_link_and_warnings() {
        let body = json!({
            "@odata.context": "https://outlook.office365.com/adminapi/beta/t/$metadata#Collection(Exchange.GenericHashTable)",
            "adminapi.warnings@odata.type": "#Collection(String)",
            "@adminapi.warnings": ["WARNING: more results"],
            "value": [{"Identity": "Admin Audit Log Settings", "AdminAuditLogCmdlets@odata.type": "#Collection(String)", "AdminAuditLogCmdlets": ["*"]}],
            "@odata.nextLink": "https://outlook.office365.com/adminapi/beta/t/InvokeCommand?$skiptoken=x"
        });
        let page = decode(&serde_json::to_vec(&body).unwrap(), 1).unwrap();
        assert_eq!(page.items, vec![body["value"][0].clone()]);
        assert_eq!(page.warnings, ["WARNING: more results"]);
        assert!(page.next_link.unwrap().ends_with("$skiptoken=x"));
        let last = decode(br#"{"@adminapi.warnings":[],"value":[]}"#, 2).unwrap();
        assert_eq!(
            (last.items.len(), last.next_link, last.warnings.len()),
            (0, None, 0)
        );
    }

    #[test]
    fn an_error_inside_a_200_a_body_of_nul_bytes_or_another_shape_is_refused() {
        let embedded = json!({"error": {"code": "NotFound", "message": "Error executing cmdlet",
            "details": [{"code": "Client", "target": "", "message": "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'x' couldn't be found."}]}});
        let err = decode(&serde_json::to_vec(&embedded).unwrap(), 1).unwrap_err();
        assert!(
            err.contains("NotFound: Error executing cmdlet: The operation couldn't be performed"),
            "{err}"
        );
        for (body, problem) in [
            (&[0u8; 64][..], "not JSON"),
            (&b"[]"[..], "not a JSON object"),
            (&br#"{"value":{}}"#[..], "no `value` array"),
            (
                &br#"{"@odata.error":{"code":"x"},"value":[]}"#[..],
                "answered with an error",
            ),
            (
                &br#"{"value":[{"a":1},null]}"#[..],
                "item 1 of `value` is null",
            ),
            (&br#"{"value":[],"@odata.nextLink":5}"#[..], "not a string"),
        ] {
            let err = decode(body, 3).unwrap_err();
            assert!(err.contains(problem), "{err}");
            assert!(err.starts_with("page 3"), "{err}");
        }
    }
}
