//! TwiML as an XML parser reads it (Python's standard library): every document is well
//! formed, and what a user typed comes back as the very text and attribute values given,
//! never as markup.

use std::process::Command;

use augure_adapters::twiml::{Verb, render};
use augure_store::conformance::service_missing;

const HOSTILE: &str = "Zoé « l'as » <b>&amp;</b> \"quote\" </Say><Hangup/>\u{1}\u{7f}";

/// Each element of the document, in order: its tag, its attributes as `name=value` in
/// name order, and its text.
fn parsed(xml: &str) -> Option<Vec<Vec<String>>> {
    let script = "import sys, json, xml.etree.ElementTree as ET\n\
        root = ET.fromstring(sys.stdin.buffer.read())\n\
        for e in root.iter():\n\
        \x20   print(json.dumps([e.tag] + [k + '=' + v for k, v in sorted(e.attrib.items())] + [e.text or '']))";
    let mut child = match Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return service_missing("python3", format!("python3 not found: {e}")),
    };
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(xml.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "not well formed: {}\n{xml}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect())
}

#[test]
fn every_verb_with_hostile_values_parses_back_to_them() {
    let doc = render(&[
        Verb::Gather {
            action: format!("https://x.example/g?a=1&b={HOSTILE}"),
            digits: Some(1),
            finish_on_key: Some('#'),
            timeout_seconds: 5,
            prompt: vec![Verb::Say { text: HOSTILE.into(), language: "fr-FR".into() }],
        },
        Verb::Play { url: "https://x.example/s.wav?x=<y>".into() },
        Verb::DialNumber {
            number: "+33612345678".into(),
            caller_id: "+33970736456".into(),
            timeout_seconds: 25,
            action: "https://x.example/d?c=1&l=e".into(),
            status_callback: "https://x.example/s?c=1&l=e".into(),
            detect_machine: true,
        },
        Verb::DialConference {
            room: HOSTILE.into(),
            end_on_exit: false,
            status_callback: "https://x.example/c".into(),
        },
        Verb::Enqueue {
            queue: HOSTILE.into(),
            wait_url: "https://x.example/w".into(),
            action: "https://x.example/l".into(),
        },
        Verb::Redirect { url: "https://x.example/r?a=1&b=2".into() },
        Verb::Pause { seconds: 3 },
        Verb::Hangup,
    ]);
    let Some(elements) = parsed(&doc) else { return };
    let tags: Vec<&str> = elements.iter().map(|e| e[0].as_str()).collect();
    assert_eq!(
        tags,
        [
            "Response",
            "Gather",
            "Say",
            "Play",
            "Dial",
            "Number",
            "Dial",
            "Conference",
            "Enqueue",
            "Redirect",
            "Pause",
            "Hangup"
        ]
    );
    // Control characters XML 1.0 cannot carry become spaces; the rest comes back as given.
    let carried = HOSTILE.replace('\u{1}', " ");
    assert_eq!(elements[2], ["Say", "language=fr-FR", carried.as_str()]);
    assert!(elements[1].contains(&format!("action=https://x.example/g?a=1&b={carried}")), "{:?}", elements[1]);
    assert_eq!(elements[3].last().unwrap(), "https://x.example/s.wav?x=<y>");
    assert!(elements[5].contains(&"machineDetection=Enable".to_owned()), "{:?}", elements[5]);
    assert_eq!(elements[5].last().unwrap(), "+33612345678");
    assert_eq!(elements[7].last().unwrap(), &carried, "the conference's name");
    assert_eq!(elements[8].last().unwrap(), &carried, "the queue's name");
    assert_eq!(elements[9].last().unwrap(), "https://x.example/r?a=1&b=2");
}
