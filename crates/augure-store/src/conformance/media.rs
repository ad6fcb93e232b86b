//! Photos and presentations, their moderation and what is published.

use std::sync::Arc;

use augure_domain::{Role, UserId};
use chrono::{DateTime, Duration, Utc};

use super::{new_user, profile, t0};
use crate::*;

fn photo(user: UserId, at: DateTime<Utc>, bytes: &[u8]) -> NewMedia {
    NewMedia {
        user_id: user,
        kind: augure_domain::media::MediaKind::Photo,
        locale: String::new(),
        content: bytes.to_vec(),
        content_type: "image/jpeg".into(),
        body: String::new(),
        width: Some(800),
        height: Some(600),
        duration_ms: None,
        created_at: at,
    }
}

fn presentation(user: UserId, locale: &str, text: &str, at: DateTime<Utc>) -> NewMedia {
    NewMedia {
        kind: augure_domain::media::MediaKind::Presentation,
        locale: locale.into(),
        content: Vec::new(),
        content_type: String::new(),
        body: text.into(),
        width: None,
        height: None,
        ..photo(user, at, &[])
    }
}

pub async fn media_waits_for_moderation_and_publishes_the_latest_approved(store: Arc<dyn Store>) {
    use augure_domain::media::{MediaKind, MediaStatus};
    let luna = store.create_user(&new_user("luna@example.fr", Role::Expert)).await.unwrap();
    store.upsert_expert_profile(&profile(luna.id)).await.unwrap();
    let first = store.submit_media(&photo(luna.id, t0(), &[0xFF, 0xD8, 1, 2, 3])).await.unwrap();
    assert_eq!((first.status, first.size, first.width), (MediaStatus::Pending, 5, Some(800)));
    assert!(store.published_media(luna.id).await.unwrap().is_empty(), "nothing public before approval");
    assert_eq!(store.pending_media(10).await.unwrap(), vec![first.clone()]);
    let (item, bytes) = store.media_content(first.id).await.unwrap();
    assert_eq!((item, bytes), (first.clone(), vec![0xFF, 0xD8, 1, 2, 3]));

    let approved = store.decide_media(first.id, true, None, t0() + Duration::hours(1)).await.unwrap();
    assert_eq!((approved.status, approved.decided_at), (MediaStatus::Approved, Some(t0() + Duration::hours(1))));
    assert!(matches!(store.decide_media(first.id, false, Some("late"), t0()).await, Err(StoreError::Conflict(_))));
    assert!(matches!(
        store.decide_media(augure_domain::MediaId(9999), true, None, t0()).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.directory().await.unwrap()[0].photo, Some(first.id));

    // A new photo waits; the approved one stays public. A second pending one supersedes it.
    let second = store.submit_media(&photo(luna.id, t0() + Duration::hours(2), &[0xFF, 0xD8, 9])).await.unwrap();
    let third = store.submit_media(&photo(luna.id, t0() + Duration::hours(3), &[0xFF, 0xD8, 7])).await.unwrap();
    assert_eq!(store.media_item(second.id).await.unwrap().status, MediaStatus::Superseded);
    assert!(matches!(store.decide_media(second.id, true, None, t0()).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.pending_media(10).await.unwrap().iter().map(|m| m.id).collect::<Vec<_>>(), vec![third.id]);
    assert_eq!(store.published_media(luna.id).await.unwrap().iter().map(|m| m.id).collect::<Vec<_>>(), vec![first.id]);
    assert_eq!(store.latest_media(luna.id).await.unwrap().iter().map(|m| m.id).collect::<Vec<_>>(), vec![third.id]);

    let refused = store.decide_media(third.id, false, Some("Blurry"), t0() + Duration::hours(4)).await.unwrap();
    assert_eq!((refused.status, refused.reason.as_deref()), (MediaStatus::Refused, Some("Blurry")));
    assert_eq!(store.directory().await.unwrap()[0].photo, Some(first.id), "the refused one is never shown");

    // Presentations: one per language, in the directory once approved.
    let fr = store.submit_media(&presentation(luna.id, "fr", "Tarologue depuis vingt ans.", t0())).await.unwrap();
    let it = store.submit_media(&presentation(luna.id, "it", "Cartomante da vent'anni.", t0())).await.unwrap();
    assert_eq!((fr.kind, fr.body.as_str()), (MediaKind::Presentation, "Tarologue depuis vingt ans."));
    store.decide_media(fr.id, true, None, t0()).await.unwrap();
    store.decide_media(it.id, true, None, t0()).await.unwrap();
    let entry = &store.directory().await.unwrap()[0];
    assert_eq!(
        entry.presentations,
        vec![
            ("fr".to_owned(), "Tarologue depuis vingt ans.".to_owned()),
            ("it".to_owned(), "Cartomante da vent'anni.".to_owned())
        ]
    );
    let published = store.published_media(luna.id).await.unwrap();
    assert_eq!(published.len(), 3, "a photo and two presentations");
}
