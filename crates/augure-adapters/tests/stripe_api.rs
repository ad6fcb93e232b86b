//! The Stripe adapter against a local stand-in for Stripe's API: the requests it sends
//! (form fields, authorization, idempotency keys) and how it reads answers and errors.

use std::sync::{Arc, Mutex};

use augure_adapters::StripePayments;
use augure_app::credit::{PaymentError, Payments, ProviderRefund};
use augure_domain::{Currency, Money, UserId};
use augure_store::{Purchase, PurchaseStatus};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Form, Json, Router};
use secrecy::SecretString;

type Seen = Arc<Mutex<Vec<(String, String, String, Vec<(String, String)>)>>>;

/// How the stand-in answers refunds: 200, or this error status.
async fn stripe_stand_in(refund_error: Option<StatusCode>) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = |path: &'static str| {
        move |State(seen): State<Seen>, headers: HeaderMap, Form(form): Form<Vec<(String, String)>>| async move {
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            seen.lock().unwrap().push((path.to_owned(), header("authorization"), header("idempotency-key"), form));
        }
    };
    let app = Router::new()
        .route(
            "/v1/checkout/sessions",
            post(move |state: State<Seen>, headers: HeaderMap, form: Form<Vec<(String, String)>>| async move {
                record("sessions")(state, headers, form).await;
                Json(serde_json::json!({"id": "cs_live_123", "url": "https://checkout.stripe.com/c/pay/cs_live_123"}))
            }),
        )
        .route(
            "/v1/refunds",
            post(move |state: State<Seen>, headers: HeaderMap, form: Form<Vec<(String, String)>>| async move {
                record("refunds")(state, headers, form).await;
                match refund_error {
                    Some(status) => (status, Json(serde_json::json!({"error": {"message": "Charge already refunded"}}))),
                    None => (StatusCode::OK, Json(serde_json::json!({"id": "re_1", "status": "succeeded"}))),
                }
            })
            .get(|axum::extract::Query(q): axum::extract::Query<Vec<(String, String)>>| async move {
                // Refunds of a payment, each with the metadata it was created with.
                let payment = q.iter().find(|(k, _)| k == "payment_intent").map(|(_, v)| v.clone()).unwrap_or_default();
                Json(serde_json::json!({"object": "list", "data": [
                    {"id": "re_1", "payment_intent": payment, "status": "succeeded", "metadata": {"augure_refund": "refund:42:k1"}},
                    {"id": "re_2", "payment_intent": payment, "status": "failed", "metadata": {"augure_refund": "refund:42:k2"}},
                ]}))
            }),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, seen)
}

fn purchase() -> Purchase {
    Purchase {
        id: 42,
        user_id: UserId(7),
        pack_id: 1,
        price: Money::new(2000, Currency::Chf),
        bonus: Money::new(200, Currency::Chf),
        status: PurchaseStatus::Paid,
        checkout_session: Some("cs_live_123".into()),
        payment_ref: Some("pi_9".into()),
        created_at: chrono::Utc::now(),
        paid_at: None,
        refunded: Money::zero(Currency::Chf),
        processing_at: None,
    }
}

fn stripe(base: &str) -> StripePayments {
    StripePayments::new(
        base,
        SecretString::from("sk_test_abc".to_owned()),
        vec![SecretString::from("whsec_x".to_owned())],
    )
    .unwrap()
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

#[tokio::test]
async fn checkout_sessions_are_created_with_the_purchase_and_an_idempotency_key() {
    let (base, seen) = stripe_stand_in(None).await;
    let checkout = stripe(&base)
        .create_checkout(&purchase(), "https://a.example/wallet?purchase=42", "https://a.example/wallet")
        .await
        .unwrap();
    assert_eq!(checkout.session_id, "cs_live_123");
    assert_eq!(checkout.url, "https://checkout.stripe.com/c/pay/cs_live_123");
    let seen = seen.lock().unwrap();
    let (path, auth, key, form) = &seen[0];
    assert_eq!((path.as_str(), auth.as_str(), key.as_str()), ("sessions", "Bearer sk_test_abc", "checkout:42"));
    assert_eq!(field(form, "mode"), "payment");
    assert_eq!(field(form, "client_reference_id"), "42");
    assert_eq!(field(form, "line_items[0][price_data][currency]"), "chf");
    assert_eq!(field(form, "line_items[0][price_data][unit_amount]"), "2000");
    assert_eq!(field(form, "success_url"), "https://a.example/wallet?purchase=42");
}

#[tokio::test]
async fn refunds_name_the_payment_and_amount_and_report_refusals() {
    let (base, seen) = stripe_stand_in(None).await;
    stripe(&base).refund(&purchase(), Money::new(500, Currency::Chf), "refund:42:k1").await.unwrap();
    {
        let seen = seen.lock().unwrap();
        let (_, _, key, form) = &seen[0];
        assert_eq!(key, "refund:42:k1");
        assert_eq!((field(form, "payment_intent"), field(form, "amount")), ("pi_9", "500"));
        assert_eq!(field(form, "metadata[augure_refund]"), "refund:42:k1", "found again by its key");
    }
    let (base, _) = stripe_stand_in(Some(StatusCode::PAYMENT_REQUIRED)).await;
    let err = stripe(&base).refund(&purchase(), Money::new(500, Currency::Chf), "k").await.unwrap_err();
    assert!(matches!(err, PaymentError::Refused(ref m) if m == "Charge already refunded"), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_api_is_unavailable_not_refused() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = stripe(&format!("http://127.0.0.1:{port}")).create_checkout(&purchase(), "s", "c").await.unwrap_err();
    assert!(matches!(err, PaymentError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn answers_that_say_nothing_of_the_outcome_leave_a_refund_open() {
    // 409: the same idempotency key is still being processed (a double submit).
    for status in [StatusCode::CONFLICT, StatusCode::TOO_MANY_REQUESTS, StatusCode::BAD_GATEWAY] {
        let (base, _) = stripe_stand_in(Some(status)).await;
        let err = stripe(&base).refund(&purchase(), Money::new(500, Currency::Chf), "k").await.unwrap_err();
        assert!(matches!(err, PaymentError::Unavailable(_)), "{status}: {err:?}");
    }
}

#[tokio::test]
async fn a_refund_is_found_again_by_its_key() {
    let (base, _) = stripe_stand_in(None).await;
    let stripe = stripe(&base);
    assert_eq!(stripe.find_refund(&purchase(), "refund:42:k1").await.unwrap(), Some(ProviderRefund::Accepted));
    assert_eq!(stripe.find_refund(&purchase(), "refund:42:k2").await.unwrap(), Some(ProviderRefund::Failed));
    assert_eq!(stripe.find_refund(&purchase(), "refund:42:k3").await.unwrap(), None, "never made: send it again");
}
