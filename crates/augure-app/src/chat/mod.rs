//! Live chat consultations (SP-chat) on the charging engine. A client rings an expert
//! whose chat is live; the expert's tabs ring; unanswered after the alert delay the
//! expert gets an SMS, after the ring's timeout (or refused, or withdrawn) the chat is
//! lost (SP-lost). Billing starts at the expert's first reply (SP-chat-billing); quiet
//! chats end (SP-chat-idle). Every message is checked, paced, masked for the other party
//! where it holds contact details, and kept in the transcript; each tab is told what
//! happens through the [`Hub`].
//!
//! The engine decides money and time of the meter; this service decides everything a
//! chat adds, and acts on the engine's notices (the end of a chat whatever ended it).

pub mod admin;
mod after;
mod care;
mod hub;
mod parties;
mod rooms;
mod writer;

pub use after::duration_words;
pub use care::{NOTE_MAX_CHARS, REPORT_MAX_CHARS, REVIEW_MAX_CHARS};
pub use hub::{Event, EventKind, Hub, MessageView, TabHandle};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use augure_domain::chat::{self, MessageError};
use augure_domain::consultation::{Channel, EndReason};
use augure_domain::meter::Side;
use augure_domain::{Clock, ConsultationId, Mode, UserId};
use augure_store::{ChatImage, ChatMessage, Consultation, ConsultationStatus, NewChatMessage, Store, StoreError, User};
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::availability::Availability;
use crate::charging::timers::Timers;
use crate::charging::{Engine, EngineError, LiveView};
use crate::commissions::Commissions;
use crate::credit::Credit;
use crate::directory::Directory;
use crate::i18n::I18n;
use crate::ledger::Ledger;
use crate::media::{Media, MediaServiceError};
use crate::notifications::Notifications;
use crate::pricing::{Pricing, QuoteError};
use crate::settings::Settings;
use crate::sites::Sites;
use rooms::{Room, RoomDue};

/// How many messages one read of a transcript returns at most.
pub const PAGE: i64 = 500;

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("no such expert")]
    UnknownExpert,
    /// The expert's chat is not live now.
    #[error("the expert's chat is not open")]
    Offline,
    /// The expert blocked this client.
    #[error("the expert does not take chats from this client")]
    Blocked,
    #[error("the expert is in another consultation")]
    Busy,
    /// Less credit than the first minute (or the package): "buy credit first".
    #[error("not enough credit")]
    NoCredit,
    /// Not a party to this consultation (or no such consultation).
    #[error("not your consultation")]
    NotParty,
    /// Not ringing or live any more, or not yet answered.
    #[error("this chat is not open")]
    NotOpen,
    /// Messages wait while the client adds credit.
    #[error("the chat is paused")]
    Paused,
    #[error(transparent)]
    Message(#[from] MessageError),
    #[error(transparent)]
    Image(#[from] MediaServiceError),
    #[error("a rating is from 1 to 5 and a review at most {max} characters")]
    Review { max: usize },
    /// A review only follows a chat longer than the review threshold, once.
    #[error("this consultation cannot be reviewed")]
    NotReviewable,
    #[error(transparent)]
    Engine(EngineError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<EngineError> for ChatError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::ExpertBusy => ChatError::Busy,
            EngineError::NotEnoughCredit => ChatError::NoCredit,
            EngineError::NotLive => ChatError::NotOpen,
            EngineError::Store(e) => ChatError::Store(e),
            other => ChatError::Engine(other),
        }
    }
}

impl From<QuoteError> for ChatError {
    fn from(e: QuoteError) -> Self {
        match e {
            QuoteError::Store(e) => ChatError::Store(e),
            QuoteError::Credit(crate::credit::CreditError::Store(e)) => ChatError::Store(e),
            QuoteError::NoPackage | QuoteError::UnknownExpert | QuoteError::UnknownSite => ChatError::UnknownExpert,
            other => ChatError::Store(StoreError::Backend(Box::new(std::io::Error::other(other.to_string())))),
        }
    }
}

