//! The simulated admin APIs of Exchange Online and Security & Compliance: `POST
//! /adminapi/beta/{tenant}/InvokeCommand` with `{"CmdletInput":{"CmdletName","Parameters"}}`.
//!
//! As the services do (research notes, admin-apis-issue12.md): a cmdlet outside the allowlist,
//! or one of the other service, gets 403 with a body of NUL bytes; a token for another audience
//! gets 401; an answer is `{"@odata.context", "adminapi.warnings@odata.type",
//! "@adminapi.warnings": [], "value": [...]}` paged by an absolute `@odata.nextLink` on the host
//! that answered, which must be POSTed with the same body; the compliance front door answers
//! every request with a redirect to `https://<region>.admin.protection.outlook.com:446/…`, and
//! `<region>.localhost` (the regional host) answers it.

use super::{Fault, Origin, Sim, TENANT, huge_body};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use cloudkeur::registry::{Cmdlet, Service};
use serde_json::{Value, json};

pub(super) async fn answer(
    sim: &Sim,
    origin: Origin,
    host: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let (service, base) = match origin {
        Origin::Exchange => (Service::Exchange, &sim.exchange_base),
        _ => (Service::Compliance, &sim.compliance_base),
    };
    let path = uri.path();
    if service == Service::Compliance
        && let Some(region) = sim.options.compliance_region
        && !host.eq_ignore_ascii_case(&format!("{region}.localhost"))
    {
        // The front door sends the tenant to its region, on another domain and port.
        let location = format!("https://{region}.admin.protection.outlook.com:446{path}");
        return (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
    }
    // The origin this request reached: the next page is linked there.
    let port = base.rsplit(':').next().unwrap_or_default();
    let here = format!("http://{host}:{port}");
    if *method != Method::POST {
        return admin_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "BadRequest",
            "InvokeCommand takes a POST",
        );
    }
    if path != format!("/adminapi/beta/{TENANT}/InvokeCommand") {
        return admin_error(StatusCode::NOT_FOUND, "NotFound", "No such endpoint.");
    }
    if !sim.authorised(origin, headers) {
        // No body, as the service sends none.
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let input: Value = serde_json::from_slice::<Value>(body)
        .map(|v| v["CmdletInput"].clone())
        .unwrap_or(Value::Null);
    let name = input["CmdletName"].as_str().unwrap_or_default().to_owned();
    // The allowlist, and the cmdlet's own service: anything else is refused as the service
    // refuses a cmdlet the app may not run.
    let cmdlet: Option<Cmdlet> = serde_json::from_value(json!(name)).ok();
    let Some(cmdlet) = cmdlet.filter(|c| c.service() == service) else {
        return nul_bytes(StatusCode::FORBIDDEN);
    };
    let Some(parameters) = input["Parameters"].as_object() else {
        return admin_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Parameters must be an object.",
        );
    };
    let fault = sim.take_fault(cmdlet.as_str());
    match &fault {
        Some(Fault::Throttle { retry_after, .. }) => {
            let mut response = admin_error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "You have reached the maximum number of concurrent requests per tenant. Please wait and try again",
            );
            if let Some(secs) = retry_after {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    secs.to_string().parse().expect("header"),
                );
            }
            return response;
        }
        Some(Fault::Status { code, .. }) => {
            let status = StatusCode::from_u16(*code).expect("status");
            return admin_error(status, "ServiceUnavailable", "Injected fault.");
        }
        Some(Fault::Forbidden) => return nul_bytes(StatusCode::FORBIDDEN),
        Some(Fault::Unauthorized { .. }) => {
            sim.tokens.lock().expect("lock").clear();
            return StatusCode::UNAUTHORIZED.into_response();
        }
        Some(Fault::Slow(delay)) => tokio::time::sleep(*delay).await,
        Some(Fault::HugeBody(total)) => return huge_body(*total),
        Some(Fault::EmbeddedError) => {
            let body = json!({
                "error": {"code": "NotFound", "message": "Error executing cmdlet",
                    "details": [{"code": "Client", "target": "", "message": "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'x' couldn't be found."}]},
                "adminapi.warnings@odata.type": "#Collection(String)",
                "@adminapi.warnings": []
            });
            return json_response(StatusCode::OK, &body);
        }
        _ => {}
    }
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let skip: Option<usize> = params
        .iter()
        .find(|(k, _)| k == "$skiptoken")
        .and_then(|(_, v)| v.parse().ok());
    if let (Some(Fault::Redirect(location)), None) = (&fault, skip) {
        return (
            StatusCode::FOUND,
            [(header::LOCATION, location.to_string())],
        )
            .into_response();
    }
    let Some(resource) = sim
        .resources
        .values()
        .find(|r| r.spec.service == service && r.spec.cmdlet == Some(cmdlet))
    else {
        return admin_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "No such cmdlet output in the simulator.",
        );
    };
    if let Some((unknown, _)) = parameters
        .iter()
        .find(|(k, v)| resource.spec.parameters.get(*k) != Some(*v))
        .or_else(|| {
            resource
                .spec
                .parameters
                .iter()
                .find(|(k, _)| !parameters.contains_key(*k))
        })
    {
        return admin_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("A parameter cannot be found that matches parameter name '{unknown}'."),
        );
    }
    let items = resource.body["value"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let size = sim.options.page_size.max(1);
    let start = skip.unwrap_or(0).min(items.len());
    let page_number = start / size + 1;
    if let Some(Fault::ExpiredPage(n)) = fault
        && skip.is_some()
        && page_number == n
    {
        return admin_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Expired or Invalid pagination request. Default Expiry time is 00:30:00",
        );
    }
    let end = (start + size).min(items.len());
    let link = |at: usize| format!("{here}{path}?$skiptoken={at}");
    let next = match &fault {
        Some(Fault::NextLinkCycle) if skip.is_some() => Some(link(start)),
        Some(Fault::NextLinkCycle) => Some(link(end)),
        Some(Fault::ForeignNextLink) => {
            Some(format!("https://evil.example{path}?$skiptoken={end}"))
        }
        _ if end < items.len() => Some(link(end)),
        _ => None,
    };
    let warnings: Vec<&str> = match &fault {
        Some(Fault::Warning(text)) if next.is_none() => vec![text],
        _ => Vec::new(),
    };
    let page: Vec<Value> = match fault {
        Some(Fault::EmptyCollection) => Vec::new(),
        _ => items[start..end].to_vec(),
    };
    let mut envelope = json!({
        "@odata.context": format!("{here}/adminapi/beta/{TENANT}/$metadata#Collection(Exchange.GenericHashTable)"),
        "adminapi.warnings@odata.type": "#Collection(String)",
        "@adminapi.warnings": warnings,
        "value": page,
    });
    if let Some(next) = next {
        envelope["@odata.nextLink"] = json!(next);
    }
    let mut bytes = serde_json::to_vec(&envelope).expect("json");
    if matches!(fault, Some(Fault::Truncated)) {
        bytes.truncate(bytes.len() / 2);
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
        )],
        bytes,
    )
        .into_response()
}

/// The answer to a cmdlet the app may not run: a body of NUL bytes, not JSON.
fn nul_bytes(status: StatusCode) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        vec![0u8; 512],
    )
        .into_response()
}

/// The admin APIs' error envelope.
fn admin_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({
        "error": {
            "code": code,
            "message": "Error executing cmdlet",
            "details": [{"code": "Client", "target": "", "message": format!("Ex0|Microsoft.Exchange.Admin.OData.Core.ODataServiceException|{message}")}],
            "innererror": {"message": "Error executing cmdlet", "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException"}
        },
        "adminapi.warnings@odata.type": "#Collection(String)",
        "@adminapi.warnings": []
    });
    json_response(status, &body)
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(body).expect("json"),
    )
        .into_response()
}
