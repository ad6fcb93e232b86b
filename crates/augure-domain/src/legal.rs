//! A site's public information pages (legal notice, terms, privacy, contact) and the tiny
//! markup their text is written in. Operators type plain text: a blank line starts a
//! paragraph, `## ` a heading, `- ` a list item. Nothing else is read as markup, so no
//! text an admin types can ever become HTML.

use std::fmt;
use std::str::FromStr;

/// Which page. The URL of each is `/{slug}`, the same in every language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PageKind {
    /// Mentions légales: who runs the site, who hosts it.
    Legal,
    /// Conditions générales (and the experts' code of ethics, SP-contract).
    Terms,
    /// Confidentialité: what is kept about people and why.
    Privacy,
    /// How to reach the operator.
    Contact,
}

impl PageKind {
    pub const ALL: [PageKind; 4] = [PageKind::Legal, PageKind::Terms, PageKind::Privacy, PageKind::Contact];

    /// The key stored in the database and used in URLs and message keys.
    pub fn as_str(self) -> &'static str {
        match self {
            PageKind::Legal => "legal",
            PageKind::Terms => "terms",
            PageKind::Privacy => "privacy",
            PageKind::Contact => "contact",
        }
    }
}

impl fmt::Display for PageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown page {0:?}")]
pub struct UnknownPage(pub String);

impl FromStr for PageKind {
    type Err = UnknownPage;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PageKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| UnknownPage(s.to_owned()))
    }
}

/// One block of a page's text, ready to be shown (escaped) by a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    Heading(String),
    /// Its lines, shown with line breaks between them.
    Paragraph(Vec<String>),
    List(Vec<String>),
}

/// Reads a page's text into blocks. Lines are trimmed; runs of blank lines separate
/// blocks; a `## ` line is a heading on its own; consecutive `- ` lines form a list.
pub fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    let flush = |current: &mut Option<Block>, out: &mut Vec<Block>| {
        if let Some(b) = current.take() {
            out.push(b);
        }
    };
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            flush(&mut current, &mut out);
        } else if let Some(heading) = line.strip_prefix("## ").map(str::trim).filter(|h| !h.is_empty()) {
            flush(&mut current, &mut out);
            out.push(Block::Heading(heading.to_owned()));
        } else if let Some(item) = line.strip_prefix("- ").map(str::trim).filter(|i| !i.is_empty()) {
            match &mut current {
                Some(Block::List(items)) => items.push(item.to_owned()),
                _ => {
                    flush(&mut current, &mut out);
                    current = Some(Block::List(vec![item.to_owned()]));
                }
            }
        } else {
            match &mut current {
                Some(Block::Paragraph(lines)) => lines.push(line.to_owned()),
                _ => {
                    flush(&mut current, &mut out);
                    current = Some(Block::Paragraph(vec![line.to_owned()]));
                }
            }
        }
    }
    flush(&mut current, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_kinds_round_trip_through_their_keys() {
        for kind in PageKind::ALL {
            assert_eq!(kind.as_str().parse::<PageKind>(), Ok(kind));
        }
        assert!("admin".parse::<PageKind>().is_err());
    }

    #[test]
    fn blank_lines_separate_paragraphs_and_single_breaks_stay_in_one() {
        let text = "Première ligne\r\nsuite\n\n\n  Deuxième  \n";
        assert_eq!(
            blocks(text),
            [
                Block::Paragraph(vec!["Première ligne".into(), "suite".into()]),
                Block::Paragraph(vec!["Deuxième".into()])
            ]
        );
    }

    #[test]
    fn headings_and_lists_are_the_only_markup() {
        let text = "## Éditeur\naugure SAS\n- un\n- deux\n<b>gras</b>\n##pas un titre";
        assert_eq!(
            blocks(text),
            [
                Block::Heading("Éditeur".into()),
                Block::Paragraph(vec!["augure SAS".into()]),
                Block::List(vec!["un".into(), "deux".into()]),
                Block::Paragraph(vec!["<b>gras</b>".into(), "##pas un titre".into()]),
            ]
        );
        assert!(blocks("\n \n").is_empty());
    }
}
