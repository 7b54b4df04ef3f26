//! The simulated Teams admin API: `GET /Skype.Policy/configurations/{type}` answered with a bare
//! JSON array of configuration objects, for a token of the "Skype and Teams Tenant Admin API"
//! audience only.

use super::{Fault, Origin, Sim, huge_body};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use cloudkeur::registry::Service;
use serde_json::{Value, json};

pub(super) async fn answer(sim: &Sim, method: &Method, uri: &Uri, headers: &HeaderMap) -> Response {
    if *method != Method::GET {
        return teams_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "read-only simulator",
        );
    }
    if !sim.authorised(Origin::Teams, headers) {
        return teams_error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Authentication failed: the token is not for this audience.",
        );
    }
    let path = uri.path();
    let fault = sim.take_fault(path);
    match &fault {
        Some(Fault::Throttle { retry_after, .. }) => {
            let mut response = teams_error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Slow down.",
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
            return teams_error(status, "ServiceUnavailable", "Injected fault.");
        }
        Some(Fault::Forbidden) => {
            return teams_error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "The user or application is not authorized for this operation.",
            );
        }
        Some(Fault::Unauthorized { .. }) => {
            sim.tokens.lock().expect("lock").clear();
            return teams_error(StatusCode::UNAUTHORIZED, "Unauthorized", "Token expired.");
        }
        Some(Fault::Slow(delay)) => tokio::time::sleep(*delay).await,
        Some(Fault::HugeBody(total)) => return huge_body(*total),
        _ => {}
    }
    let Some(resource) = sim
        .resources
        .values()
        .find(|r| r.spec.service == Service::Teams && r.spec.path == path)
    else {
        return teams_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "No such configuration type.",
        );
    };
    let items: Vec<Value> = match fault {
        Some(Fault::EmptyCollection) => Vec::new(),
        _ => resource.body["value"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
    };
    let mut bytes = serde_json::to_vec(&items).expect("json");
    if matches!(fault, Some(Fault::Truncated)) {
        bytes.truncate(bytes.len() / 2);
    }
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        bytes,
    )
        .into_response()
}

fn teams_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(&json!({"errorCode": code, "message": message})).expect("json"),
    )
        .into_response()
}
