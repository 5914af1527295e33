//! Limits on the public endpoints (the widget and the help center), per client address and per
//! visitor, so that one script cannot open thousands of sessions, flood conversations with
//! messages, fill the offline form endlessly, stuff help-center votes or hold hundreds of
//! sockets for one visitor. Counted in memory on each node (fixed windows; a limit is per node),
//! answered `429` with `Retry-After`. The numbers are settings.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::ApiError;

/// What one node allows. A zero turns that limit off.
#[derive(Debug, Clone, Copy)]
pub struct LimitSettings {
    /// New widget sessions per address per hour.
    pub sessions_per_hour: u32,
    /// Widget messages per visitor per minute (per address: twenty times as many, for shoppers
    /// behind one carrier's or office's address).
    pub messages_per_minute: u32,
    /// Offline-form messages per address per hour.
    pub offline_per_hour: u32,
    /// Help-center votes per address per hour.
    pub votes_per_hour: u32,
    /// Open widget sockets per visitor.
    pub sockets_per_visitor: u32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            sessions_per_hour: 600,
            messages_per_minute: 30,
            offline_per_hour: 20,
            votes_per_hour: 60,
            sockets_per_visitor: 10,
        }
    }
}

/// Hits per key within a fixed window.
struct Window {
    max: u32,
    length: Duration,
    hits: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Window {
    fn new(max: u32, length: Duration) -> Self {
        Self {
            max,
            length,
            hits: Mutex::default(),
        }
    }

    /// Counts a hit for `key`; `Err(seconds)` when it is over the limit (until the window ends).
    fn hit(&self, key: &str, max: u32) -> Result<(), u64> {
        self.count(key, max, true)
    }

    /// Whether `key` has room for one more hit, counting nothing.
    fn room(&self, key: &str, max: u32) -> Result<(), u64> {
        self.count(key, max, false)
    }

    fn count(&self, key: &str, max: u32, hit: bool) -> Result<(), u64> {
        if max == 0 {
            return Ok(());
        }
        let mut hits = self.hits.lock().unwrap_or_else(PoisonError::into_inner);
        // Bounded: old windows are dropped when the map grows.
        if hits.len() > 50_000 {
            let length = self.length;
            hits.retain(|_, (start, _)| start.elapsed() < length);
        }
        let entry = hits.entry(key.to_string()).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.length {
            *entry = (Instant::now(), 0);
        }
        if entry.1 >= max {
            let left = self.length.saturating_sub(entry.0.elapsed());
            return Err(left.as_secs().max(1));
        }
        if hit {
            entry.1 += 1;
        }
        Ok(())
    }
}

/// This node's counters.
pub struct Limits {
    sessions: Window,
    messages: Window,
    offline: Window,
    votes: Window,
    sockets: OpenCount<i64>,
}

/// The address a limit counts: an IPv4 address, or an IPv6 address's /64 (one customer line
/// gets a whole /64 and could otherwise take a new address for every request).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

fn ip_key(ip: Option<IpAddr>) -> String {
    ip.map_or_else(
        || "ip:unknown".to_string(),
        |ip| format!("ip:{}", client_key(ip)),
    )
}

fn too_many(what: &str, retry_after_s: u64) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many {what}; try again in {retry_after_s} s"),
    )
    .retry_after(retry_after_s)
}

impl Limits {
    pub fn new(settings: LimitSettings) -> Self {
        const HOUR: Duration = Duration::from_secs(3600);
        Self {
            sessions: Window::new(settings.sessions_per_hour, HOUR),
            messages: Window::new(settings.messages_per_minute, Duration::from_secs(60)),
            offline: Window::new(settings.offline_per_hour, HOUR),
            votes: Window::new(settings.votes_per_hour, HOUR),
            sockets: OpenCount::new(settings.sockets_per_visitor),
        }
    }

    /// A new widget session from `ip` (a returning visitor's session is not new).
    pub fn new_session(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        let max = self.sessions.max;
        self.sessions
            .hit(&ip_key(ip), max)
            .map_err(|s| too_many("new chat sessions from your address", s))
    }

    /// Whether `ip` may start another widget session, counting nothing.
    pub fn session_room(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        let max = self.sessions.max;
        self.sessions
            .room(&ip_key(ip), max)
            .map_err(|s| too_many("new chat sessions from your address", s))
    }

    /// A widget message from `visitor` at `ip`.
    pub fn message(&self, ip: Option<IpAddr>, visitor: i64) -> Result<(), ApiError> {
        let max = self.messages.max;
        self.messages
            .hit(&format!("v:{visitor}"), max)
            .and_then(|()| self.messages.hit(&ip_key(ip), max.saturating_mul(20)))
            .map_err(|s| too_many("messages", s))
    }

    /// An offline-form message from `ip`.
    pub fn offline(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        let max = self.offline.max;
        self.offline
            .hit(&ip_key(ip), max)
            .map_err(|s| too_many("messages left", s))
    }

    /// A help-center vote from `ip`.
    pub fn vote(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        let max = self.votes.max;
        self.votes
            .hit(&ip_key(ip), max)
            .map_err(|s| too_many("votes", s))
    }

    /// One more open socket for `visitor`, or `None` when they hold the limit.
    pub fn socket(&self, visitor: i64) -> Option<OpenSlot<i64>> {
        self.sockets.take(visitor)
    }
}

/// Things open at once per key (connections per address, sockets per visitor), at most `limit`
/// each (0: no limit).
pub struct OpenCount<K> {
    limit: u32,
    open: Arc<Mutex<HashMap<K, u32>>>,
}

impl<K: std::hash::Hash + Eq + Clone> OpenCount<K> {
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            open: Arc::default(),
        }
    }

    /// A slot for one more under `key`, unless it holds the limit already.
    pub fn take(&self, key: K) -> Option<OpenSlot<K>> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(key.clone()).or_insert(0);
        if self.limit > 0 && *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(OpenSlot {
            key,
            open: self.open.clone(),
        })
    }
}

/// One open thing counted under its key; uncounted when dropped.
pub struct OpenSlot<K: std::hash::Hash + Eq> {
    key: K,
    open: Arc<Mutex<HashMap<K, u32>>>,
}

impl<K: std::hash::Hash + Eq> Drop for OpenSlot<K> {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_counts_per_key_and_says_how_long_to_wait() {
        let w = Window::new(2, Duration::from_secs(60));
        assert!(w.hit("a", 2).is_ok());
        assert!(w.hit("a", 2).is_ok());
        let wait = w.hit("a", 2).unwrap_err();
        assert!((1..=60).contains(&wait));
        assert!(w.hit("b", 2).is_ok(), "another key has its own count");
        assert!(w.hit("a", 0).is_ok(), "0 is no limit");
    }

    #[test]
    fn an_ipv6_client_counts_as_its_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(other));
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(client_key(v4), v4);
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(client_key(mapped), v4);
    }

    #[test]
    fn sockets_per_visitor_come_back_when_closed() {
        let limits = Limits::new(LimitSettings {
            sockets_per_visitor: 2,
            ..LimitSettings::default()
        });
        let a = limits.socket(7).unwrap();
        let _b = limits.socket(7).unwrap();
        assert!(limits.socket(7).is_none());
        assert!(limits.socket(8).is_some());
        drop(a);
        assert!(limits.socket(7).is_some());
    }
}
