//! `GET /ws`: the one WebSocket of each tab. It carries the expert's presence (while a
//! dashboard is open, chat is live), rings, and the chat the tab joined: messages, typing,
//! marks, the meter. Every frame from a tab is authorised against the consultation it
//! joined; a tab that reconnects joins again after the last message it saw, so nothing is
//! lost or shown twice. Frames are JSON text; the protocol is in `docs/chat-protocol.md`.

use std::time::Duration;

use augure_app::chat::{Chats, Event, EventKind, MessageView, Outgoing};
use augure_app::i18n::Tr;
use augure_domain::meter::Side;
use augure_domain::{ConsultationId, Role};
use augure_store::User;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::{ApiCaller, Viewer};
use crate::chat_text;
use crate::error::Problem;

/// The largest frame a tab may send: a message at its longest, in JSON, with room to spare.
const MAX_FRAME_BYTES: usize = 16 * 1024;
/// Kernel-side buffers stay the kernel's; ours are small so an idle socket costs little.
const BUFFER_BYTES: usize = 4 * 1024;

#[derive(Deserialize, Default)]
pub struct SocketQuery {
    /// A consultation to join at once, and the last message the tab has.
    consultation: Option<i64>,
    after: Option<i64>,
}

/// What a tab sends.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Frame {
    Join { consultation: i64, after: Option<i64> },
    Send { text: String, key: Option<String> },
    Typing,
    Delivered { up_to: i64 },
    Read { up_to: i64 },
    Beat,
    Accept { consultation: i64 },
    Refuse { consultation: i64 },
    Leave,
    TopUp,
}

pub async fn socket(
    State(st): State<AppState>,
    viewer: Viewer,
    api: Option<ApiCaller>,
    headers: HeaderMap,
    Query(q): Query<SocketQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, Problem> {
    let (user, by_cookie) = match (api, viewer.session) {
        (Some(caller), _) => (caller.session.user, false),
        (None, Some(session)) => (session.user, true),
        (None, None) => return Err(Problem::new(StatusCode::UNAUTHORIZED, "err-not-signed-in")),
    };
    // A page of another site must not ride this person's cookie (cross-site WebSocket).
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if by_cookie && origin.is_some_and(|origin| origin.split("://").nth(1) != host) {
        return Err(Problem::status(StatusCode::FORBIDDEN));
    }
    let zone = st.app.sites.zone_for(user.site_id).await?;
    let stopping = st.stopping();
    let upgrade = upgrade
        .read_buffer_size(BUFFER_BYTES)
        .write_buffer_size(BUFFER_BYTES)
        .max_write_buffer_size(MAX_FRAME_BYTES * 16)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES);
    Ok(upgrade
        .on_upgrade(move |socket| async move {
            let tab = Tab { st, user, zone, joined: None, last_presence: None, last_meter: None };
            tab.run(socket, q, stopping).await;
        })
        .into_response())
}

struct Tab {
    st: AppState,
    user: User,
    zone: chrono_tz::Tz,
    /// The consultation this tab shows, and the side of it the user is on.
    joined: Option<(ConsultationId, Side)>,
    last_presence: Option<std::time::Instant>,
    /// The meter frame last sent, so a second that changed nothing sends nothing.
    last_meter: Option<Value>,
}

impl Tab {
    fn chats(&self) -> &Chats {
        &self.st.app.chats
    }