/// A message a party sends.
#[derive(Clone, Debug, Default)]
pub struct Outgoing {
    pub text: String,
    /// The tab's id for it: sending again after a reconnection sends once.
    pub client_key: Option<String>,
    /// An image (the raw upload; re-encoded like a profile photo).
    pub image: Option<Vec<u8>>,
}

/// A chat as one of its parties opens it.
#[derive(Clone, Debug)]
pub struct ChatState {
    pub consultation: Consultation,
    pub side: Side,
    pub other: User,
    pub live: Option<LiveView>,
    pub messages: Vec<MessageView>,
    /// SP-notes: the expert's note on the client (for the expert only).
    pub note: Option<String>,
    /// Rounded down: how many full consultations the two had before.
    pub started: bool,
    pub paused: bool,
}

#[derive(Clone)]
pub struct Chats {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    settings: Arc<Settings>,
    i18n: Arc<I18n>,
    engine: Engine,
    availability: Availability,
    pricing: Pricing,
    credit: Credit,
    directory: Directory,
    ledger: Ledger,
    sites: Sites,
    media: Media,
    notifications: Notifications,
    commissions: Commissions,
    hub: Hub,
    writer: writer::ChatWriter,
    rooms: Mutex<HashMap<ConsultationId, Room>>,
    timers: Mutex<Timers>,
    wake: Notify,
    /// Taken when the service is built, so that nothing the engine says before [`Chats::run`]
    /// starts (the consultations settled at start-up) is missed.
    observers: Mutex<Option<Observers>>,
}

struct Observers {
    notices: tokio::sync::mpsc::UnboundedReceiver<crate::charging::Notice>,
    landed: Option<tokio::sync::mpsc::UnboundedReceiver<UserId>>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The services a chat uses, built before it.
pub struct ChatDeps {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
    pub i18n: Arc<I18n>,
    pub engine: Engine,
    pub availability: Availability,
    pub pricing: Pricing,
    pub credit: Credit,
    pub directory: Directory,
    pub ledger: Ledger,
    pub sites: Sites,
    pub media: Media,
    pub notifications: Notifications,
    pub commissions: Commissions,
}

impl Chats {
    pub fn new(d: ChatDeps) -> Self {
        let observers = d.engine.observe().map(|notices| Observers { notices, landed: d.credit.observe_landed() });
        Self {
            inner: Arc::new(Inner {
                writer: writer::ChatWriter::new(d.store.clone()),
                store: d.store,
                clock: d.clock,
                settings: d.settings,
                i18n: d.i18n,
                engine: d.engine,
                availability: d.availability,
                pricing: d.pricing,
                credit: d.credit,
                directory: d.directory,
                ledger: d.ledger,
                sites: d.sites,
                media: d.media,
                notifications: d.notifications,
                commissions: d.commissions,
                hub: Hub::default(),
                rooms: Mutex::default(),
                timers: Mutex::default(),
                wake: Notify::new(),
                observers: Mutex::new(observers),
            }),
        }
    }

    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// A client asks for a chat with the expert of `expert_code`, by the minute or with
    /// the package: it rings the expert's tabs.
    pub async fn start(&self, client: &User, expert_code: u32, package: bool) -> Result<ConsultationId, ChatError> {
        let inner = &self.inner;
        let expert = match inner.store.user_by_expert_code(expert_code).await {
            Ok(u) if u.role == augure_domain::Role::Expert => u,
            Ok(_) | Err(StoreError::NotFound) => return Err(ChatError::UnknownExpert),
            Err(e) => return Err(e.into()),
        };
        if client.role != augure_domain::Role::Client {
            return Err(ChatError::NotParty);
        }
        if inner.store.is_blocked(expert.id, client.id).await? {
            return Err(ChatError::Blocked);
        }
        if !inner.availability.live_modes(&expert).await?.contains(&Mode::Chat) {
            return Err(ChatError::Offline);
        }
        let terms = parties::terms(inner, client, &expert, expert_code, package).await?;
        let id = inner.engine.ring(client.id, expert.id, terms).await?;
        let now = inner.clock.now();
        let room = Room::ringing(client.id, expert.id, now);
        self.set_room(id, room);
        let past = parties::past_consultations(&*inner.store, client.id, expert.id).await?;
        let ring = EventKind::Ring { client_name: client.display_name.clone(), past };
        inner.hub.send(expert.id, Event { consultation: id, kind: ring });
        Ok(id)
    }

