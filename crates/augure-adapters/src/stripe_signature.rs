//! Stripe's webhook signature scheme: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=…]`
//! where each `v1` is HMAC-SHA256, keyed by an endpoint secret, over `"<t>.<raw body>"`.
//! Several `v1` values, and several configured secrets, allow rotating a secret without
//! losing events. A timestamp outside the tolerance is refused, so a captured request
//! cannot be replayed later. Both the card processor's adapter and the local test-mode
//! checkout (which signs its own webhooks) use this module.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// Stripe's default: five minutes either way.
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is missing or malformed")]
    Malformed,
    #[error("the timestamp is outside the tolerance")]
    TimestampOutsideTolerance,
    #[error("no signature matches")]
    NoMatch,
}

pub struct WebhookVerifier {
    /// The current secret first, then those being rotated out.
    secrets: Vec<SecretString>,
    tolerance_seconds: i64,
}

impl WebhookVerifier {
    pub fn new(secrets: Vec<SecretString>, tolerance_seconds: i64) -> Self {
        Self { secrets, tolerance_seconds }
    }

    /// Checks `header` against the raw `body` bytes as received (never re-serialized).
    pub fn verify(&self, header: &str, body: &[u8], now: DateTime<Utc>) -> Result<(), SignatureError> {
        let mut timestamp: Option<i64> = None;
        let mut signatures: Vec<Vec<u8>> = Vec::new();
        for part in header.split(',') {
            let (key, value) = part.trim().split_once('=').ok_or(SignatureError::Malformed)?;
            match key {
                "t" => timestamp = Some(value.parse().map_err(|_| SignatureError::Malformed)?),
                // Anything that is not hex cannot match; skip it rather than refuse the rest.
                "v1" => signatures.extend(hex::decode(value).ok()),
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
        if signatures.is_empty() {
            return Err(SignatureError::NoMatch);
        }
        if (now.timestamp() - timestamp).abs() > self.tolerance_seconds {
            return Err(SignatureError::TimestampOutsideTolerance);
        }
        for secret in &self.secrets {
            for signature in &signatures {
                // `verify_slice` compares in constant time.
                if mac(secret, timestamp, body).verify_slice(signature).is_ok() {
                    return Ok(());
                }
            }
        }
        Err(SignatureError::NoMatch)
    }
}

/// The header a sender puts on `body` at `timestamp`.
pub fn sign(secret: &SecretString, body: &[u8], timestamp: i64) -> String {
    let signature = hex::encode(mac(secret, timestamp, body).finalize().into_bytes());
    format!("t={timestamp},v1={signature}")
}

fn mac(secret: &SecretString, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    #[test]
    fn a_signature_made_here_verifies_and_tampering_does_not() {
        let verifier = WebhookVerifier::new(vec![secret("whsec_test")], DEFAULT_TOLERANCE_SECONDS);
        let header = sign(&secret("whsec_test"), b"{\"id\":\"evt_1\"}", 1_700_000_000);
        assert_eq!(verifier.verify(&header, b"{\"id\":\"evt_1\"}", at(1_700_000_100)), Ok(()));
        assert_eq!(verifier.verify(&header, b"{\"id\":\"evt_2\"}", at(1_700_000_100)), Err(SignatureError::NoMatch));
        assert_eq!(
            verifier.verify(&header, b"{\"id\":\"evt_1\"}", at(1_700_000_301)),
            Err(SignatureError::TimestampOutsideTolerance)
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        let verifier = WebhookVerifier::new(vec![secret("s")], DEFAULT_TOLERANCE_SECONDS);
        for header in ["", "garbage", "t=abc,v1=00", "v1=00", "t=1700000000"] {
            assert!(verifier.verify(header, b"{}", at(1_700_000_000)).is_err(), "{header:?}");
        }
    }
}
