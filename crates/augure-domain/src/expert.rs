//! What an expert offers: consultation modes, specialties, languages (prices: `pricing`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How a consultation happens (SP-options, WG-channels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Phone,
    Chat,
    Email,
    Video,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Phone, Mode::Chat, Mode::Email, Mode::Video];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Phone => "phone",
            Mode::Chat => "chat",
            Mode::Email => "email",
            Mode::Video => "video",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mode::ALL.into_iter().find(|m| m.as_str() == s).ok_or_else(|| format!("unknown mode {s:?}"))
    }
}

/// The specialties ("univers") an operator starts with (SP-options); the list is data an
/// admin edits, these are only its initial content.
pub const DEFAULT_SPECIALTIES: [&str; 10] = [
    "astrology",
    "cartomancy",
    "clairvoyance",
    "numerology",
    "tarot",
    "magnetism",
    "coaching",
    "dream-interpretation",
    "mediumship",
    "channeling",
];

// The price rules live in `pricing`; these names stay reachable from here.
pub use crate::pricing::{PriceError, ServiceType, check_price};