    fn set_room(&self, id: ConsultationId, room: Room) {
        let next = room.next_due(&self.inner.settings.consultations).map(|(at, _)| at);
        locked(&self.inner.rooms).insert(id, room);
        self.schedule(id, next);
    }

    fn schedule(&self, id: ConsultationId, at: Option<DateTime<Utc>>) {
        if locked(&self.inner.timers).set(id, at) {
            self.inner.wake.notify_one();
        }
    }

    /// Changes a room and reschedules it; `NotParty` unless `user` is one of its parties.
    fn with_room<T>(
        &self,
        id: ConsultationId,
        user: UserId,
        change: impl FnOnce(&mut Room, Side) -> Result<T, ChatError>,
    ) -> Result<T, ChatError> {
        let (out, next) = {
            let mut rooms = locked(&self.inner.rooms);
            let room = rooms.get_mut(&id).ok_or(ChatError::NotOpen)?;
            let side = room.side_of(user).ok_or(ChatError::NotParty)?;
            let out = change(room, side)?;
            (out, room.next_due(&self.inner.settings.consultations).map(|(at, _)| at))
        };
        self.schedule(id, next);
        Ok(out)
    }

    /// Rings waiting for this expert (a dashboard opened after the ring).
    pub fn pending_rings(&self, expert: UserId) -> Vec<ConsultationId> {
        locked(&self.inner.rooms)
            .iter()
            .filter(|(_, r)| r.expert == expert && r.ringing.is_some())
            .map(|(id, _)| *id)
            .collect()
    }

    /// The answered chat `user` is in on this node, as client or expert.
    pub fn live_chat_of(&self, user: UserId) -> Option<ConsultationId> {
        locked(&self.inner.rooms)
            .iter()
            .find(|(_, r)| r.ringing.is_none() && (r.expert == user || r.client == user))
            .map(|(id, _)| *id)
    }

    /// The expert accepts: the first slice is held, the expert is Busy, both are told.
    pub async fn accept(&self, expert: &User, id: ConsultationId) -> Result<(), ChatError> {
        let now = self.inner.clock.now();
        self.with_room(id, expert.id, |room, side| match (side, room.ringing) {
            (Side::Expert, Some(_)) => Ok(()),
            (Side::Expert, None) => Err(ChatError::NotOpen),
            (Side::Client, _) => Err(ChatError::NotParty),
        })?;
        self.inner.engine.answer(id).await?;
        let client = self.with_room(id, expert.id, |room, _| {
            room.answered(now);
            Ok(room.client)
        })?;
        if let Err(e) = self.inner.availability.set_busy(expert.id, true).await {
            tracing::warn!(error = %e, "expert not shown busy");
        }
        for user in [client, expert.id] {
            self.inner.hub.send(user, Event { consultation: id, kind: EventKind::Answered });
        }
        self.inner.hub.send(expert.id, Event { consultation: id, kind: EventKind::RingOver });
        if let Some(note) = self.inner.store.expert_note(expert.id, client).await? {
            self.inner.hub.send(expert.id, Event { consultation: id, kind: EventKind::Note { body: note.body } });
        }
        Ok(())
    }

    /// The expert refuses the ring (SP-lost).
    pub async fn refuse(&self, expert: &User, id: ConsultationId) -> Result<(), ChatError> {
        self.with_room(id, expert.id, |room, side| match (side, room.ringing) {
            (Side::Expert, Some(_)) => Ok(()),
            _ => Err(ChatError::NotOpen),
        })?;
        self.inner.engine.abandon(id, EndReason::Refused).await?;
        Ok(())
    }

