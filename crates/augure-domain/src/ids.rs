//! Typed identifiers: a `UserId` can't be passed where a `SiteId` is expected.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// A person with an account: client, expert or admin.
    UserId,
    /// A country storefront.
    SiteId,
    /// A queued background job.
    JobId,
    /// A mail recorded in the outbox.
    MailId,
    /// A photo, audio clip or presentation an expert submitted for moderation.
    MediaId,
    /// An entry of a user's notification list.
    NotificationId,
    /// A text message recorded in the SMS outbox.
    SmsId,
    /// A consultation between a client and an expert, live or ended.
    ConsultationId,
);
