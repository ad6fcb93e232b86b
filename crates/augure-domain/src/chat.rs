//! The rules of a chat consultation's messages (SPEC §6, SP-chat, SP-chat-idle): what a
//! message may hold, how contact details typed in it are masked for the other party (and
//! flagged to admins), how fast a participant may write, and when a quiet chat ends.
//! Pure: the chat use case applies them to what the sockets carry.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use crate::text::check_text;

/// Settings of chat messages.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatPolicy {
    /// The longest message, in characters.
    pub max_message_chars: usize,
    /// A participant may send at most `burst_messages` messages per `burst_seconds`.
    pub burst_messages: u32,
    pub burst_seconds: u64,
    /// Phone numbers, email addresses and links are masked for the other party.
    pub mask_contacts: bool,
    /// Transcripts and attachments are deleted this many days after the chat.
    pub retention_days: u32,
}

impl Default for ChatPolicy {
    fn default() -> Self {
        Self {
            max_message_chars: 2000,
            burst_messages: 10,
            burst_seconds: 10,
            mask_contacts: true,
            retention_days: 365,
        }
    }
}

/// Why a message is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("the message is empty")]
    Empty,
    #[error("the message is longer than {0} characters")]
    TooLong(usize),
    #[error("the message holds characters that cannot be shown")]
    Invalid,
    #[error("too many messages at once: wait a moment")]
    TooFast,
}

/// A message as typed, checked: trimmed, within the length, no control characters.
pub fn check_message(text: &str, policy: &ChatPolicy) -> Result<String, MessageError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(MessageError::Empty);
    }
    if text.chars().count() > policy.max_message_chars {
        return Err(MessageError::TooLong(policy.max_message_chars));
    }
    check_text(text).map_err(|_| MessageError::Invalid)?;
    if !text.chars().any(|c| !c.is_whitespace() && !is_invisible(c)) {
        return Err(MessageError::Empty);
    }
    Ok(text.to_owned())
}

/// Zero-width and direction characters: a message of only these shows as nothing.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// What kind of contact detail was masked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Contact {
    Phone,
    Email,
    Link,
}

impl Contact {
    pub fn as_str(self) -> &'static str {
        match self {
            Contact::Phone => "phone",
            Contact::Email => "email",
            Contact::Link => "link",
        }
    }
}

/// A message as the other party sees it, and what was hidden from them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Masked {
    pub text: String,
    /// Each kind once, in order; empty when nothing was masked.
    pub found: Vec<Contact>,
}

impl Masked {
    /// Nothing hidden (masking switched off).
    pub fn none(text: &str) -> Self {
        Self { text: text.to_owned(), found: Vec::new() }
    }
}

/// What replaces a hidden contact detail.
pub const MASK: &str = "•••";

/// Top-level domains a bare address ("example.com") is recognised by.
const TLDS: [&str; 18] =
    ["com", "net", "org", "info", "io", "me", "eu", "fr", "it", "ch", "be", "lu", "ca", "de", "es", "uk", "co", "app"];

/// Hides phone numbers (9 digits or more, spaced or not), email addresses and links, so
/// that a consultation cannot be taken off the platform unseen.
pub fn mask_contacts(text: &str) -> Masked {
    let mut found = Vec::new();
    let mut out = String::with_capacity(text.len());
    for piece in split_keep(text) {
        match piece {
            Piece::Space(s) => out.push_str(s),
            Piece::Word(w) => match contact_in(w) {
                Some(kind) => {
                    found.push(kind);
                    out.push_str(MASK);
                }
                None => out.push_str(w),
            },
        }
    }
    let text = mask_phones(&out, &mut found);
    found.sort();
    found.dedup();
    Masked { text, found }
}