    /// A party leaves: a ring is withdrawn (or refused), a live chat ends and is settled.
    pub async fn leave(&self, user: &User, id: ConsultationId) -> Result<(), ChatError> {
        let (side, ringing) = self.with_room(id, user.id, |room, side| Ok((side, room.ringing.is_some())))?;
        match (ringing, side) {
            (true, Side::Client) => self.inner.engine.abandon(id, EndReason::ClientLeft).await.map(drop)?,
            (true, Side::Expert) => self.inner.engine.abandon(id, EndReason::Refused).await.map(drop)?,
            (false, Side::Client) => self.inner.engine.end(id, EndReason::ClientLeft).await.map(drop)?,
            (false, Side::Expert) => self.inner.engine.end(id, EndReason::ExpertLeft).await.map(drop)?,
        }
        Ok(())
    }

    /// An administrator ends a live consultation; it settles as any other end.
    pub async fn force_end(&self, id: ConsultationId) -> Result<(), ChatError> {
        if locked(&self.inner.rooms).get(&id).is_some_and(|r| r.ringing.is_some()) {
            self.inner.engine.abandon(id, EndReason::ForceEnded).await?;
        } else {
            self.inner.engine.end(id, EndReason::ForceEnded).await?;
        }
        Ok(())
    }

    /// Sends a message: checked, paced, masked for the other party, kept, and shown to
    /// both. The expert's first reply starts billing. Returns the author's view of it.
    pub async fn send(&self, user: &User, id: ConsultationId, out: Outgoing) -> Result<MessageView, ChatError> {
        let inner = &self.inner;
        let policy = &inner.settings.consultations.chat;
        let now = inner.clock.now();
        let text = match (&out.image, out.text.trim().is_empty()) {
            // An image may come without words.
            (Some(_), true) => String::new(),
            _ => chat::check_message(&out.text, policy)?,
        };
        let side = self.with_room(id, user.id, |room, side| {
            if room.ringing.is_some() {
                return Err(ChatError::NotOpen);
            }
            if room.paused {
                return Err(ChatError::Paused);
            }
            room.burst(side).allow(now, policy)?;
            Ok(side)
        })?;
        let image = match out.image {
            Some(bytes) => {
                let photo = inner.media.process_photo(bytes).await?;
                Some(ChatImage {
                    content: photo.bytes,
                    content_type: augure_media::PHOTO_CONTENT_TYPE.into(),
                    width: photo.width,
                    height: photo.height,
                })
            }
            None => None,
        };
        let masked = if policy.mask_contacts { chat::mask_contacts(&text) } else { chat::Masked::none(&text) };
        let message = NewChatMessage {
            consultation: id,
            author: side,
            body: text,
            masked: masked.text,
            flags: masked.found.iter().map(|c| c.as_str().to_owned()).collect(),
            image,
            client_key: out.client_key.filter(|k| !k.is_empty() && k.len() <= 64),
            at: now,
        };
        let (stored, new) = inner.writer.append(message).await?;
        if !new {
            // A resend of what is stored already: the author's tab is told it is there.
            let mine = view(&stored, side);
            inner.hub.send(user.id, Event { consultation: id, kind: EventKind::Message(mine.clone()) });
            return Ok(mine);
        }
        let first_reply = self.with_room(id, user.id, |room, side| {
            room.message(side, now);
            let first = side == Side::Expert && !room.started;
            room.started |= first;
            Ok(first)
        })?;
        let _ = inner.engine.heard(id, side).await;
        if first_reply {
            inner.engine.first_reply(id).await?;
            let (client, expert) = self.parties(id)?;
            for party in [client, expert] {
                inner.hub.send(party, Event { consultation: id, kind: EventKind::Started { at: now } });
            }
            self.send_meter(id).await;
        }
        let (client, expert) = self.parties(id)?;
        let other = if side == Side::Client { expert } else { client };
        let mine = view(&stored, side);
        inner.hub.send(user.id, Event { consultation: id, kind: EventKind::Message(mine.clone()) });
        inner.hub.send(other, Event { consultation: id, kind: EventKind::Message(view(&stored, opposite(side))) });
        Ok(mine)
    }

