//! What people read instead of codes: languages ("fr" → "Français"), time zones
//! ("Europe/Paris" → "Paris (UTC+1)") and phone numbers ("+33170000001" → "01 70 00 00 01"
//! on the French site). Form values stay codes; only labels use these.

use augure_app::i18n::Tr;
use chrono::{DateTime, Offset, Utc};
use chrono_tz::Tz;

/// A language in the reader's language; a language without a name here shows its code.
pub fn language(tr: &Tr<'_>, code: &str) -> String {
    let key = format!("lang-{}", code.to_ascii_lowercase());
    let name = tr.t(&key);
    if name == key { code.to_uppercase() } else { name }
}

/// A currency in the reader's language ("francs suisses"); one without a name here shows
/// its code.
pub fn currency(tr: &Tr<'_>, currency: augure_domain::Currency) -> String {
    let key = format!("currency-{}", currency.code().to_ascii_lowercase());
    let name = tr.t(&key);
    if name == key { currency.code().to_owned() } else { name }
}

/// A language by its own name, for the language switch: "Italiano" whatever the page's
/// language, so that a reader finds theirs.
pub fn endonym(code: &str) -> &'static str {
    match code {
        "fr" => "Français",
        "it" => "Italiano",
        "en" => "English",
        _ => "",
    }
}

/// Languages, named and joined: "Français · Anglais".
pub fn languages<S: AsRef<str>>(tr: &Tr<'_>, codes: &[S]) -> String {
    codes.iter().map(|c| language(tr, c.as_ref())).collect::<Vec<_>>().join(" · ")
}

/// A time zone as people say it, with its offset at `at`: "Paris (UTC+1)", "Toronto
/// (UTC-5)". The city is translated where the translations name it ("Bruxelles"), else
/// taken from the zone's name.
pub fn zone(tr: &Tr<'_>, tz: Tz, at: DateTime<Utc>) -> String {
    let name = tz.name();
    let key = format!("zone-city-{}", name.to_ascii_lowercase().replace(['/', '_'], "-"));
    let translated = tr.t(&key);
    let city = if translated == key { name.rsplit('/').next().unwrap_or(name).replace('_', " ") } else { translated };
    let seconds = at.with_timezone(&tz).offset().fix().local_minus_utc();
    tr.t2("zone-name", "city", &city, "offset", &utc_offset(seconds))
}

/// "UTC", "UTC+1", "UTC-5", "UTC+5:30".
fn utc_offset(seconds: i32) -> String {
    if seconds == 0 {
        return "UTC".to_owned();
    }
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.unsigned_abs() / 60;
    match minutes % 60 {
        0 => format!("UTC{sign}{}", minutes / 60),
        m => format!("UTC{sign}{}:{m:02}", minutes / 60),
    }
}

/// A stored (E.164) number as a reader on `site` dials it.
pub fn phone(number: &str, site: Option<&augure_domain::SiteCode>) -> String {
    augure_domain::phone::display(number, site.map(|s| s.as_str()))
}

/// The same, for templates that hold the site.
pub fn phone_on(number: &str, site: &augure_domain::Site) -> String {
    phone(number, Some(&site.code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use augure_app::i18n::I18n;
    use chrono::TimeZone;

    #[test]
    fn offsets_read_as_people_write_them() {
        assert_eq!(utc_offset(0), "UTC");
        assert_eq!(utc_offset(3600), "UTC+1");
        assert_eq!(utc_offset(-5 * 3600), "UTC-5");
        assert_eq!(utc_offset(5 * 3600 + 1800), "UTC+5:30");
    }

    #[test]
    fn zones_and_languages_are_named_in_the_readers_language() {
        let i18n = I18n::new();
        let fr = Tr::new(&i18n, "fr");
        let winter = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let summer = Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).unwrap();
        assert_eq!(zone(&fr, chrono_tz::Europe::Paris, winter), "Paris (UTC+1)");
        assert_eq!(zone(&fr, chrono_tz::Europe::Paris, summer), "Paris (UTC+2)");
        assert_eq!(zone(&fr, chrono_tz::Europe::Brussels, winter), "Bruxelles (UTC+1)");
        assert_eq!(zone(&fr, chrono_tz::America::Toronto, winter), "Toronto (UTC-5)");
        assert_eq!(zone(&fr, chrono_tz::America::Argentina::Buenos_Aires, winter), "Buenos Aires (UTC-3)");
        let it = Tr::new(&i18n, "it");
        assert_eq!(zone(&it, chrono_tz::Europe::Zurich, winter), "Zurigo (UTC+1)");
        assert_eq!(language(&fr, "fr"), "Français");
        assert_eq!(language(&it, "en"), "Inglese");
        assert_eq!(language(&fr, "xx"), "XX");
        assert_eq!(languages(&fr, &["it", "de"]), "Italien · Allemand");
        assert_eq!(currency(&fr, augure_domain::Currency::Chf), "francs suisses");
        for code in augure_app::i18n::LOCALES {
            assert!(!endonym(code).is_empty(), "the language switch names {code}");
        }
        assert_eq!(currency(&it, augure_domain::Currency::Cad), "dollari canadesi");
    }
}
