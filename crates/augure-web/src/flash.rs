//! What a page confirms after an action. A form posts, the handler redirects
//! (post-redirect-get) to a page with `?done=<name>` and typed arguments; every page's
//! frame shows the message, announced to screen readers (`role="status"`). Only names from
//! [`MESSAGES`] are shown, and the arguments are numbers, amounts or site codes parsed
//! back: no text from the URL ever reaches the page.

use augure_app::i18n::Tr;
use augure_domain::{Currency, Money, SiteCode};
use axum::response::{IntoResponse, Redirect, Response};

/// Every confirmation: the name in the URL, its message in the translations, and the
/// arguments the message needs (a URL without them shows nothing).
pub const MESSAGES: &[(&str, &str, &[&str])] = &[
    ("photo-approved", "done-photo-approved", &[]),
    ("photo-refused", "done-photo-refused", &[]),
    ("audio-approved", "done-audio-approved", &[]),
    ("audio-refused", "done-audio-refused", &[]),
    ("presentation-approved", "done-presentation-approved", &[]),
    ("presentation-refused", "done-presentation-refused", &[]),
    ("pack-added", "done-pack-added", &["amount"]),
    ("pack-withdrawn", "done-pack-withdrawn", &["id"]),
    ("pack-on-sale", "done-pack-on-sale", &["id"]),
    ("specialty-added", "done-specialty-added", &[]),
    ("specialty-renamed", "done-specialty-renamed", &[]),
    ("specialty-disabled", "done-specialty-disabled", &[]),
    ("specialty-enabled", "done-specialty-enabled", &[]),
    ("refund-done", "done-refund", &["id", "amount"]),
    ("refund-retrying", "admin-refund-retrying", &["id"]),
    ("provider-event", "admin-provider-test-sent", &[]),
    ("site-numbers-saved", "done-site-numbers-saved", &["site"]),
    ("site-tariff-imposed", "done-site-tariff-imposed", &["site", "amount"]),
    ("site-tariff-lifted", "done-site-tariff-lifted", &["site"]),
    ("site-tariffs-saved", "done-site-tariffs-saved", &["site"]),
    ("availability-available", "done-availability-available", &[]),
    ("availability-unavailable", "done-availability-unavailable", &[]),
    ("availability-paused", "done-availability-paused", &[]),
    ("availability-resumed", "done-availability-resumed", &[]),
    ("mode-on", "done-mode-on", &["mode"]),
    ("mode-off", "done-mode-off", &["mode"]),
    ("terms-accepted", "done-terms-accepted", &[]),
    ("purchase-cancelled", "done-purchase-cancelled", &["id"]),
    ("password-changed", "done-password-changed", &[]),
    ("signed-out", "done-signed-out", &[]),
    ("notifications-read", "done-notifications-read", &[]),
    ("notification-read", "done-notification-read", &[]),
    ("chat-needs-credit", "done-chat-needs-credit", &[]),
    ("chat-busy", "done-chat-busy", &[]),
    ("chat-offline", "done-chat-offline", &[]),
    ("client-blocked", "done-client-blocked", &[]),
    ("note-saved", "done-note-saved", &[]),
    ("report-sent", "done-report-sent", &[]),
    ("review-sent", "done-review-sent", &[]),
    ("chat-force-ended", "done-chat-force-ended", &[]),
    ("chat-already-over", "done-chat-already-over", &[]),
    ("report-resolved", "done-report-resolved", &[]),
    ("flag-dismissed", "done-flag-dismissed", &[]),
    ("commission-saved", "done-commission-saved", &[]),
];

/// A confirmation to show on the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    name: &'static str,
    id: Option<i64>,
    amount: Option<Money>,
    site: Option<SiteCode>,
    /// A consultation mode (`phone`, …), named in the reader's language.
    mode: Option<augure_domain::Mode>,
    /// The site's name, looked up from its code when the page is read: what the message
    /// shows ("augure Suisse", not "CH").
    site_name: Option<String>,
}

impl Flash {
    /// `name` is one of [`MESSAGES`]; another is a bug, shown as nothing.
    pub fn new(name: &'static str) -> Self {
        debug_assert!(MESSAGES.iter().any(|(n, _, _)| *n == name), "unknown confirmation {name}");
        Self { name, id: None, amount: None, site: None, mode: None, site_name: None }
    }

    pub fn id(mut self, id: i64) -> Self {
        self.id = Some(id);
        self
    }

    pub fn amount(mut self, amount: Money) -> Self {
        self.amount = Some(amount);
        self
    }

    pub fn site(mut self, site: SiteCode) -> Self {
        self.site = Some(site);
        self
    }

