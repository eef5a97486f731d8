//! Which pages may open a WebSocket here: the same-origin rule of gorilla/websocket's default
//! upgrader, plus an explicit allow-list.
//!
//! Browsers send `Origin` on every WebSocket handshake and scripts cannot forge it, so refusing
//! a foreign origin stops another site's page from using a visitor's browser to talk to this
//! server. Clients that send no `Origin` (command-line tools, other servers) are not browsers
//! and pass.

/// The origins allowed besides the server's own.
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    any: bool,
    allowed: Vec<String>,
}

impl OriginPolicy {
    /// From `--allow-origin` values, already normalized (lower case, no trailing slash).
    pub fn new(allowed: &[String]) -> Self {
        OriginPolicy {
            any: allowed.iter().any(|origin| origin == "*"),
            allowed: allowed
                .iter()
                .filter(|origin| *origin != "*")
                .cloned()
                .collect(),
        }
    }

    /// Whether a handshake with this `Origin` and `Host` header may proceed.
    pub fn allows(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        if self.any {
            return true;
        }
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        let same_host = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .zip(host)
            .is_some_and(|(origin_host, host)| origin_host.eq_ignore_ascii_case(host));
        same_host || self.allowed.contains(&origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_host_passes_other_hosts_do_not() {
        let policy = OriginPolicy::default();
        assert!(policy.allows(Some("http://localhost:8080"), Some("localhost:8080")));
        assert!(policy.allows(Some("https://Echo.Example.org"), Some("echo.example.org")));
        assert!(!policy.allows(Some("http://evil.example"), Some("localhost:8080")));
        assert!(
            !policy.allows(Some("http://localhost:8081"), Some("localhost:8080")),
            "port counts"
        );
        assert!(
            !policy.allows(Some("null"), Some("localhost:8080")),
            "sandboxed pages"
        );
        assert!(
            !policy.allows(Some("http://localhost:8080"), None),
            "no Host to compare"
        );
    }

    #[test]
    fn no_origin_means_no_browser_and_passes() {
        assert!(OriginPolicy::default().allows(None, Some("localhost:8080")));
    }

    #[test]
    fn the_allow_list_opens_exact_origins_and_star_opens_all() {
        let policy = OriginPolicy::new(&["https://app.example.com".to_owned()]);
        assert!(policy.allows(Some("https://app.example.com"), Some("api.example.com")));
        assert!(policy.allows(Some("HTTPS://APP.EXAMPLE.COM/"), Some("api.example.com")));
        assert!(
            !policy.allows(Some("http://app.example.com"), Some("api.example.com")),
            "scheme counts"
        );
        assert!(!policy.allows(Some("https://other.example.com"), Some("api.example.com")));
        let any = OriginPolicy::new(&["*".to_owned()]);
        assert!(any.allows(Some("http://anything.example"), Some("localhost:8080")));
    }
}
