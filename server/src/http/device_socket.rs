//! The device's WebSocket: nonce → signed answer → pushes and SADs.

use crate::app::App;
use crate::connection_caps::OpenConnection;
use crate::enrolment::{approval, notices};
use crate::entropy::random_bytes;
use crate::error::Error;
use crate::store::DeviceRow;
use crate::{devices, requests};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use wysiwys_proto::api::{DeviceMessage, ServerMessage};
use wysiwys_proto::{ErrorCode, b64};

/// Largest message a device may send (a SAD is well under 4 KiB).
const MAX_DEVICE_MESSAGE: usize = 16 * 1024;
const AUTH_TIMEOUT: Duration = Duration::from_secs(15);
const PING_EVERY: Duration = Duration::from_secs(15);
/// No frame at all for this long and the connection is considered dead.
const IDLE_LIMIT: Duration = Duration::from_secs(45);

pub async fn connect(
    app: web::Data<Arc<App>>,
    req: HttpRequest,
    body: web::Payload,
) -> actix_web::Result<HttpResponse> {
    let client = super::handlers::client_ip(&req);
    let Some(waiting) = app.unauthenticated_sockets.open(client) else {
        tracing::warn!(%client, "too many device sockets waiting to authenticate from one address");
        return Err(Error::refused(ErrorCode::RateLimited, "too many connections waiting to authenticate").into());
    };
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    let stream =
        stream.max_frame_size(MAX_DEVICE_MESSAGE).aggregate_continuations().max_continuation_size(MAX_DEVICE_MESSAGE);
    let app = app.get_ref().clone();
    actix_web::rt::spawn(async move {
        if let Err(reason) = run(app, session.clone(), stream, waiting).await {
            tracing::info!(reason, "device socket closed");
        }
        let _ = session.close(Some(CloseReason { code: CloseCode::Normal, description: None })).await;
    });
    Ok(response)
}

async fn send(session: &mut actix_ws::Session, message: &ServerMessage) -> Result<(), &'static str> {
    let text = serde_json::to_string(message).map_err(|_| "encoding failed")?;
    session.text(text).await.map_err(|_| "peer gone")
}

async fn refuse(session: &mut actix_ws::Session, error: ErrorCode, description: String) -> Result<(), &'static str> {
    send(session, &ServerMessage::Error { error, error_description: description }).await
}

async fn run(
    app: Arc<App>,
    mut session: actix_ws::Session,
    mut stream: actix_ws::AggregatedMessageStream,
    waiting: OpenConnection<IpAddr>,
) -> Result<(), &'static str> {
    let nonce = random_bytes::<32>(app.entropy.as_ref()).map_err(|_| "no randomness")?;
    send(&mut session, &ServerMessage::Hello { nonce: b64::encode(nonce), server_time: app.clock.now_s() }).await?;
    let device = match tokio::time::timeout(AUTH_TIMEOUT, authenticate(&app, &nonce, &mut session, &mut stream)).await {
        Ok(result) => result?,
        Err(_) => {
            refuse(&mut session, ErrorCode::Unauthenticated, "no authentication within 15 s".into()).await?;
            return Err("authentication timed out");
        }
    };
    drop(waiting);
    let Some(_open) = app.device_sockets.open(device.id.clone()) else {
        tracing::warn!(device = %device.id, "device has too many sockets open; refused another");
        let limit = app.device_sockets.limit();
        refuse(&mut session, ErrorCode::RateLimited, format!("this device has {limit} connections open already"))
            .await?;
        return Err("too many sockets for one device");
    };
    let (outbox, mut inbox) = mpsc::unbounded_channel();
    let _registration = app.hub.register(&device.user_id, &device.id, outbox);
    send(&mut session, &ServerMessage::Authenticated { device_id: device.id.clone() }).await?;
    if let Err(e) = requests::push_pending(&app, &device).await {
        tracing::error!(error = ?e, device = %device.id, "could not push pending requests");
    }
    if let Err(e) = approval::push_open(&app, &device).await {
        tracing::error!(error = ?e, device = %device.id, "could not push pending pairings");
    }
    if let Err(e) = notices::push_open(&app, &device).await {
        tracing::error!(error = ?e, device = %device.id, "could not push notices");
    }
    tracing::info!(device = %device.id, "device connected");

    let mut ping = tokio::time::interval(PING_EVERY);
    let mut last_heard = tokio::time::Instant::now();
    loop {
        // Outgoing first: what was pushed (everything pending at connect,
        // queued above) reaches the device before its next message is
        // answered, so a device can tell it has seen all that is pending.
        tokio::select! {
            biased;
            outgoing = inbox.recv() => {
                // None: the hub dropped us (the device was revoked).
                let Some(message) = outgoing else { return Err("device revoked") };
                send(&mut session, &message).await?;
            }
            incoming = stream.recv() => {
                let Some(Ok(message)) = incoming else { return Err("device closed the socket") };
                last_heard = tokio::time::Instant::now();
                match message {
                    AggregatedMessage::Text(text) => handle_text(&app, &device, &mut session, &text).await?,
                    AggregatedMessage::Ping(bytes) => session.pong(&bytes).await.map_err(|_| "peer gone")?,
                    AggregatedMessage::Pong(_) => {}
                    AggregatedMessage::Binary(_) => {
                        tracing::info!(device = %device.id, "binary frame from a device");
                        refuse(&mut session, ErrorCode::BadRequest, "text frames only".into()).await?;
                    }
                    AggregatedMessage::Close(_) => return Err("device closed the socket"),
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > IDLE_LIMIT {
                    return Err("device silent for too long");
                }
                session.ping(b"").await.map_err(|_| "peer gone")?;
            }
        }
    }
}

