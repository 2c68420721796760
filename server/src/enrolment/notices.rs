//! "Everyone hears about it": every pairing, approval, refusal and
//! revocation is told to the account's other active devices, which show it
//! and send a receipt. Until then it is sent again on every connection.

use crate::app::App;
use crate::entropy::random_id;
use crate::error::Result;
use crate::store::{AuditEvent, DeviceRow, NoticeRow};
use wysiwys_proto::ErrorCode;
use wysiwys_proto::api::{NoticeKind, ServerMessage};

fn kind_name(kind: NoticeKind) -> &'static str {
    match kind {
        NoticeKind::DevicePaired => "device_paired",
        NoticeKind::DeviceApproved => "device_approved",
        NoticeKind::PairingRefused => "pairing_refused",
        NoticeKind::DeviceRevoked => "device_revoked",
        _ => "unknown",
    }
}

fn kind_of(name: &str) -> NoticeKind {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).unwrap_or(NoticeKind::Unknown)
}

fn message(n: &NoticeRow) -> ServerMessage {
    ServerMessage::Notice {
        notice_id: n.id.clone(),
        kind: kind_of(&n.kind),
        device_id: n.subject_device_id.clone(),
        device_name: n.subject_name.clone(),
        at: n.at,
    }
}

/// Tells every active device of the account except `subject` (and
/// `except`, the device that made the change and knows already).
pub async fn notify(app: &App, subject: &DeviceRow, kind: NoticeKind, except: Option<&str>) -> Result<()> {
    let now = app.clock.now_ms();
    let mut notices = Vec::new();
    for d in app.store.devices_of_user(&subject.user_id).await? {
        if d.is_active() && d.id != subject.id && Some(d.id.as_str()) != except {
            notices.push(NoticeRow {
                id: random_id(app.entropy.as_ref())?,
                user_id: subject.user_id.clone(),
                device_id: d.id,
                kind: kind_name(kind).to_owned(),
                subject_device_id: subject.id.clone(),
                subject_name: subject.name.clone(),
                at: now,
                receipted_at: None,
            });
        }
    }
    app.store.insert_notices(&notices).await?;
    for n in &notices {
        app.hub.send(&n.device_id, &message(n));
    }
    Ok(())
}

/// For a socket that just authenticated: what it has not receipted yet.
pub async fn push_open(app: &App, device: &DeviceRow) -> Result<()> {
    for n in app.store.open_notices(&device.id).await? {
        app.hub.send(&device.id, &message(&n));
    }
    Ok(())
}

/// The device showed the notice. An unknown or foreign id changes nothing.
pub async fn receipt(app: &App, device: &DeviceRow, notice_id: &str) -> Result<bool> {
    let now = app.clock.now_ms();
    let receipted = app.store.receipt_notice(&device.id, notice_id, now).await?;
    let e = AuditEvent {
        at: now,
        event: if receipted { "notice_receipted" } else { "notice_receipt_refused" },
        user_id: Some(&device.user_id),
        device_id: Some(&device.id),
        code: (!receipted).then_some(ErrorCode::NotFound),
        detail: Some(notice_id),
        ..Default::default()
    };
    app.store.audit(&e).await?;
    Ok(receipted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_stored_names() {
        for kind in [
            NoticeKind::DevicePaired,
            NoticeKind::DeviceApproved,
            NoticeKind::PairingRefused,
            NoticeKind::DeviceRevoked,
        ] {
            assert_eq!(kind_of(kind_name(kind)), kind);
        }
        assert_eq!(kind_of("from_the_future"), NoticeKind::Unknown);
    }
}
