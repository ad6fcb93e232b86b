//! What a chat's tab is sent, in its reader's words: the socket's frames carry texts
//! already in the reader's language, amounts in their currency's writing and times in
//! their site's zone, so the page's script only places them.

use augure_app::charging::LiveView;
use augure_app::chat::{ChatState, EventKind, MessageView, duration_words};
use augure_app::i18n::Tr;
use augure_domain::consultation::EndReason;
use augure_domain::meter::Side;
use augure_domain::{ConsultationId, Money};
use augure_store::ConsultationStatus;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

pub fn side_str(side: Side) -> &'static str {
    match side {
        Side::Client => "client",
        Side::Expert => "expert",
    }
}

pub fn status_str(status: ConsultationStatus) -> &'static str {
    status.as_str()
}

/// Why a chat ended or never started, as its parties read it.
pub fn reason_text(tr: &Tr<'_>, reason: EndReason, idle_minutes: u64) -> String {
    let key = format!("chat-end-{}", reason.as_str().replace('_', "-"));
    tr.t1(&key, "minutes", &idle_minutes.to_string())
}

/// "Durée facturée : 12 min 30 s — 9,30 €" for the client; the expert reads their earnings.
pub fn summary_text(
    tr: &Tr<'_>,
    side: Side,
    billable: u64,
    charge: Money,
    earnings: Money,
    commission: Money,
) -> String {
    let duration = duration_words(tr, billable);
    match side {
        Side::Client => tr.t2("chat-summary-client", "duration", &duration, "charge", &charge.format(tr.locale)),
        Side::Expert => tr.t_args(
            "chat-summary-expert",
            &[
                ("duration", duration),
                ("earnings", earnings.format(tr.locale)),
                ("commission", commission.format(tr.locale)),
            ],
        ),
    }
}

/// The status line of a chat as its reader sees it.
pub fn status_text(tr: &Tr<'_>, state: &ChatState) -> String {
    let other = state.other.display_name.as_str();
    match (state.consultation.status, state.side, state.started) {
        (ConsultationStatus::Ringing, Side::Client, _) => tr.t1("chat-status-ringing-client", "other", other),
        (ConsultationStatus::Ringing, Side::Expert, _) => tr.t1("chat-status-ringing-expert", "other", other),
        (ConsultationStatus::Live, Side::Client, false) => tr.t1("chat-status-answered-client", "other", other),
        (ConsultationStatus::Live, Side::Expert, false) => tr.t1("chat-status-answered-expert", "other", other),
        (ConsultationStatus::Live, _, true) => tr.t1("chat-status-live", "other", other),
        (ConsultationStatus::Settled, _, _) => tr.t("chat-status-settled"),
        (ConsultationStatus::Lost, _, _) => tr.t("chat-status-lost"),
    }
}

pub fn state_frame(tr: &Tr<'_>, state: &ChatState) -> Value {
    json!({
        "type": "state",
        "consultation": state.consultation.id.0,
        "status": status_str(state.consultation.status),
        "side": side_str(state.side),
        "other": state.other.display_name,
        "started": state.started,
        "paused": state.paused,
        "text": status_text(tr, state),
    })
}

pub fn ring_frame(tr: &Tr<'_>, state: &ChatState) -> Value {
    let client = state.other.display_name.as_str();
    json!({
        "type": "ring",
        "consultation": state.consultation.id.0,
        "client": client,
        "text": tr.t1("chat-ring", "client", client),
        "url": format!("/consultations/{}", state.consultation.id.0),
    })
}

/// "14:05" in the reader's zone.
pub fn clock_time(at: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    at.with_timezone(&zone).format("%H:%M").to_string()
}

pub fn message_frame(tr: &Tr<'_>, id: ConsultationId, m: &MessageView, reader: Side, zone: chrono_tz::Tz) -> Value {
    json!({
        "type": "message",
        "consultation": id.0,
        "seq": m.seq,
        "mine": m.author == reader,
        "author": side_str(m.author),
        "text": m.text,
        "masked": m.masked.then(|| tr.t("chat-masked")),
        "image": m.image.then(|| format!("/consultations/{}/images/{}", id.0, m.seq)),
        "key": m.client_key,
        "at": clock_time(m.sent_at, zone),
    })
}