async fn authenticate(
    app: &App,
    nonce: &[u8; 32],
    session: &mut actix_ws::Session,
    stream: &mut actix_ws::AggregatedMessageStream,
) -> Result<DeviceRow, &'static str> {
    loop {
        let Some(Ok(message)) = stream.recv().await else { return Err("closed before authenticating") };
        let text = match message {
            AggregatedMessage::Text(text) => text,
            AggregatedMessage::Ping(bytes) => {
                session.pong(&bytes).await.map_err(|_| "peer gone")?;
                continue;
            }
            _ => return Err("expected an auth message"),
        };
        let token = match serde_json::from_str::<DeviceMessage>(&text) {
            Ok(DeviceMessage::Auth { token }) => token,
            Ok(_) | Err(_) => {
                refuse(session, ErrorCode::Unauthenticated, "authenticate first".into()).await?;
                return Err("message before authentication");
            }
        };
        return match devices::authenticate_socket(app, nonce, &token).await {
            Ok(device) => Ok(device),
            Err(e) => {
                tracing::info!(error = %e, "device authentication refused");
                refuse(session, e.code(), e.public_description()).await?;
                Err("authentication refused")
            }
        };
    }
}

async fn handle_text(
    app: &App,
    device: &DeviceRow,
    session: &mut actix_ws::Session,
    text: &str,
) -> Result<(), &'static str> {
    match serde_json::from_str::<DeviceMessage>(text) {
        Ok(DeviceMessage::Sad { request_id, token }) => {
            let outcome = requests::submit_sad(app, device, &request_id, &token).await;
            send(session, &ServerMessage::Ack { request_id, outcome }).await
        }
        Ok(DeviceMessage::PairingAnswer { pairing_id, token }) => {
            let outcome = approval::answer(app, device, &pairing_id, &token).await;
            send(session, &ServerMessage::PairingAck { pairing_id, outcome }).await
        }
        Ok(DeviceMessage::NoticeReceipt { notice_id }) => match notices::receipt(app, device, &notice_id).await {
            Ok(true) => Ok(()),
            Ok(false) => refuse(session, ErrorCode::NotFound, "no such notice for this device".into()).await,
            Err(e) => {
                tracing::error!(error = ?e, device = %device.id, "could not receipt a notice");
                refuse(session, e.code(), e.public_description()).await
            }
        },
        Ok(DeviceMessage::Auth { .. }) => {
            tracing::info!(device = %device.id, "second auth message on an authenticated socket");
            refuse(session, ErrorCode::BadRequest, "already authenticated".into()).await
        }
        Err(e) => {
            tracing::info!(device = %device.id, error = %e, "malformed device message");
            refuse(session, ErrorCode::BadRequest, format!("malformed message: {e}")).await
        }
    }
}
