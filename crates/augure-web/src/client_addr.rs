//! The client's address behind reverse proxies. A forwarding header is only as good as
//! whoever wrote it: anyone can send one, so it is read only when the TCP peer is a
//! proxy we were told to trust, and then walked from the right (each proxy appends the
//! address it received from) past the trusted proxies. The first address that is not
//! one of ours is the client; everything left of it was written by the client and is
//! ignored.

use std::net::{IpAddr, SocketAddr};

use augure_app::settings::{ForwardedHeader, TrustedProxy};
use axum::http::HeaderMap;

/// The address rate limits key on.
pub fn client_addr(peer: IpAddr, headers: &HeaderMap, trusted: &[TrustedProxy], header: ForwardedHeader) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|proxy| proxy.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(client) {
        return client;
    }
    let hops = match header {
        ForwardedHeader::XForwardedFor => header_values(headers, "x-forwarded-for", xff_hops),
        ForwardedHeader::Forwarded => header_values(headers, "forwarded", forwarded_hops),
    };
    for hop in hops.into_iter().rev() {
        // An entry we cannot read ("unknown", an obfuscated name, garbage) ends the walk:
        // the proxy that wrote it is the best we know, and grouping such clients under it
        // is safer than believing anything written further left.
        let Some(ip) = hop else { break };
        client = ip.to_canonical();
        if !is_trusted(client) {
            break;
        }
    }
    client
}

/// The hops of every line of `name`, in order: a header may be sent several times and
/// its lines then read as one comma-separated list.
fn header_values(headers: &HeaderMap, name: &str, hops: fn(&str) -> Vec<Option<IpAddr>>) -> Vec<Option<IpAddr>> {
    headers
        .get_all(name)
        .iter()
        // A line that is not text cannot be read: it ends the walk like an unknown hop.
        .flat_map(|line| line.to_str().map_or_else(|_| vec![None], hops))
        .collect()
}

/// `X-Forwarded-For: 203.0.113.7, 10.0.0.2`.
fn xff_hops(line: &str) -> Vec<Option<IpAddr>> {
    line.split(',').map(|hop| parse_node(hop.trim())).collect()
}

/// `Forwarded: for=192.0.2.60;proto=https, for="[2001:db8::17]:4711"` (RFC 7239): one
/// element per hop, its address in the `for` parameter.
fn forwarded_hops(line: &str) -> Vec<Option<IpAddr>> {
    split_outside_quotes(line, ',')
        .into_iter()
        .map(|element| {
            split_outside_quotes(element, ';').into_iter().find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim().eq_ignore_ascii_case("for").then(|| value.trim())
            })
        })
        .map(|value| value.and_then(|v| parse_node(v.trim_matches('"'))))
        .collect()
}

