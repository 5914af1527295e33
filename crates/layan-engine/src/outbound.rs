//! Requests to hosts an admin typed (mail servers, the language model, the store's API, and every
//! later outbound address): loopback, private, link-local, shared (CGNAT), documentation and
//! multicast addresses — cloud metadata endpoints among them — are refused unless the operator
//! allows them (`outbound_allow`: host names, addresses or networks, or `*`). A host name is
//! resolved once and the connection goes to the address that was checked, so a name cannot
//! resolve to a public address for the check and a private one for the connection. HTTP requests
//! do not follow redirects (an allowed host cannot send the request on to a refused one).
//!
//! What goes wrong is classified ([`NetError`]): a remote server's own words (a banner, an error
//! body) are logged, never shown to the admin, so the feature cannot be used to read an internal
//! service's answers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;

/// Why a connection to an outside server did not work, in words safe to show (each a code the
/// agent app translates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    /// The address is loopback, private, link-local or otherwise not public, and not allowed.
    #[error("net_blocked")]
    Blocked,
    /// The host name does not resolve.
    #[error("net_not_found")]
    NotFound,
    /// The server refused the connection or closed it.
    #[error("net_refused")]
    Refused,
    #[error("net_timed_out")]
    TimedOut,
    /// The TLS handshake failed (certificate, protocol).
    #[error("net_tls")]
    Tls,
    /// The server refused the user name and password (or API key).
    #[error("net_auth")]
    Auth,
    /// The server answered something that is not the protocol expected.
    #[error("net_protocol")]
    Protocol,
}

