//! TwiML, the voice provider's language for what a call does next (issue 12): the answer
//! to each voice webhook, and what the phone network simulator interprets. Only the verbs
//! the platform uses, each with the attributes it sets; every text and URL is escaped, so
//! a name typed by a user can never become markup the provider acts on.

use std::fmt::Write as _;

/// The status callbacks asked for on a dialled leg.
const LEG_EVENTS: &str = "initiated ringing answered completed";

/// What a call does, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verb {
    /// Spoken by the provider's text-to-speech, in `language` (`fr-FR`, `it-IT`…).
    Say {
        text: String,
        language: String,
    },
    Play {
        url: String,
    },
    Pause {
        seconds: u32,
    },
    /// Keys pressed, posted to `action`; `prompt` is said or played while waiting.
    Gather {
        action: String,
        digits: Option<u32>,
        finish_on_key: Option<char>,
        timeout_seconds: u32,
        prompt: Vec<Verb>,
    },
    /// Calls `number` from `caller_id`; its progress is posted to `status_callback`, and
    /// with `detect_machine` the answer says whether a person or a machine took it.
    DialNumber {
        number: String,
        caller_id: String,
        timeout_seconds: u32,
        action: String,
        status_callback: String,
        detect_machine: bool,
    },
    /// Puts the call in conference `room`, where the platform can speak to both legs.
    DialConference {
        room: String,
        end_on_exit: bool,
        status_callback: String,
    },
    /// Waits in `queue` hearing `wait_url`; `action` learns how the wait ended.
    Enqueue {
        queue: String,
        wait_url: String,
        action: String,
    },
    Redirect {
        url: String,
    },
    Hangup,
}

/// The TwiML document for `verbs`.
pub fn render(verbs: &[Verb]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>");
    for verb in verbs {
        write_verb(&mut out, verb);
    }
    out.push_str("</Response>");
    out
}

fn write_verb(out: &mut String, verb: &Verb) {
    match verb {
        Verb::Say { text, language } => {
            let _ = write!(out, "<Say language=\"{}\">{}</Say>", escape(language), escape(text));
        }
        Verb::Play { url } => {
            let _ = write!(out, "<Play>{}</Play>", escape(url));
        }
        Verb::Pause { seconds } => {
            let _ = write!(out, "<Pause length=\"{seconds}\"/>");
        }
        Verb::Gather { action, digits, finish_on_key, timeout_seconds, prompt } => {
            let _ = write!(out, "<Gather action=\"{}\" method=\"POST\" timeout=\"{timeout_seconds}\"", escape(action));
            if let Some(n) = digits {
                let _ = write!(out, " numDigits=\"{n}\"");
            }
            if let Some(key) = finish_on_key {
                let _ = write!(out, " finishOnKey=\"{}\"", escape(&key.to_string()));
            }
            out.push('>');
            // Only what can be heard goes inside a Gather.
            for inner in
                prompt.iter().filter(|v| matches!(v, Verb::Say { .. } | Verb::Play { .. } | Verb::Pause { .. }))
            {
                write_verb(out, inner);
            }
            out.push_str("</Gather>");
        }
        Verb::DialNumber { number, caller_id, timeout_seconds, action, status_callback, detect_machine } => {
            let _ = write!(
                out,
                "<Dial callerId=\"{}\" timeout=\"{timeout_seconds}\" action=\"{}\" method=\"POST\"><Number statusCallback=\"{}\" statusCallbackMethod=\"POST\" statusCallbackEvent=\"{LEG_EVENTS}\"",
                escape(caller_id),
                escape(action),
                escape(status_callback)
            );
            if *detect_machine {
                out.push_str(" machineDetection=\"Enable\"");
            }
            let _ = write!(out, ">{}</Number></Dial>", escape(number));
        }
        Verb::DialConference { room, end_on_exit, status_callback } => {
            let _ = write!(
                out,
                "<Dial><Conference startConferenceOnEnter=\"true\" endConferenceOnExit=\"{end_on_exit}\" beep=\"false\" waitUrl=\"\" statusCallback=\"{}\" statusCallbackMethod=\"POST\" statusCallbackEvent=\"start end join leave\">{}</Conference></Dial>",
                escape(status_callback),
                escape(room)
            );
        }
        Verb::Enqueue { queue, wait_url, action } => {
            let _ = write!(
                out,
                "<Enqueue waitUrl=\"{}\" waitUrlMethod=\"POST\" action=\"{}\" method=\"POST\">{}</Enqueue>",
                escape(wait_url),
                escape(action),
                escape(queue)
            );
        }
        Verb::Redirect { url } => {
            let _ = write!(out, "<Redirect method=\"POST\">{}</Redirect>", escape(url));
        }
        Verb::Hangup => out.push_str("<Hangup/>"),
    }
}

