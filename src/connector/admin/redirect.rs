//! The regional redirect rule of the admin APIs.
//!
//! Security & Compliance's front door answers a tenant homed elsewhere with a redirect whose
//! `Location` names a host on *another* domain (`eur02b.admin.protection.outlook.com:446`), while
//! the API itself is served from `eur02b.ps.compliance.protection.outlook.com`; Exchange Online
//! may likewise send a tenant to `<prefix>.outlook.office365.com`. So a redirect is never followed
//! as such: only the first DNS label of its host is taken, when the rest of the host is one the
//! service is known to name, and the request is sent again to that label under the *configured*
//! host, on the configured scheme and port. The request never leaves
//! `*.<configured host>`; anything else is an error.
//!
//! A loopback test server stands for the service: under `http://localhost:PORT` the regional host
//! is `http://eur02b.localhost:PORT`; under an IP address (which has no names under it) the request
//! goes again to the configured origin itself.

use crate::connector::transport::origin::{has_user_info, is_dns_label, is_loopback, origin_text};
use crate::registry::Service;
use reqwest::Url;

/// The hosts a service's front door is known to name in a redirect, after the region's label.
pub fn known_suffixes(service: Service) -> &'static [&'static str] {
    match service {
        Service::Exchange => &["outlook.office365.com"],
        Service::Compliance => &[
            "admin.protection.outlook.com",
            "ps.compliance.protection.outlook.com",
        ],
        Service::Graph | Service::Teams | Service::GoogleDirectory | Service::GooglePolicy => &[],
    }
}

/// Where to send again a request that `configured` (the service's configured origin) answered
/// with a redirect to `location`; or why not.
pub fn regional_origin(
    service: Service,
    configured: &Url,
    location: Option<&str>,
) -> Result<Url, String> {
    let location = location.ok_or("a redirect without a Location header")?;
    let target = Url::parse(location).map_err(|_| {
        format!(
            "a redirect to '{}', which is not an absolute URL",
            short(location)
        )
    })?;
    let refuse = |why: &str| format!("refused a redirect to {}: {why}", origin_text(&target));
    if has_user_info(&target) {
        return Err(refuse("it carries user info"));
    }
    if target.scheme() != "https" && !(is_loopback(configured) && target.scheme() == "http") {
        return Err(refuse("not https"));
    }
    let Some(url::Host::Domain(host)) = target.host() else {
        return Err(refuse("not a host name"));
    };
    let host = host.to_ascii_lowercase();
    let configured_host = configured
        .host_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let (label, rest) = host
        .split_once('.')
        .ok_or_else(|| refuse("not a regional host"))?;
    let mut suffixes: Vec<&str> = known_suffixes(service).to_vec();
    if !suffixes.contains(&configured_host.as_str()) {
        suffixes.push(&configured_host);
    }
    if !suffixes.contains(&rest) || !is_dns_label(label) {
        return Err(refuse(&format!(
            "only <region>.{} is followed for {service}",
            suffixes.join(" or <region>.")
        )));
    }
    match configured.host() {
        Some(url::Host::Domain(_)) => {
            let mut regional = configured.clone();
            regional
                .set_host(Some(&format!("{label}.{configured_host}")))
                .map_err(|err| refuse(&err.to_string()))?;
            Ok(regional)
        }
        // An IP address has no names under it: the same origin again.
        _ => Ok(configured.clone()),
    }
}

fn short(text: &str) -> String {
    text.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn front_door() -> Url {
        Url::parse("https://ps.compliance.protection.outlook.com").unwrap()
    }

    #[test]
    fn only_the_region_label_is_taken_and_sent_under_the_configured_host() {
        for location in [
            "https://eur02b.admin.protection.outlook.com:446/AdminApi/v1.0/t/EXOModuleFile",
            "https://EUR02B.ps.compliance.protection.outlook.com/adminapi/beta/t/InvokeCommand",
            "https://eur02b.ps.compliance.protection.outlook.com:446/somewhere/else?x=1",
        ] {
            let regional =
                regional_origin(Service::Compliance, &front_door(), Some(location)).unwrap();
            assert_eq!(
                regional.as_str(),
                "https://eur02b.ps.compliance.protection.outlook.com/",
                "{location}"
            );
        }
        let exchange = Url::parse("https://outlook.office365.com").unwrap();
        let regional = regional_origin(
            Service::Exchange,
            &exchange,
            Some("https://nam13b.outlook.office365.com/adminapi/beta/t/InvokeCommand"),
        )
        .unwrap();
        assert_eq!(regional.as_str(), "https://nam13b.outlook.office365.com/");
    }

    #[test]
    fn a_redirect_anywhere_else_is_refused() {
        for location in [
            None,
            Some("/adminapi/beta/t/InvokeCommand"),
            Some("https://evil.example/adminapi"),
            Some("https://eur02b.admin.protection.outlook.com.evil.example/"),
            Some("https://a.b.admin.protection.outlook.com/"),
            Some("http://eur02b.admin.protection.outlook.com/"),
            Some("https://u:p@eur02b.admin.protection.outlook.com/"),
            Some("https://eur02b.outlook.office365.com/"),
            Some("https://-x.admin.protection.outlook.com/"),
            Some("https://eur_02b.admin.protection.outlook.com/"),
            Some("https://203.0.113.9/"),
            Some("https://admin.protection.outlook.com/"),
        ] {
            let result = regional_origin(Service::Compliance, &front_door(), location);
            assert!(result.is_err(), "{location:?} accepted: {result:?}");
            assert!(!result.unwrap_err().contains(":p@"));
        }
        // Graph and Teams know no regional hosts: only their configured host could be named.
        let graph = Url::parse("https://graph.microsoft.com").unwrap();
        assert!(
            regional_origin(
                Service::Graph,
                &graph,
                Some("https://eur02b.admin.protection.outlook.com/")
            )
            .is_err()
        );
    }

    #[test]
    fn on_loopback_the_regional_host_stays_on_the_test_server() {
        let named = Url::parse("http://localhost:4711").unwrap();
        let location = Some("https://eur02b.admin.protection.outlook.com:446/x");
        assert_eq!(
            regional_origin(Service::Compliance, &named, location)
                .unwrap()
                .as_str(),
            "http://eur02b.localhost:4711/"
        );
        let ip = Url::parse("http://127.0.0.1:4711").unwrap();
        assert_eq!(
            regional_origin(Service::Compliance, &ip, location)
                .unwrap()
                .as_str(),
            "http://127.0.0.1:4711/"
        );
    }
}
