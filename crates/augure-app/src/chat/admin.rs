//! What the operator sees of chats (issue 11, Admin): every consultation in progress with
//! its meter, which an administrator may end; the reports the parties sent and the
//! messages in which contact details were masked (SP-chat), until an administrator handles
//! them.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use augure_domain::meter::Side;
use augure_domain::{ConsultationId, UserId};
use augure_store::{ChatMessage, Consultation, Report, StoreError, User};

use super::{ChatError, Chats};
use crate::charging::LiveView;

/// How many rows each admin list reads at most.
pub const ADMIN_LIST_MAX: i64 = 200;

/// A consultation in progress (ringing or live) as the operator watches it.
#[derive(Clone, Debug)]
pub struct LiveRow {
    pub consultation: Consultation,
    /// `None` when the account was deleted since.
    pub client: Option<User>,
    pub expert: Option<User>,
    /// The meter now, when this node runs the consultation and it was answered.
    pub live: Option<LiveView>,
}

/// A report a party sent, with both parties and the consultation it is about.
#[derive(Clone, Debug)]
pub struct ReportRow {
    pub report: Report,
    pub reporter: Option<User>,
    pub reported: Option<User>,
    /// `None` if the consultation is gone.
    pub consultation: Option<Consultation>,
}

/// A message in which contact details were masked, with who wrote it and to whom.
#[derive(Clone, Debug)]
pub struct FlagRow {
    pub message: ChatMessage,
    pub author: Option<User>,
    pub other: Option<User>,
}

/// What waits for the operator: for the overview.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdminCounts {
    pub in_progress: usize,
    /// Open reports and flagged messages.
    pub to_review: usize,
}

impl Chats {
    /// Every consultation ringing or live, oldest first, with both parties and its meter.
    pub async fn in_progress(&self) -> Result<Vec<LiveRow>, ChatError> {
        let open = self.inner.store.open_consultations(ADMIN_LIST_MAX).await?;
        let mut people = People::default();
        let mut rows = Vec::with_capacity(open.len());
        for consultation in open {
            let client = people.get(self, consultation.client).await?;
            let expert = people.get(self, consultation.expert).await?;
            let live = self.inner.engine.view(consultation.id).await;
            rows.push(LiveRow { consultation, client, expert, live });
        }
        Ok(rows)
    }

    /// Open reports, oldest first, with their parties and consultation.
    pub async fn open_reports(&self) -> Result<Vec<ReportRow>, ChatError> {
        let reports = self.inner.store.open_reports(ADMIN_LIST_MAX).await?;
        let mut people = People::default();
        let mut rows = Vec::with_capacity(reports.len());
        for report in reports {
            let reporter = people.get(self, report.reporter).await?;
            let reported = people.get(self, report.reported).await?;
            let consultation = self.consultation_any(report.consultation).await?;
            rows.push(ReportRow { report, reporter, reported, consultation });
        }
        Ok(rows)
    }

    /// An administrator handled the report; false if it was handled already or unknown.
    pub async fn resolve_report(&self, id: i64) -> Result<bool, ChatError> {
        Ok(self.inner.store.resolve_report(id, self.inner.clock.now()).await?)
    }

    /// Messages whose contact details were masked and not dismissed yet, oldest first.
    pub async fn flagged_messages(&self) -> Result<Vec<FlagRow>, ChatError> {
        let messages = self.inner.store.flagged_chat_messages(ADMIN_LIST_MAX).await?;
        let mut people = People::default();
        let mut parties: HashMap<ConsultationId, Option<(UserId, UserId)>> = HashMap::new();
        let mut rows = Vec::with_capacity(messages.len());
        for message in messages {
            let both = match parties.entry(message.consultation) {
                Entry::Occupied(known) => *known.get(),
                Entry::Vacant(slot) => {
                    let c = self.consultation_any(message.consultation).await?;
                    *slot.insert(c.map(|c| (c.client, c.expert)))
                }
            };
            let (author, other) = match (both, message.author) {
                (Some((client, expert)), Side::Client) => (client, expert),
                (Some((client, expert)), Side::Expert) => (expert, client),
                (None, _) => {
                    rows.push(FlagRow { message, author: None, other: None });
                    continue;
                }
            };
            let (author, other) = (people.get(self, author).await?, people.get(self, other).await?);
            rows.push(FlagRow { message, author, other });
        }
        Ok(rows)
    }

    /// An administrator looked at a flagged message; false if it was done already.
    pub async fn dismiss_flag(&self, id: ConsultationId, seq: i64) -> Result<bool, ChatError> {
        Ok(self.inner.store.dismiss_chat_flag(id, seq, self.inner.clock.now()).await?)
    }

    /// How many consultations run and how many reports and flags wait.
    pub async fn admin_counts(&self) -> Result<AdminCounts, ChatError> {
        let store = &self.inner.store;
        Ok(AdminCounts {
            in_progress: store.open_consultations(ADMIN_LIST_MAX).await?.len(),
            to_review: store.open_reports(ADMIN_LIST_MAX).await?.len()
                + store.flagged_chat_messages(ADMIN_LIST_MAX).await?.len(),
        })
    }

    async fn consultation_any(&self, id: ConsultationId) -> Result<Option<Consultation>, ChatError> {
        match self.inner.store.consultation(id).await {
            Ok(c) => Ok(Some(c)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// The accounts a list names, each read once; a deleted one is `None`.
#[derive(Default)]
struct People(HashMap<UserId, Option<User>>);

impl People {
    async fn get(&mut self, chats: &Chats, id: UserId) -> Result<Option<User>, ChatError> {
        if let Some(found) = self.0.get(&id) {
            return Ok(found.clone());
        }
        let found = match chats.inner.store.user_by_id(id).await {
            Ok(user) => Some(user),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        self.0.insert(id, found.clone());
        Ok(found)
    }
}