enum Piece<'a> {
    Space(&'a str),
    Word(&'a str),
}

fn split_keep(text: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut in_space = None;
    for (i, c) in text.char_indices() {
        let space = c.is_whitespace();
        match in_space {
            Some(was) if was != space => {
                pieces.push(if was { Piece::Space(&text[start..i]) } else { Piece::Word(&text[start..i]) });
                start = i;
            }
            _ => {}
        }
        in_space = Some(space);
    }
    if let Some(was) = in_space {
        pieces.push(if was { Piece::Space(&text[start..]) } else { Piece::Word(&text[start..]) });
    }
    pieces
}

fn contact_in(word: &str) -> Option<Contact> {
    let w = word.trim_matches(|c: char| matches!(c, '(' | ')' | '<' | '>' | '"' | '\'' | ',' | ';' | '!' | '?'));
    let lower = w.to_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("www.") {
        return Some(Contact::Link);
    }
    let lower = lower.trim_end_matches('.');
    if let Some((user, host)) = lower.split_once('@')
        && !user.is_empty()
        && host.contains('.')
        && !host.starts_with('.')
    {
        return Some(Contact::Email);
    }
    let host = lower.split('/').next().unwrap_or_default();
    if let Some((name, tld)) = host.rsplit_once('.')
        && !name.is_empty()
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '.'))
        && TLDS.contains(&tld)
    {
        return Some(Contact::Link);
    }
    None
}

/// Runs of 9 digits or more, with the separators people type between them (spaces,
/// dots, dashes, brackets, a leading +), are phone numbers: the shortest national numbers
/// of the platform's countries have 9 digits. Shorter runs (a date written 12.03.1985, a
/// price, a time) stay.
fn mask_phones(text: &str, found: &mut Vec<Contact>) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() || (chars[i] == '+' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let mut j = i;
            let mut digits = 0;
            let mut last_digit = i;
            while j < chars.len() {
                let c = chars[j];
                if c.is_ascii_digit() {
                    digits += 1;
                    last_digit = j;
                } else if !(matches!(c, ' ' | '.' | '-' | '(' | ')') || (c == '+' && j == i)) {
                    break;
                }
                j += 1;
            }
            if digits >= 9 {
                found.push(Contact::Phone);
                out.push_str(MASK);
                i = last_digit + 1;
                continue;
            }
            out.extend(&chars[i..=last_digit]);
            i = last_digit + 1;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// A participant's recent messages, to hold them to the burst limit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Burst {
    sent: Vec<DateTime<Utc>>,
}

impl Burst {
    /// Records a message at `at` if the limit allows it.
    pub fn allow(&mut self, at: DateTime<Utc>, policy: &ChatPolicy) -> Result<(), MessageError> {
        let window = Duration::seconds(i64::try_from(policy.burst_seconds).unwrap_or(i64::MAX / 1000).min(1 << 30));
        self.sent.retain(|t| at - *t < window);
        if self.sent.len() >= policy.burst_messages as usize {
            return Err(MessageError::TooFast);
        }
        self.sent.push(at);
        Ok(())
    }
}

