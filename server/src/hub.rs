//! Device sockets connected to this node, by device and by user.
//!
//! Pushes go to the sockets of this node only; a device connected to
//! another node gets its pending requests when it (re)connects.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;
use wysiwys_proto::api::ServerMessage;

pub type Outbox = mpsc::UnboundedSender<ServerMessage>;

#[derive(Debug, Default)]
pub struct DeviceHub {
    next_id: AtomicU64,
    inner: Mutex<Sockets>,
}

#[derive(Debug, Default)]
struct Sockets {
    by_device: HashMap<String, Vec<(u64, Outbox)>>,
    by_user: HashMap<String, HashSet<String>>,
}

/// Removes its socket from the hub when the connection ends.
#[derive(Debug)]
pub struct Registration<'a> {
    hub: &'a DeviceHub,
    user_id: String,
    device_id: String,
    socket_id: u64,
}

impl DeviceHub {
    pub fn register(&self, user_id: &str, device_id: &str, outbox: Outbox) -> Registration<'_> {
        let socket_id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut s) = self.inner.lock() {
            s.by_device.entry(device_id.to_owned()).or_default().push((socket_id, outbox));
            s.by_user.entry(user_id.to_owned()).or_default().insert(device_id.to_owned());
        }
        Registration { hub: self, user_id: user_id.to_owned(), device_id: device_id.to_owned(), socket_id }
    }

    /// Delivers to every socket of the device; false if none is connected here.
    pub fn send(&self, device_id: &str, message: &ServerMessage) -> bool {
        let Ok(s) = self.inner.lock() else {
            return false;
        };
        let mut delivered = false;
        for (_, outbox) in s.by_device.get(device_id).into_iter().flatten() {
            delivered |= outbox.send(message.clone()).is_ok();
        }
        delivered
    }

    /// Devices of a user with a socket on this node (revoked ones are
    /// disconnected at revocation, so they are never here).
    pub fn connected_devices(&self, user_id: &str) -> Vec<String> {
        self.inner
            .lock()
            .map(|s| s.by_user.get(user_id).map(|d| d.iter().cloned().collect()).unwrap_or_default())
            .unwrap_or_default()
    }

    /// Drops every socket of a device (after revocation).
    pub fn disconnect(&self, device_id: &str) {
        if let Ok(mut s) = self.inner.lock() {
            s.by_device.remove(device_id);
            for devices in s.by_user.values_mut() {
                devices.remove(device_id);
            }
        }
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let Ok(mut s) = self.hub.inner.lock() else {
            return;
        };
        let now_empty = s.by_device.get_mut(&self.device_id).is_some_and(|list| {
            list.retain(|(id, _)| *id != self.socket_id);
            list.is_empty()
        });
        if now_empty {
            s.by_device.remove(&self.device_id);
            if let Some(devices) = s.by_user.get_mut(&self.user_id) {
                devices.remove(&self.device_id);
                if devices.is_empty() {
                    s.by_user.remove(&self.user_id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_send_drop() {
        let hub = DeviceHub::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (tx2, _rx2) = mpsc::unbounded_channel();
        let msg = ServerMessage::Authenticated { device_id: "d".into() };
        {
            let _first = hub.register("u", "d", tx);
            {
                let _second = hub.register("u", "d", tx2);
            }
            assert_eq!(hub.connected_devices("u"), ["d"], "one socket of d is still open");
            assert!(hub.send("d", &msg));
            assert_eq!(rx.try_recv().unwrap(), msg);
            assert!(!hub.send("other", &msg));
            assert!(hub.connected_devices("v").is_empty());
        }
        assert!(hub.connected_devices("u").is_empty());
        assert!(!hub.send("d", &msg));
    }

    #[test]
    fn disconnect_forgets_the_device() {
        let hub = DeviceHub::default();
        let (tx, _rx) = mpsc::unbounded_channel();
        let _registration = hub.register("u", "d", tx);
        hub.disconnect("d");
        assert!(hub.connected_devices("u").is_empty());
        assert!(!hub.send("d", &ServerMessage::Authenticated { device_id: "d".into() }));
    }
}
