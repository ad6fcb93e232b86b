//! The tabs connected to this node and what each is told. A tab registers once for its
//! user; events for a user go to every one of their tabs, each already in the form that
//! user may see (the other party's text masked). A tab that cannot keep up is dropped:
//! it reconnects and resumes from the last message it saw, from the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use augure_domain::consultation::EndReason;
use augure_domain::meter::Side;
use augure_domain::{ConsultationId, Money, UserId};
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::charging::LiveView;

/// How many events a tab may have waiting before it is dropped as too slow.
const TAB_QUEUE: usize = 256;

/// What a tab is told about a consultation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub consultation: ConsultationId,
    pub kind: EventKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// To the expert: a client asks for a chat. `past` consultations together so far.
    Ring {
        client_name: String,
        past: u64,
    },
    /// To the expert: the ring is over (answered in another tab, timed out, withdrawn).
    RingOver,
    /// To both: the expert accepted; waiting for the first reply.
    Answered,
    /// To both: the expert's first reply; billing runs from `at`.
    Started {
        at: DateTime<Utc>,
    },
    /// A message, as this reader is shown it.
    Message(MessageView),
    /// The other party is typing.
    Typing {
        side: Side,
    },
    /// Messages this reader wrote, up to `up_to`, reached the other party / were read.
    Delivered {
        up_to: i64,
    },
    Read {
        up_to: i64,
    },
    /// Where the meter stands (after any change to it).
    Meter(LiveView),
    /// SP-beep: the credit runs out at `cut_at`.
    Warning {
        cut_at: DateTime<Utc>,
    },
    /// The client is adding credit: paused until `until` at the latest.
    Paused {
        until: DateTime<Utc>,
    },
    Resumed,
    /// `side`'s connection dropped / came back.
    Reconnecting {
        side: Side,
    },
    Back {
        side: Side,
    },
    /// The chat ended; money as this reader sees it (the client's charge, the expert's
    /// earnings and the commission).
    Ended {
        reason: EndReason,
        billable_seconds: u64,
        charge: Money,
        earnings: Money,
        commission: Money,
    },
    /// It never started (SP-lost).
    Lost {
        reason: EndReason,
    },
    /// SP-notes: the expert's note on this client, when the chat starts.
    Note {
        body: String,
    },
}

/// A message as one reader sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageView {
    pub seq: i64,
    pub author: Side,
    pub text: String,
    /// Contact details were hidden from the other party (told to the author).
    pub masked: bool,
    pub image: bool,
    pub client_key: Option<String>,
    pub sent_at: DateTime<Utc>,
}

struct Tab {
    id: u64,
    tx: mpsc::Sender<Arc<Event>>,
}

#[derive(Clone, Default)]
pub struct Hub {
    inner: Arc<HubInner>,
}

#[derive(Default)]
struct HubInner {
    tabs: Mutex<HashMap<UserId, Vec<Tab>>>,
    next: std::sync::atomic::AtomicU64,
}

/// A registered tab: its events arrive on `events`; dropping it unregisters it.
pub struct TabHandle {
    pub id: u64,
    pub user: UserId,
    pub events: mpsc::Receiver<Arc<Event>>,
    hub: Hub,
}

impl Drop for TabHandle {
    fn drop(&mut self) {
        self.hub.remove(self.user, self.id);
    }
}

impl Hub {
    pub fn register(&self, user: UserId) -> TabHandle {
        let id = self.inner.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (tx, events) = mpsc::channel(TAB_QUEUE);
        self.lock().entry(user).or_default().push(Tab { id, tx });
        TabHandle { id, user, events, hub: self.clone() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, Vec<Tab>>> {
        self.inner.tabs.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn remove(&self, user: UserId, id: u64) {
        let mut tabs = self.lock();
        if let Some(list) = tabs.get_mut(&user) {
            list.retain(|t| t.id != id);
            if list.is_empty() {
                tabs.remove(&user);
            }
        }
    }

    /// Whether `user` has a tab open on this node.
    pub fn is_connected(&self, user: UserId) -> bool {
        self.lock().contains_key(&user)
    }

    /// Sends to every tab of `user`; a tab whose queue is full is closed (its receiver
    /// sees the end and the page reconnects).
    pub fn send(&self, user: UserId, event: Event) {
        let event = Arc::new(event);
        let mut tabs = self.lock();
        let Some(list) = tabs.get_mut(&user) else { return };
        list.retain(|tab| tab.tx.try_send(event.clone()).is_ok());
        if list.is_empty() {
            tabs.remove(&user);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_event_reaches_every_tab_of_its_user_and_no_one_else() {
        let hub = Hub::default();
        let mut a1 = hub.register(UserId(1));
        let mut a2 = hub.register(UserId(1));
        let mut b = hub.register(UserId(2));
        hub.send(UserId(1), Event { consultation: ConsultationId(7), kind: EventKind::Answered });
        assert_eq!(a1.events.recv().await.unwrap().kind, EventKind::Answered);
        assert_eq!(a2.events.recv().await.unwrap().kind, EventKind::Answered);
        assert!(b.events.try_recv().is_err());
        drop(a1);
        drop(a2);
        assert!(!hub.is_connected(UserId(1)), "closing the tabs unregisters them");
    }

    #[tokio::test]
    async fn a_tab_that_does_not_read_is_dropped_not_waited_for() {
        let hub = Hub::default();
        let mut slow = hub.register(UserId(1));
        for _ in 0..=TAB_QUEUE {
            hub.send(UserId(1), Event { consultation: ConsultationId(1), kind: EventKind::Resumed });
        }
        let mut seen = 0;
        while slow.events.recv().await.is_some() {
            seen += 1;
        }
        assert_eq!(seen, TAB_QUEUE, "the queue ends after what it held: the page reconnects");
    }
}
