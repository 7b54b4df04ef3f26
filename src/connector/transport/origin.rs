//! Which hosts a request may go to: the base URLs given by flags are checked once
//! ([`check_base_url`]), and every URL is compared with them by origin ([`same_origin`]).

use super::super::ConnectorError;
use reqwest::Url;
use std::net::{IpAddr, Ipv6Addr};

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
    if has_user_info(&url) {
        return Err(bad("user info in the URL is not allowed"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("a base URL takes no query or fragment"));
    }
    let trimmed = url.as_str().trim_end_matches('/').to_owned();
    Url::parse(&trimmed).map_err(|err| bad(&format!("not a URL ({err})")))
}

/// A loopback host: 127.0.0.0/8, `::1`, `localhost`, or a name under `localhost` (which the
/// network transport resolves to 127.0.0.1 itself, RFC 6761 section 6.3).
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip == Ipv6Addr::LOCALHOST,
        None => false,
    }
}

/// One DNS label, as a regional host's prefix: lowercase letters, digits and inner hyphens,
/// at most 63 characters (`eur02b`, `nam13b`).
pub fn is_dns_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// Whether `host` is one DNS label followed by `.parent` (both compared in lowercase).
pub fn is_regional_host(host: &str, parent: &str) -> bool {
    let (host, parent) = (host.to_ascii_lowercase(), parent.to_ascii_lowercase());
    host.strip_suffix(parent.as_str())
        .and_then(|prefix| prefix.strip_suffix('.'))
        .is_some_and(is_dns_label)
}

/// `user:password@` in a URL: an HTTP client would send it as Basic credentials.
pub fn has_user_info(url: &Url) -> bool {
    !url.username().is_empty() || url.password().is_some()
}

/// Same scheme, host and port (default ports made explicit).
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && a.port_or_known_default() == b.port_or_known_default()
}

/// `scheme://host:port` only, for messages (never the path, query or user info).
pub fn origin_text(url: &Url) -> String {
    match url.port() {
        Some(port) => format!("{}://{}:{port}", url.scheme(), url.host_str().unwrap_or("")),
        None => format!("{}://{}", url.scheme(), url.host_str().unwrap_or("")),
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
            "http://compliance.localhost:1",
            "https://graph.microsoft.com/",
        ] {
            assert!(check_base_url("--graph-url", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://graph.microsoft.com",
            "http://10.0.0.1",
            "http://localhost.example",
            "http://localhostx:1",
            "http://[::2]",
            "ftp://127.0.0.1",
            "https://u:p@graph.microsoft.com",
            "https://u@graph.microsoft.com",
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

    #[test]
    fn origin_text_leaves_out_user_info_path_and_query() {
        let url = Url::parse("https://user:pw@graph.microsoft.com:8443/v1.0/users?$x=1").unwrap();
        assert_eq!(origin_text(&url), "https://graph.microsoft.com:8443");
        assert!(has_user_info(&url));
    }
}
