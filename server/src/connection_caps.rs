//! Caps on connections that stay open: device sockets per device, sockets
//! that have not authenticated yet per client address, live-status streams
//! per session. Each costs the server memory, a task and (for the streams)
//! a database read four times a second, so none may be opened without end.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// Sockets one device may hold at once: a phone that changed networks
/// keeps a dead one until the server's idle limit ends it.
pub const SOCKETS_PER_DEVICE: usize = 4;
/// Sockets from one client address still waiting to authenticate (each
/// has 15 s); an honest device needs one, for milliseconds.
pub const UNAUTHENTICATED_SOCKETS_PER_ADDRESS: usize = 16;
/// Live-status streams one session may hold (a few tabs).
pub const STATUS_STREAMS_PER_SESSION: usize = 4;

/// Open connections by key, at most `limit` per key.
#[derive(Debug)]
pub struct ConnectionCap<K: Eq + Hash> {
    limit: usize,
    open: Arc<Mutex<HashMap<K, usize>>>,
}

/// One open connection; closing it (dropping this) frees its place.
#[derive(Debug)]
pub struct OpenConnection<K: Eq + Hash> {
    key: K,
    open: Arc<Mutex<HashMap<K, usize>>>,
}

impl<K: Eq + Hash + Clone> ConnectionCap<K> {
    pub fn new(limit: usize) -> Self {
        ConnectionCap { limit, open: Arc::new(Mutex::new(HashMap::new())) }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// A place for one more connection under `key`, or None at the cap.
    pub fn open(&self, key: K) -> Option<OpenConnection<K>> {
        let mut open = self.open.lock().ok()?;
        let count = open.entry(key.clone()).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(OpenConnection { key, open: self.open.clone() })
    }

    /// Connections open under `key` now.
    pub fn count(&self, key: &K) -> usize {
        self.open.lock().map(|open| open.get(key).copied().unwrap_or(0)).unwrap_or(0)
    }
}

impl<K: Eq + Hash> Drop for OpenConnection<K> {
    fn drop(&mut self) {
        let Ok(mut open) = self.open.lock() else {
            return;
        };
        if let Some(count) = open.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_the_limit_per_key_and_a_closed_one_frees_its_place() {
        let cap = ConnectionCap::new(2);
        let a1 = cap.open("a").unwrap();
        let _a2 = cap.open("a").unwrap();
        assert!(cap.open("a").is_none(), "the third of one key is refused");
        let _b = cap.open("b").expect("other keys are counted apart");
        drop(a1);
        assert_eq!(cap.count(&"a"), 1);
        let _a3 = cap.open("a").expect("a closed connection frees its place");
        assert!(cap.open("a").is_none());
    }

    #[test]
    fn a_key_with_nothing_open_is_forgotten() {
        let cap = ConnectionCap::new(1);
        drop(cap.open("a").unwrap());
        assert_eq!(cap.count(&"a"), 0);
        assert!(cap.open.lock().unwrap().is_empty(), "no entry stays behind for a closed key");
    }
}