fn split_outside_quotes(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// An address as proxies write it: `192.0.2.60`, `192.0.2.60:4711`, `2001:db8::17`,
/// `[2001:db8::17]` or `[2001:db8::17]:4711`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = node.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    node.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &[&str]) -> Vec<TrustedProxy> {
        list.iter().map(|p| p.parse().unwrap()).collect()
    }

    fn headers(name: &'static str, lines: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in lines {
            map.append(name, line.parse().unwrap());
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const XFF: ForwardedHeader = ForwardedHeader::XForwardedFor;

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let h = headers("x-forwarded-for", &["203.0.113.7"]);
        assert_eq!(client_addr(ip("198.51.100.1"), &h, &[], XFF), ip("198.51.100.1"));
        assert_eq!(client_addr(ip("198.51.100.1"), &h, &proxies(&["10.0.0.0/8"]), XFF), ip("198.51.100.1"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_forwarded_client_is_used() {
        let trusted = proxies(&["10.0.0.1"]);
        let a = headers("x-forwarded-for", &["203.0.113.7"]);
        let b = headers("x-forwarded-for", &["203.0.113.8"]);
        assert_eq!(client_addr(ip("10.0.0.1"), &a, &trusted, XFF), ip("203.0.113.7"));
        assert_eq!(client_addr(ip("10.0.0.1"), &b, &trusted, XFF), ip("203.0.113.8"));
        // No header: the proxy itself is all we know.
        assert_eq!(client_addr(ip("10.0.0.1"), &HeaderMap::new(), &trusted, XFF), ip("10.0.0.1"));
    }

    #[test]
    fn the_chain_is_walked_from_the_right_past_trusted_proxies_only() {
        let trusted = proxies(&["10.0.0.0/8", "192.168.1.5"]);
        // The client wrote "1.1.1.1" itself; our proxies appended the rest.
        let h = headers("x-forwarded-for", &["1.1.1.1, 203.0.113.7", "192.168.1.5, 10.1.2.3"]);
        assert_eq!(client_addr(ip("10.0.0.1"), &h, &trusted, XFF), ip("203.0.113.7"));
        // Every hop trusted: the leftmost is the client.
        let h = headers("x-forwarded-for", &["10.9.9.9, 10.1.2.3"]);
        assert_eq!(client_addr(ip("10.0.0.1"), &h, &trusted, XFF), ip("10.9.9.9"));
        // An unreadable hop stops the walk at the last trusted one.
        let h = headers("x-forwarded-for", &["203.0.113.7, unknown, 10.1.2.3"]);
        assert_eq!(client_addr(ip("10.0.0.1"), &h, &trusted, XFF), ip("10.1.2.3"));
    }

    #[test]
    fn ports_brackets_and_mapped_addresses_are_read() {
        let trusted = proxies(&["::1", "10.0.0.1"]);
        let h = headers("x-forwarded-for", &["203.0.113.7:5555"]);
        assert_eq!(client_addr(ip("::ffff:10.0.0.1"), &h, &trusted, XFF), ip("203.0.113.7"));
        let h = headers("x-forwarded-for", &["[2001:db8::17]:4711"]);
        assert_eq!(client_addr(ip("::1"), &h, &trusted, XFF), ip("2001:db8::17"));
    }

    #[test]
    fn rfc_7239_forwarded_is_read_when_configured_and_only_then() {
        let trusted = proxies(&["10.0.0.1"]);
        let h = headers(
            "forwarded",
            &[r#"for=1.1.1.1, For="[2001:db8:cafe::17]:4711";proto=https;by=10.0.0.1"#, "for=10.0.0.1;host=\"a,b\""],
        );
        assert_eq!(client_addr(ip("10.0.0.1"), &h, &trusted, ForwardedHeader::Forwarded), ip("2001:db8:cafe::17"));
        // The proxy writes X-Forwarded-For: a Forwarded line is the client's own words.
        assert_eq!(client_addr(ip("10.0.0.1"), &h, &trusted, XFF), ip("10.0.0.1"));
        let h = headers("forwarded", &["for=_hidden, for=203.0.113.7"]);
        assert_eq!(client_addr(ip("10.0.0.1"), &h, &trusted, ForwardedHeader::Forwarded), ip("203.0.113.7"));
        let h = headers("forwarded", &["for=203.0.113.7, for=unknown"]);
        assert_eq!(client_addr(ip("10.0.0.1"), &h, &trusted, ForwardedHeader::Forwarded), ip("10.0.0.1"));
    }

    #[test]
    fn trusted_proxies_parse_from_addresses_and_ranges() {
        let list = proxies(&["10.0.0.0/8", "192.168.1.5", " fd00::/8 "]);
        assert!(list[0].contains(ip("10.255.0.1")));
        assert!(list[1].contains(ip("192.168.1.5")) && !list[1].contains(ip("192.168.1.6")));
        assert!(list[2].contains(ip("fd12::1")));
        assert!("10.0.0.0/33".parse::<TrustedProxy>().is_err());
        assert!("proxy.local".parse::<TrustedProxy>().is_err());
    }
}
