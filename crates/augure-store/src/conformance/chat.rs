//! SP-chat, SP-notes, SP-review: a chat's numbered transcript with its marks, flags and
//! retention; the expert's notes; reports, blocks and reviews.

use std::sync::Arc;

use augure_domain::ConsultationId;
use augure_domain::meter::Side;
use chrono::{DateTime, Duration, Utc};

use super::consultations::chats;
use super::{t0, user};
use crate::*;

fn secs(s: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(s)
}

/// `author` writes `text` in `c`, `s` seconds after t0, with nothing to mask.
fn said(c: &Consultation, author: Side, text: &str, s: i64) -> NewChatMessage {
    NewChatMessage {
        consultation: c.id,
        author,
        body: text.into(),
        masked: text.into(),
        flags: Vec::new(),
        image: None,
        client_key: None,
        at: secs(s),
    }
}

fn keyed(message: NewChatMessage, key: &str) -> NewChatMessage {
    NewChatMessage { client_key: Some(key.into()), ..message }
}

/// A message in which a phone number and an email address were masked.
fn with_contact(c: &Consultation, s: i64) -> NewChatMessage {
    NewChatMessage {
        body: "appelez le 0612345678 ou luna@example.fr".into(),
        masked: "appelez le ••• ou •••".into(),
        flags: vec!["phone".into(), "email".into()],
        ..said(c, Side::Expert, "", s)
    }
}

fn seqs(messages: &[ChatMessage]) -> Vec<i64> {
    messages.iter().map(|m| m.seq).collect()
}

async fn transcript(store: &dyn Store, c: &Consultation) -> Vec<ChatMessage> {
    store.chat_messages(c.id, 0, 100).await.unwrap()
}

pub async fn messages_are_numbered_per_consultation_and_resume_after_a_seq(store: Arc<dyn Store>) {
    let cs = chats(&*store, 2).await;
    let (c, other) = (&cs[0], &cs[1]);
    let first = store.append_chat_message(&said(c, Side::Client, "Bonjour Luna — été ?", 1)).await.unwrap().0;
    assert_eq!((first.consultation, first.seq, first.author), (c.id, 1, Side::Client));
    assert_eq!(first.body, "Bonjour Luna — été ?");
    assert!(first.flags.is_empty() && first.image.is_none());
    assert_eq!(
        (first.sent_at, first.delivered_at, first.read_at, first.client_key.as_ref()),
        (secs(1), None, None, None)
    );
    store.append_chat_message(&said(c, Side::Expert, "Bonjour", 2)).await.unwrap();
    store.append_chat_message(&said(c, Side::Client, "Alors ?", 3)).await.unwrap();
    let elsewhere = store.append_chat_message(&said(other, Side::Client, "Salut", 4)).await.unwrap().0;
    assert_eq!(elsewhere.seq, 1, "each consultation counts from 1");

    let all = transcript(&*store, c).await;
    assert_eq!(seqs(&all), [1, 2, 3]);
    assert_eq!(all[0], first);
    // A tab that saw message 1 resumes after it, a page at a time.
    assert_eq!(seqs(&store.chat_messages(c.id, 1, 100).await.unwrap()), [2, 3]);
    assert_eq!(seqs(&store.chat_messages(c.id, 1, 1).await.unwrap()), [2]);
    assert!(store.chat_messages(c.id, 3, 100).await.unwrap().is_empty());
    assert_eq!(transcript(&*store, other).await, [elsewhere]);
    let unknown = said(c, Side::Client, "?", 5);
    let unknown = NewChatMessage { consultation: ConsultationId(other.id.0 + 100), ..unknown };
    assert!(matches!(store.append_chat_message(&unknown).await, Err(StoreError::NotFound)));
}