    fn parties(&self, id: ConsultationId) -> Result<(UserId, UserId), ChatError> {
        locked(&self.inner.rooms).get(&id).map(|r| (r.client, r.expert)).ok_or(ChatError::NotOpen)
    }

    async fn send_meter(&self, id: ConsultationId) {
        let Some(live) = self.inner.engine.view(id).await else { return };
        if let Ok((client, expert)) = self.parties(id) {
            for party in [client, expert] {
                self.inner.hub.send(party, Event { consultation: id, kind: EventKind::Meter(live) });
            }
        }
    }

    /// The party is typing: the other sees it, and the chat is not idle.
    pub async fn typing(&self, user: &User, id: ConsultationId) -> Result<(), ChatError> {
        let now = self.inner.clock.now();
        let (side, other) = self.with_room(id, user.id, |room, side| {
            if room.ringing.is_none() && !room.paused {
                room.last_activity = now;
            }
            Ok((side, room.user(opposite(side))))
        })?;
        let _ = self.inner.engine.heard(id, side).await;
        self.inner.hub.send(other, Event { consultation: id, kind: EventKind::Typing { side } });
        Ok(())
    }

    /// The reader's tab received (`read`: showed) the other's messages up to `up_to`.
    pub async fn mark(&self, user: &User, id: ConsultationId, up_to: i64, read: bool) -> Result<(), ChatError> {
        // A live chat's parties are in memory; the store is read for an ended one only.
        let in_room = locked(&self.inner.rooms).get(&id).and_then(|r| Some((r.side_of(user.id)?, r.client, r.expert)));
        let (side, client, expert) = match in_room {
            Some(party) => party,
            None => {
                let c = self.consultation_of(user, id).await?;
                (side_in(&c, user.id).ok_or(ChatError::NotParty)?, c.client, c.expert)
            }
        };
        let author = opposite(side);
        let now = self.inner.clock.now();
        let changed =
            self.inner.writer.mark(augure_store::ChatMark { consultation: id, author, up_to, read, at: now }).await?;
        if changed > 0 {
            let kind = if read { EventKind::Read { up_to } } else { EventKind::Delivered { up_to } };
            let to = if author == Side::Client { client } else { expert };
            self.inner.hub.send(to, Event { consultation: id, kind });
        }
        Ok(())
    }

    /// A tab of `user` opened on the chat: what it shows, and messages after `after`.
    /// The side is back if it had no tab (the meter runs again).
    pub async fn attach(&self, user: &User, id: ConsultationId, after: i64) -> Result<ChatState, ChatError> {
        let state = self.state(user, id, after).await?;
        if state.consultation.status.is_open() {
            let back = self.with_room(id, user.id, |room, side| Ok(room.attach(side))).unwrap_or(false);
            if back && state.consultation.status == ConsultationStatus::Live {
                let _ = self.inner.engine.heard(id, state.side).await;
            }
        }
        Ok(state)
    }

    /// A tab closed: when it was its side's last, the side dropped (the meter stops at
    /// the last moment it was heard from; the reconnection grace runs).
    pub async fn detach(&self, user: &User, id: ConsultationId) {
        let Ok((side, last, live)) =
            self.with_room(id, user.id, |room, side| Ok((side, room.detach(side), room.ringing.is_none())))
        else {
            return;
        };
        if last && live {
            let _ = self.inner.engine.dropped(id, side).await;
        }
    }

    /// A heartbeat from a tab of `user` on this chat.
    pub async fn heartbeat(&self, user: &User, id: ConsultationId) {
        if let Ok(side) = self.with_room(id, user.id, |_, side| Ok(side)) {
            let _ = self.inner.engine.heard(id, side).await;
        }
    }

