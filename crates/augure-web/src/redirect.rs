//! Where a page may send a person after signing in or switching language: only a path on
//! this site, never an open redirect.

/// `next` if it is a path on this site. Browsers drop tabs and line breaks from a URL and
/// read `\` as `/`, so `/\t/evil.com` or `/\evil.com` would become `//evil.com`, another
/// site: any control character or backslash refuses the whole value.
pub fn local_path(next: &str) -> Option<&str> {
    let mut chars = next.chars();
    let local = chars.next() == Some('/')
        && !matches!(chars.next(), Some('/'))
        && next.len() <= MAX_LEN
        && !next.chars().any(|c| c.is_control() || c == '\\');
    local.then_some(next)
}

/// Longer than any page of ours; a longer value is not a path we made.
const MAX_LEN: usize = 2048;

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn paths_on_this_site_are_kept() {
        for path in
            ["/", "/wallet", "/experts/1234", "/?site=CH&page=2", "/%2F%2Fevil.com", "/experts/s%C3%A9l%C3%A8ne"]
        {
            assert_eq!(local_path(path), Some(path), "{path:?}");
        }
    }

    #[test]
    fn the_usual_open_redirect_bypasses_are_refused() {
        for next in [
            "",
            "//evil.com",
            "///evil.com",
            "/\\evil.com",
            "\\\\evil.com",
            "/\t/evil.com",
            "/\n/evil.com",
            "/\r\n/evil.com",
            "/\u{0}/evil.com",
            "/\u{7f}/evil.com",
            "/\u{85}/evil.com",
            "/x\\..\\\\evil.com",
            " /wallet",
            "https://evil.com",
            "http:/evil.com",
            "javascript:alert(1)",
            "evil.com",
        ] {
            assert_eq!(local_path(next), None, "{next:?}");
        }
        assert_eq!(local_path(&format!("/{}", "a".repeat(3000))), None);
    }
}