    pub fn mode(mut self, mode: augure_domain::Mode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// The site argument's code, for the page to look its name up.
    pub fn site_code(&self) -> Option<&SiteCode> {
        self.site.as_ref()
    }

    /// Names the site argument (a site that no longer exists keeps its code).
    pub fn with_site_name(mut self, name: String) -> Self {
        self.site_name = Some(name);
        self
    }

    /// `path` (a path of ours, with or without a query) with this confirmation.
    pub fn url(&self, path: &str) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("done", self.name);
        if let Some(id) = self.id {
            query.append_pair("id", &id.to_string());
        }
        if let Some(amount) = self.amount {
            query.append_pair("amount", &amount.minor.to_string());
            query.append_pair("currency", amount.currency.code());
        }
        if let Some(site) = &self.site {
            query.append_pair("site", site.as_str());
        }
        if let Some(mode) = self.mode {
            query.append_pair("mode", mode.as_str());
        }
        let separator = if path.contains('?') { '&' } else { '?' };
        format!("{path}{separator}{}", query.finish())
    }

    /// The redirect that ends a successful form.
    pub fn redirect(&self, path: &str) -> Response {
        Redirect::to(&self.url(path)).into_response()
    }

    /// The confirmation a page's query names, if it names a known one; arguments that do
    /// not parse are left out.
    pub fn from_query(query: &str) -> Option<Self> {
        let mut flash: Option<Flash> = None;
        let (mut id, mut minor, mut currency, mut site, mut mode) = (None, None, None, None, None);
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "done" => flash = MESSAGES.iter().find(|(n, _, _)| *n == value).map(|(n, _, _)| Flash::new(n)),
                "id" => id = value.parse().ok(),
                "amount" => minor = value.parse::<i64>().ok(),
                "currency" => currency = value.parse::<Currency>().ok(),
                "site" => site = value.parse::<SiteCode>().ok(),
                "mode" => mode = value.parse::<augure_domain::Mode>().ok(),
                _ => {}
            }
        }
        let mut flash = flash?;
        flash.id = id;
        flash.amount = minor.zip(currency).map(|(minor, currency)| Money::new(minor, currency));
        flash.site = site;
        flash.mode = mode;
        flash.complete().then_some(flash)
    }

    /// Has every argument its message needs.
    fn complete(&self) -> bool {
        let needs = MESSAGES.iter().find(|(n, _, _)| *n == self.name).map_or(&[][..], |(_, _, needs)| needs);
        needs.iter().all(|arg| match *arg {
            "id" => self.id.is_some(),
            "amount" => self.amount.is_some(),
            "site" => self.site.is_some(),
            "mode" => self.mode.is_some(),
            _ => false,
        })
    }

    /// The message, in the reader's language.
    pub fn message(&self, tr: &Tr<'_>) -> String {
        let key = MESSAGES.iter().find(|(n, _, _)| *n == self.name).map_or("", |(_, key, _)| key);
        let mut args = Vec::new();
        if let Some(id) = self.id {
            args.push(("id", id.to_string()));
        }
        if let Some(amount) = self.amount {
            args.push(("amount", amount.format(tr.locale)));
        }
        if let Some(site) = &self.site {
            args.push(("site", self.site_name.clone().unwrap_or_else(|| site.to_string())));
        }
        if let Some(mode) = self.mode {
            args.push(("mode", tr.t(&format!("mode-{mode}"))));
        }
        tr.t_args(key, &args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confirmation_survives_its_url() {
        let flash = Flash::new("refund-done").id(12).amount(Money::new(2000, Currency::Eur));
        let url = flash.url("/admin/purchases");
        assert_eq!(url, "/admin/purchases?done=refund-done&id=12&amount=2000&currency=EUR");
        assert_eq!(Flash::from_query(url.split_once('?').unwrap().1), Some(flash));
        let with_site = Flash::new("site-numbers-saved").site("CH".parse().unwrap());
        assert_eq!(with_site.url("/admin/sites?x=1"), "/admin/sites?x=1&done=site-numbers-saved&site=CH");
    }

    #[test]
    fn only_known_confirmations_and_typed_arguments_are_read() {
        assert_eq!(Flash::from_query("done=%3Cscript%3E"), None);
        assert_eq!(Flash::from_query("saved=1"), None);
        let flash = Flash::from_query("done=photo-approved&id=abc&amount=12&site=%3Cb%3E&mode=x").unwrap();
        assert_eq!(flash, Flash::new("photo-approved"), "arguments that do not parse are dropped");
        assert_eq!(Flash::from_query("done=pack-added&amount=abc&currency=EUR"), None, "the amount is missing");
        assert_eq!(Flash::from_query("done=refund-done&amount=500&currency=EUR"), None, "the purchase is missing");
    }
}
