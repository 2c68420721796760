//! Device sockets connected to this node, by device id.
//!
//! Pushes go to the sockets of this node only; a device connected to
//! another node gets its pending requests when it (re)connects.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;
use wysiwys_proto::api::ServerMessage;

pub type Outbox = mpsc::UnboundedSender<ServerMessage>;

#[derive(Debug, Default)]
pub struct DeviceHub {
    next_id: AtomicU64,
    sockets: Mutex<HashMap<String, Vec<(u64, Outbox)>>>,
}

/// Removes its socket from the hub when the connection ends.
#[derive(Debug)]
pub struct Registration<'a> {
    hub: &'a DeviceHub,
    device_id: String,
    socket_id: u64,
}

impl DeviceHub {
    pub fn register(&self, device_id: &str, outbox: Outbox) -> Registration<'_> {
        let socket_id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut sockets) = self.sockets.lock() {
            sockets.entry(device_id.to_owned()).or_default().push((socket_id, outbox));
        }
        Registration { hub: self, device_id: device_id.to_owned(), socket_id }
    }

    /// Delivers to every socket of the device; false if none is connected here.
    pub fn send(&self, device_id: &str, message: &ServerMessage) -> bool {
        let Ok(sockets) = self.sockets.lock() else {
            return false;
        };
        let mut delivered = false;
        for (_, outbox) in sockets.get(device_id).into_iter().flatten() {
            delivered |= outbox.send(message.clone()).is_ok();
        }
        delivered
    }

    pub fn is_connected(&self, device_id: &str) -> bool {
        self.sockets.lock().is_ok_and(|s| s.get(device_id).is_some_and(|v| !v.is_empty()))
    }

    /// Drops every socket of a device (after revocation).
    pub fn disconnect(&self, device_id: &str) {
        if let Ok(mut sockets) = self.sockets.lock() {
            sockets.remove(device_id);
        }
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        if let Ok(mut sockets) = self.hub.sockets.lock()
            && let Some(list) = sockets.get_mut(&self.device_id)
        {
            list.retain(|(id, _)| *id != self.socket_id);
            if list.is_empty() {
                sockets.remove(&self.device_id);
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
        let msg = ServerMessage::Authenticated { device_id: "d".into() };
        {
            let _registration = hub.register("d", tx);
            assert!(hub.is_connected("d"));
            assert!(hub.send("d", &msg));
            assert_eq!(rx.try_recv().unwrap(), msg);
            assert!(!hub.send("other", &msg));
        }
        assert!(!hub.is_connected("d"));
        assert!(!hub.send("d", &msg));
    }
}