pub async fn a_resend_with_the_same_client_key_returns_the_first_message(store: Arc<dyn Store>) {
    let c = &chats(&*store, 1).await[0];
    let (sent, new) = store.append_chat_message(&keyed(said(c, Side::Client, "Bonjour", 1), "tab-1:1")).await.unwrap();
    assert!(new);
    assert_eq!(sent.client_key.as_deref(), Some("tab-1:1"));
    // The tab reconnected and sends again: the first message, unchanged, nothing appended.
    let resent = keyed(said(c, Side::Client, "Bonjour !", 9), "tab-1:1");
    assert_eq!(store.append_chat_message(&resent).await.unwrap(), (sent.clone(), false), "not appended again");
    assert_eq!(transcript(&*store, c).await, std::slice::from_ref(&sent));
    // The key is the author's own: the other party's tab may use the same one.
    let theirs = store.append_chat_message(&keyed(said(c, Side::Expert, "Bonsoir", 2), "tab-1:1")).await.unwrap().0;
    assert_eq!((theirs.seq, theirs.author), (2, Side::Expert));
    // Without a key every send is a message.
    store.append_chat_message(&said(c, Side::Client, "Bonjour", 3)).await.unwrap();
    store.append_chat_message(&said(c, Side::Client, "Bonjour", 3)).await.unwrap();
    assert_eq!(seqs(&transcript(&*store, c).await), [1, 2, 3, 4]);
}

pub async fn concurrent_appends_to_one_consultation_take_distinct_numbers(store: Arc<dyn Store>) {
    let c = chats(&*store, 1).await.remove(0);
    let send = |message: NewChatMessage| {
        let store = store.clone();
        tokio::spawn(async move { store.append_chat_message(&message).await.unwrap().0 })
    };
    let mut tasks: Vec<_> = (0..8).map(|i| send(said(&c, Side::Client, &format!("m{i}"), i))).collect();
    // Two tabs resending one message at once store it once.
    tasks.extend((0..4).map(|i| send(keyed(said(&c, Side::Expert, "une fois", 10 + i), "tab-2:1"))));
    let mut resent = Vec::new();
    for task in tasks {
        let m = task.await.unwrap();
        if m.author == Side::Expert {
            resent.push(m);
        }
    }
    assert!(resent.windows(2).all(|w| w[0] == w[1]), "{resent:?}");
    assert_eq!(seqs(&transcript(&*store, &c).await), (1..=9).collect::<Vec<_>>());
}

pub async fn writes_batched_together_answer_in_order_as_each_alone_would(store: Arc<dyn Store>) {
    let cs = chats(&*store, 2).await;
    let (c, other) = (&cs[0], &cs[1]);
    let mark = |c: &Consultation, author, up_to, read, s| {
        ChatWrite::Mark(ChatMark { consultation: c.id, author, up_to, read, at: secs(s) })
    };
    // Two chats interleaved, a resend within the batch, and marks after what they mark.
    let writes = vec![
        ChatWrite::Append(keyed(said(other, Side::Client, "autre", 1), "o1")),
        ChatWrite::Append(keyed(said(c, Side::Client, "un", 1), "k1")),
        ChatWrite::Append(said(c, Side::Expert, "deux", 2)),
        ChatWrite::Append(keyed(said(c, Side::Client, "un (renvoyé)", 3), "k1")),
        mark(c, Side::Client, 1, false, 4),
        ChatWrite::Append(said(c, Side::Client, "trois", 5)),
        mark(c, Side::Expert, 2, true, 6),
    ];
    let written = store.write_chat(&writes).await.unwrap();
    let appended = |i: usize| match &written[i] {
        ChatWritten::Appended(m, new) => (m.consultation, m.seq, m.body.clone(), *new),
        other => panic!("write {i}: {other:?}"),
    };
    assert_eq!(appended(0), (other.id, 1, "autre".into(), true));
    assert_eq!(appended(1), (c.id, 1, "un".into(), true));
    assert_eq!(appended(2), (c.id, 2, "deux".into(), true));
    assert_eq!(appended(3), (c.id, 1, "un".into(), false), "the resend finds the first");
    assert_eq!(appended(5), (c.id, 3, "trois".into(), true));
    assert_eq!((&written[4], &written[6]), (&ChatWritten::Marked(1), &ChatWritten::Marked(1)));
    let kept = transcript(&*store, c).await;
    assert_eq!(seqs(&kept), [1, 2, 3]);
    assert_eq!((kept[0].delivered_at, kept[1].read_at, kept[2].delivered_at), (Some(secs(4)), Some(secs(6)), None));

    // One write that cannot be made fails the batch, and nothing of it is kept.
    let unknown = Consultation { id: ConsultationId(c.id.0 + 100), ..c.clone() };
    let failing = vec![
        ChatWrite::Append(said(c, Side::Client, "quatre", 7)),
        ChatWrite::Append(said(&unknown, Side::Client, "perdu", 7)),
    ];
    assert!(store.write_chat(&failing).await.is_err());
    assert_eq!(seqs(&transcript(&*store, c).await), [1, 2, 3]);
    assert!(store.write_chat(&[]).await.unwrap().is_empty());
}

