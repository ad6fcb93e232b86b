//! What a chat leaves behind (SP-chat): its transcript, numbered so a tab that reconnects
//! resumes after the last message it saw, with delivered and read marks and the contact
//! details flagged to admins; the expert's private notes on their clients (SP-notes);
//! reports, blocks, and the client's review of a consultation, pending moderation
//! (SP-review).

use async_trait::async_trait;
use augure_domain::meter::Side;
use augure_domain::{ConsultationId, UserId};
use chrono::{DateTime, Utc};

use crate::{StoreError, StoreResult};

#[async_trait]
pub trait ChatStore {
    /// Appends a message after the consultation's last one (sequence 1, 2, …). A second
    /// call with the same consultation, author and `client_key` (a tab resending after a
    /// reconnection) returns the first message, unchanged, and appends nothing. The flag
    /// says whether this call appended it.
    async fn append_chat_message(&self, message: &NewChatMessage) -> StoreResult<(ChatMessage, bool)>;
    /// The consultation's messages with a sequence above `after`, in order, at most `limit`.
    async fn chat_messages(
        &self,
        consultation: ConsultationId,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<ChatMessage>>;
    /// An image sent in a chat and its message; `NotFound` for a message without one.
    async fn chat_image(&self, consultation: ConsultationId, seq: i64) -> StoreResult<(ChatMessage, Vec<u8>)>;
    /// Marks the messages `author` wrote, up to `up_to` included, delivered to the other
    /// party at `at` (those marked already keep their first mark). Returns how many changed.
    async fn mark_chat_delivered(
        &self,
        consultation: ConsultationId,
        author: Side,
        up_to: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<u64>;
    /// The same for read marks; a message read is delivered too.
    async fn mark_chat_read(
        &self,
        consultation: ConsultationId,
        author: Side,
        up_to: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<u64>;
    /// Several messages and marks in one transaction, in order, each answered as its own
    /// call would be: one commit for many is what lets a node carry thousands of chats.
    /// One failing fails them all, and nothing is written.
    async fn write_chat(&self, writes: &[ChatWrite]) -> StoreResult<Vec<ChatWritten>>;
    /// Messages in which contact details were masked and no admin dismissed the flag yet,
    /// oldest first.
    async fn flagged_chat_messages(&self, limit: i64) -> StoreResult<Vec<ChatMessage>>;
    /// An admin looked at a flagged message; false if it was not flagged or done already.
    async fn dismiss_chat_flag(&self, consultation: ConsultationId, seq: i64, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Deletes at most `limit` messages (and their images) sent before `before`: the
    /// transcript retention. Returns how many went.
    async fn purge_chat_messages(&self, before: DateTime<Utc>, limit: i64) -> StoreResult<u64>;

    /// SP-notes: replaces the expert's note on a client (an empty body deletes it).
    async fn set_expert_note(&self, expert: UserId, client: UserId, body: &str, at: DateTime<Utc>) -> StoreResult<()>;
    async fn expert_note(&self, expert: UserId, client: UserId) -> StoreResult<Option<ExpertNote>>;
    /// Every note of the expert, the most recently edited first.
    async fn expert_notes(&self, expert: UserId, limit: i64) -> StoreResult<Vec<ExpertNote>>;

    /// A party reports the other about a consultation, once per consultation and reporter:
    /// a second report returns the first, unchanged.
    async fn report_party(&self, report: &NewReport) -> StoreResult<Report>;
    /// Reports no admin handled yet, oldest first.
    async fn open_reports(&self, limit: i64) -> StoreResult<Vec<Report>>;
    /// An admin handled the report; false if it was handled already or is unknown.
    async fn resolve_report(&self, id: i64, at: DateTime<Utc>) -> StoreResult<bool>;

    /// The expert blocks a client: the client can no longer start a consultation with
    /// them. Blocking twice changes nothing.
    async fn block_client(&self, expert: UserId, client: UserId, at: DateTime<Utc>) -> StoreResult<()>;
    async fn unblock_client(&self, expert: UserId, client: UserId) -> StoreResult<()>;
    async fn is_blocked(&self, expert: UserId, client: UserId) -> StoreResult<bool>;
    /// The clients the expert blocked, the latest first.
    async fn blocked_clients(&self, expert: UserId) -> StoreResult<Vec<(UserId, DateTime<Utc>)>>;

    /// SP-review: the client's review of a consultation, pending moderation; one per
    /// consultation: `Conflict("review")` for a second one.
    async fn submit_review(&self, review: &NewReview) -> StoreResult<Review>;
    async fn review(&self, consultation: ConsultationId) -> StoreResult<Option<Review>>;
}

/// An image in a chat, validated and re-encoded like a profile photo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatImage {
    pub content: Vec<u8>,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewChatMessage {
    pub consultation: ConsultationId,
    pub author: Side,
    /// What the author wrote, as they wrote it (checked, trimmed).
    pub body: String,
    /// What the other party is shown: contact details masked.
    pub masked: String,
    /// The kinds of contact details masked (`phone`, `email`, `link`); any flags the message.
    pub flags: Vec<String>,
    pub image: Option<ChatImage>,
    /// The tab's own id for the message, so a resend is not a second message.
    pub client_key: Option<String>,
    pub at: DateTime<Utc>,
}

/// One of a batch of chat writes ([`ChatStore::write_chat`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatWrite {
    Append(NewChatMessage),
    Mark(ChatMark),
}

/// [`ChatStore::mark_chat_read`] (`read`) or [`ChatStore::mark_chat_delivered`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChatMark {
    pub consultation: ConsultationId,
    pub author: Side,
    pub up_to: i64,
    pub read: bool,
    pub at: DateTime<Utc>,
}

impl ChatWrite {
    pub fn consultation(&self) -> ConsultationId {
        match self {
            ChatWrite::Append(m) => m.consultation,
            ChatWrite::Mark(m) => m.consultation,
        }
    }
}

/// What a chat write did: the message and whether this write appended it, or how many
/// messages the mark changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatWritten {
    Appended(ChatMessage, bool),
    Marked(u64),
}

impl ChatWritten {
    /// What an append answered.
    pub fn appended(self) -> StoreResult<(ChatMessage, bool)> {
        match self {
            ChatWritten::Appended(message, new) => Ok((message, new)),
            ChatWritten::Marked(_) => Err(StoreError::Corrupt("an append answered as a mark".into())),
        }
    }

