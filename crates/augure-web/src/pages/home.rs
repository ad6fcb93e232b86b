//! The storefront's home page and the language switcher.

use std::sync::Arc;

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
    contact: Option<SiteContact>,
    /// Each card's HTML, rendered once per ranking snapshot and language.
    experts: Vec<Arc<str>>,
    filters: FilterView,
    /// Links to the previous and next pages, when there are any.
    previous: Option<String>,
    next: Option<String>,
    total: usize,
    /// `(link, site name)`: where an expert code searched for here is listed instead.
    elsewhere: Vec<(String, String)>,
    /// Some filter is set: an empty listing offers to clear them (`reset`).
    filtered: bool,
    reset: String,
}

/// The chosen site under the title: its currency and numbers as its visitors read them.
struct SiteContact {
    name: String,
    prices_in: String,
    /// `(E.164 for the link, as dialled on this site)`.
    numbers: Vec<(String, String)>,
    /// A tariff's label, and its number if it has one.
    tariffs: Vec<(String, Option<(String, String)>)>,
}

fn site_contact(l: &Layout<'_>, site: &Site) -> SiteContact {
    let number = |n: &String| (n.clone(), super::names::phone(n, Some(&site.code)));
    let currency = super::names::currency(&l.tr, site.currency);
    SiteContact {
        name: site.name.clone(),
        prices_in: l.tr.t1("home-prices-in", "currency", &currency),
        numbers: site.phone_numbers.iter().map(number).collect(),
        tariffs: site.tariffs.iter().map(|t| (t.label.clone(), t.phone_number.as_ref().map(number))).collect(),
    }
}

/// The filter form, with what the visitor chose.
struct FilterView {
    q: String,
    specialty: String,
    language: String,
    mode: String,
    max_price: String,
    available: bool,
    specialties: Vec<(String, String)>,
    languages: Vec<(&'static str, String)>,
    modes: Vec<(&'static str, String)>,
    /// `(minor units, label)`: price caps in the site's currency.
    prices: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "card.html")]
struct CardTemplate<'a> {
    tr: augure_app::i18n::Tr<'a>,
    e: CardView,
}

/// Rendered cards by (expert, language, or `api` for JSON), valid for one ranking
/// snapshot: the listing is the busiest page, and most of its work is the same cards again.
#[derive(Default)]
pub struct CardCache(std::sync::RwLock<std::collections::HashMap<CardKey, (u64, Arc<str>)>>);

