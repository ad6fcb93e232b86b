//! Translations through Fluent: French first, then Italian and English. The `.ftl` files
//! are compiled into the binary; a test checks every locale has every key.

use std::collections::{BTreeSet, HashMap};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use fluent_langneg::{NegotiationStrategy, accepted_languages, negotiate_languages};
use unic_langid::LanguageIdentifier;

/// Supported locales, the default first.
pub const LOCALES: [&str; 3] = ["fr", "it", "en"];
pub const DEFAULT_LOCALE: &str = "fr";

const SOURCES: [(&str, &str); 3] = [
    ("fr", include_str!("../../../locales/fr/main.ftl")),
    ("it", include_str!("../../../locales/it/main.ftl")),
    ("en", include_str!("../../../locales/en/main.ftl")),
];

pub struct I18n {
    bundles: HashMap<&'static str, FluentBundle<FluentResource>>,
    keys: HashMap<&'static str, BTreeSet<String>>,
}

impl Default for I18n {
    fn default() -> Self {
        Self::new()
    }
}

impl I18n {
    /// Parses the embedded translations. They are part of the build, and tests parse them,
    /// so a syntax error here is a bug caught before release.
    pub fn new() -> Self {
        let mut bundles = HashMap::new();
        let mut keys = HashMap::new();
        for (locale, source) in SOURCES {
            let resource = FluentResource::try_new(source.to_owned())
                .unwrap_or_else(|(_, errors)| panic!("locales/{locale}/main.ftl: {errors:?}"));
            let ids: BTreeSet<String> = resource
                .entries()
                .filter_map(|entry| match entry {
                    fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
                    _ => None,
                })
                .collect();
            let lang: LanguageIdentifier = locale.parse().expect("locale id");
            let mut bundle = FluentBundle::new_concurrent(vec![lang]);
            // Unicode isolation marks would show up as stray characters in HTML and mail.
            bundle.set_use_isolating(false);
            bundle.add_resource(resource).unwrap_or_else(|errors| panic!("locales/{locale}/main.ftl: {errors:?}"));
            bundles.insert(locale, bundle);
            keys.insert(locale, ids);
        }
        Self { bundles, keys }
    }

    /// The supported locale matching `code` (`it`, `it-CH`, `EN`), if any.
    pub fn supported(code: &str) -> Option<&'static str> {
        let primary = code.split(['-', '_']).next()?;
        LOCALES.into_iter().find(|l| l.eq_ignore_ascii_case(primary))
    }

    /// Picks the best locale from an `Accept-Language` header.
    pub fn negotiate(accept_language: Option<&str>) -> &'static str {
        let Some(header) = accept_language else {
            return DEFAULT_LOCALE;
        };
        let requested = accepted_languages::parse(header);
        let available: Vec<LanguageIdentifier> = LOCALES.iter().filter_map(|l| l.parse().ok()).collect();
        let default: LanguageIdentifier = DEFAULT_LOCALE.parse().expect("default locale");
        negotiate_languages(&requested, &available, Some(&default), NegotiationStrategy::Lookup)
            .first()
            .and_then(|l| Self::supported(l.language.as_str()))
            .unwrap_or(DEFAULT_LOCALE)
    }

    pub fn t(&self, locale: &str, key: &str) -> String {
        self.format(locale, key, None)
    }

    pub fn t_args(&self, locale: &str, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }
        self.format(locale, key, Some(&fluent_args))
    }

    /// Message ids of a locale, for the completeness test.
    pub fn keys(&self, locale: &str) -> BTreeSet<String> {
        self.keys.get(locale).cloned().unwrap_or_default()
    }

    fn format(&self, locale: &str, key: &str, args: Option<&FluentArgs<'_>>) -> String {
        let locale = Self::supported(locale).unwrap_or(DEFAULT_LOCALE);
        for candidate in [locale, DEFAULT_LOCALE] {
            let bundle = &self.bundles[candidate];
            if let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                let text = bundle.format_pattern(pattern, args, &mut errors);
                if !errors.is_empty() {
                    tracing::warn!(key, locale = candidate, ?errors, "translation problem");
                }
                return text.into_owned();
            }
        }
        tracing::warn!(key, locale, "missing translation");
        key.to_owned()
    }
}

/// A translator bound to one locale, handed to templates: `{{ tr.t("key") }}`.
#[derive(Clone, Copy)]
pub struct Tr<'a> {
    pub i18n: &'a I18n,
    pub locale: &'static str,
}

impl<'a> Tr<'a> {
    pub fn new(i18n: &'a I18n, locale: &str) -> Self {
        Self { i18n, locale: I18n::supported(locale).unwrap_or(DEFAULT_LOCALE) }
    }

    pub fn t(&self, key: &str) -> String {
        self.i18n.t(self.locale, key)
    }

    /// One named argument, the common case in templates.
    pub fn t1(&self, key: &str, name: &str, value: &str) -> String {
        self.i18n.t_args(self.locale, key, &[(name, FluentValue::from(value.to_owned()))])
    }

    /// Named arguments, any number.
    pub fn t_args(&self, key: &str, args: &[(&str, String)]) -> String {
        let args: Vec<_> = args.iter().map(|(name, value)| (*name, FluentValue::from(value.clone()))).collect();
        self.i18n.t_args(self.locale, key, &args)
    }

    pub fn t2(&self, key: &str, name: &str, value: &str, name2: &str, value2: &str) -> String {
        let args = [(name, FluentValue::from(value.to_owned())), (name2, FluentValue::from(value2.to_owned()))];
        self.i18n.t_args(self.locale, key, &args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_locale_has_every_key() {
        let i18n = I18n::new();
        let reference = i18n.keys(DEFAULT_LOCALE);
        assert!(reference.len() > 20, "the French file looks empty");
        for locale in LOCALES {
            let keys = i18n.keys(locale);
            let missing: Vec<_> = reference.difference(&keys).collect();
            let extra: Vec<_> = keys.difference(&reference).collect();
            assert!(missing.is_empty() && extra.is_empty(), "{locale}: missing {missing:?}, extra {extra:?}");
        }
    }

    #[test]
    fn negotiation_prefers_what_the_browser_asks_for() {
        assert_eq!(I18n::negotiate(Some("it-IT,it;q=0.9,en;q=0.8")), "it");
        assert_eq!(I18n::negotiate(Some("en-CA,en;q=0.9")), "en");
        assert_eq!(I18n::negotiate(Some("de-DE,de;q=0.9")), "fr");
        assert_eq!(I18n::negotiate(Some("%%%garbage")), "fr");
        assert_eq!(I18n::negotiate(None), "fr");
    }

    #[test]
    fn falls_back_to_french_then_to_the_key() {
        let i18n = I18n::new();
        assert_eq!(i18n.t("de", "nav-login"), i18n.t("fr", "nav-login"));
        assert_eq!(i18n.t("fr", "no-such-key"), "no-such-key");
    }
}
