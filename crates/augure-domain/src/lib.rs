//! augure's business rules. Nothing here performs I/O: time comes from a [`Clock`],
//! randomness and storage from the callers.

pub mod account;
pub mod availability;
pub mod bank;
pub mod charging;
pub mod chat;
pub mod clock;
pub mod consultation;
pub mod credit;
pub mod expert;
pub mod ids;
pub mod jobs;
pub mod ledger;
pub mod legal;
pub mod media;
pub mod meter;
pub mod money;
pub mod phone;
pub mod planning;
pub mod pricing;
pub mod refund;
pub mod search;
pub mod site;
pub mod tariff;
pub mod text;

pub use account::{DISPLAY_NAME_MAX, Email, ExpertCode, PasswordError, PasswordPolicy, Role, check_display_name};
pub use clock::{Clock, FakeClock};
pub use expert::Mode;
pub use ids::{ConsultationId, JobId, MailId, MediaId, SiteId, UserId};
pub use money::{Currency, Money, MoneyError};
pub use site::{NewSite, Site, SiteCode, Tariff};
pub use text::{TextError, check_line, check_text};