impl NetError {
    /// The code stored and shown (the agent app has a sentence per code in each language).
    pub fn code(self) -> &'static str {
        match self {
            Self::Blocked => "net_blocked",
            Self::NotFound => "net_not_found",
            Self::Refused => "net_refused",
            Self::TimedOut => "net_timed_out",
            Self::Tls => "net_tls",
            Self::Auth => "net_auth",
            Self::Protocol => "net_protocol",
        }
    }

    /// Classifies an I/O error of a connection.
    pub fn of_io(e: &std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        match e.kind() {
            K::TimedOut | K::WouldBlock => Self::TimedOut,
            K::ConnectionRefused
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::BrokenPipe
            | K::UnexpectedEof
            | K::NotConnected
            | K::HostUnreachable
            | K::NetworkUnreachable
            | K::AddrNotAvailable => Self::Refused,
            K::InvalidData => Self::Tls,
            _ => Self::Refused,
        }
    }

    /// Classifies an HTTP client error (our own refusal is found in its causes).
    pub fn of_http(e: &reqwest::Error) -> Self {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(c) = cause {
            if let Some(ours) = c.downcast_ref::<NetError>() {
                return *ours;
            }
            if let Some(io) = c.downcast_ref::<std::io::Error>() {
                return Self::of_io(io);
            }
            cause = c.source();
        }
        if e.is_timeout() {
            Self::TimedOut
        } else if e.is_decode() || e.is_body() || e.is_redirect() {
            Self::Protocol
        } else {
            Self::Refused
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Allowed {
    Any,
    Host(String),
    Net(IpAddr, u8),
}

/// Which non-public hosts outbound connections may reach. The default allows none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    allowed: Arc<Vec<Allowed>>,
}

impl OutboundPolicy {
    /// Public addresses only.
    pub fn public_only() -> Self {
        Self::default()
    }

    /// Every address (tests with local stand-ins; a closed network).
    pub fn allow_all() -> Self {
        Self {
            allowed: Arc::new(vec![Allowed::Any]),
        }
    }

    /// From the `outbound_allow` setting: `*`, host names (`mail.internal`, `localhost`),
    /// addresses (`127.0.0.1`, `::1`) and networks (`10.0.0.0/8`, `fd00::/8`).
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut allowed = Vec::new();
        for raw in entries {
            let e = raw.trim();
            if e.is_empty() {
                continue;
            }
            if e == "*" {
                allowed.push(Allowed::Any);
            } else if let Some((ip, bits)) = e.split_once('/') {
                let ip: IpAddr = ip
                    .parse()
                    .map_err(|_| format!("{e:?} is not a network (10.0.0.0/8)"))?;
                let max = if ip.is_ipv4() { 32 } else { 128 };
                let bits: u8 = bits
                    .parse()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(|| format!("{e:?}: the prefix length is 0 to {max}"))?;
                allowed.push(Allowed::Net(ip, bits));
            } else if let Ok(ip) = e.trim_matches(['[', ']']).parse::<IpAddr>() {
                allowed.push(Allowed::Net(ip, if ip.is_ipv4() { 32 } else { 128 }));
            } else if e
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                allowed.push(Allowed::Host(e.trim_end_matches('.').to_ascii_lowercase()));
            } else {
                return Err(format!("{e:?} is not a host name, an address or a network"));
            }
        }
        Ok(Self {
            allowed: Arc::new(allowed),
        })
    }

    /// Whether `host` (as typed) may be reached at `ip`.
    pub fn allows(&self, host: &str, ip: IpAddr) -> bool {
        if is_public(ip) {
            return true;
        }
        let host = host
            .trim_matches(['[', ']'])
            .trim_end_matches('.')
            .to_ascii_lowercase();
        self.allowed.iter().any(|a| match a {
            Allowed::Any => true,
            Allowed::Host(h) => *h == host,
            Allowed::Net(net, bits) => in_network(ip, *net, *bits),
        })
    }

    /// Resolves `host` once; the addresses it may reach, in the resolver's order. Refused when
    /// none may (an answer mixing public and private addresses keeps only the allowed ones).
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, NetError> {
        let bare = host.trim_matches(['[', ']']);
        let found: Vec<SocketAddr> = if let Ok(ip) = bare.parse::<IpAddr>() {
            vec![SocketAddr::new(ip, port)]
        } else {
            tokio::time::timeout(
                Duration::from_secs(10),
                tokio::net::lookup_host((bare, port)),
            )
            .await
            .map_err(|_| NetError::TimedOut)?
            .map_err(|_| NetError::NotFound)?
            .collect()
        };
        if found.is_empty() {
            return Err(NetError::NotFound);
        }
        let ok: Vec<SocketAddr> = found
            .iter()
            .copied()
            .filter(|a| self.allows(bare, a.ip()))
            .collect();
        if ok.is_empty() {
            tracing::warn!(host = %bare, addresses = ?found, "refused an outbound connection to a non-public address (see outbound_allow)");
            return Err(NetError::Blocked);
        }
        Ok(ok)
    }

    /// A TCP connection to `host:port` at a checked address (each checked address is tried in
    /// turn), within `timeout`.
    pub async fn connect(
        &self,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<(TcpStream, SocketAddr), NetError> {
        let addrs = self.resolve(host, port).await?;
        let attempt = async {
            let mut last = NetError::Refused;
            for a in addrs {
                match TcpStream::connect(a).await {
                    Ok(s) => return Ok((s, a)),
                    Err(e) => last = NetError::of_io(&e),
                }
            }
            Err(last)
        };
        tokio::time::timeout(timeout, attempt)
            .await
            .map_err(|_| NetError::TimedOut)?
    }

    /// Refuses a URL whose host is a literal address that is not allowed (names are checked
    /// when the client resolves them: see [`OutboundPolicy::http_client`]).
    pub fn check_url(&self, url: &str) -> Result<(), NetError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| NetError::Protocol)?;
        let host = parsed.host_str().ok_or(NetError::Protocol)?;
        let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() else {
            return Ok(());
        };
        if self.allows(&ip.to_string(), ip) {
            Ok(())
        } else {
            tracing::warn!(%ip, "refused an outbound request to a non-public address (see outbound_allow)");
            Err(NetError::Blocked)
        }
    }

    /// An HTTP client that resolves host names through this policy, never follows redirects and
    /// ignores proxy variables (a proxy would resolve the host itself, unchecked).
    pub fn http_client(&self, timeout: Duration) -> reqwest::Client {
        reqwest::Client::builder()
            .dns_resolver(Arc::new(Checked(self.clone())))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            .build()
            // Only a TLS back end that fails to initialise makes this fail: a build problem.
            .expect("the HTTP client")
    }
}