/// An expert's id, a language (or `api`) and the site the page is for (times show in its
/// zone; 0 for the API).
type CardKey = (i64, &'static str, i64);

impl CardCache {
    /// Past this many cards the cache starts over (experts gone, old languages).
    const MAX: usize = 100_000;

    pub fn get(&self, key: CardKey, snapshot: u64) -> Option<Arc<str>> {
        let map = self.0.read().unwrap_or_else(|e| e.into_inner());
        map.get(&key).filter(|(s, _)| *s == snapshot).map(|(_, html)| html.clone())
    }

    pub fn put(&self, key: CardKey, snapshot: u64, html: Arc<str>) {
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= Self::MAX {
            map.clear();
        }
        map.insert(key, (snapshot, html));
    }
}

/// An expert card with its texts already localized.
struct CardView {
    /// Someone can consult them right now (SP-ranking positions 1–7).
    available: bool,
    name: String,
    code: String,
    initial: String,
    /// The approved photo (SP-media).
    photo: Option<i64>,
    /// The approved presentation's start in the reader's language, else the headline.
    excerpt: String,
    /// Signed up recently.
    new: bool,
    /// SP-return: "lun. 24/11 09:00" in the site's zone, when unavailable now.
    expected_return: Option<String>,
    /// `★ 0.0 (0)` and the consultation count: zeros until reviews and consultations exist.
    rating: String,
    consultations: String,
    specialties: Vec<String>,
    languages: String,
    modes: Vec<String>,
    /// Per minute, on the site browsed.
    price: String,
    /// The profile's address, on the site browsed (its prices are that site's).
    link: String,
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
    // Asked for, else the signed-in person's own site, else the first.
    let own = ctx.session.as_ref().and_then(|s| s.user.site_id);
    let site = wanted
        .and_then(|code| sites.iter().find(|s| s.code == code).cloned())
        .or_else(|| own.and_then(|id| sites.iter().find(|s| s.id == id).cloned()))
        .or_else(|| sites.first().cloned());
    let l = ctx.layout(&st);
    let (page, per_page) = filters.paging(st.app.settings.directory.page_size);
    let mut query = filters.query()?;
    query.site = site.as_ref().map(|s| s.id);
    let (total, listed) = st.app.directory.page(&query, (page - 1).saturating_mul(per_page), per_page).await?;
    let mut labels = Labels::default();
    let new_since = st.app.directory.now() - chrono::Duration::days(st.app.settings.directory.new_badge_days);
    let excerpt_chars = st.app.settings.media.presentation.excerpt_chars;
    let mut experts = Vec::with_capacity(listed.len());
    for e in listed {
        let key = (e.entry.card.profile.user_id.0, l.tr.locale, site.as_ref().map_or(0, |s| s.id.0));
        let html = match st.cards.get(key, e.snapshot) {
            Some(html) => html,
            None => {
                let snapshot = e.snapshot;
                let zone = site.as_ref().map_or(chrono_tz::Europe::Paris, |s| s.time_zone);
                let view = card(&l, &mut labels, e, new_since, excerpt_chars, zone, site.as_ref());
                let html: Arc<str> = CardTemplate { tr: l.tr, e: view }.render()?.into();
                st.cards.put(key, snapshot, html.clone());
                html
            }
        };
        experts.push(html);
    }
    // An expert code typed on a site that does not list them: say where they are.
    let mut elsewhere = Vec::new();
    let typed_code = filters.q.as_deref().map(str::trim).and_then(|q| q.parse::<u32>().ok());
    if let (true, Some(code)) = (experts.is_empty(), typed_code)
        && let Some(listed) = st.app.directory.sites_listing(code).await?
    {
        elsewhere = sites
            .iter()
            .filter(|s| Some(s.id) != site.as_ref().map(|c| c.id) && listed.contains(&s.id))
            .map(|s| (format!("/?site={}&q={code}", s.code.as_str()), s.name.clone()))
            .collect();
    }
    let filtered = filters.q.as_deref().is_some_and(|q| !q.trim().is_empty())
        || [&filters.specialty, &filters.language, &filters.mode]
            .iter()
            .any(|f| f.as_deref().is_some_and(|v| !v.is_empty()))
        || filters.max_price.is_some()
        || filters.available == Some(true);
    let reset = match &site {
        Some(s) => format!("/?site={}", s.code.as_str()),
        None => "/".to_owned(),
    };
    let currency = site.as_ref().map_or(augure_domain::Currency::Eur, |s| s.currency);
    let link = |page: usize| {
        let mut url = form_urlencoded::Serializer::new(String::new());
        if let Some(s) = &site {
            url.append_pair("site", s.code.as_str());
        }
        for (name, value) in [
            ("q", filters.q.as_deref()),
            ("specialty", filters.specialty.as_deref()),
            ("language", filters.language.as_deref()),
            ("mode", filters.mode.as_deref()),
        ] {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                url.append_pair(name, v);
            }
        }
        if let Some(max) = filters.max_price {
            url.append_pair("max_price", &max.to_string());
        }
        if filters.available == Some(true) {
            url.append_pair("available", "true");
        }
        url.append_pair("page", &page.to_string());
        format!("/?{}", url.finish())
    };
    let previous = (page > 1).then(|| link(page - 1));
    let next = (page.saturating_mul(per_page) < total).then(|| link(page + 1));
    let specialties = st
        .app
        .profiles
        .specialties()
        .await?
        .iter()
        .filter(|s| s.active)
        .cloned()
        .map(|s| {
            let key = format!("specialty-{}", s.key);
            let translated = l.tr.t(&key);
            let label = if translated == key && !s.label.is_empty() { s.label } else { translated };
            (s.key, label)
        })
        .collect();
    let view = FilterView {
        q: filters.q.clone().unwrap_or_default(),
        specialty: filters.specialty.clone().unwrap_or_default(),
        language: filters.language.clone().unwrap_or_default(),
        mode: filters.mode.clone().unwrap_or_default(),
        max_price: filters.max_price.map(|m| m.to_string()).unwrap_or_default(),
        available: filters.available == Some(true),
        specialties,
        languages: ["fr", "it", "en", "es", "de"].into_iter().map(|c| (c, l.tr.t(&format!("lang-{c}")))).collect(),
        modes: augure_domain::Mode::ALL.iter().map(|m| (m.as_str(), l.tr.t(&format!("mode-{m}")))).collect(),
        prices: [200, 300, 400, 500]
            .into_iter()
            .map(|minor| {
                let label = l.tr.t1(
                    "filter-price-up-to",
                    "price",
                    &augure_domain::Money::new(minor, currency).format(l.tr.locale),
                );
                (minor.to_string(), label)
            })
            .collect(),
    };
    let contact = site.as_ref().map(|s| site_contact(&l, s));
    let page = HomePage {
        l,
        sites: &sites,
        site,
        contact,
        experts,
        filters: view,
        previous,
        next,
        total,
        elsewhere,
        filtered,
        reset,
    };
    render(StatusCode::OK, &page)
}

