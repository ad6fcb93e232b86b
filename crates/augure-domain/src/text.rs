//! The one rule for free text people type (names, profiles, bank details, presentations):
//! no control characters but newline and tab, and a name shows at least one character.
//! PostgreSQL refuses NUL in text outright and other controls corrupt pages and mails, so
//! text is checked before it reaches a store.

/// Why a piece of text was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("the text contains a control character")]
    ControlCharacter,
    #[error("the text shows no visible character")]
    Invisible,
}

/// Multi-line free text: any character but controls other than newline and tab. A
/// carriage return is accepted only as part of CRLF, which browsers send for textareas.
pub fn check_text(text: &str) -> Result<(), TextError> {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let allowed = match c {
            '\n' | '\t' => true,
            '\r' => chars.peek() == Some(&'\n'),
            c => !c.is_control(),
        };
        if !allowed {
            return Err(TextError::ControlCharacter);
        }
    }
    Ok(())
}

/// One line (a name, a headline, an address line): no control character at all, and,
/// unless empty, at least one visible character — a name made only of zero-width or
/// direction-override characters would show as nothing or reverse what follows it.
pub fn check_line(text: &str) -> Result<(), TextError> {
    if text.chars().any(char::is_control) {
        return Err(TextError::ControlCharacter);
    }
    if !text.is_empty() && text.chars().all(is_invisible) {
        return Err(TextError::Invisible);
    }
    Ok(())
}

/// Characters that take no visible space of their own: white space, Unicode format
/// characters (zero-width spaces and joiners, direction marks, embeddings, overrides and
/// isolates, the byte-order mark, tags), variation selectors and blank fillers.
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(c,
            '\u{00AD}'                      // soft hyphen
            | '\u{034F}'                    // combining grapheme joiner
            | '\u{061C}'                    // Arabic letter mark
            | '\u{115F}' | '\u{1160}'       // Hangul fillers
            | '\u{17B4}' | '\u{17B5}'       // Khmer inherent vowels
            | '\u{180B}'..='\u{180F}'       // Mongolian selectors and vowel separator
            | '\u{200B}'..='\u{200F}'       // zero-width space, (non-)joiner, LRM, RLM
            | '\u{202A}'..='\u{202E}'       // embeddings and overrides
            | '\u{2060}'..='\u{206F}'       // word joiner, invisible operators, isolates
            | '\u{2800}'                    // braille blank
            | '\u{3164}' | '\u{FFA0}'       // Hangul fillers
            | '\u{FE00}'..='\u{FE0F}'       // variation selectors
            | '\u{FEFF}'                    // byte-order mark
            | '\u{FFF9}'..='\u{FFFB}'       // interlinear annotation
            | '\u{1D173}'..='\u{1D17A}'     // musical formatting
            | '\u{E0000}'..='\u{E0FFF}') // tags and variation selectors supplement
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_refuses_control_characters_but_newline_and_tab() {
        assert_eq!(check_text("Bonjour,\nje suis\tvoyante.\r\nÀ bientôt"), Ok(()));
        assert_eq!(check_text(""), Ok(()));
        for bad in ["a\0b", "\0", "a\u{7}b", "a\u{1b}[31m", "a\rb", "a\r", "a\u{7f}", "a\u{85}b", "a\u{9b}b"] {
            assert_eq!(check_text(bad), Err(TextError::ControlCharacter), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_line_refuses_every_control_character() {
        assert_eq!(check_line("Luna — tarot & astrologie ✨"), Ok(()));
        assert_eq!(check_line(""), Ok(()), "emptiness is the caller's rule");
        for bad in ["a\nb", "a\tb", "a\0", "\r\n"] {
            assert_eq!(check_line(bad), Err(TextError::ControlCharacter), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_line_made_only_of_invisible_characters_is_refused() {
        for bad in [
            "\u{202E}",
            "\u{202E}\u{200B}",
            "\u{200B}\u{200C}\u{200D}",
            "\u{FEFF}",
            "\u{2066}\u{2069}",
            " \u{3000}\u{00A0}",
            "\u{2800}",
            "\u{E0041}",
        ] {
            assert_eq!(check_line(bad), Err(TextError::Invisible), "{bad:?} accepted");
        }
        // Invisible characters next to visible ones are left alone: joiners belong to
        // emoji and some scripts, marks to mixed-direction names.
        for good in ["\u{202E}Luna", "Ana\u{200D}ïs", "👩\u{200D}🔬", "\u{200F}سارة"] {
            assert_eq!(check_line(good), Ok(()), "{good:?} refused");
        }
    }
}
