//! The behaviour every backend must show. Each backend crate runs it with
//! [`conformance_tests!`](crate::conformance_tests), which makes one `#[tokio::test]` per
//! function in the submodules here (one per aggregate), each on a fresh database.
//!
//! This module holds the fixtures the aggregates share, and the ledger rows the migration
//! tests start from (other older rows: [`upgrades`]).

pub mod accounts;
pub mod chat;
pub mod commissions;
pub mod consultations;
pub mod experts;
pub mod jobs;
pub mod ledger;
pub mod legal;
pub mod mail;
pub mod media;
pub mod notifications;
pub mod payments;
pub mod planning;
pub mod sites;
pub mod sms;
pub mod upgrades;

use augure_domain::ledger::{AccountId, Balances, TransferMode, TransferRequest};
use augure_domain::site::NewSite;
use augure_domain::{Currency, Email, Money, Role, Tariff, UserId};
use chrono::{DateTime, Utc};

use crate::*;

// In this module `ledger` is the ledger tests' module: the fixtures below that name the
// domain's `ledger` module import it in their body.

/// A fixed instant so that every backend sees the same times.
pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000, 123_456_000).expect("valid instant")
}

fn new_site(code: &str) -> NewSite {
    NewSite {
        code: code.parse().expect("site code"),
        name: format!("augure {code}"),
        currency: Currency::Chf,
        time_zone: chrono_tz::Europe::Zurich,
        default_locale: "fr".into(),
        phone_numbers: vec!["+41900000000".into()],
        tariffs: vec![Tariff {
            code: "audiotel".into(),
            label: "2,50 CHF/min".into(),
            phone_number: Some("+41900000000".into()),
            per_minute: Some(Money::new(250, Currency::Chf)),
            per_call: None,
        }],
        imposed_per_minute: None,
    }
}

fn new_user(email: &str, role: Role) -> NewUser {
    NewUser {
        email: email.parse::<Email>().expect("email"),
        role,
        display_name: "Luna".into(),
        locale: "fr".into(),
        site_id: None,
        expert_code: None,
        password_hash: "$argon2id$fake".into(),
        created_at: t0(),
    }
}

async fn user(store: &dyn Store, email: &str) -> User {
    store.create_user(&new_user(email, Role::Client)).await.expect("create user")
}

fn profile(user: UserId) -> ExpertProfile {
    ExpertProfile {
        user_id: user,
        headline: "Tarologue depuis 20 ans".into(),
        specialties: vec!["tarot".into(), "astrology".into()],
        languages: vec!["fr".into(), "it".into()],
        modes: vec![augure_domain::Mode::Phone, augure_domain::Mode::Email],
        prices: vec![augure_domain::pricing::PriceSet {
            email: Some(Money::new(2500, Currency::Eur)),
            ..augure_domain::pricing::PriceSet::per_minute(Money::new(299, Currency::Eur))
        }],
    }
}

fn session(hash: &str, user: UserId, expires_at: DateTime<Utc>) -> NewSession {
    NewSession { token_hash: hash.into(), user_id: user, kind: SessionKind::Web, created_at: t0(), expires_at }
}

fn job(kind: &str, key: Option<&str>, run_at: DateTime<Utc>) -> NewJob {
    NewJob {
        kind: kind.into(),
        payload: serde_json::json!({"to": "a@b.fr", "n": 1}),
        unique_key: key.map(str::to_owned),
        run_at,
        created_at: t0(),
    }
}

/// A posted transfer of `amount` euro cents.
pub fn xfer(key: &str, debit: AccountId, credit: AccountId, amount: i64) -> TransferRequest {
    TransferRequest {
        key: key.into(),
        debit,
        credit,
        amount: Some(amount),
        currency: Currency::Eur,
        code: "test".into(),
        user_data: Some("ref".into()),
        mode: TransferMode::Posted,
        pending_key: None,
        linked: false,
    }
}

async fn balances(store: &dyn Store, id: AccountId) -> Balances {
    store.ledger_account_by_id(id).await.unwrap().0.balances
}