/// Text and attribute values as XML: the five special characters, and no control
/// character XML 1.0 cannot carry.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn say(text: &str) -> Verb {
        Verb::Say { text: text.into(), language: "fr-FR".into() }
    }

    #[test]
    fn a_menu_asks_for_keys_while_it_speaks() {
        let menu = render(&[
            Verb::Gather {
                action: "https://voyance.example.fr/webhooks/voice/gather?step=code".into(),
                digits: None,
                finish_on_key: Some('#'),
                timeout_seconds: 8,
                prompt: vec![say("Tapez le code de l'expert, puis dièse."), Verb::Hangup],
            },
            say("Nous n'avons rien reçu."),
            Verb::Hangup,
        ]);
        assert_eq!(
            menu,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>\
             <Gather action=\"https://voyance.example.fr/webhooks/voice/gather?step=code\" method=\"POST\" timeout=\"8\" finishOnKey=\"#\">\
             <Say language=\"fr-FR\">Tapez le code de l&apos;expert, puis dièse.</Say></Gather>\
             <Say language=\"fr-FR\">Nous n&apos;avons rien reçu.</Say><Hangup/></Response>"
        );
    }

    #[test]
    fn what_a_user_typed_is_never_markup() {
        let doc = render(&[say("Claire </Say><Dial>+33900000000</Dial> & co\u{7}")]);
        assert!(doc.contains("Claire &lt;/Say&gt;&lt;Dial&gt;+33900000000&lt;/Dial&gt; &amp; co </Say>"), "{doc}");
        assert_eq!(doc.matches("<Say").count(), 1);
        assert!(!doc.contains("<Dial"));
    }

    #[test]
    fn a_leg_is_dialled_with_its_callbacks_and_bridged_in_a_conference() {
        let dial = render(&[Verb::DialNumber {
            number: "+33612345678".into(),
            caller_id: "+33970736456".into(),
            timeout_seconds: 25,
            action: "https://x.example/webhooks/voice/dialled?c=7".into(),
            status_callback: "https://x.example/webhooks/voice/status?c=7&leg=expert".into(),
            detect_machine: true,
        }]);
        assert!(dial.contains("<Dial callerId=\"+33970736456\" timeout=\"25\" action=\"https://x.example/webhooks/voice/dialled?c=7\" method=\"POST\">"), "{dial}");
        assert!(
            dial.contains("statusCallback=\"https://x.example/webhooks/voice/status?c=7&amp;leg=expert\""),
            "{dial}"
        );
        assert!(dial.contains("statusCallbackEvent=\"initiated ringing answered completed\" machineDetection=\"Enable\">+33612345678</Number></Dial>"), "{dial}");
        let room = render(&[Verb::DialConference {
            room: "consultation-7".into(),
            end_on_exit: true,
            status_callback: "https://x.example/webhooks/voice/conference?c=7".into(),
        }]);
        assert!(
            room.contains(
                "<Dial><Conference startConferenceOnEnter=\"true\" endConferenceOnExit=\"true\" beep=\"false\""
            ),
            "{room}"
        );
        assert!(room.ends_with(">consultation-7</Conference></Dial></Response>"), "{room}");
    }

    #[test]
    fn a_queue_a_pause_a_sound_and_a_redirect() {
        let doc = render(&[
            Verb::Enqueue {
                queue: "expert-42".into(),
                wait_url: "https://x.example/webhooks/voice/wait?e=42".into(),
                action: "https://x.example/webhooks/voice/left-queue?e=42".into(),
            },
            Verb::Pause { seconds: 2 },
            Verb::Play { url: "https://x.example/static/beep.wav".into() },
            Verb::Redirect { url: "https://x.example/webhooks/voice/menu".into() },
        ]);
        assert!(doc.contains("<Enqueue waitUrl=\"https://x.example/webhooks/voice/wait?e=42\" waitUrlMethod=\"POST\" action=\"https://x.example/webhooks/voice/left-queue?e=42\" method=\"POST\">expert-42</Enqueue>"));
        assert!(doc.contains("<Pause length=\"2\"/><Play>https://x.example/static/beep.wav</Play><Redirect method=\"POST\">https://x.example/webhooks/voice/menu</Redirect>"));
    }
}
