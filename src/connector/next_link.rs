//! Whether an `@odata.nextLink` may be followed: every service that pages this way (Graph with
//! GET, the admin APIs with POST) checks it the same way before the next request is made.

use super::fetch::ReadFailure;
use super::transport::origin::{has_user_info, origin_text, same_origin};
use reqwest::Url;
use std::collections::HashSet;

/// A collection longer than this many pages is treated as a runaway.
pub const MAX_PAGES: u32 = 10_000;

/// `link` as the URL of the page after page `pages`, if it may be followed: on `origin` (the
/// host the pages come from), without user info, not seen before, and not beyond
/// [`MAX_PAGES`]. `service` names the host in messages.
pub fn checked_next_link(
    origin: &Url,
    service: &str,
    seen: &HashSet<String>,
    link: &str,
    pages: u32,
) -> Result<Url, ReadFailure> {
    let link_url = Url::parse(link).map_err(|_| {
        ReadFailure::new(
            Some(200),
            format!("page {pages}: @odata.nextLink is not a URL"),
        )
    })?;
    if !same_origin(&link_url, origin) {
        return Err(ReadFailure::new(
            Some(200),
            format!(
                "page {pages}: refused an @odata.nextLink to {}: not the configured {service} host",
                origin_text(&link_url)
            ),
        ));
    }
    if has_user_info(&link_url) {
        // An HTTP client sends user info as Basic credentials, instead of the bearer token.
        return Err(ReadFailure::new(
            Some(200),
            format!(
                "page {pages}: refused an @odata.nextLink carrying user info (user:password@) to {}",
                origin_text(&link_url)
            ),
        ));
    }
    if seen.contains(link_url.as_str()) {
        return Err(ReadFailure::new(
            Some(200),
            format!("page {pages}: @odata.nextLink points back to an earlier page (a paging loop)"),
        ));
    }
    if pages >= MAX_PAGES {
        return Err(ReadFailure::new(
            Some(200),
            format!("more than {MAX_PAGES} pages; stopped"),
        ));
    }
    Ok(link_url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_elsewhere_with_user_info_seen_or_past_the_cap_is_refused() {
        let origin = Url::parse("https://graph.microsoft.com").unwrap();
        let mut seen = HashSet::new();
        let ok = "https://graph.microsoft.com/v1.0/users?$skiptoken=2";
        assert!(checked_next_link(&origin, "Graph", &seen, ok, 1).is_ok());
        seen.insert(ok.to_owned());
        for (link, pages, problem) in [
            (ok, 2, "paging loop"),
            (
                "https://evil.example/v1.0/users",
                1,
                "not the configured Graph host",
            ),
            ("https://u:p@graph.microsoft.com/v1.0/x", 1, "user info"),
            ("not a url", 1, "not a URL"),
            ("https://graph.microsoft.com/v1.0/x", MAX_PAGES, "stopped"),
        ] {
            let err = checked_next_link(&origin, "Graph", &seen, link, pages).unwrap_err();
            assert!(err.error.contains(problem), "{link}: {}", err.error);
            assert!(!err.error.contains(":p@"), "{}", err.error);
        }
    }
}
