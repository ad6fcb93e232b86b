//! SP-profile's bank details: where an expert's earnings are paid. IBANs are checked by
//! the iban_validate crate (checksum and each country's BBAN format); a BIC is checked for
//! its ISO 9362 shape.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayoutMethod {
    BankTransfer,
    PayPal,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BankError {
    #[error("not a valid IBAN")]
    InvalidIban,
    #[error("not a valid BIC")]
    InvalidBic,
}

/// An IBAN in its electronic form (`FR7630006000011234567890189`), from what people type
/// (spaces, lower case).
pub fn parse_iban(text: &str) -> Result<String, BankError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    compact.parse::<iban::Iban>().map(|_| compact).map_err(|_| BankError::InvalidIban)
}

/// The IBAN grouped by four for display: `FR76 3000 6000 …`.
pub fn format_iban(electronic: &str) -> String {
    let chars: Vec<char> = electronic.chars().collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
}

/// An IBAN as shown once saved: the country and check digits and the last four
/// characters, the rest hidden — enough to recognise it, not to copy it.
pub fn mask_iban(electronic: &str) -> String {
    let chars: Vec<char> = electronic.chars().collect();
    let masked: String =
        chars.iter().enumerate().map(|(i, c)| if i < 4 || i + 4 >= chars.len() { *c } else { '•' }).collect();
    format_iban(&masked)
}

/// A BIC (SWIFT code): 4 letters (bank), 2 letters (country), 2 letters or digits
/// (location), and optionally 3 more (branch).
pub fn parse_bic(text: &str) -> Result<String, BankError> {
    let bic: String = text.trim().to_uppercase();
    let b = bic.as_bytes();
    let ok = (b.len() == 8 || b.len() == 11)
        && b[..6].iter().all(u8::is_ascii_uppercase)
        && b[6..].iter().all(u8::is_ascii_alphanumeric);
    if ok { Ok(bic) } else { Err(BankError::InvalidBic) }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_saved_iban_shows_only_its_ends() {
        assert_eq!(mask_iban("FR7630006000011234567890189"), "FR76 •••• •••• •••• •••• •••0 189");
    }
    use super::*;

    #[test]
    fn sp_profile_ibans_are_validated_and_normalized() {
        assert_eq!(parse_iban("fr76 3000 6000 0112 3456 7890 189").unwrap(), "FR7630006000011234567890189");
        assert_eq!(parse_iban("CH93 0076 2011 6238 5295 7").unwrap(), "CH9300762011623852957");
        assert_eq!(parse_iban("FR7630006000011234567890188"), Err(BankError::InvalidIban), "checksum");
        assert_eq!(parse_iban("FR76"), Err(BankError::InvalidIban));
        assert_eq!(parse_iban(""), Err(BankError::InvalidIban));
        assert_eq!(format_iban("FR7630006000011234567890189"), "FR76 3000 6000 0112 3456 7890 189");
    }

    #[test]
    fn sp_profile_bics_have_the_iso_shape() {
        assert_eq!(parse_bic(" bnpafrpp ").unwrap(), "BNPAFRPP");
        assert_eq!(parse_bic("UBSWCHZH80A").unwrap(), "UBSWCHZH80A");
        for bad in ["", "BNPAFRP", "BNPAFRPPX", "1NPAFRPP", "BNPA12PP", "BNPAFRPP-XX"] {
            assert!(parse_bic(bad).is_err(), "{bad:?} accepted");
        }
    }
}
