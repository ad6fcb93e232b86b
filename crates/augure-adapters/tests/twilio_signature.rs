//! Voice webhook signatures checked against the provider's own library: signatures made
//! by PyPI's `twilio` package (`RequestValidator`) must verify here, and those made here
//! must verify there — for calls' parameters as the provider sends them, names given
//! twice, non-ASCII values, and the public URL a proxy sits behind. Without the package
//! the suite skips, except with `CI=true`, where it fails.

use std::process::Command;

use augure_adapters::twilio_signature::{sign, verify};
use augure_store::conformance::service_missing;
use secrecy::SecretString;

const TOKEN: &str = "f1e2d3c4b5a6978812345678abcdef01";

fn python() -> Option<String> {
    let python = std::env::var("AUGURE_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", "import twilio.request_validator"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Some(python)
    } else {
        service_missing("twilio (PyPI)", format!("`{python} -c 'import twilio'` failed; pip install twilio"))
    }
}

/// Runs `script` with the URL, the token and the parameters as `name=value` arguments
/// (a name given twice is passed twice: the library reads them as a multi-dict).
fn official(python: &str, script: &str, url: &str, params: &[(String, String)], extra: &[&str]) -> String {
    let mut args = vec!["-c".to_owned(), script.to_owned(), url.to_owned(), TOKEN.to_owned()];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args.extend(params.iter().map(|(k, v)| format!("{k}={v}")));
    let out = Command::new(python).args(&args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

const PRELUDE: &str = "import sys\n\
from multidict import MultiDict\n\
from twilio.request_validator import RequestValidator\n\
url, token = sys.argv[1], sys.argv[2]\n";

fn official_signature(python: &str, url: &str, params: &[(String, String)]) -> String {
    let script = format!(
        "{PRELUDE}params = MultiDict(p.split('=', 1) for p in sys.argv[3:])\n\
         print(RequestValidator(token).compute_signature(url, params))"
    );
    official(python, &script, url, params, &[])
}

fn official_verdict(python: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let script = format!(
        "{PRELUDE}signature = sys.argv[3]\n\
         params = MultiDict(p.split('=', 1) for p in sys.argv[4:])\n\
         print(RequestValidator(token).validate(url, params, signature))"
    );
    official(python, &script, url, params, &[signature]) == "True"
}

fn token() -> SecretString {
    SecretString::from(TOKEN.to_owned())
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// What the provider posts when an expert's leg is answered, and when keys are pressed.
fn requests() -> Vec<(&'static str, Vec<(String, String)>)> {
    vec![
        (
            "https://voyance.example.fr/webhooks/voice/status?leg=expert&consultation=42",
            pairs(&[
                ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
                ("CallSid", "CA5f1e2d3c4b5a69788123456789abcdef"),
                ("CallStatus", "in-progress"),
                ("AnsweredBy", "human"),
                ("Direction", "outbound-api"),
                ("From", "+33970736456"),
                ("To", "+33612345678"),
                ("SequenceNumber", "2"),
                ("Timestamp", "Thu, 03 Dec 2026 14:05:09 +0000"),
            ]),
        ),
        (
            "https://voyance.example.fr/webhooks/voice/gather",
            pairs(&[
                ("CallSid", "CA00000000000000000000000000000001"),
                ("Digits", "1"),
                ("Digits", "3"),
                ("FinishedOnKey", "#"),
                ("CallerName", "Hélène Dupré — Genève"),
                ("Empty", ""),
            ]),
        ),
        ("http://127.0.0.1:8080/webhooks/voice/incoming?site=CA", Vec::new()),
    ]
}

#[test]
fn official_signatures_verify_here() {
    let Some(python) = python() else { return };
    for (url, params) in requests() {
        let signature = official_signature(&python, url, &params);
        assert!(verify(&token(), url, &params, &signature), "{url}");
        assert_eq!(sign(&token(), url, &params), signature, "{url}: the same signature");
    }
}

#[test]
fn signatures_made_here_verify_with_the_official_library() {
    let Some(python) = python() else { return };
    for (url, params) in requests() {
        let signature = sign(&token(), url, &params);
        assert!(official_verdict(&python, url, &params, &signature), "{url}");
        let mut forged = params.clone();
        forged.push(("Price".into(), "0.00".into()));
        assert!(!official_verdict(&python, url, &forged, &signature), "{url}: a forged request is refused there too");
    }
}

#[test]
fn behind_a_proxy_the_public_url_is_what_verifies() {
    let Some(python) = python() else { return };
    // The provider requested the public URL; the app, behind a TLS-terminating proxy,
    // received it on a private address. Only the public URL (the configured one) verifies.
    let public = "https://voyance.example.fr/webhooks/voice/incoming?site=FR";
    let forwarded = "http://10.0.0.7:8080/webhooks/voice/incoming?site=FR";
    let params = pairs(&[("CallSid", "CA1"), ("From", "+33612345678"), ("To", "+33970736456")]);
    let signature = official_signature(&python, public, &params);
    assert!(verify(&token(), public, &params, &signature));
    assert!(!verify(&token(), forwarded, &params, &signature));
    // The proxy's port on the public host is no matter: the library accepts either too.
    let with_port = "https://voyance.example.fr:443/webhooks/voice/incoming?site=FR";
    assert!(verify(&token(), with_port, &params, &signature));
    assert!(official_verdict(&python, with_port, &params, &signature));
}
