//! The storefront's home page and the language switcher.

use askama::Template;
use augure_app::directory::Listed;
use augure_app::i18n::I18n;
use augure_domain::{Site, SiteCode};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;

use super::{Layout, PageCtx, PageForm, PageResult, render};
use crate::AppState;
use crate::locale::LANG_COOKIE;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    l: Layout<'a>,
    sites: &'a [Site],
    site: Option<Site>,
    experts: Vec<CardView>,
}

/// An expert card with its texts already localized.
struct CardView {
    /// Someone can consult them right now (SP-ranking positions 1–7).
    available: bool,
    name: String,
    code: String,
    initial: String,
    headline: String,
    specialties: Vec<String>,
    languages: String,
    modes: Vec<String>,
    price: String,
}

#[derive(Deserialize)]
pub struct HomeQuery {
    site: Option<String>,
}

pub async fn home(
    State(st): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<HomeQuery>,
    Query(filters): Query<crate::api::DirectoryFilters>,
) -> PageResult {
    let sites = st.app.sites.list().await?;
    let wanted: Option<SiteCode> = q.site.as_deref().and_then(|s| s.parse().ok());
    let site =
        wanted.and_then(|code| sites.iter().find(|s| s.code == code).cloned()).or_else(|| sites.first().cloned());
    let l = ctx.layout(&st);
    let (page, per_page) = filters.paging(st.app.settings.directory.page_size);
    let (_total, listed) =
        st.app.directory.page(&filters.query()?, (page - 1).saturating_mul(per_page), per_page).await?;
    let mut labels = Labels::default();
    let experts = listed.into_iter().map(|e| card(&l, &mut labels, e)).collect();
    render(StatusCode::OK, &HomePage { l, sites: &sites, site, experts })
}

/// Translations repeated on every card, looked up once per page.
#[derive(Default)]
struct Labels(std::collections::HashMap<String, String>);

impl Labels {
    fn get(&mut self, l: &Layout<'_>, key: String) -> String {
        self.0.entry(key).or_insert_with_key(|k| l.tr.t(k)).clone()
    }
}

fn card(l: &Layout<'_>, labels: &mut Labels, listed: Listed) -> CardView {
    let available = listed.position < 8;
    let c = listed.entry.card;
    let p = c.profile;
    CardView {
        available,
        initial: c.display_name.chars().next().map(|ch| ch.to_uppercase().to_string()).unwrap_or_default(),
        name: c.display_name,
        code: c.expert_code.map(|code| code.to_string()).unwrap_or_default(),
        headline: p.headline,
        specialties: p.specialties.iter().map(|s| labels.get(l, format!("specialty-{s}"))).collect(),
        languages: p.languages.iter().map(|s| s.to_uppercase()).collect::<Vec<_>>().join(" · "),
        modes: p.modes.iter().map(|m| labels.get(l, format!("mode-{m}"))).collect(),
        price: l.tr.t1("price-per-minute", "price", &p.price_per_minute.format(l.tr.locale)),
    }
}

#[derive(Deserialize)]
pub struct LanguageForm {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    next: String,
}

pub async fn switch_language(
    State(st): State<AppState>,
    ctx: PageCtx,
    jar: CookieJar,
    PageForm(form): PageForm<LanguageForm>,
) -> PageResult {
    let Some(locale) = I18n::supported(&form.lang) else {
        return Err(crate::error::Problem::status(StatusCode::UNPROCESSABLE_ENTITY).into());
    };
    // Mail follows the language the person chose.
    if let Some(session) = &ctx.session {
        st.app.store.set_user_locale(session.user.id, locale).await?;
    }
    let cookie = Cookie::build((LANG_COOKIE, locale))
        .path("/")
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::days(365))
        .build();
    // Only local paths: never an open redirect.
    let next = if form.next.starts_with('/') && !form.next.starts_with("//") { form.next } else { "/".into() };
    Ok((jar.add(cookie), Redirect::to(&next)).into_response())
}
