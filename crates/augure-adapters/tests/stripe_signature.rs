//! Webhook signatures checked against the card processor's own library: headers made by
//! PyPI's `stripe` package must verify here, and headers made here must verify there.
//! Without the package the suite skips, except with `CI=true`, where it fails.

use std::process::Command;

use augure_adapters::stripe_signature::{DEFAULT_TOLERANCE_SECONDS, SignatureError, WebhookVerifier, sign};
use augure_store::conformance::service_missing;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

const BODY: &str = r#"{"id":"evt_1QxY","type":"checkout.session.completed","data":{"object":{"id":"cs_test_a1","amount_total":2000,"currency":"eur"}}}"#;

fn python() -> Option<String> {
    let python = std::env::var("AUGURE_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python).args(["-c", "import stripe"]).output().is_ok_and(|o| o.status.success());
    if ok {
        Some(python)
    } else {
        service_missing("stripe (PyPI)", format!("`{python} -c 'import stripe'` failed; pip install stripe"))
    }
}

/// `Stripe-Signature` for BODY made by the official library.
fn official_header(python: &str, secret: &str, timestamp: i64) -> String {
    let script = "import sys, stripe; print(stripe.WebhookSignature.generate_signature_header(sys.argv[1], sys.argv[2], int(sys.argv[3])))";
    let out = Command::new(python).args(["-c", script, BODY, secret, &timestamp.to_string()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn verifier(secrets: &[&str]) -> WebhookVerifier {
    WebhookVerifier::new(secrets.iter().map(|s| SecretString::from(s.to_string())).collect(), DEFAULT_TOLERANCE_SECONDS)
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap()
}

const T: i64 = 1_795_000_000;

#[test]
fn official_signatures_verify() {
    let Some(python) = python() else { return };
    let header = official_header(&python, "whsec_current", T);
    assert_eq!(verifier(&["whsec_current"]).verify(&header, BODY.as_bytes(), at(T + 10)), Ok(()));
}

#[test]
fn a_signature_with_another_secret_is_refused() {
    let Some(python) = python() else { return };
    let header = official_header(&python, "whsec_attacker", T);
    assert_eq!(verifier(&["whsec_current"]).verify(&header, BODY.as_bytes(), at(T)), Err(SignatureError::NoMatch));
}

#[test]
fn a_changed_body_is_refused() {
    let Some(python) = python() else { return };
    let header = official_header(&python, "whsec_current", T);
    let forged = BODY.replace("2000", "200000");
    assert_eq!(verifier(&["whsec_current"]).verify(&header, forged.as_bytes(), at(T)), Err(SignatureError::NoMatch));
}

#[test]
fn an_old_timestamp_is_refused_after_300_seconds() {
    let Some(python) = python() else { return };
    let header = official_header(&python, "whsec_current", T);
    let v = verifier(&["whsec_current"]);
    assert_eq!(v.verify(&header, BODY.as_bytes(), at(T + 300)), Ok(()));
    assert_eq!(v.verify(&header, BODY.as_bytes(), at(T + 301)), Err(SignatureError::TimestampOutsideTolerance));
}

#[test]
fn during_a_rotation_both_secrets_are_accepted() {
    let Some(python) = python() else { return };
    // The sender signs with both secrets while the receiver still knows only the old one…
    let old = official_header(&python, "whsec_old", T);
    let new = official_header(&python, "whsec_new", T);
    let both = format!("{old},{}", new.split(',').nth(1).unwrap());
    assert_eq!(verifier(&["whsec_old"]).verify(&both, BODY.as_bytes(), at(T)), Ok(()));
    // …and a receiver configured with the new secret first still accepts the old one.
    assert_eq!(verifier(&["whsec_new", "whsec_old"]).verify(&old, BODY.as_bytes(), at(T)), Ok(()));
    assert_eq!(verifier(&["whsec_new"]).verify(&old, BODY.as_bytes(), at(T)), Err(SignatureError::NoMatch));
}

#[test]
fn headers_made_here_verify_with_the_official_library() {
    let Some(python) = python() else { return };
    let header = sign(&SecretString::from("whsec_local".to_owned()), BODY.as_bytes(), Utc::now().timestamp());
    let script = "import sys, stripe; stripe.WebhookSignature.verify_header(sys.argv[1], sys.argv[2], sys.argv[3], 300); print('ok')";
    let out = Command::new(&python).args(["-c", script, BODY, &header, "whsec_local"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}