    fn tr(&self) -> Tr<'_> {
        Tr::new(&self.st.app.i18n, &self.user.locale)
    }

    async fn run(mut self, mut socket: WebSocket, q: SocketQuery, stopping: impl std::future::Future<Output = ()>) {
        let mut handle = self.chats().hub().register(self.user.id);
        self.presence().await;
        if self.user.role == Role::Expert {
            for id in self.chats().pending_rings(self.user.id) {
                if let Some(frame) = self.ring_frame(id).await {
                    let _ = send(&mut socket, frame).await;
                }
            }
        }
        if let Some(id) = q.consultation
            && !self.join(&mut socket, ConsultationId(id), q.after.unwrap_or(0)).await
        {
            return;
        }
        // A tab not heard from for three heartbeats is gone (a network that dropped
        // without a close): its side dropped.
        let silence = Duration::from_secs(self.st.app.settings.consultations.heartbeat_seconds.max(1) * 3);
        tokio::pin!(stopping);
        // The charge and credit shown follow the clock shown: the meter, every second.
        let mut meter_tick = tokio::time::interval(Duration::from_secs(1));
        meter_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = meter_tick.tick() => {
                    if !self.meter(&mut socket).await {
                        break;
                    }
                }
                frame = tokio::time::timeout(silence, socket.recv()) => match frame {
                    Ok(Some(Ok(Message::Text(text)))) => {
                        if !self.on_frame(&mut socket, text.as_str()).await {
                            break;
                        }
                    }
                    Ok(Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Binary(_)))) => self.heard().await,
                    Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) | Err(_) => break,
                },
                event = handle.events.recv() => match event {
                    Some(event) => {
                        if !self.on_event(&mut socket, &event).await {
                            break;
                        }
                    }
                    // Too slow to keep up: closed; the page reconnects and resumes.
                    None => {
                        let _ = socket.send(close(1013, "slow")).await;
                        break;
                    }
                },
                () = &mut stopping => {
                    // The server stops: the page reconnects to another node.
                    let _ = socket.send(close(1012, "restart")).await;
                    break;
                }
            }
        }
        if let Some((id, _)) = self.joined {
            self.chats().detach(&self.user, id).await;
        }
    }

    /// An expert's open tab keeps their chat live. Written a few times per presence grace,
    /// not at every heartbeat: with thousands of experts online, one write each per
    /// heartbeat was a fifth of the store's writes and delayed the chats' own.
    async fn presence(&mut self) {
        if self.user.role != Role::Expert {
            return;
        }
        let settings = &self.st.app.settings;
        let grace = u64::try_from(settings.availability.presence_grace_seconds).unwrap_or(0);
        let every = Duration::from_secs(settings.consultations.heartbeat_seconds.max(grace / 6).max(1));
        if self.last_presence.is_some_and(|at| at.elapsed() < every) {
            return;
        }
        self.last_presence = Some(std::time::Instant::now());
        if let Err(e) = self.st.app.availability.heartbeat(self.user.id).await {
            tracing::warn!(error = %e, "presence heartbeat not recorded");
        }
    }

    async fn heard(&mut self) {
        self.presence().await;
        if let Some((id, _)) = self.joined {
            self.chats().heartbeat(&self.user, id).await;
        }
    }

    /// Joins a consultation: its state, then every message after `after`. False when the
    /// socket is gone.
    async fn join(&mut self, socket: &mut WebSocket, id: ConsultationId, after: i64) -> bool {
        if let Some((old, _)) = self.joined.take() {
            self.chats().detach(&self.user, old).await;
        }
        let state = match self.chats().attach(&self.user, id, after).await {
            Ok(state) => state,
            Err(e) => return send(socket, self.error_frame(&e.into())).await,
        };
        self.joined = Some((id, state.side));
        let tr = self.tr();
        let mut frames = vec![chat_text::state_frame(&tr, &state)];
        frames.extend(state.messages.iter().map(|m| chat_text::message_frame(&tr, id, m, state.side, self.zone)));
        if let Some(live) = state.live {
            frames.push(chat_text::meter_frame(&tr, id, &live, self.st.app.clock.now()));
        }
        if let Some(note) = state.note.filter(|n| !n.is_empty()) {
            frames.push(json!({ "type": "note", "consultation": id.0, "body": note }));
        }
        for frame in frames {
            if !send(socket, frame).await {
                return false;
            }
        }
        self.delivered(id, state.side, &state.messages).await;
        true
    }

    /// The other party's messages reached this tab.
    async fn delivered(&self, id: ConsultationId, side: Side, messages: &[MessageView]) {
        if let Some(last) = messages.iter().filter(|m| m.author != side).map(|m| m.seq).max() {
            let _ = self.chats().mark(&self.user, id, last, false).await;
        }
    }

    /// False when the tab must close.
    async fn on_frame(&mut self, socket: &mut WebSocket, text: &str) -> bool {
        self.heard().await;
        let frame: Frame = match serde_json::from_str(text) {
            Ok(frame) => frame,
            Err(_) => return send(socket, self.error_frame(&Problem::status(StatusCode::BAD_REQUEST))).await,
        };
        let chats = self.chats().clone();
        let user = self.user.clone();
        let joined = self.joined.map(|(id, _)| id);
        let result = match frame {
            Frame::Join { consultation, after } => {
                return self.join(socket, ConsultationId(consultation), after.unwrap_or(0)).await;
            }
            Frame::Beat => Ok(()),
            Frame::Accept { consultation } => chats.accept(&user, ConsultationId(consultation)).await,
            Frame::Refuse { consultation } => chats.refuse(&user, ConsultationId(consultation)).await,
            frame => match joined {
                None => Err(augure_app::chat::ChatError::NotParty),
                Some(id) => match frame {
                    Frame::Send { text, key } => {
                        chats.send(&user, id, Outgoing { text, client_key: key, image: None }).await.map(drop)
                    }
                    Frame::Typing => chats.typing(&user, id).await,
                    Frame::Delivered { up_to } => chats.mark(&user, id, up_to, false).await,
                    Frame::Read { up_to } => chats.mark(&user, id, up_to, true).await,
                    Frame::Leave => chats.leave(&user, id).await,
                    Frame::TopUp => chats.top_up(&user, id).await.map(drop),
                    _ => Ok(()),
                },
            },
        };
        match result {
            Ok(()) => true,
            Err(e) => send(socket, self.error_frame(&e.into())).await,
        }
    }

    /// False when the tab must close.
    async fn on_event(&mut self, socket: &mut WebSocket, event: &Event) -> bool {
        let id = event.consultation;
        let joined = self.joined.filter(|(j, _)| *j == id);
        let tr = self.tr();
        let frame = match (&event.kind, joined) {
            (EventKind::Ring { .. }, _) => self.ring_frame(id).await,
            (EventKind::RingOver, _) => Some(json!({ "type": "ring_over", "consultation": id.0 })),
            (kind, Some((_, side))) => chat_text::event_frame(&tr, id, kind, side, self.zone, self.st.app.clock.now()),
            _ => None,
        };
        let Some(frame) = frame else { return true };
        if !send(socket, frame).await {
            return false;
        }
        if let (EventKind::Message(m), Some((_, side))) = (&event.kind, joined) {
            self.delivered(id, side, std::slice::from_ref(m)).await;
        }
        true
    }

    /// The joined chat's meter, when it changed since the last one sent. False when the
    /// socket is gone.
    async fn meter(&mut self, socket: &mut WebSocket) -> bool {
        let Some((id, _)) = self.joined else { return true };
        let Some(live) = self.st.app.engine.view(id).await else { return true };
        let frame = chat_text::meter_frame(&self.tr(), id, &live, self.st.app.clock.now());
        if self.last_meter.as_ref() == Some(&frame) {
            return true;
        }
        self.last_meter = Some(frame.clone());
        send(socket, frame).await
    }

    async fn ring_frame(&self, id: ConsultationId) -> Option<Value> {
        let state = self.chats().state(&self.user, id, i64::MAX).await.ok()?;
        if state.side != Side::Expert || state.consultation.status != augure_store::ConsultationStatus::Ringing {
            return None;
        }
        Some(chat_text::ring_frame(&self.tr(), &state))
    }

    fn error_frame(&self, problem: &Problem) -> Value {
        json!({ "type": "error", "status": problem.status.as_u16(), "text": problem.message(&self.tr()) })
    }
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from_static(reason) }))
}

/// False when the socket is gone.
async fn send(socket: &mut WebSocket, frame: Value) -> bool {
    socket.send(Message::Text(frame.to_string().into())).await.is_ok()
}
