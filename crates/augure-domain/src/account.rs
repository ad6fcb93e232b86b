//! Who can sign in, and what a valid email, password and expert code are.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Client,
    Expert,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Expert => "expert",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "client" => Ok(Role::Client),
            "expert" => Ok(Role::Expert),
            "admin" => Ok(Role::Admin),
            other => Err(format!("unknown role {other:?}")),
        }
    }
}

/// An email address, trimmed and lower-cased so that one person has one account.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid email address")]
pub struct InvalidEmail;

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Email {
    type Err = InvalidEmail;

    // The address itself is parsed by the email_address crate (RFC 5322: `a,b@x.fr` is
    // not an address), without display names, domain literals or quoted local parts,
    // which no one types in a sign-up form; the reset mail is the proof of ownership.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        use email_address::{EmailAddress, Options};
        let s = s.trim();
        let options = Options::default().with_required_tld().without_display_text().without_domain_literal();
        let ok = s.len() <= Self::MAX_LEN
            && !s.starts_with('"')
            && !s.chars().any(crate::text::is_invisible)
            && EmailAddress::parse_with_options(s, options).is_ok();
        if ok { Ok(Email(s.to_lowercase())) } else { Err(InvalidEmail) }
    }
}

impl TryFrom<String> for Email {
    type Error = InvalidEmail;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What makes a password acceptable. Lengths are settings with these defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordPolicy {
    pub min_len: usize,
    pub max_len: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_len: 10, max_len: 128 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password too short: at least {0} characters")]
    TooShort(usize),
    #[error("password too long: at most {0} characters")]
    TooLong(usize),
}

impl PasswordPolicy {
    pub fn check(&self, password: &str) -> Result<(), PasswordError> {
        let len = password.chars().count();
        if len < self.min_len {
            Err(PasswordError::TooShort(self.min_len))
        } else if len > self.max_len {
            Err(PasswordError::TooLong(self.max_len))
        } else {
            Ok(())
        }
    }
}

/// The longest display name, in characters.
pub const DISPLAY_NAME_MAX: usize = 80;

/// A person's display name: 1–80 characters, one line with something visible
/// ([`check_line`](crate::text::check_line)).
pub fn check_display_name(name: &str) -> Option<String> {
    let name = name.trim();
    let len = name.chars().count();
    ((1..=DISPLAY_NAME_MAX).contains(&len) && crate::text::check_line(name).is_ok()).then(|| name.to_owned())
}

/// SP-code: the short number clients type on the phone keypad to reach an expert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExpertCode(pub u32);

impl ExpertCode {
    /// Picks a code of `digits` digits (no leading zero, so it reads the same when spoken)
    /// from a random number. The store's uniqueness constraint decides whether it is free;
    /// callers retry with fresh randomness and widen `digits` when the space fills.
    pub fn from_random(random: u32, digits: u32) -> ExpertCode {
        let digits = digits.clamp(4, 9);
        let low = 10_u32.pow(digits - 1);
        let span = 9 * low;
        ExpertCode(low + random % span)
    }
}

impl fmt::Display for ExpertCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn emails_are_normalized() {
        let e: Email = "  Marie.Dupont@Example.FR ".parse().unwrap();
        assert_eq!(e.as_str(), "marie.dupont@example.fr");
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in ["", "a", "a@b", "@x.fr", "a@.fr", "a@x.", "a b@x.fr", "a@x@y.fr", "<a@x.fr>"] {
            assert!(bad.parse::<Email>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn emails_are_parsed_as_rfc_5322_addresses() {
        for bad in [
            "a,b@x.fr",
            "a;b@x.fr",
            "a..b@x.fr",
            ".a@x.fr",
            "a@x..fr",
            "a@-x.fr",
            "Marie <a@x.fr>",
            "a@[127.0.0.1]",
            "\"a b\"@x.fr",
            "a\0@x.fr",
            "a@x.fr\0",
            "\u{200B}a@x.fr",
            "a\u{202E}@x.fr",
            &format!("{}@x.fr", "a".repeat(65)),
        ] {
            assert!(bad.parse::<Email>().is_err(), "{bad:?} accepted");
        }
        for good in ["a+tag@x.fr", "o'brien@example.co.uk", "luna@augure.localhost", "zoé@exemple.fr"] {
            assert!(good.parse::<Email>().is_ok(), "{good:?} refused");
        }
    }

    #[test]
    fn password_policy_counts_characters_not_bytes() {
        let policy = PasswordPolicy::default();
        assert_eq!(policy.check("short"), Err(PasswordError::TooShort(10)));
        assert!(policy.check("éééééééééé").is_ok());
        assert_eq!(policy.check(&"x".repeat(129)), Err(PasswordError::TooLong(128)));
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(check_display_name("  Luna "), Some("Luna".into()));
        assert_eq!(check_display_name("   "), None);
        assert_eq!(check_display_name(&"a".repeat(81)), None);
        assert_eq!(check_display_name("a\u{7}b"), None);
        assert_eq!(check_display_name("a\0b"), None);
        assert_eq!(check_display_name("\u{202E}\u{200B}"), None, "nothing visible");
    }

    proptest! {
        #[test]
        fn sp_code_has_the_requested_digits(random in any::<u32>(), digits in 4_u32..=9) {
            let code = ExpertCode::from_random(random, digits).0;
            prop_assert_eq!(code.to_string().len() as u32, digits);
        }
    }
}