/// When a quiet chat ends (SP-chat-idle): `idle` after the last message or typing from
/// anyone, or `idle` after the client's last message if the expert has sent nothing since.
pub fn idle_deadline(
    last_activity: DateTime<Utc>,
    last_client_message: Option<DateTime<Utc>>,
    last_expert_message: Option<DateTime<Utc>>,
    idle: Duration,
) -> DateTime<Utc> {
    let anyone = last_activity + idle;
    match last_client_message {
        Some(client) if last_expert_message.is_none_or(|expert| expert < client) => anyone.min(client + idle),
        _ => anyone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever is typed, masking never panics and leaves no phone number readable.
        #[test]
        fn masked_text_holds_no_run_of_nine_digits(text in "[0-9 +.()a-z@é-]{0,60}|\\PC{0,40}") {
            let m = mask_contacts(&text);
            let digits_in_a_row = m.text.split(|c: char| !(c.is_ascii_digit() || matches!(c, ' ' | '.' | '-' | '(' | ')' | '+')))
                .map(|run| run.chars().filter(char::is_ascii_digit).count())
                .max()
                .unwrap_or(0);
            prop_assert!(digits_in_a_row < 9, "{text:?} → {:?}", m.text);
        }
    }

    fn masked(text: &str) -> (String, Vec<Contact>) {
        let m = mask_contacts(text);
        (m.text, m.found)
    }

    #[test]
    fn phone_numbers_emails_and_links_are_masked_and_reported() {
        assert_eq!(
            masked("appelez-moi au 06 12 34 56 78 ce soir"),
            ("appelez-moi au ••• ce soir".into(), vec![Contact::Phone])
        );
        assert_eq!(masked("+33 (0)6.12.34.56.78"), ("•••".into(), vec![Contact::Phone]));
        assert_eq!(masked("0612345678!"), ("•••!".into(), vec![Contact::Phone]));
        assert_eq!(masked("079 123 45 67"), ("•••".into(), vec![Contact::Phone]));
        assert_eq!(masked("02 123 45 67"), ("•••".into(), vec![Contact::Phone]));
        assert_eq!(masked("écris à luna.voyance@gmail.com."), ("écris à •••".into(), vec![Contact::Email]));
        assert_eq!(masked("va sur https://x.example/rdv"), ("va sur •••".into(), vec![Contact::Link]));
        assert_eq!(masked("ou www.luna.fr, ou luna-voyance.com"), ("ou ••• ou •••".into(), vec![Contact::Link]));
        let (_, found) = masked("0612345678 et moi@ici.fr");
        assert_eq!(found, vec![Contact::Phone, Contact::Email]);
    }

    #[test]
    fn ordinary_numbers_and_words_are_left_alone() {
        for text in [
            "née le 12/03/1985 à 14 h 30",
            "ou le 12.03.1985, vers 14.30",
            "ça fait 7,75 € pour 10 minutes",
            "je vois le chiffre 2024 et le 7",
            "bonjour. comment allez-vous ?",
            "fin.",
        ] {
            assert_eq!(masked(text), (text.into(), vec![]), "{text}");
        }
    }

    #[test]
    fn a_message_is_trimmed_and_held_to_its_length() {
        let policy = ChatPolicy::default();
        assert_eq!(check_message("  bonjour  ", &policy), Ok("bonjour".into()));
        assert_eq!(check_message(" \n ", &policy), Err(MessageError::Empty));
        assert_eq!(check_message("\u{200B}\u{202E}", &policy), Err(MessageError::Empty));
        assert_eq!(check_message("a\u{0007}b", &policy), Err(MessageError::Invalid));
        assert_eq!(check_message(&"a".repeat(2001), &policy), Err(MessageError::TooLong(2000)));
        assert_eq!(check_message("<script>alert(1)</script>", &policy), Ok("<script>alert(1)</script>".into()));
    }

    #[test]
    fn a_participant_writing_too_fast_is_held_back_until_the_window_passes() {
        let policy = ChatPolicy { burst_messages: 3, burst_seconds: 10, ..ChatPolicy::default() };
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut burst = Burst::default();
        for s in 0..3 {
            assert_eq!(burst.allow(t0 + Duration::seconds(s), &policy), Ok(()));
        }
        assert_eq!(burst.allow(t0 + Duration::seconds(5), &policy), Err(MessageError::TooFast));
        assert_eq!(burst.allow(t0 + Duration::seconds(10), &policy), Ok(()), "the first one left the window");
    }

    #[test]
    fn sp_chat_idle_a_quiet_chat_ends_after_four_minutes_and_an_unanswered_client_too() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let idle = Duration::minutes(4);
        let at = |s| t0 + Duration::seconds(s);
        // Nobody wrote or typed since 100 s.
        assert_eq!(idle_deadline(at(100), Some(at(50)), Some(at(100)), idle), at(340));
        // The client wrote at 100 s; the expert keeps typing but sends nothing.
        assert_eq!(idle_deadline(at(300), Some(at(100)), Some(at(60)), idle), at(340));
        // The expert answered: only overall quiet counts.
        assert_eq!(idle_deadline(at(300), Some(at(100)), Some(at(120)), idle), at(540));
        // The client wrote first and nobody answered yet.
        assert_eq!(idle_deadline(at(10), Some(at(10)), None, idle), at(250));
    }
}