    /// The client opens the top-up: after the warning it pauses the chat (meter and
    /// messages) until credit lands or the grace ends; before, nothing needs to wait.
    pub async fn top_up(&self, user: &User, id: ConsultationId) -> Result<Option<DateTime<Utc>>, ChatError> {
        let side = self.with_room(id, user.id, |_, side| Ok(side))?;
        if side != Side::Client {
            return Err(ChatError::NotParty);
        }
        let warned = self.inner.engine.view(id).await.is_some_and(|v| v.warned);
        if !warned {
            return Ok(None);
        }
        let until = self.inner.engine.pause_for_top_up(id).await?;
        self.with_room(id, user.id, |room, _| {
            room.paused = true;
            Ok(())
        })?;
        Ok(Some(until))
    }

    /// What a party sees of one of their consultations, with messages after `after`.
    pub async fn state(&self, user: &User, id: ConsultationId, after: i64) -> Result<ChatState, ChatError> {
        let inner = &self.inner;
        let consultation = self.consultation_of(user, id).await?;
        let side = side_in(&consultation, user.id).ok_or(ChatError::NotParty)?;
        let other_id = if side == Side::Client { consultation.expert } else { consultation.client };
        let other = inner.store.user_by_id(other_id).await?;
        let messages = self.messages(user, id, after).await?;
        let note = match side {
            Side::Expert => inner.store.expert_note(user.id, consultation.client).await?.map(|n| n.body),
            Side::Client => None,
        };
        let (started, paused) =
            locked(&inner.rooms).get(&id).map_or((consultation.started_at.is_some(), false), |r| (r.started, r.paused));
        let live = inner.engine.view(id).await;
        Ok(ChatState { consultation, side, other, live, messages, note, started, paused })
    }

    /// The transcript after `after`, as `user` is shown it.
    pub async fn messages(&self, user: &User, id: ConsultationId, after: i64) -> Result<Vec<MessageView>, ChatError> {
        let c = self.consultation_of(user, id).await?;
        let side = side_in(&c, user.id).ok_or(ChatError::NotParty)?;
        let stored = self.inner.store.chat_messages(id, after.max(0), PAGE).await?;
        Ok(stored.iter().map(|m| view(m, side)).collect())
    }

    /// An image of the transcript, for its parties only.
    pub async fn image(&self, user: &User, id: ConsultationId, seq: i64) -> Result<(String, Vec<u8>), ChatError> {
        self.consultation_of(user, id).await?;
        let (message, bytes) = self.inner.store.chat_image(id, seq).await.map_err(|e| match e {
            StoreError::NotFound => ChatError::NotParty,
            other => other.into(),
        })?;
        let content_type = message.image.map(|(t, _, _)| t).unwrap_or_default();
        Ok((content_type, bytes))
    }

    /// The consultation if `user` is one of its parties (admins use their own views).
    pub async fn consultation_of(&self, user: &User, id: ConsultationId) -> Result<Consultation, ChatError> {
        match self.inner.store.consultation(id).await {
            Ok(c) if side_in(&c, user.id).is_some() && c.terms.channel == Channel::Chat => Ok(c),
            Ok(_) | Err(StoreError::NotFound) => Err(ChatError::NotParty),
            Err(e) => Err(e.into()),
        }
    }

    /// Acts on every room timer due now.
    pub async fn run_due(&self) -> usize {
        let now = self.inner.clock.now();
        let due = locked(&self.inner.timers).take_due(now);
        for &id in &due {
            let what = locked(&self.inner.rooms).get(&id).and_then(|r| r.next_due(&self.inner.settings.consultations));
            let Some((at, what)) = what else { continue };
            if at > now {
                self.schedule(id, Some(at));
                continue;
            }
            let result = match what {
                RoomDue::RingAlert => self.ring_alert(id).await,
                RoomDue::RingTimeout => {
                    self.inner.engine.abandon(id, EndReason::NoAnswer).await.map(drop).map_err(Into::into)
                }
                RoomDue::Idle => self.inner.engine.end(id, EndReason::Idle).await.map(drop).map_err(Into::into),
            };
            match result {
                Ok(()) | Err(ChatError::NotOpen) => {}
                Err(e) => {
                    tracing::error!(consultation = %id, error = %e, "chat timer failed");
                    let retry = now + chrono::Duration::seconds(5);
                    self.schedule(id, Some(retry));
                    continue;
                }
            }
            let next = locked(&self.inner.rooms).get(&id).and_then(|r| r.next_due(&self.inner.settings.consultations));
            self.schedule(id, next.map(|(at, _)| at));
        }
        due.len()
    }