/// The resolver of [`OutboundPolicy::http_client`].
struct Checked(OutboundPolicy);

impl reqwest::dns::Resolve for Checked {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs = policy
                .resolve(&host, 0)
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V4(_)) => a
            .to_ipv4_mapped()
            .is_some_and(|v4| in_network(IpAddr::V4(v4), net, bits)),
        (IpAddr::V4(_), IpAddr::V6(_)) => false,
    }
}

/// Whether `ip` is an address on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0                                  // "this network"
        || a == 10                            // private
        || a == 127                           // loopback
        || (a == 100 && (64..128).contains(&b)) // shared (CGNAT; some clouds' metadata)
        || (a == 169 && b == 254)             // link-local (cloud metadata 169.254.169.254)
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0)     // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)     // documentation
        || (a == 192 && b == 168)             // private
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100)  // documentation
        || (a == 203 && b == 0 && c == 113)   // documentation
        || a >= 224) // multicast, reserved, broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // NAT64 (64:ff9b::/96) carries an IPv4 address.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || s[0..6] == [0, 0, 0, 0, 0, 0]     // IPv4-compatible (deprecated)
        || (s[0] & 0xfe00) == 0xfc00        // unique local (fd00:ec2::254: metadata)
        || (s[0] & 0xffc0) == 0xfe80        // link-local
        || (s[0] & 0xffc0) == 0xfec0        // site-local (deprecated)
        || (s[0] & 0xff00) == 0xff00        // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard-only
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn non_public_addresses_are_recognised() {
        for private in [
            "127.0.0.1",
            "127.8.9.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
            "2001:db8::1",
        ] {
            assert!(!is_public(ip(private)), "{private} counted as public");
        }
        for public in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert!(is_public(ip(public)), "{public} counted as private");
        }
    }

    #[test]
    fn the_setting_allows_hosts_addresses_and_networks() {
        let p = OutboundPolicy::parse(&[
            "mail.internal".into(),
            "127.0.0.1".into(),
            "10.0.0.0/8".into(),
            "fd00::/8".into(),
        ])
        .unwrap();
        assert!(p.allows("Mail.Internal.", ip("192.168.1.5")));
        assert!(p.allows("localhost", ip("127.0.0.1")));
        assert!(!p.allows("localhost", ip("127.0.0.2")));
        assert!(p.allows("x", ip("10.200.0.1")));
        assert!(p.allows("x", ip("::ffff:10.0.0.1")));
        assert!(p.allows("x", ip("fd12::1")));
        assert!(!p.allows("x", ip("169.254.169.254")));
        assert!(p.allows("x", ip("8.8.8.8")), "public is always allowed");
        assert!(!OutboundPolicy::public_only().allows("localhost", ip("::1")));
        assert!(OutboundPolicy::allow_all().allows("x", ip("169.254.169.254")));
        assert!(OutboundPolicy::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(OutboundPolicy::parse(&["a b".into()]).is_err());
    }

    #[tokio::test]
    async fn names_and_literal_urls_resolving_to_private_addresses_are_refused() {
        let p = OutboundPolicy::public_only();
        assert_eq!(
            p.resolve("localhost", 25).await.unwrap_err(),
            NetError::Blocked
        );
        assert_eq!(p.resolve("[::1]", 25).await.unwrap_err(), NetError::Blocked);
        assert_eq!(
            p.check_url("http://169.254.169.254/latest/meta-data/"),
            Err(NetError::Blocked)
        );
        assert_eq!(
            p.check_url("http://[::ffff:7f00:1]:8080/"),
            Err(NetError::Blocked)
        );
        assert_eq!(p.check_url("https://api.example.com/v1"), Ok(()));
        // The HTTP client refuses a name that resolves to loopback, before connecting.
        let err = p
            .http_client(Duration::from_secs(2))
            .get("http://localhost:9/")
            .send()
            .await
            .unwrap_err();
        assert_eq!(NetError::of_http(&err), NetError::Blocked);
        let allowed = OutboundPolicy::parse(&["localhost".into()]).unwrap();
        assert!(allowed.resolve("localhost", 25).await.is_ok());
    }
}