pub async fn an_image_round_trips_and_a_message_without_one_has_none(store: Arc<dyn Store>) {
    let c = &chats(&*store, 1).await[0];
    let bytes: Vec<u8> = (0..=255).cycle().take(70_000).collect();
    let image = ChatImage { content: bytes.clone(), content_type: "image/webp".into(), width: 640, height: 480 };
    let sent = NewChatMessage { image: Some(image), ..said(c, Side::Client, "", 1) };
    let sent = store.append_chat_message(&sent).await.unwrap().0;
    assert_eq!(sent.image, Some(("image/webp".into(), 640, 480)));
    let text = store.append_chat_message(&said(c, Side::Expert, "Merci", 2)).await.unwrap().0;

    let (message, content) = store.chat_image(c.id, sent.seq).await.unwrap();
    assert_eq!((message, content), (sent.clone(), bytes));
    assert_eq!(transcript(&*store, c).await, [sent, text.clone()], "listings carry the image's type, not its bytes");
    assert!(matches!(store.chat_image(c.id, text.seq).await, Err(StoreError::NotFound)));
    assert!(matches!(store.chat_image(c.id, 99).await, Err(StoreError::NotFound)));
}

pub async fn delivered_and_read_marks_touch_the_authors_messages_up_to_the_given_one(store: Arc<dyn Store>) {
    let c = &chats(&*store, 1).await[0];
    for (author, s) in [(Side::Client, 1), (Side::Client, 2), (Side::Client, 3), (Side::Expert, 4)] {
        store.append_chat_message(&said(c, author, "…", s)).await.unwrap();
    }
    let marks = |store: Arc<dyn Store>| async move {
        transcript(&*store, c).await.into_iter().map(|m| (m.delivered_at, m.read_at)).collect::<Vec<_>>()
    };
    // The expert's tab got the client's messages up to 1 (and the expert's own 4 is not
    // the client's to mark).
    assert_eq!(store.mark_chat_delivered(c.id, Side::Client, 1, secs(10)).await.unwrap(), 1);
    assert_eq!(store.mark_chat_delivered(c.id, Side::Client, 1, secs(11)).await.unwrap(), 0, "marked already");
    // Read up to 2: message 1 keeps its first delivery, message 2 is delivered as it is read.
    assert_eq!(store.mark_chat_read(c.id, Side::Client, 2, secs(20)).await.unwrap(), 2);
    assert_eq!(store.mark_chat_read(c.id, Side::Client, 2, secs(21)).await.unwrap(), 0);
    let (at10, at20) = (Some(secs(10)), Some(secs(20)));
    assert_eq!(marks(store.clone()).await, [(at10, at20), (at20, at20), (None, None), (None, None)]);
    // Delivered up to 4 reaches the client's last one only.
    assert_eq!(store.mark_chat_delivered(c.id, Side::Client, 4, secs(30)).await.unwrap(), 1);
    assert_eq!(store.mark_chat_read(c.id, Side::Expert, 4, secs(40)).await.unwrap(), 1);
    let after = marks(store.clone()).await;
    assert_eq!(after[2..], [(Some(secs(30)), None), (Some(secs(40)), Some(secs(40)))]);
}