async fn assert_sound(store: &dyn Store) {
    use augure_domain::ledger;
    let audit = ledger::audit(&store.ledger_snapshot().await.unwrap());
    assert!(audit.problems.is_empty(), "{:?}", audit.problems);
}

/// What a suite does when the service it needs (PostgreSQL, Chromium, an SMTP sink) is not
/// there: on a laptop it skips with the reason; with `CI=true` it fails, because CI must
/// run every suite.
pub fn service_missing<T>(service: &str, reason: impl std::fmt::Display) -> Option<T> {
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{service} is required when CI=true: {reason}");
    }
    eprintln!("skipped: {service} unavailable ({reason})");
    None
}

/// The last migration that kept ledger entries in their own table.
pub const MIGRATIONS_WITH_ENTRIES_TABLE: i64 = 9;

/// Ledger rows as stored up to [`MIGRATIONS_WITH_ENTRIES_TABLE`]: three accounts (ids 1–3),
/// a posted transfer 1 → 2, a hold 2 → 3 and its partial post, with their six entries.
pub const LEDGER_WITH_ENTRIES_TABLE: &[&str] = &[
    "INSERT INTO ledger_accounts (owner_key, kind, currency, flags, debits_pending, debits_posted, credits_pending, \
     credits_posted, version, created_at) VALUES \
     ('platform', 'provider_clearing', 'EUR', 0, 0, 100, 0, 0, 1, 0), \
     ('platform', 'platform_revenue', 'EUR', 0, 0, 20, 0, 100, 3, 0), \
     ('platform', 'promotions', 'EUR', 0, 0, 0, 0, 20, 2, 0)",
    "INSERT INTO ledger_transfers (transfer_key, debit_account_id, credit_account_id, amount, requested_amount, \
     currency, code, mode, pending_id, pending_key, linked, created_at) VALUES \
     ('t1', 1, 2, 100, 100, 'EUR', 'test', 'posted', NULL, NULL, 0, 0), \
     ('t2', 2, 3, 30, 30, 'EUR', 'test', 'pending', NULL, NULL, 0, 0)",
    "INSERT INTO ledger_transfers (transfer_key, debit_account_id, credit_account_id, amount, requested_amount, \
     currency, code, mode, pending_id, pending_key, linked, created_at) VALUES \
     ('t3', 2, 3, 20, 20, 'EUR', 'test', 'post_pending', 2, 't2', 0, 0)",
    "INSERT INTO ledger_entries (account_id, version, transfer_id, debits_pending, debits_posted, credits_pending, \
     credits_posted) VALUES \
     (1, 1, 1, 0, 100, 0, 0), \
     (2, 1, 1, 0, 0, 0, 100), (2, 2, 2, 30, 0, 0, 100), (2, 3, 3, 0, 20, 0, 100), \
     (3, 1, 2, 0, 0, 30, 0), (3, 2, 3, 0, 0, 0, 20)",
];

/// On a store opened over [`LEDGER_WITH_ENTRIES_TABLE`]: the entries now on the transfers
/// audit clean, each account's history is whole, and new transfers continue the chains.
pub async fn check_ledger_after_entries_moved(store: &dyn Store) {
    use augure_domain::ledger;
    assert_sound(store).await;
    let keys = |transfers: Vec<Transfer>| transfers.into_iter().map(|t| t.key).collect::<Vec<_>>();
    let (a1, a2, a3) = (ledger::AccountId(1), ledger::AccountId(2), ledger::AccountId(3));
    assert_eq!(keys(store.account_transfers(a1, 10).await.unwrap()), ["t1"]);
    assert_eq!(keys(store.account_transfers(a2, 10).await.unwrap()), ["t3", "t2", "t1"]);
    assert_eq!(keys(store.account_transfers(a3, 10).await.unwrap()), ["t3", "t2"]);
    let t4 = store.create_transfers(&[xfer("t4", a1, a2, 5)], t0()).await.unwrap().remove(0).unwrap();
    assert_eq!(t4.id, ledger::TransferId(4));
    assert_eq!(keys(store.account_transfers(a2, 2).await.unwrap()), ["t4", "t3"]);
    assert_eq!(balances(store, a2).await.credits_posted, 105);
    assert_sound(store).await;
}

