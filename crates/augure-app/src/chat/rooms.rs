//! What a chat needs beyond the meter, per consultation on this node: the ring's
//! deadlines, SP-chat-idle's activity marks, each side's pace, and which sides have a tab
//! on it. Pure state; [`super::Chats`] acts on it.

use augure_domain::UserId;
use augure_domain::chat::{Burst, idle_deadline};
use augure_domain::consultation::ConsultationPolicy;
use augure_domain::meter::Side;
use chrono::{DateTime, Duration, Utc};

/// What a room's timer is for when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoomDue {
    /// The ring went unanswered for the alert delay: the expert gets an SMS.
    RingAlert,
    /// …and for the whole ring: the chat is lost (SP-lost).
    RingTimeout,
    /// SP-chat-idle.
    Idle,
}

#[derive(Clone, Debug)]
pub struct Room {
    pub client: UserId,
    pub expert: UserId,
    /// While ringing: since when, and whether the SMS alert went.
    pub ringing: Option<(DateTime<Utc>, bool)>,
    /// The expert's first reply: billing started.
    pub started: bool,
    /// Messages and meter are paused while the client adds credit.
    pub paused: bool,
    pub last_activity: DateTime<Utc>,
    pub last_client_message: Option<DateTime<Utc>>,
    pub last_expert_message: Option<DateTime<Utc>>,
    bursts: [Burst; 2],
    /// Tabs open on this chat, per side.
    tabs: [u32; 2],
}

fn index(side: Side) -> usize {
    match side {
        Side::Client => 0,
        Side::Expert => 1,
    }
}

fn secs(s: u64) -> Duration {
    Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000).min(1 << 40))
}

impl Room {
    pub fn ringing(client: UserId, expert: UserId, now: DateTime<Utc>) -> Self {
        Self {
            client,
            expert,
            ringing: Some((now, false)),
            started: false,
            paused: false,
            last_activity: now,
            last_client_message: None,
            last_expert_message: None,
            bursts: Default::default(),
            tabs: [0, 0],
        }
    }

    pub fn side_of(&self, user: UserId) -> Option<Side> {
        if user == self.client {
            Some(Side::Client)
        } else if user == self.expert {
            Some(Side::Expert)
        } else {
            None
        }
    }

    pub fn user(&self, side: Side) -> UserId {
        match side {
            Side::Client => self.client,
            Side::Expert => self.expert,
        }
    }

    pub fn answered(&mut self, now: DateTime<Utc>) {
        self.ringing = None;
        // Idleness counts from the answer, not from the ring.
        self.last_activity = now;
    }

    pub fn burst(&mut self, side: Side) -> &mut Burst {
        &mut self.bursts[index(side)]
    }

    pub fn message(&mut self, side: Side, now: DateTime<Utc>) {
        self.last_activity = now;
        match side {
            Side::Client => self.last_client_message = Some(now),
            Side::Expert => self.last_expert_message = Some(now),
        }
    }

    /// A tab of `side` opened on the chat; true if it is the side's first (it is back).
    pub fn attach(&mut self, side: Side) -> bool {
        self.tabs[index(side)] += 1;
        self.tabs[index(side)] == 1
    }

    /// A tab of `side` closed; true if it was the side's last (it dropped).
    pub fn detach(&mut self, side: Side) -> bool {
        let n = &mut self.tabs[index(side)];
        *n = n.saturating_sub(1);
        *n == 0
    }

    /// The next thing due and when.
    pub fn next_due(&self, policy: &ConsultationPolicy) -> Option<(DateTime<Utc>, RoomDue)> {
        if let Some((since, alerted)) = self.ringing {
            let timeout = (since + secs(policy.ring_timeout_seconds), RoomDue::RingTimeout);
            let alert = since + secs(policy.ring_alert_seconds);
            return Some(if !alerted && alert < timeout.0 { (alert, RoomDue::RingAlert) } else { timeout });
        }
        if self.paused {
            // The top-up grace is the engine's timer; idleness waits for the chat.
            return None;
        }
        let at = idle_deadline(
            self.last_activity,
            self.last_client_message,
            self.last_expert_message,
            secs(policy.chat_idle_seconds),
        );
        Some((at, RoomDue::Idle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn a_ring_alerts_at_ten_seconds_then_is_lost_at_sixty() {
        let policy = ConsultationPolicy::default();
        let mut room = Room::ringing(UserId(1), UserId(2), t0());
        assert_eq!(room.next_due(&policy), Some((t0() + Duration::seconds(10), RoomDue::RingAlert)));
        room.ringing = Some((t0(), true));
        assert_eq!(room.next_due(&policy), Some((t0() + Duration::seconds(60), RoomDue::RingTimeout)));
    }

    #[test]
    fn sp_chat_idle_counts_from_the_answer_and_from_the_clients_unanswered_message() {
        let policy = ConsultationPolicy::default();
        let mut room = Room::ringing(UserId(1), UserId(2), t0());
        room.answered(t0() + Duration::seconds(20));
        assert_eq!(room.next_due(&policy), Some((t0() + Duration::seconds(260), RoomDue::Idle)));
        room.message(Side::Client, t0() + Duration::seconds(30));
        // Typing by the client keeps the chat open, but not past 4 minutes without an answer.
        room.last_activity = t0() + Duration::seconds(200);
        assert_eq!(room.next_due(&policy).unwrap().0, t0() + Duration::seconds(270));
        room.paused = true;
        assert_eq!(room.next_due(&policy), None, "no idle end while the client adds credit");
    }

    #[test]
    fn a_side_drops_when_its_last_tab_closes() {
        let mut room = Room::ringing(UserId(1), UserId(2), t0());
        assert!(room.attach(Side::Client));
        assert!(!room.attach(Side::Client));
        assert!(!room.detach(Side::Client));
        assert!(room.detach(Side::Client));
        assert_eq!(room.side_of(UserId(2)), Some(Side::Expert));
        assert_eq!(room.side_of(UserId(3)), None);
    }
}
