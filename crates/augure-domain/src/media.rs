//! SP-media, SP-presentation: what an expert submits is moderated before clients see it.

use std::fmt;
use std::str::FromStr;

/// What a submission is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MediaKind {
    Photo,
    Audio,
    /// The presentation text, one per language.
    Presentation,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Photo => "photo",
            Self::Audio => "audio",
            Self::Presentation => "presentation",
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MediaKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "photo" => Ok(Self::Photo),
            "audio" => Ok(Self::Audio),
            "presentation" => Ok(Self::Presentation),
            other => Err(format!("unknown media kind: {other}")),
        }
    }
}

/// Where a submission is in moderation. Only `Pending` can be decided; a newer
/// submission of the same kind and language supersedes a pending one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaStatus {
    Pending,
    Approved,
    Refused,
    Superseded,
}

impl MediaStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Refused => "refused",
            Self::Superseded => "superseded",
        }
    }
}

impl FromStr for MediaStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(Self::Pending),
            "approved" => Ok(Self::Approved),
            "refused" => Ok(Self::Refused),
            "superseded" => Ok(Self::Superseded),
            other => Err(format!("unknown media status: {other}")),
        }
    }
}

/// SP-presentation's limits on the text, in characters.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct PresentationPolicy {
    pub min_chars: usize,
    pub max_chars: usize,
    /// How much of it a directory card shows.
    pub excerpt_chars: usize,
}

impl Default for PresentationPolicy {
    fn default() -> Self {
        Self { min_chars: 20, max_chars: 4000, excerpt_chars: 160 }
    }
}

/// The start of a presentation for a card: whole words, an ellipsis when cut.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max_chars {
        return text;
    }
    let cut: String = text.chars().take(max_chars).collect();
    let words = match cut.rfind(' ') {
        Some(i) if i > max_chars / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", words.trim_end_matches([',', '.', ';', ':']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_cut_on_words() {
        assert_eq!(excerpt("Short  text\n here", 50), "Short text here");
        let long = "Tarologue depuis vingt ans, je vous accompagne dans vos choix avec bienveillance.";
        let e = excerpt(long, 30);
        assert!(e.ends_with('…') && e.chars().count() <= 31, "{e}");
        assert!(long.starts_with(e.trim_end_matches('…')));
        assert_eq!(excerpt("ééééééééé", 4), "éééé…");
    }

    #[test]
    fn kinds_and_statuses_round_trip() {
        for k in [MediaKind::Photo, MediaKind::Audio, MediaKind::Presentation] {
            assert_eq!(k.as_str().parse::<MediaKind>().unwrap(), k);
        }
        for s in [MediaStatus::Pending, MediaStatus::Approved, MediaStatus::Refused, MediaStatus::Superseded] {
            assert_eq!(s.as_str().parse::<MediaStatus>().unwrap(), s);
        }
        assert!("video".parse::<MediaKind>().is_err());
    }
}