/// Generates one `#[tokio::test]` per conformance function, in one module per aggregate:
/// `ledger::concurrent_spending_never_overdraws` runs that function of
/// [`conformance::ledger`](crate::conformance::ledger). `$fresh` is an expression yielding a future of `Option<Arc<dyn Store>>` on a fresh
/// database; `None` skips (it prints why). It is evaluated inside the generated modules,
/// which `use super::*`, so it may name private items of the invoking module.
#[macro_export]
macro_rules! conformance_tests {
    ($fresh:expr) => {
        $crate::conformance_tests!(@aggregate $fresh; sites:
            ping_answers,
            site_round_trips_with_its_tariffs,
            sites_list_in_creation_order,
            duplicate_site_code_conflicts,
            unknown_site_is_not_found,
            an_admin_edits_a_site_and_its_imposed_price,
            site_phone_numbers_are_replaced,
        );
        $crate::conformance_tests!(@aggregate $fresh; accounts:
            user_round_trips,
            duplicate_email_conflicts,
            duplicate_expert_code_conflicts,
            clients_share_no_expert_code,
            unknown_user_is_not_found,
            users_list_by_role_with_paging,
            user_locale_changes,
            session_finds_its_user_until_it_expires,
            deleted_session_is_gone,
            expired_sessions_are_purged,
            reset_sets_password_and_signs_out_everywhere,
            reset_link_works_once,
            using_one_reset_link_voids_the_others,
            expired_reset_link_changes_nothing,
            unknown_reset_link_is_not_found,
        );
        $crate::conformance_tests!(@aggregate $fresh; experts:
            expert_profile_round_trips_and_is_replaced,
            price_sets_per_currency_are_replaced_with_the_profile,
            expert_presence_is_saved_and_listed_in_the_directory,
            bank_details_are_saved_and_mark_the_presence,
            expert_details_round_trip_and_specialties_are_managed,
        );
        $crate::conformance_tests!(@aggregate $fresh; media:
            media_waits_for_moderation_and_publishes_the_latest_approved,
        );
        $crate::conformance_tests!(@aggregate $fresh; planning:
            planning_lists_the_slots_of_a_date_range_in_order,
            a_night_slot_is_kept_with_its_end_on_the_next_day,
            replacing_a_planning_day_touches_that_day_only,
            concurrent_replacements_of_a_day_never_mix,
            a_back_alert_is_pending_once_per_client_and_expert,
            back_alerts_are_taken_once_then_can_be_asked_again,
            concurrent_workers_take_each_back_alert_once,
        );
        $crate::conformance_tests!(@aggregate $fresh; ledger:
            ledger_account_exists_once_per_owner_kind_and_currency,
            posted_transfer_moves_money_and_is_audited,
            overdraft_is_refused_and_changes_nothing,
            an_oversized_transfer_is_refused_alone_and_the_shared_account_keeps_working,
            a_replayed_key_returns_the_first_transfer,
            a_hold_is_posted_in_part_and_the_rest_released,
            a_voided_hold_releases_everything,
            expired_holds_are_listed_and_released,
            linked_transfers_succeed_or_fail_together,
            a_batch_of_a_hundred_transfers_commits_at_once,
            an_account_history_is_newest_first_and_stops_at_the_limit,
            a_batch_mixing_new_repeated_and_stored_transfers,
            concurrent_spending_never_overdraws,
            a_ledger_snapshot_is_consistent_while_transfers_go_on,
            a_replayed_hold_with_a_sub_microsecond_expiry_is_the_same_transfer,
            the_expiry_sweep_lists_only_open_holds_by_deadline,
            concurrent_replays_of_one_key_move_money_once,
        );
        $crate::conformance_tests!(@aggregate $fresh; payments:
            credit_packs_are_listed_per_site_cheapest_first,
            a_purchase_is_paid_once,
            refunds_and_provider_events_are_recorded_once,
            delayed_payments_and_provider_incidents_are_recorded,
            concurrent_refunds_never_exceed_the_price,
            an_idempotent_response_keeps_the_first_answer,
            an_idempotency_key_is_reserved_by_one_request_at_a_time,
            old_payment_events_and_idempotency_records_are_purged,
        );
        $crate::conformance_tests!(@aggregate $fresh; jobs:
            enqueue_with_the_same_key_is_idempotent,
            job_round_trips,
            only_due_jobs_are_claimed,
            a_job_whose_lease_ran_out_is_claimed_again,
            completed_job_is_done_and_not_claimed,
            failed_job_is_retried_at_the_given_time_or_given_up,
            concurrent_workers_never_share_a_job,
            old_finished_jobs_are_purged_in_batches,
        );
        $crate::conformance_tests!(@aggregate $fresh; consultations:
            a_consultation_round_trips_with_its_frozen_terms,
            an_expert_has_at_most_one_open_consultation,
            concurrent_starts_with_one_expert_open_one_consultation,
            a_grant_writes_its_hold_and_the_consultation_together,
            a_grant_the_ledger_refuses_writes_nothing,
            grants_written_together_apply_all_or_none,
            a_grant_out_of_sequence_or_from_another_node_is_stale,
            a_settlement_posts_splits_and_frees_the_expert_exactly_once,
            checkpoints_move_forward_only_renew_leases_and_stay_on_their_node,
            lapsed_leases_are_listed_and_taken_over_by_one_node,
            a_users_consultations_list_newest_first_as_client_or_expert,
            only_a_consultation_that_really_started_counts_as_consulted,
            open_consultations_list_oldest_first,
            only_a_ringing_consultation_is_lost,
        );
        $crate::conformance_tests!(@aggregate $fresh; chat:
            messages_are_numbered_per_consultation_and_resume_after_a_seq,
            a_resend_with_the_same_client_key_returns_the_first_message,
            writes_batched_together_answer_in_order_as_each_alone_would,
            concurrent_appends_to_one_consultation_take_distinct_numbers,
            an_image_round_trips_and_a_message_without_one_has_none,
            delivered_and_read_marks_touch_the_authors_messages_up_to_the_given_one,
            flagged_messages_list_oldest_first_until_dismissed,
            old_messages_are_purged_in_batches_with_their_images,
            an_expert_note_is_replaced_deleted_when_emptied_and_listed_newest_first,
            a_party_reports_once_per_consultation_and_an_admin_resolves_it,
            a_block_is_kept_once_and_lifted,
            a_review_is_pending_once_per_consultation_and_rated_one_to_five,
        );
        $crate::conformance_tests!(@aggregate $fresh; commissions:
            an_experts_rates_are_set_replaced_and_listed_in_channel_order,
            removing_a_rate_brings_the_settings_back_and_removing_none_changes_nothing,
            a_rate_for_an_unknown_user_is_not_found,
            concurrent_settings_of_one_channel_leave_one_of_the_rates,
        );
        $crate::conformance_tests!(@aggregate $fresh; legal:
            site_pages_are_kept_per_site_kind_and_language,
            terms_acceptances_are_recorded_once_per_version,
        );
        $crate::conformance_tests!(@aggregate $fresh; mail:
            mail_is_recorded_once_per_key,
            mail_lists_newest_first_and_by_recipient,
            old_mail_is_purged_in_batches,
        );
        $crate::conformance_tests!(@aggregate $fresh; notifications:
            a_notification_is_recorded_once_per_user_and_key,
            notifications_list_newest_first_for_their_user_only,
            notifications_are_marked_read_by_id_for_their_owner_only,
            marking_all_read_stops_at_what_was_seen,
            old_read_notifications_are_purged_and_unread_ones_kept,
        );
        $crate::conformance_tests!(@aggregate $fresh; sms:
            an_sms_is_recorded_once_per_key_and_listed_newest_first,
            old_sms_are_purged_in_batches,
        );
    };
    (@aggregate $fresh:expr; $aggregate:ident: $($name:ident),* $(,)?) => {
        mod $aggregate {
            use super::*;

            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(store) = $fresh.await {
                        $crate::conformance::$aggregate::$name(store).await;
                    }
                }
            )*
        }
    };
}
