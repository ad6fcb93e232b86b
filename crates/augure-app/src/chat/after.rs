//! What follows the engine's notices for a chat: both parties' tabs are told; at the end
//! the expert is Available again, is mailed their earnings (WG-earnings), and a client
//! whose chat lasted long enough is invited to review it (SP-review); a ring nobody
//! answered alerts the expert by SMS, and a lost chat is recorded in their notifications.

use askama::Template;
use augure_domain::consultation::{Channel, EndReason};
use augure_domain::{ConsultationId, UserId};
use augure_store::{StoreError, StoreResult, User};

use super::{ChatError, Chats, Event, EventKind, Inner};
use crate::charging::{Ended, Notice, NoticeEvent};
use crate::i18n::Tr;
use crate::mail::Mail;
use crate::notifications::Notice as Alert;
use crate::sms::TextMessage;

pub(super) async fn on_notice(chats: &Chats, notice: Notice) {
    let inner = &chats.inner;
    let id = notice.id;
    let both = |kind: EventKind| {
        for user in [notice.client, notice.expert] {
            inner.hub.send(user, Event { consultation: id, kind: kind.clone() });
        }
    };
    match notice.event {
        NoticeEvent::Warning { cut_at } => {
            both(EventKind::Warning { cut_at });
            chats.send_meter(id).await;
        }
        NoticeEvent::Extended { .. } => chats.send_meter(id).await,
        NoticeEvent::Paused { until } => both(EventKind::Paused { until }),
        NoticeEvent::Resumed => {
            let now = inner.clock.now();
            let _ = chats.with_room(id, notice.client, |room, _| {
                room.paused = false;
                room.last_activity = now;
                Ok(())
            });
            both(EventKind::Resumed);
            chats.send_meter(id).await;
        }
        NoticeEvent::Reconnecting { side } => both(EventKind::Reconnecting { side }),
        NoticeEvent::Back { side } => {
            both(EventKind::Back { side });
            chats.send_meter(id).await;
        }
        NoticeEvent::Ended(ended) => {
            chats.close_room(id);
            both(EventKind::Ended {
                reason: ended.reason,
                billable_seconds: ended.billable_seconds,
                charge: ended.charge,
                earnings: ended.earnings,
                commission: ended.commission,
            });
            if let Err(e) = ended_effects(inner, &notice, ended).await {
                tracing::error!(consultation = %id, error = %e, "after-chat mail and notices failed");
            }
        }
        NoticeEvent::Lost { reason } => {
            chats.close_room(id);
            inner.hub.send(notice.client, Event { consultation: id, kind: EventKind::Lost { reason } });
            inner.hub.send(notice.expert, Event { consultation: id, kind: EventKind::RingOver });
            if let Err(e) = lost_effects(inner, &notice, reason).await {
                tracing::error!(consultation = %id, error = %e, "lost-chat notice failed");
            }
        }
    }
}

fn mail_error(e: askama::Error) -> StoreError {
    StoreError::Backend(Box::new(e))
}

/// "12 min 30 s" in the reader's language.
pub fn duration_words(tr: &Tr<'_>, seconds: u64) -> String {
    let (min, sec) = (seconds / 60, seconds % 60);
    tr.t_args("duration-min-sec", &[("min", min.to_string()), ("sec", sec.to_string())])
}

async fn ended_effects(inner: &Inner, notice: &Notice, ended: Ended) -> StoreResult<()> {
    let c = inner.store.consultation(notice.id).await?;
    if c.terms.channel != Channel::Chat {
        return Ok(());
    }
    inner.availability.set_busy(notice.expert, false).await?;
    let (client, expert) = (inner.store.user_by_id(notice.client).await?, inner.store.user_by_id(notice.expert).await?);
    let now = inner.clock.now();
    let base = inner.settings.public_url.trim_end_matches('/');
    let url = format!("{base}/consultations/{}", notice.id);
    if c.started_at.is_some() {
        let tr = Tr::new(&inner.i18n, &expert.locale);
        let args = [
            ("client", client.display_name.clone()),
            ("duration", duration_words(&tr, ended.billable_seconds)),
            ("charge", ended.charge.format(tr.locale)),
            ("earnings", ended.earnings.format(tr.locale)),
            ("commission", ended.commission.format(tr.locale)),
        ];
        let body = tr.t_args("mail-earnings-body", &args);
        let subject = tr.t1("mail-earnings-subject", "amount", &ended.earnings.format(tr.locale));
        let cta = tr.t("mail-earnings-cta");
        let mail = notice_mail(&expert, tr, subject, &body, &url, &cta).map_err(mail_error)?;
        mail.enqueue(&*inner.store, Some(format!("earnings:{}", notice.id)), now).await?;
    }
    let tr = Tr::new(&inner.i18n, &client.locale);
    let args = [
        ("expert", expert.display_name.clone()),
        ("duration", duration_words(&tr, ended.billable_seconds)),
        ("charge", ended.charge.format(tr.locale)),
    ];
    let alert = Alert {
        key: format!("consultation-ended:{}", notice.id),
        kind: "consultation_ended".into(),
        title: tr.t("notice-chat-ended-title"),
        body: tr.t_args(ended_key(ended.reason), &args),
        link: Some(format!("/consultations/{}", notice.id)),
    };
    notify(inner, client.id, alert).await;
    if ended.billable_seconds > inner.settings.consultations.review_after_seconds {
        let review = format!("{url}/review");
        let subject = tr.t1("mail-review-subject", "expert", &expert.display_name);
        let body = tr.t_args("mail-review-body", &args);
        let mail = notice_mail(&client, tr, subject, &body, &review, &tr.t("mail-review-cta")).map_err(mail_error)?;
        mail.enqueue(&*inner.store, Some(format!("review-invitation:{}", notice.id)), now).await?;
    }
    Ok(())
}

