//! Phone numbers: stored in E.164 ("+33170000001"), read the way people type them and
//! shown the way the reader dials them, with libphonenumber's metadata.

use phonenumber::Mode;
use phonenumber::country::Id;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid phone number: {0:?}")]
pub struct InvalidPhone(pub String);

/// The country a site code or an ISO country code stands for (`FR`, `ch`), if any.
fn country(code: Option<&str>) -> Option<Id> {
    code.and_then(|c| c.trim().to_ascii_uppercase().parse().ok())
}

/// Reads a number typed by someone of `country` ("01 70 00 00 01" in France, or
/// "+41 44 668 18 00" from anywhere) and gives its E.164 form. Numbers that do not exist
/// in the numbering plan (too short, unassigned ranges) are refused.
pub fn to_e164(input: &str, country_code: Option<&str>) -> Result<String, InvalidPhone> {
    let invalid = || InvalidPhone(input.to_owned());
    let typed = input.trim();
    // Without a country the number must say its own: "+…" (or "00…", read as "+…").
    let typed = match typed.strip_prefix("00") {
        Some(rest) if country(country_code).is_none() => format!("+{rest}"),
        _ => typed.to_owned(),
    };
    let number = phonenumber::parse(country(country_code), &typed).map_err(|_| invalid())?;
    if !phonenumber::is_valid(&number) {
        return Err(invalid());
    }
    Ok(number.format().mode(Mode::E164).to_string())
}

/// How a reader on `country`'s site sees a stored number: in the national format for a
/// number of that country ("01 70 00 00 01" in France), in the international one otherwise
/// ("+33 1 70 00 00 01" in Switzerland). A stored value that is not a number is shown as
/// it is.
pub fn display(stored: &str, country_code: Option<&str>) -> String {
    let viewer = country(country_code);
    let Ok(number) = phonenumber::parse(if stored.trim_start().starts_with('+') { None } else { viewer }, stored)
    else {
        return stored.to_owned();
    };
    let mode = if viewer.is_some() && number.country().id() == viewer { Mode::National } else { Mode::International };
    number.format().mode(mode).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_is_shown_nationally_on_its_own_countrys_site() {
        assert_eq!(display("+33170000001", Some("FR")), "01 70 00 00 01");
        assert_eq!(display("+41446681800", Some("CH")), "044 668 18 00");
        assert_eq!(display("+3225551234", Some("BE")), "02 555 12 34");
    }

    #[test]
    fn and_internationally_elsewhere() {
        assert_eq!(display("+33170000001", Some("CH")), "+33 1 70 00 00 01");
        assert_eq!(display("+41446681800", Some("FR")), "+41 44 668 18 00");
        assert_eq!(display("+33170000001", None), "+33 1 70 00 00 01");
        assert_eq!(display("+33170000001", Some("XYZ")), "+33 1 70 00 00 01");
    }

    #[test]
    fn what_is_not_a_number_is_shown_as_stored() {
        assert_eq!(display("ask at the desk", Some("FR")), "ask at the desk");
        assert_eq!(display("", Some("FR")), "");
    }

    #[test]
    fn typed_numbers_are_read_in_the_typists_country() {
        assert_eq!(to_e164("01 70 00 00 01", Some("FR")).unwrap(), "+33170000001");
        assert_eq!(to_e164(" 01.70.00.00.01 ", Some("fr")).unwrap(), "+33170000001");
        assert_eq!(to_e164("044 668 18 00", Some("CH")).unwrap(), "+41446681800");
        assert_eq!(to_e164("+41 44 668 18 00", Some("FR")).unwrap(), "+41446681800");
        assert_eq!(to_e164("0041 44 668 18 00", None).unwrap(), "+41446681800");
        assert_eq!(to_e164("+33170000001", None).unwrap(), "+33170000001");
    }

    #[test]
    fn what_does_not_exist_is_refused() {
        for bad in ["", "12", "hello", "01 70", "+33 1 70 00 00 01 99 99", "+999 123 456"] {
            assert!(to_e164(bad, Some("FR")).is_err(), "{bad:?} accepted");
        }
        // A national number without a country to read it in.
        assert!(to_e164("01 70 00 00 01", None).is_err());
    }
}