pub fn meter_frame(tr: &Tr<'_>, id: ConsultationId, live: &LiveView, now: DateTime<Utc>) -> Value {
    let left = |at: Option<DateTime<Utc>>| at.map(|at| (at - now).num_seconds().max(0));
    json!({
        "type": "meter",
        "consultation": id.0,
        "running": live.running,
        "billable_seconds": live.billable_seconds,
        "charge": live.charge.format(tr.locale),
        "credit_left": live.credit_left.format(tr.locale),
        "cut_in": left(live.cut_at),
        "warned": live.warned,
        "paused_for": left(live.paused_until),
    })
}

/// The frame for an event about the chat the tab shows; `None` for what it does not show.
pub fn event_frame(
    tr: &Tr<'_>,
    id: ConsultationId,
    kind: &EventKind,
    reader: Side,
    zone: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Option<Value> {
    let c = id.0;
    let mine = |side: Side| side == reader;
    Some(match kind {
        EventKind::Ring { .. } | EventKind::RingOver => return None,
        EventKind::Answered => json!({ "type": "answered", "consultation": c, "text": tr.t(match reader {
            Side::Client => "chat-answered-client",
            Side::Expert => "chat-answered-expert",
        }) }),
        EventKind::Started { .. } => json!({ "type": "started", "consultation": c, "text": tr.t("chat-started") }),
        EventKind::Message(m) => message_frame(tr, id, m, reader, zone),
        EventKind::Typing { side } if !mine(*side) => json!({ "type": "typing", "consultation": c }),
        EventKind::Typing { .. } => return None,
        EventKind::Delivered { up_to } => json!({ "type": "delivered", "consultation": c, "up_to": up_to }),
        EventKind::Read { up_to } => json!({ "type": "read", "consultation": c, "up_to": up_to }),
        EventKind::Meter(live) => meter_frame(tr, id, live, now),
        EventKind::Warning { cut_at } => json!({
            "type": "warning",
            "consultation": c,
            "cut_in": (*cut_at - now).num_seconds().max(0),
            "text": tr.t(match reader { Side::Client => "chat-warning-client", Side::Expert => "chat-warning-expert" }),
        }),
        EventKind::Paused { until } => json!({
            "type": "paused",
            "consultation": c,
            "paused_for": (*until - now).num_seconds().max(0),
            "text": tr.t(match reader { Side::Client => "chat-paused-client", Side::Expert => "chat-paused-expert" }),
        }),
        EventKind::Resumed => json!({ "type": "resumed", "consultation": c, "text": tr.t("chat-resumed") }),
        EventKind::Reconnecting { side } => json!({
            "type": "reconnecting",
            "consultation": c,
            "side": side_str(*side),
            "text": tr.t(if mine(*side) { "chat-reconnecting-self" } else { "chat-reconnecting-other" }),
        }),
        EventKind::Back { side } => json!({
            "type": "back",
            "consultation": c,
            "side": side_str(*side),
            "text": tr.t("chat-back"),
        }),
        EventKind::Ended { reason, billable_seconds, charge, earnings, commission } => json!({
            "type": "ended",
            "consultation": c,
            "reason": reason.as_str(),
            "text": reason_text(tr, *reason, 4),
            "summary": summary_text(tr, reader, *billable_seconds, *charge, *earnings, *commission),
            "url": format!("/consultations/{c}"),
        }),
        EventKind::Lost { reason } => json!({
            "type": "lost",
            "consultation": c,
            "reason": reason.as_str(),
            "text": reason_text(tr, *reason, 4),
            "others": tr.t("chat-lost-others"),
            "url": "/?mode=chat",
        }),
        EventKind::Note { body } => json!({ "type": "note", "consultation": c, "body": body }),
    })
}
