//! How typed searches match names: without regard to case or accents, so "selene" finds
//! "Sélène" and "JOSE" finds "José".

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// `text` folded for comparison: decomposed, accents dropped, lower case.
pub fn fold(text: &str) -> String {
    text.nfkd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect()
}

/// Whether `name` contains what was typed, folded alike.
pub fn name_matches(name: &str, typed: &str) -> bool {
    fold(name).contains(&fold(typed.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_and_case_do_not_matter() {
        assert!(name_matches("Sélène", "selene"));
        assert!(name_matches("Sélène", "SÉLÈNE"));
        assert!(name_matches("Maître Noël", "noel"));
        assert!(name_matches("Ælis", "ælis"));
        assert!(!name_matches("Sélène", "selenea"));
    }
}