pub async fn flagged_messages_list_oldest_first_until_dismissed(store: Arc<dyn Store>) {
    let cs = chats(&*store, 2).await;
    let late = store.append_chat_message(&with_contact(&cs[0], 30)).await.unwrap().0;
    store.append_chat_message(&said(&cs[0], Side::Client, "rien à masquer", 31)).await.unwrap();
    let early = store.append_chat_message(&with_contact(&cs[1], 10)).await.unwrap().0;
    let dismissed = store.append_chat_message(&with_contact(&cs[1], 20)).await.unwrap().0;
    assert_eq!(early.flags, ["phone", "email"]);
    assert_eq!(early.text_for(Side::Client), "appelez le ••• ou •••");
    assert_eq!(early.text_for(Side::Expert), "appelez le 0612345678 ou luna@example.fr");

    assert!(store.dismiss_chat_flag(dismissed.consultation, dismissed.seq, secs(40)).await.unwrap());
    assert!(!store.dismiss_chat_flag(dismissed.consultation, dismissed.seq, secs(41)).await.unwrap(), "done already");
    assert!(!store.dismiss_chat_flag(cs[0].id, 2, secs(41)).await.unwrap(), "not flagged");
    assert!(!store.dismiss_chat_flag(cs[0].id, 99, secs(41)).await.unwrap(), "unknown");
    assert_eq!(store.flagged_chat_messages(10).await.unwrap(), [early.clone(), late]);
    assert_eq!(store.flagged_chat_messages(1).await.unwrap(), [early]);
}

pub async fn old_messages_are_purged_in_batches_with_their_images(store: Arc<dyn Store>) {
    let c = &chats(&*store, 1).await[0];
    let image = ChatImage { content: vec![1, 2, 3], content_type: "image/png".into(), width: 1, height: 1 };
    let old_image = NewChatMessage { image: Some(image), ..said(c, Side::Client, "", 0) };
    let old_image = store.append_chat_message(&old_image).await.unwrap().0;
    for s in 1..3 {
        store.append_chat_message(&said(c, Side::Expert, "ancien", s)).await.unwrap();
    }
    let day = 24 * 3600;
    let recent = store.append_chat_message(&said(c, Side::Client, "récent", 10 * day)).await.unwrap().0;
    let cut = secs(5 * day);
    assert_eq!(store.purge_chat_messages(cut, 2).await.unwrap(), 2);
    assert_eq!(store.purge_chat_messages(cut, 2).await.unwrap(), 1);
    assert_eq!(store.purge_chat_messages(cut, 2).await.unwrap(), 0);
    assert_eq!(transcript(&*store, c).await, [recent]);
    assert!(matches!(store.chat_image(c.id, old_image.seq).await, Err(StoreError::NotFound)));
}

pub async fn an_expert_note_is_replaced_deleted_when_emptied_and_listed_newest_first(store: Arc<dyn Store>) {
    let c = &chats(&*store, 1).await[0];
    let (expert, marie, paul) = (c.expert, c.client, user(&*store, "paul@example.fr").await.id);
    assert_eq!(store.expert_note(expert, marie).await.unwrap(), None);
    store.set_expert_note(expert, marie, "Aime le tarot", secs(1)).await.unwrap();
    store.set_expert_note(expert, paul, "Première fois", secs(2)).await.unwrap();
    store.set_expert_note(expert, marie, "Aime le tarot, revient en juin", secs(3)).await.unwrap();
    let note = ExpertNote { expert, client: marie, body: "Aime le tarot, revient en juin".into(), updated_at: secs(3) };
    assert_eq!(store.expert_note(expert, marie).await.unwrap(), Some(note.clone()));
    let clients = |notes: Vec<ExpertNote>| notes.into_iter().map(|n| n.client).collect::<Vec<_>>();
    assert_eq!(clients(store.expert_notes(expert, 10).await.unwrap()), [marie, paul], "the latest edit first");
    assert_eq!(store.expert_notes(expert, 1).await.unwrap(), [note]);
    assert!(store.expert_notes(marie, 10).await.unwrap().is_empty(), "a note is its expert's");

    store.set_expert_note(expert, marie, "  \n ", secs(4)).await.unwrap();
    assert_eq!(store.expert_note(expert, marie).await.unwrap(), None);
    assert_eq!(clients(store.expert_notes(expert, 10).await.unwrap()), [paul]);
    store.set_expert_note(expert, marie, "", secs(5)).await.expect("deleting no note is fine");
}