    /// What a mark answered.
    pub fn marked(self) -> StoreResult<u64> {
        match self {
            ChatWritten::Marked(changed) => Ok(changed),
            ChatWritten::Appended(..) => Err(StoreError::Corrupt("a mark answered as an append".into())),
        }
    }
}

/// A stored message, without its image's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatMessage {
    pub consultation: ConsultationId,
    pub seq: i64,
    pub author: Side,
    pub body: String,
    pub masked: String,
    pub flags: Vec<String>,
    /// The image's content type, width and height when there is one.
    pub image: Option<(String, u32, u32)>,
    pub client_key: Option<String>,
    pub sent_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
}

impl ChatMessage {
    /// The text `reader` is shown: their own as written, the other's masked.
    pub fn text_for(&self, reader: Side) -> &str {
        if reader == self.author { &self.body } else { &self.masked }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpertNote {
    pub expert: UserId,
    pub client: UserId,
    pub body: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReport {
    pub consultation: ConsultationId,
    pub reporter: UserId,
    pub reported: UserId,
    pub reason: String,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub id: i64,
    pub consultation: ConsultationId,
    pub reporter: UserId,
    pub reported: UserId,
    pub reason: String,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReview {
    pub consultation: ConsultationId,
    pub client: UserId,
    pub expert: UserId,
    /// 1 to 5.
    pub rating: u8,
    pub body: String,
    pub at: DateTime<Utc>,
}

/// Where a review stands; publication comes with the reviews issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewStatus {
    Pending,
    Approved,
    Refused,
}

impl ReviewStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Pending => "pending",
            ReviewStatus::Approved => "approved",
            ReviewStatus::Refused => "refused",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [ReviewStatus::Pending, ReviewStatus::Approved, ReviewStatus::Refused].into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Review {
    pub consultation: ConsultationId,
    pub client: UserId,
    pub expert: UserId,
    pub rating: u8,
    pub body: String,
    pub status: ReviewStatus,
    pub created_at: DateTime<Utc>,
}
