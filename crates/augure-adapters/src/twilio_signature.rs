//! Twilio's webhook signature (issue 12): `X-Twilio-Signature` is the base64 HMAC-SHA1,
//! keyed by the account's auth token, of the URL the provider requested (as it saw it:
//! the public URL, not the address a proxy forwarded to) followed by every POST
//! parameter, sorted by name then value, each as name and value with no separator. A JSON
//! body is signed through the URL instead: its hex SHA-256 rides in the `bodySHA256`
//! query parameter. Like the provider's own libraries, a URL is accepted with or without
//! its port (the provider signs what it requested, and proxies add or drop the default).
//! The phone network simulator signs its webhooks with [`sign`], so the app checks them
//! exactly as it checks the provider's.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The signature of a request to `url` with form parameters `params`.
pub fn sign(token: &SecretString, url: &str, params: &[(String, String)]) -> String {
    STANDARD.encode(mac(token, url, params).finalize().into_bytes())
}

/// Whether `signature` is the provider's for this request. Compared in constant time.
pub fn verify(token: &SecretString, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let Ok(expected) = STANDARD.decode(signature.trim()) else { return false };
    let mut matched = false;
    // Every form tried, none skipped: the time taken says nothing about which matched.
    for candidate in [without_port(url), with_port(url)] {
        matched |= mac(token, &candidate, params).verify_slice(&expected).is_ok();
    }
    matched
}

/// Whether a JSON `body` signed through its URL is the one sent: the URL's `bodySHA256`
/// names its hash (the signature itself is then checked with no parameters).
pub fn body_matches(url: &str, body: &[u8]) -> bool {
    let Some(query) = url.split_once('?').map(|(_, q)| q.split('#').next().unwrap_or(q)) else { return false };
    let claimed = query.split('&').find_map(|pair| pair.strip_prefix("bodySHA256="));
    let Some(claimed) = claimed.and_then(|hex_hash| hex::decode(hex_hash).ok()) else { return false };
    let actual = Sha256::digest(body);
    // Constant time, like the signature.
    claimed.len() == actual.len() && claimed.iter().zip(actual.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// The hex SHA-256 of a JSON body, for its URL's `bodySHA256`.
pub fn body_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

fn mac(token: &SecretString, url: &str, params: &[(String, String)]) -> Hmac<Sha1> {
    let mut mac = Hmac::<Sha1>::new_from_slice(token.expose_secret().as_bytes()).expect("HMAC takes any key length");
    mac.update(url.as_bytes());
    // Sorted by name, then by value; a name sent twice with one value counts once, as
    // the provider's libraries do.
    let mut sorted: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    sorted.sort_unstable();
    sorted.dedup();
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// `url`'s scheme, authority and the rest, split after the authority.
fn split(url: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some((scheme, &rest[..end], &rest[end..]))
}

/// The host part of an authority and its port, if it has one (IPv6 literals kept whole).
fn host_port(authority: &str) -> (&str, Option<&str>) {
    let host_start = authority.rfind('@').map_or(0, |at| at + 1);
    let hostish = &authority[host_start..];
    match hostish.rfind(':') {
        Some(colon) if !hostish[colon..].contains(']') => {
            (&authority[..host_start + colon], Some(&hostish[colon + 1..]))
        }
        _ => (authority, None),
    }
}

fn without_port(url: &str) -> String {
    match split(url) {
        Some((scheme, authority, rest)) => match host_port(authority) {
            (host, Some(_)) => format!("{scheme}://{host}{rest}"),
            (_, None) => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

fn with_port(url: &str) -> String {
    let Some((scheme, authority, rest)) = split(url) else { return url.to_owned() };
    if host_port(authority).1.is_some() {
        return url.to_owned();
    }
    let port = match scheme.to_ascii_lowercase().as_str() {
        "https" => 443,
        "http" => 80,
        _ => return url.to_owned(),
    };
    format!("{scheme}://{authority}:{port}{rest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    // The worked examples of the provider's Python helper library's own tests.
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn token() -> SecretString {
        SecretString::from("12345".to_owned())
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn call() -> Vec<(String, String)> {
        params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
            ("Caller", "+14158675309"),
        ])
    }

    #[test]
    fn the_providers_worked_example_signs_the_same() {
        assert_eq!(sign(&token(), URL, &call()), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        assert!(verify(&token(), URL, &call(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    }

    #[test]
    fn a_name_sent_twice_is_sorted_by_value() {
        let duplicated = params(&[("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]);
        assert_eq!(sign(&token(), URL, &duplicated), "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
    }

    #[test]
    fn a_url_verifies_with_or_without_its_port() {
        let with_port = URL.replace(".com", ".com:1234");
        assert!(verify(&token(), &with_port, &call(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
        let http_with_port = with_port.replace("https", "http");
        assert!(verify(&token(), &http_with_port, &call(), "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="));
        // Signed with the default port, received without it.
        assert!(verify(&token(), URL, &call(), "kvajT1Ptam85bY51eRf/AJRuM3w="));
        assert!(verify(&token(), &URL.replace("https", "http"), &call(), "0ZXoZLH/DfblKGATFgpif+LLRf4="));
    }

    #[test]
    fn a_json_body_is_signed_through_its_url() {
        let body = br#"{"property": "value", "boolean": true}"#;
        let hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
        assert_eq!(body_hash(body), hash);
        let url = format!("{URL}&bodySHA256={hash}");
        assert!(body_matches(&url, body));
        assert!(verify(&token(), &url, &[], "a9nBmqA0ju/hNViExpshrM61xv4="));
        assert!(!body_matches(&url, br#"{"property": "other", "boolean": true}"#));
        assert!(!body_matches(URL, body), "no hash in the URL");
    }

    #[test]
    fn anything_changed_is_refused() {
        let good = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
        let mut forged = call();
        forged[1].1 = "9999".into();
        assert!(!verify(&token(), URL, &forged, good), "a parameter changed");
        let mut added = call();
        added.push(("Price".into(), "0".into()));
        assert!(!verify(&token(), URL, &added, good), "a parameter added");
        assert!(!verify(&token(), &URL.replace("foo=1", "foo=2"), &call(), good), "the query changed");
        assert!(!verify(&token(), "https://evil.example/myapp.php?foo=1&bar=2", &call(), good), "another host");
        assert!(!verify(&SecretString::from("54321".to_owned()), URL, &call(), good), "another token");
        assert!(!verify(&token(), URL, &call(), ""), "unsigned");
        assert!(!verify(&token(), URL, &call(), "not base64!"), "garbage");
    }

    #[test]
    fn ports_are_added_and_removed_only_in_the_authority() {
        assert_eq!(without_port("https://a.example:8443/x?y=1:2"), "https://a.example/x?y=1:2");
        assert_eq!(with_port("https://a.example/x?y=1:2"), "https://a.example:443/x?y=1:2");
        assert_eq!(with_port("http://a.example"), "http://a.example:80");
        assert_eq!(without_port("http://[::1]:8080/v"), "http://[::1]/v");
        assert_eq!(with_port("http://[::1]/v"), "http://[::1]:80/v");
        assert_eq!(without_port("no scheme"), "no scheme");
    }
}
