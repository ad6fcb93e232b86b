//! SP-media, SP-presentation: an expert's photo, audio presentation and presentation
//! texts go through moderation; clients only ever see what an admin approved.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use augure_domain::media::{MediaKind, PresentationPolicy};
use augure_domain::{Clock, MediaId, UserId};
use augure_media::{AudioLimits, MediaError, PhotoLimits};
use augure_store::{MediaItem, NewMedia, Store, StoreError, User};
use serde::Deserialize;

use crate::directory::DirectoryChanges;
use crate::i18n::{I18n, Tr};
use crate::mail::Mail;
use crate::settings::Settings;

/// Upload limits (SP-media), every one a setting.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct MediaSettings {
    pub photo_max_upload_bytes: usize,
    /// Longest side of the published photo, in pixels.
    pub photo_max_side: u32,
    /// Larger decoded images are refused (decompression bombs).
    pub photo_max_input_side: u32,
    pub audio_max_bytes: usize,
    pub audio_min_seconds: u32,
    pub audio_max_seconds: u32,
    pub presentation: PresentationPolicy,
    /// Uploads decoded at once: a photo can take up to 256 MB while it is decoded.
    pub decodes_at_once: usize,
    /// How long an upload waits for a decoding slot before the expert is asked to retry.
    pub decode_wait_seconds: u64,
}

impl Default for MediaSettings {
    fn default() -> Self {
        Self {
            photo_max_upload_bytes: 5 * 1024 * 1024,
            photo_max_side: 800,
            photo_max_input_side: 8000,
            audio_max_bytes: 2 * 1024 * 1024,
            audio_min_seconds: 15,
            audio_max_seconds: 30,
            presentation: PresentationPolicy::default(),
            decodes_at_once: 2,
            decode_wait_seconds: 10,
        }
    }
}

impl MediaSettings {
    fn photo_limits(&self) -> PhotoLimits {
        PhotoLimits {
            max_upload_bytes: self.photo_max_upload_bytes,
            max_input_side: self.photo_max_input_side,
            max_output_side: self.photo_max_side,
            ..PhotoLimits::default()
        }
    }

    fn audio_limits(&self) -> AudioLimits {
        AudioLimits {
            max_upload_bytes: self.audio_max_bytes,
            min_duration_ms: self.audio_min_seconds.saturating_mul(1000),
            max_duration_ms: self.audio_max_seconds.saturating_mul(1000),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MediaServiceError {
    #[error(transparent)]
    Invalid(#[from] MediaError),
    #[error("the presentation must be {min} to {max} characters long")]
    PresentationLength { min: usize, max: usize },
    #[error("unsupported language")]
    UnsupportedLocale,
    #[error(transparent)]
    Text(#[from] augure_domain::TextError),
    #[error("a refusal needs a reason")]
    ReasonMissing,
    #[error("this submission was already decided")]
    AlreadyDecided,
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Store(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
    /// Every decoding slot stayed taken: try again in a moment.
    #[error("too many uploads are being processed")]
    Busy,
}

impl From<StoreError> for MediaServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict(_) => Self::AlreadyDecided,
            other => Self::Store(other),
        }
    }
}

#[derive(Clone)]
pub struct Media {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    settings: Arc<Settings>,
    i18n: Arc<I18n>,
    changes: DirectoryChanges,
    /// Bounds the memory that decoding uploads takes.
    decodes: Arc<tokio::sync::Semaphore>,
}

impl Media {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: Arc<Settings>,
        i18n: Arc<I18n>,
        changes: DirectoryChanges,
    ) -> Self {
        let decodes = Arc::new(tokio::sync::Semaphore::new(settings.media.decodes_at_once));
        Self { store, clock, settings, i18n, changes, decodes }
    }

    /// A decoding slot, waited for at most `decode_wait_seconds`.
    async fn decoding_slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, MediaServiceError> {
        let wait = std::time::Duration::from_secs(self.settings.media.decode_wait_seconds);
        match tokio::time::timeout(wait, self.decodes.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(MediaServiceError::Busy),
        }
    }

    pub fn settings(&self) -> &MediaSettings {
        &self.settings.media
    }

    /// Decodes and re-encodes the photo (EXIF gone, bounded size), then queues it.
    pub async fn submit_photo(&self, user: UserId, bytes: Vec<u8>) -> Result<MediaItem, MediaServiceError> {
        let photo = self.process_photo(bytes).await?;
        let item = NewMedia {
            user_id: user,
            kind: MediaKind::Photo,
            locale: String::new(),
            content: photo.bytes,
            content_type: augure_media::PHOTO_CONTENT_TYPE.into(),
            body: String::new(),
            width: Some(photo.width),
            height: Some(photo.height),
            duration_ms: None,
            created_at: self.clock.now(),
        };
        Ok(self.store.submit_media(&item).await?)
    }

    /// Decodes and re-encodes a photo as profile photos are (a chat's images too), within
    /// the bound on photos decoded at once.
    pub async fn process_photo(&self, bytes: Vec<u8>) -> Result<augure_media::Photo, MediaServiceError> {
        let limits = self.settings.media.photo_limits();
        let slot = self.decoding_slot().await?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            augure_media::process_photo(&bytes, &limits)
        })
        .await
        .map_err(|e| MediaServiceError::Internal(e.to_string()))?
        .map_err(Into::into)
    }

