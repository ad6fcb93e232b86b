//! Which language a request is answered in: the switcher's cookie, else the browser's
//! `Accept-Language`, else French.

use augure_app::i18n::I18n;
use axum::http::{HeaderMap, header};
use axum_extra::extract::cookie::CookieJar;

pub const LANG_COOKIE: &str = "augure_lang";

pub fn from_headers(headers: &HeaderMap) -> &'static str {
    let jar = CookieJar::from_headers(headers);
    if let Some(locale) = jar.get(LANG_COOKIE).and_then(|c| I18n::supported(c.value())) {
        return locale;
    }
    I18n::negotiate(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
}