pub async fn a_party_reports_once_per_consultation_and_an_admin_resolves_it(store: Arc<dyn Store>) {
    let cs = chats(&*store, 2).await;
    let report = |c: &Consultation, reporter, reported, reason: &str, s| NewReport {
        consultation: c.id,
        reporter,
        reported,
        reason: reason.into(),
        at: secs(s),
    };
    let by_client = store.report_party(&report(&cs[0], cs[0].client, cs[0].expert, "Insultant", 10)).await.unwrap();
    assert_eq!((by_client.reason.as_str(), by_client.created_at, by_client.resolved_at), ("Insultant", secs(10), None));
    let again = report(&cs[0], cs[0].client, cs[0].expert, "Encore", 20);
    assert_eq!(store.report_party(&again).await.unwrap(), by_client, "once per consultation and reporter");
    let by_expert = store.report_party(&report(&cs[0], cs[0].expert, cs[0].client, "Spam", 5)).await.unwrap();
    let other = store.report_party(&report(&cs[1], cs[1].client, cs[1].expert, "Absent", 15)).await.unwrap();
    assert_ne!(by_expert.id, by_client.id);
    assert_eq!(store.open_reports(10).await.unwrap(), [by_expert.clone(), by_client.clone(), other.clone()]);

    assert!(store.resolve_report(by_client.id, secs(30)).await.unwrap());
    assert!(!store.resolve_report(by_client.id, secs(31)).await.unwrap(), "handled already");
    assert!(!store.resolve_report(other.id + 100, secs(31)).await.unwrap(), "unknown");
    assert_eq!(store.open_reports(10).await.unwrap(), [by_expert.clone(), other]);
    assert_eq!(store.open_reports(1).await.unwrap(), [by_expert]);
    let resolved = store.report_party(&again).await.unwrap();
    assert_eq!(resolved.resolved_at, Some(secs(30)), "reporting again reopens nothing");
}

pub async fn a_block_is_kept_once_and_lifted(store: Arc<dyn Store>) {
    let c = &chats(&*store, 1).await[0];
    let (expert, marie, paul) = (c.expert, c.client, user(&*store, "paul@example.fr").await.id);
    assert!(!store.is_blocked(expert, marie).await.unwrap());
    store.block_client(expert, marie, secs(1)).await.unwrap();
    store.block_client(expert, paul, secs(2)).await.unwrap();
    store.block_client(expert, marie, secs(3)).await.expect("blocking twice changes nothing");
    assert!(store.is_blocked(expert, marie).await.unwrap());
    assert!(!store.is_blocked(marie, expert).await.unwrap(), "one way only");
    assert_eq!(store.blocked_clients(expert).await.unwrap(), [(paul, secs(2)), (marie, secs(1))]);

    store.unblock_client(expert, marie).await.unwrap();
    store.unblock_client(expert, marie).await.expect("unblocking twice is fine");
    assert!(!store.is_blocked(expert, marie).await.unwrap());
    assert_eq!(store.blocked_clients(expert).await.unwrap(), [(paul, secs(2))]);
    assert!(store.blocked_clients(paul).await.unwrap().is_empty());
}

pub async fn a_review_is_pending_once_per_consultation_and_rated_one_to_five(store: Arc<dyn Store>) {
    let cs = chats(&*store, 2).await;
    let c = &cs[0];
    let new = |rating, body: &str| NewReview {
        consultation: c.id,
        client: c.client,
        expert: c.expert,
        rating,
        body: body.into(),
        at: secs(60),
    };
    assert_eq!(store.review(c.id).await.unwrap(), None);
    for rating in [0, 6, 255] {
        let refused = store.submit_review(&new(rating, "hors barème")).await;
        assert!(refused.is_err(), "rating {rating}: {refused:?}");
    }
    assert_eq!(store.review(c.id).await.unwrap(), None, "a refused rating stores nothing");
    let review = store.submit_review(&new(5, "Très juste, merci")).await.unwrap();
    let expected = Review {
        consultation: c.id,
        client: c.client,
        expert: c.expert,
        rating: 5,
        body: "Très juste, merci".into(),
        status: ReviewStatus::Pending,
        created_at: secs(60),
    };
    assert_eq!(review, expected);
    assert_eq!(store.review(c.id).await.unwrap(), Some(expected.clone()));
    let second = store.submit_review(&new(1, "Finalement non")).await;
    assert!(matches!(second, Err(StoreError::Conflict("review"))), "{second:?}");
    assert_eq!(store.review(c.id).await.unwrap(), Some(expected), "the first one stays");
    let lowest = NewReview { consultation: cs[1].id, expert: cs[1].expert, ..new(1, "") };
    assert_eq!(store.submit_review(&lowest).await.unwrap().rating, 1);
}