/// What the client is told of how their chat ended.
fn ended_key(reason: EndReason) -> &'static str {
    match reason {
        EndReason::CreditExhausted | EndReason::TopUpAbandoned => "notice-chat-ended-credit",
        EndReason::Idle => "notice-chat-ended-idle",
        EndReason::Disconnected | EndReason::Interrupted => "notice-chat-ended-interrupted",
        _ => "notice-chat-ended-body",
    }
}

async fn lost_effects(inner: &Inner, notice: &Notice, reason: EndReason) -> StoreResult<()> {
    let c = inner.store.consultation(notice.id).await?;
    if c.terms.channel != Channel::Chat || reason == EndReason::NoCredit {
        return Ok(());
    }
    let (client, expert) = (inner.store.user_by_id(notice.client).await?, inner.store.user_by_id(notice.expert).await?);
    let tr = Tr::new(&inner.i18n, &expert.locale);
    let key = match reason {
        EndReason::Refused => "notice-ring-refused-body",
        EndReason::ClientLeft => "notice-ring-withdrawn-body",
        _ => "notice-ring-missed-body",
    };
    let alert = Alert {
        key: format!("ring-missed:{}", notice.id),
        kind: "ring_missed".into(),
        title: tr.t("notice-ring-missed-title"),
        body: tr.t1(key, "client", &client.display_name),
        link: Some("/expert/dashboard".into()),
    };
    notify(inner, expert.id, alert).await;
    Ok(())
}

async fn notify(inner: &Inner, user: UserId, alert: Alert) {
    if let Err(e) = inner.notifications.notify(user, alert).await {
        tracing::error!(user = %user, error = %e, "notification not recorded");
    }
}

/// The ring went unanswered for the alert delay: an SMS to the expert's phone, or, when
/// they gave none that can take one, a notification only.
pub(super) async fn ring_alert(
    inner: &Inner,
    id: ConsultationId,
    client: UserId,
    expert: UserId,
) -> Result<(), ChatError> {
    let (client, expert) = (inner.store.user_by_id(client).await?, inner.store.user_by_id(expert).await?);
    let tr = Tr::new(&inner.i18n, &expert.locale);
    let text = tr.t1("sms-ring-alert", "client", &client.display_name);
    let phone = match inner.store.expert_details(expert.id).await {
        Ok(d) => augure_domain::phone::to_e164(&d.phone, Some(&d.country)).ok(),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let now = inner.clock.now();
    let sms = phone.and_then(|p| TextMessage::new(expert.id, &p, text.clone()).ok());
    match sms {
        Some(sms) => {
            let sms = sms.with_link("/expert/dashboard");
            sms.enqueue(&*inner.store, Some(format!("ring-alert:{id}")), now).await?;
        }
        None => {
            let alert = Alert {
                key: format!("ring-alert:{id}"),
                kind: "ring_missed".into(),
                title: tr.t("notice-ring-waiting-title"),
                body: text,
                link: Some("/expert/dashboard".into()),
            };
            notify(inner, expert.id, alert).await;
        }
    }
    Ok(())
}

fn notice_mail(
    to: &User,
    tr: Tr<'_>,
    subject: String,
    body: &str,
    url: &str,
    cta: &str,
) -> Result<Mail, askama::Error> {
    let name = to.display_name.as_str();
    Mail::render(
        to.email.as_str(),
        subject,
        &NoticeText { tr, name, body, url, cta },
        &NoticeHtml { tr, name, body, url, cta },
    )
    .map(|mail| mail.with_notice(body, Some(url)))
}

#[derive(Template)]
#[template(path = "mail/notice.txt")]
struct NoticeText<'a> {
    tr: Tr<'a>,
    name: &'a str,
    body: &'a str,
    url: &'a str,
    cta: &'a str,
}

#[derive(Template)]
#[template(path = "mail/notice.html")]
struct NoticeHtml<'a> {
    tr: Tr<'a>,
    name: &'a str,
    body: &'a str,
    url: &'a str,
    cta: &'a str,
}