/// Translations repeated on every card, looked up once per page.
#[derive(Default)]
struct Labels(std::collections::HashMap<String, String>);

impl Labels {
    fn get(&mut self, l: &Layout<'_>, key: String) -> String {
        self.0.entry(key).or_insert_with_key(|k| l.tr.t(k)).clone()
    }
}

fn card(
    l: &Layout<'_>,
    labels: &mut Labels,
    listed: Listed,
    new_since: chrono::DateTime<chrono::Utc>,
    excerpt_chars: usize,
    zone: chrono_tz::Tz,
    site: Option<&Site>,
) -> CardView {
    let available = listed.position < 8;
    let expected_return = listed.expected_return.filter(|_| !available).map(|back| {
        let local = back.at().with_timezone(&zone);
        format!("{} {}", super::planning::day_label(&l.tr, local.date_naive()), local.format("%H:%M"))
    });
    let entry = &listed.entry;
    let presentations = &entry.presentations;
    let excerpt = presentations
        .iter()
        .find(|(locale, _)| locale == l.tr.locale)
        .or(presentations.first())
        .map(|(_, text)| augure_domain::media::excerpt(text, excerpt_chars));
    let c = &entry.card;
    let p = &c.profile;
    let code = c.expert_code.map(|code| code.to_string()).unwrap_or_default();
    CardView {
        link: match site {
            Some(s) => format!("/experts/{code}?site={}", s.code.as_str()),
            None => format!("/experts/{code}"),
        },
        available,
        photo: entry.photo.map(|id| id.0),
        excerpt: excerpt.unwrap_or_else(|| p.headline.clone()),
        new: entry.signed_up_at >= new_since,
        expected_return,
        rating: labels.get(l, "card-rating-none".into()),
        consultations: labels.get(l, "card-consultations-none".into()),
        initial: c.display_name.chars().next().map(|ch| ch.to_uppercase().to_string()).unwrap_or_default(),
        name: c.display_name.clone(),
        code,
        specialties: p.specialties.iter().map(|s| labels.get(l, format!("specialty-{s}"))).collect(),
        // Named in the reader's language; a language without a name here shows its code.
        languages: p
            .languages
            .iter()
            .map(|code| {
                let key = format!("lang-{code}");
                let name = labels.get(l, key.clone());
                if name == key { code.to_uppercase() } else { name }
            })
            .collect::<Vec<_>>()
            .join(" · "),
        modes: p.modes.iter().map(|m| labels.get(l, format!("mode-{m}"))).collect(),
        price: l.tr.t1("price-per-minute", "price", &listed.prices.per_minute.format(l.tr.locale)),
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
        st.app.accounts.set_locale(session.user.id, locale).await?;
    }
    let cookie = Cookie::build((LANG_COOKIE, locale))
        .path("/")
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::days(365))
        .build();
    let next = crate::redirect::local_path(&form.next).unwrap_or("/");
    Ok((jar.add(cookie), Redirect::to(next)).into_response())
}

/// `/directory/events`: a server-sent event each time something listed changes on this
/// node, so open listings refresh without a reload (static/directory.js). Bursts are
/// coalesced by the client; a lagging reader just gets the latest change.
pub async fn directory_events(State(st): State<AppState>) -> impl IntoResponse {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let changes = st.app.directory.changes().subscribe();
    let stream = futures_util::stream::unfold(changes, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(generation) => {
                    let event = Event::default().event("changed").data(generation.to_string());
                    return Some((Ok::<_, std::convert::Infallible>(event), rx));
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    // Never ends by itself: the server's stop ends it.
    let stream = futures_util::StreamExt::take_until(stream, st.stopping());
    Sse::new(stream).keep_alive(KeepAlive::default())
}
