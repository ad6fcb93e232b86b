//! End-to-end tests of the whole application over HTTP: one test binary (fast to link),
//! one module per area.

mod accounts_api;
mod accounts_pages;
mod amount_bounds;
mod api_document;
mod bad_input;
mod browser;
mod chat;
mod chat_admin;
mod chat_browser;
mod chat_commission;
mod chat_crash;
mod cli;
mod consultations;
mod consultations_api;
mod crash;
mod credit;
mod directory;
mod expert_status;
mod ledger;
mod media;
mod notifications;
mod ops;
mod payment_incidents;
mod planning;
mod prices;
mod profile_edit;
mod quote;
mod readable;
mod retention;
mod site_pages;
mod text_input;