    /// Decodes the whole MP3 (a truncated or fake file is refused), then queues it.
    pub async fn submit_audio(&self, user: UserId, bytes: Vec<u8>) -> Result<MediaItem, MediaServiceError> {
        let limits = self.settings.media.audio_limits();
        let slot = self.decoding_slot().await?;
        let audio = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            augure_media::process_audio(&bytes, &limits)
        })
        .await
        .map_err(|e| MediaServiceError::Internal(e.to_string()))??;
        let item = NewMedia {
            user_id: user,
            kind: MediaKind::Audio,
            locale: String::new(),
            content: audio.bytes,
            content_type: augure_media::AUDIO_CONTENT_TYPE.into(),
            body: String::new(),
            width: None,
            height: None,
            duration_ms: Some(audio.duration_ms),
            created_at: self.clock.now(),
        };
        Ok(self.store.submit_media(&item).await?)
    }

    pub async fn submit_presentation(
        &self,
        user: UserId,
        locale: &str,
        text: &str,
    ) -> Result<MediaItem, MediaServiceError> {
        let locale = I18n::supported(locale).ok_or(MediaServiceError::UnsupportedLocale)?;
        let text = text.trim().replace("\r\n", "\n");
        augure_domain::check_text(&text)?;
        let policy = &self.settings.media.presentation;
        let length = text.chars().count();
        if length < policy.min_chars || length > policy.max_chars {
            return Err(MediaServiceError::PresentationLength { min: policy.min_chars, max: policy.max_chars });
        }
        let item = NewMedia {
            user_id: user,
            kind: MediaKind::Presentation,
            locale: locale.into(),
            content: Vec::new(),
            content_type: String::new(),
            body: text,
            width: None,
            height: None,
            duration_ms: None,
            created_at: self.clock.now(),
        };
        Ok(self.store.submit_media(&item).await?)
    }

    pub async fn queue(&self, limit: i64) -> Result<Vec<MediaItem>, MediaServiceError> {
        Ok(self.store.pending_media(limit).await?)
    }

    /// The moderation queue, oldest first, each submission with its expert's account.
    pub async fn queue_with_experts(&self, limit: i64) -> Result<Vec<(MediaItem, User)>, MediaServiceError> {
        let queue = self.queue(limit).await?;
        let mut experts: HashMap<UserId, User> = HashMap::new();
        let mut items = Vec::with_capacity(queue.len());
        for item in queue {
            // One read per expert, however many of their submissions wait.
            let expert = match experts.get(&item.user_id) {
                Some(user) => user.clone(),
                None => {
                    let user = self.store.user_by_id(item.user_id).await?;
                    experts.insert(item.user_id, user.clone());
                    user
                }
            };
            items.push((item, expert));
        }
        Ok(items)
    }

    /// Approves or refuses (with a reason) a pending submission and emails the expert.
    pub async fn decide(
        &self,
        id: MediaId,
        approve: bool,
        reason: Option<&str>,
    ) -> Result<MediaItem, MediaServiceError> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if let Some(reason) = reason {
            augure_domain::check_text(reason)?;
        }
        if !approve && reason.is_none() {
            return Err(MediaServiceError::ReasonMissing);
        }
        let reason = reason.map(|r| r.chars().take(500).collect::<String>());
        let now = self.clock.now();
        let item = self.store.decide_media(id, approve, reason.as_deref(), now).await?;
        if approve {
            self.changes.changed();
        }
        let expert = self.store.user_by_id(item.user_id).await?;
        let tr = Tr::new(&self.i18n, &expert.locale);
        let what = tr.t(&format!("media-kind-{}", item.kind));
        let dashboard_url = format!("{}/expert/profile", self.settings.public_url.trim_end_matches('/'));
        // The kind goes along so each language can agree the word with it in gender.
        let key = if approve { "mail-media-approved-subject" } else { "mail-media-refused-subject" };
        let subject = tr.t2(key, "what", &what, "kind", &item.kind.to_string());
        let (name, reason, url) = (expert.display_name.as_str(), reason.as_deref(), dashboard_url.as_str());
        let mail = Mail::render(
            expert.email.as_str(),
            subject,
            &DecisionText { tr, name, what: &what, approved: approve, reason, url },
            &DecisionHtml { tr, name, what: &what, approved: approve, reason, url },
        )
        .map_err(|e| MediaServiceError::Internal(e.to_string()))?
        .with_notice(decision_notice(&tr, &what, approve, reason), Some(url));
        mail.enqueue(&*self.store, Some(format!("media-decision:{}", item.id)), now).await?;
        Ok(item)
    }

    /// What clients see: the latest approved photo, audio and presentations.
    pub async fn published(&self, user: UserId) -> Result<Vec<MediaItem>, MediaServiceError> {
        Ok(self.store.published_media(user).await?)
    }

    /// What the expert sees of their own submissions.
    pub async fn latest(&self, user: UserId) -> Result<Vec<MediaItem>, MediaServiceError> {
        Ok(self.store.latest_media(user).await?)
    }

    /// The bytes of an item, for whoever may see it: anyone once approved; before that,
    /// only its expert and admins (`may_preview`).
    pub async fn content(
        &self,
        id: MediaId,
        viewer: Option<(UserId, bool)>,
    ) -> Result<(MediaItem, Vec<u8>), MediaServiceError> {
        let (item, bytes) = self.store.media_content(id).await?;
        let public = item.status == augure_domain::media::MediaStatus::Approved;
        let allowed = public || viewer.is_some_and(|(who, admin)| admin || who == item.user_id);
        if !allowed || item.kind == MediaKind::Presentation {
            return Err(MediaServiceError::NotFound);
        }
        Ok((item, bytes))
    }
}

/// The mail telling an expert what moderation decided; text and HTML share the fields.
macro_rules! decision_mail {
    ($($name:ident => $path:literal),*) => {$(
        #[derive(Template)]
        #[template(path = $path)]
        struct $name<'a> {
            tr: Tr<'a>,
            name: &'a str,
            what: &'a str,
            approved: bool,
            reason: Option<&'a str>,
            url: &'a str,
        }
    )*};
}

decision_mail!(DecisionText => "mail/media_decision.txt", DecisionHtml => "mail/media_decision.html");

/// The decision as the expert's notification list tells it: the mail's paragraph, and
/// the reason for a refusal.
fn decision_notice(tr: &Tr<'_>, what: &str, approved: bool, reason: Option<&str>) -> String {
    if approved {
        return tr.t1("mail-media-approved-body", "what", what);
    }
    let refused = tr.t1("mail-media-refused-body", "what", what);
    match reason {
        Some(reason) => format!("{refused} {}", tr.t1("notice-media-reason", "reason", reason)),
        None => refused,
    }
}
