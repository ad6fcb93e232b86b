//! Around a chat: the expert's private notes on a client (SP-notes), reports of the other
//! party, the expert's blocks, and the client's review (SP-review, pending moderation).

use augure_domain::UserId;
use augure_domain::{ConsultationId, meter::Side};
use augure_store::{ConsultationStatus, ExpertNote, NewReport, NewReview, Review, StoreError, User};

use super::{ChatError, Chats, side_in};

/// The longest note an expert keeps on a client, and the longest report or review.
pub const NOTE_MAX_CHARS: usize = 4000;
pub const REPORT_MAX_CHARS: usize = 2000;
pub const REVIEW_MAX_CHARS: usize = 2000;

fn bounded(text: &str, max: usize) -> Result<String, ChatError> {
    let text = text.trim();
    if text.chars().count() > max || text.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(ChatError::Message(augure_domain::chat::MessageError::TooLong(max)));
    }
    Ok(text.to_owned())
}

impl Chats {
    /// SP-notes: the expert's note on a client they consulted with.
    pub async fn note(&self, expert: &User, client: UserId) -> Result<Option<ExpertNote>, ChatError> {
        Ok(self.inner.store.expert_note(expert.id, client).await?)
    }

    /// Replaces the expert's note on the client of consultation `id` (during or after it).
    pub async fn set_note(&self, expert: &User, id: ConsultationId, body: &str) -> Result<(), ChatError> {
        let c = self.consultation_of(expert, id).await?;
        if side_in(&c, expert.id) != Some(Side::Expert) {
            return Err(ChatError::NotParty);
        }
        let body = bounded(body, NOTE_MAX_CHARS)?;
        let now = self.inner.clock.now();
        self.inner.store.set_expert_note(expert.id, c.client, &body, now).await?;
        Ok(())
    }

    /// The expert's notes, with each client, the most recently edited first.
    pub async fn notes(&self, expert: &User) -> Result<Vec<(ExpertNote, User)>, ChatError> {
        let notes = self.inner.store.expert_notes(expert.id, 500).await?;
        let mut out = Vec::with_capacity(notes.len());
        for note in notes {
            match self.inner.store.user_by_id(note.client).await {
                Ok(client) => out.push((note, client)),
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }

    /// SP-history: the user's chats, newest first, each with the other party.
    pub async fn history(&self, user: &User) -> Result<Vec<(augure_store::Consultation, User)>, ChatError> {
        let list = self.inner.store.user_consultations(user.id, 200).await?;
        let mut out = Vec::with_capacity(list.len());
        for c in list {
            let other = if c.client == user.id { c.expert } else { c.client };
            match self.inner.store.user_by_id(other).await {
                Ok(other) => out.push((c, other)),
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }

    /// A party reports the other about consultation `id`; listed for admins.
    pub async fn report(&self, user: &User, id: ConsultationId, reason: &str) -> Result<(), ChatError> {
        let c = self.consultation_of(user, id).await?;
        let reported = if c.client == user.id { c.expert } else { c.client };
        let reason = bounded(reason, REPORT_MAX_CHARS)?;
        let report = NewReport { consultation: id, reporter: user.id, reported, reason, at: self.inner.clock.now() };
        self.inner.store.report_party(&report).await?;
        Ok(())
    }

    /// The expert blocks the client of consultation `id`: no new chat from them.
    pub async fn block(&self, expert: &User, id: ConsultationId) -> Result<(), ChatError> {
        let c = self.consultation_of(expert, id).await?;
        if c.expert != expert.id {
            return Err(ChatError::NotParty);
        }
        self.inner.store.block_client(expert.id, c.client, self.inner.clock.now()).await?;
        Ok(())
    }

    pub async fn unblock(&self, expert: &User, client: UserId) -> Result<(), ChatError> {
        Ok(self.inner.store.unblock_client(expert.id, client).await?)
    }

    /// Whether the client of `id` may review it: a settled chat longer than the review
    /// threshold, not reviewed yet.
    pub async fn reviewable(&self, client: &User, id: ConsultationId) -> Result<bool, ChatError> {
        let c = self.consultation_of(client, id).await?;
        let long_enough = c.billable_seconds > self.inner.settings.consultations.review_after_seconds;
        Ok(c.client == client.id
            && c.status == ConsultationStatus::Settled
            && long_enough
            && self.inner.store.review(id).await?.is_none())
    }

    /// SP-review: the client's rating (1–5) and text, kept pending moderation.
    pub async fn review(&self, client: &User, id: ConsultationId, rating: u8, body: &str) -> Result<Review, ChatError> {
        if !(1..=5).contains(&rating) {
            return Err(ChatError::Review { max: REVIEW_MAX_CHARS });
        }
        let body = bounded(body, REVIEW_MAX_CHARS).map_err(|_| ChatError::Review { max: REVIEW_MAX_CHARS })?;
        if !self.reviewable(client, id).await? {
            return Err(ChatError::NotReviewable);
        }
        let c = self.consultation_of(client, id).await?;
        let review = NewReview {
            consultation: id,
            client: client.id,
            expert: c.expert,
            rating,
            body,
            at: self.inner.clock.now(),
        };
        match self.inner.store.submit_review(&review).await {
            Ok(r) => Ok(r),
            Err(StoreError::Conflict(_)) => Err(ChatError::NotReviewable),
            Err(e) => Err(e.into()),
        }
    }
}