    async fn ring_alert(&self, id: ConsultationId) -> Result<(), ChatError> {
        let (client, expert) = {
            let mut rooms = locked(&self.inner.rooms);
            let Some(room) = rooms.get_mut(&id) else { return Ok(()) };
            match &mut room.ringing {
                Some((_, alerted)) if !*alerted => *alerted = true,
                _ => return Ok(()),
            }
            (room.client, room.expert)
        };
        after::ring_alert(&self.inner, id, client, expert).await
    }

    /// Runs the room timers and acts on the engine's notices and on credit landing, until
    /// `stop` resolves; then acts on the notices already given (the chats settled at
    /// shutdown). One per process: a second call returns at once.
    pub async fn run(&self, stop: impl std::future::Future<Output = ()>) {
        let Some(Observers { mut notices, mut landed }) = locked(&self.inner.observers).take() else {
            tracing::error!("chats run already, or the engine's notices went elsewhere");
            return;
        };
        tokio::pin!(stop);
        loop {
            let next = locked(&self.inner.timers).next();
            let sleep = async {
                match next {
                    Some(at) => self.inner.clock.sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let topped_up = async {
                match landed.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = sleep => { self.run_due().await; }
                () = self.inner.wake.notified() => { self.run_due().await; }
                Some(notice) = notices.recv() => after::on_notice(self, notice).await,
                Some(user) = topped_up => self.credit_landed(user).await,
                () = &mut stop => break,
            }
        }
        while let Ok(notice) = notices.try_recv() {
            after::on_notice(self, notice).await;
        }
    }

    /// Acts on the notices waiting (tests drive the service without [`Chats::run`]).
    pub async fn drain(&self) -> usize {
        let mut taken = locked(&self.inner.observers).take();
        let mut n = 0;
        if let Some(obs) = taken.as_mut() {
            while let Ok(notice) = obs.notices.try_recv() {
                after::on_notice(self, notice).await;
                n += 1;
            }
            if let Some(landed) = obs.landed.as_mut() {
                while let Ok(user) = landed.try_recv() {
                    self.credit_landed(user).await;
                    n += 1;
                }
            }
        }
        *locked(&self.inner.observers) = taken;
        n
    }

    /// A client's credit landed: each of their live chats extends its grant now.
    async fn credit_landed(&self, client: UserId) {
        let ids: Vec<ConsultationId> = locked(&self.inner.rooms)
            .iter()
            .filter(|(_, r)| r.client == client && r.ringing.is_none())
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            if let Err(e) = self.inner.engine.credit_changed(id).await {
                tracing::warn!(consultation = %id, error = %e, "grant not extended after a top-up");
            }
        }
    }

    /// Forgets a room (its chat ended or was lost).
    fn close_room(&self, id: ConsultationId) -> Option<Room> {
        let room = locked(&self.inner.rooms).remove(&id);
        self.schedule(id, None);
        room
    }
}

fn opposite(side: Side) -> Side {
    match side {
        Side::Client => Side::Expert,
        Side::Expert => Side::Client,
    }
}

fn side_in(c: &Consultation, user: UserId) -> Option<Side> {
    if c.client == user {
        Some(Side::Client)
    } else if c.expert == user {
        Some(Side::Expert)
    } else {
        None
    }
}

fn view(m: &ChatMessage, reader: Side) -> MessageView {
    MessageView {
        seq: m.seq,
        author: m.author,
        text: m.text_for(reader).to_owned(),
        masked: reader == m.author && !m.flags.is_empty(),
        image: m.image.is_some(),
        client_key: if reader == m.author { m.client_key.clone() } else { None },
        sent_at: m.sent_at,
    }
}
