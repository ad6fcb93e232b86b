//! The public profile page of an expert and the sitemaps that index them.

use askama::Template;
use augure_app::directory::DirectoryQuery;
use augure_app::i18n::Tr;
use augure_app::pricing::{PER_MINUTE_MODES, Quote, QuoteError, QuoteRequest};
use augure_domain::Role;
use augure_domain::availability::ExpectedReturn;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::planning::{day_label, slot_label};
use super::{Layout, PageCtx, PageResult, render};
use crate::AppState;
use crate::error::Problem;

/// The length the profile page quotes, in minutes: a common first consultation. At least
/// 2, as its sentences say "minutes".
const QUOTE_MINUTES: u64 = 10;

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage<'a> {
    l: Layout<'a>,
    name: String,
    code: String,
    headline: String,
    specialties: Vec<String>,
    languages: String,
    modes: Vec<String>,
    live: Vec<String>,
    /// SP-chat: the expert's chat is live and the reader may start one.
    chat_live: bool,
    available: bool,
    price: String,
    email_price: Option<String>,
    canonical: String,
    /// Approved media only (SP-media): the photo's id, the audio's id and length.
    photo: Option<i64>,
    audio: Option<(i64, String)>,
    /// The approved presentation in the reader's language, else in another one.
    presentation: Option<String>,
    /// PH-package: "45,00 € for 30 min".
    package: Option<String>,
    free_minutes: u32,
    /// Quote: what [`QUOTE_MINUTES`] cost this reader by the minute, in words, and with the
    /// package when there is one.
    quote: Option<String>,
    package_quote: Option<String>,
    /// What the expert needs for an email consultation, read before writing.
    email_needs: String,
    /// SP-planning: the coming days with planned hours, `(day, ["09:00–12:00", …])`.
    planning: Vec<(String, Vec<String>)>,
    zone: String,
    /// Nothing live now: the expected return and the alert button show.
    away: bool,
    /// SP-return, in the expert's zone.
    expected_return: Option<String>,
    /// WG-pause: when the pause ends, in the viewer's site zone; shown instead of the
    /// planned return.
    paused_until: Option<String>,
    /// `ask` (the button), `pending` (asked already), or empty (not for this visitor).
    alert: &'static str,
}

#[derive(serde::Deserialize)]
pub struct ProfileQuery {
    /// The site the client browses (a site code): prices are that site's.
    site: Option<String>,
}

/// `/experts/{code}`: everything a client reads before consulting, priced for the site
/// browsed (`?site=CH`), else the signed-in person's site, else the expert's home site.
pub async fn profile(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path(code): Path<String>,
    axum::extract::Query(q): axum::extract::Query<ProfileQuery>,
) -> PageResult {
    let not_found = || Problem::status(StatusCode::NOT_FOUND);
    let code: u32 = code.parse().map_err(|_| not_found())?;
    let sites = st.app.sites.list().await?;
    let wanted = q.site.as_deref().and_then(|c| c.parse::<augure_domain::SiteCode>().ok());
    let browsed = wanted
        .and_then(|c| sites.iter().find(|s| s.code == c))
        .or_else(|| ctx.session.as_ref().and_then(|s| s.user.site_id).and_then(|id| sites.iter().find(|s| s.id == id)));
    // Not sold on the site browsed: the profile still shows, at home prices.
    let on_site = match browsed {
        Some(site) => listed_expert(&st, code, Some(site.id)).await?.map(|found| (found, site)),
        None => None,
    };
    let (expert, priced_on) = match on_site {
        Some((found, site)) => (found, Some(site.code.clone())),
        None => (listed_expert(&st, code, None).await?.ok_or_else(not_found)?, None),
    };
    // One address per storefront: the sitemaps list these.
    let canonical = match &priced_on {
        Some(site) => format!("{}/experts/{code}?site={site}", st.app.settings.public_url.trim_end_matches('/')),
        None => format!("{}/experts/{code}", st.app.settings.public_url.trim_end_matches('/')),
    };
    let l = ctx.layout(&st);
    let p = &expert.entry.card.profile;
    let published = st.app.media.published(p.user_id).await?;
    let audio = published
        .iter()
        .find(|m| m.kind == augure_domain::media::MediaKind::Audio)
        .map(|m| (m.id.0, super::media::duration_label(&m.duration_ms)));
    let presentations = &expert.entry.presentations;
    let presentation = presentations
        .iter()
        .find(|(locale, _)| locale == l.tr.locale)
        .or(presentations.first())
        .map(|(_, text)| text.clone());
    let details = st.app.profiles.own(p.user_id).await?.details;
    let prices = &expert.prices;
    let package = prices.package.map(|k| {
        l.tr.i18n.t_args(
            l.tr.locale,
            "profile-package",
            &[("price", k.price.format(l.tr.locale).into()), ("minutes", k.minutes.to_string().into())],
        )
    });
    let viewer = ctx.session.as_ref().map(|s| &s.user);
    // A visitor is quoted as a new client: free minutes are for a first consultation.
    let ask = |mode, package| QuoteRequest {
        expert_code: code,
        site: priced_on.clone(),
        viewer,
        mode,
        seconds: QUOTE_MINUTES * 60,
        package,
    };
    // Nothing to quote for an expert consulted by email only.
    let (mut quote, mut package_quote) = (None, None);
    if let Some(mode) = p.modes.iter().copied().find(|m| PER_MINUTE_MODES.contains(m)) {
        quote = quote_for(&st, &ask(mode, false)).await?.map(|q| quote_sentence(&l.tr, &q));
        if let Some(package) = &package {
            package_quote = quote_for(&st, &ask(mode, true)).await?.map(|q| package_sentence(&l.tr, &q, package));
        }
    }
    let user = st.app.accounts.user(p.user_id).await?;
    let upcoming = st.app.planning.upcoming(&user).await?;
    let tz = upcoming.time_zone;
    let now = st.app.clock.now();
    // Slots already over are of no use to a client; yesterday's night may still be on.
    let yesterday = upcoming.today - chrono::Duration::days(1);
    let planning = std::iter::once((yesterday, upcoming.previous_night.clone()))
        .chain(upcoming.days())
        .map(|(day, slots)| (day, slots.into_iter().filter(|s| s.bounds(tz).1 > now).collect::<Vec<_>>()))
        .filter(|(_, slots)| !slots.is_empty())
        .map(|(day, slots)| (day_label(&l.tr, day), slots.iter().map(|s| slot_label(&l.tr, s)).collect()))
        .collect();
    let away = expert.live_modes.is_empty();
    let viewer_zone = st.app.sites.zone_for(ctx.session.as_ref().and_then(|s| s.user.site_id)).await?;
    let (mut expected_return, mut paused_until) = (None, None);
    match expert.expected_return.filter(|_| away) {
        Some(ExpectedReturn::PauseEnds(at)) => paused_until = Some(super::when(&l.tr, at, viewer_zone)),
        Some(ExpectedReturn::Planned(at)) => {
            let local = at.with_timezone(&tz);
            expected_return = Some(format!("{} {}", day_label(&l.tr, local.date_naive()), local.format("%H:%M")));
        }
        None => {}
    }
    let alert = if !away {
        ""
    } else {
        match viewer {
            None => "ask",
            Some(me) if me.role != Role::Client => "",
            Some(me) if st.app.planning.has_back_alert(me, &user).await? => "pending",
            Some(_) => "ask",
        }
    };
    let page = ProfilePage {
        package,
        quote,
        package_quote,
        free_minutes: prices.free_minutes,
        email_needs: details.email_needs,
        photo: expert.entry.photo.map(|id| id.0),
        audio,
        presentation,
        planning,
        zone: super::names::zone(&l.tr, tz, now),
        away,
        expected_return,
        paused_until,
        alert,
        name: expert.entry.card.display_name.clone(),
        code: code.to_string(),
        headline: p.headline.clone(),
        specialties: p.specialties.iter().map(|s| l.tr.t(&format!("specialty-{s}"))).collect(),
        languages: super::names::languages(&l.tr, &p.languages),
        modes: p.modes.iter().map(|m| l.tr.t(&format!("mode-{m}"))).collect(),
        live: expert.live_modes.iter().map(|m| l.tr.t(&format!("mode-{m}"))).collect(),
        // Experts and admins do not start chats; anyone else may (a visitor signs in first).
        chat_live: expert.live_modes.contains(&augure_domain::Mode::Chat)
            && l.user.as_ref().is_none_or(|u| u.role == augure_domain::Role::Client),
        available: expert.position < 8,
        price: l.tr.t1("price-per-minute", "price", &prices.per_minute.format(l.tr.locale)),
        email_price: prices.email.map(|m| m.format(l.tr.locale)),
        canonical,
        l,
    };
    render(StatusCode::OK, &page)
}

/// The quote a profile shows; none where the expert cannot be quoted (no package, not
/// sold on the site). Only a failure to read is an error.
async fn quote_for(st: &AppState, ask: &QuoteRequest<'_>) -> Result<Option<Quote>, Problem> {
    match st.app.pricing.quote(&st.app.directory, &st.app.credit, ask).await {
        Ok(quote) => Ok(Some(quote)),
        Err(e @ (QuoteError::Store(_) | QuoteError::Credit(_))) => Err(e.into()),
        Err(_) => Ok(None),
    }
}

/// "10 minutes : 7,75 € — vos 5 premières minutes sont offertes": the price, and whether
/// free minutes (PH-free) apply to the reader, as a new client or as this client.
fn quote_sentence(tr: &Tr<'_>, q: &Quote) -> String {
    let free = q.prices.free_minutes;
    let key = match (q.charge.free_seconds > 0, q.for_client, free) {
        (true, true, 1) => "quote-free-yours-one",
        (true, true, _) => "quote-free-yours",
        (true, false, 1) => "quote-free-new-one",
        (true, false, _) => "quote-free-new",
        (false, true, 1..) if !q.first_with_expert() => "quote-free-used",
        _ => "quote-per-minute",
    };
    tr.t_args(
        key,
        &[
            ("minutes", QUOTE_MINUTES.to_string()),
            ("price", q.charge.charge.format(tr.locale)),
            ("free", free.to_string()),
        ],
    )
}

/// "10 minutes avec le forfait (45,00 € pour 30 min) : 45,00 €" (PH-package).
fn package_sentence(tr: &Tr<'_>, q: &Quote, package: &str) -> String {
    tr.t_args(
        "quote-package",
        &[
            ("minutes", QUOTE_MINUTES.to_string()),
            ("package", package.to_owned()),
            ("price", q.charge.charge.format(tr.locale)),
        ],
    )
}

/// The expert with this code as the listing of `site` shows them (all sites: `None`).
async fn listed_expert(
    st: &AppState,
    code: u32,
    site: Option<augure_domain::SiteId>,
) -> Result<Option<augure_app::directory::Listed>, augure_store::StoreError> {
    let query = DirectoryQuery { search: Some(code.to_string()), site, ..Default::default() };
    let listed = st.app.directory.listing(&query).await?;
    Ok(listed.into_iter().find(|l| l.entry.card.expert_code.is_some_and(|c| c.0 == code)))
}

/// `/robots.txt`: the storefront is for crawlers, accounts and the back office are not.
pub async fn robots(State(st): State<AppState>) -> impl IntoResponse {
    let base = st.app.settings.public_url.trim_end_matches('/');
    let body = format!(
        "User-agent: *\nDisallow: /admin\nDisallow: /api/\nDisallow: /dashboard\nDisallow: /wallet\n\
         Disallow: /account\nDisallow: /payments/\nSitemap: {base}/sitemap.xml\n"
    );
    ([(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], body)
}

/// `/sitemap.xml`: the index of one sitemap per site.
pub async fn sitemap_index(State(st): State<AppState>) -> PageResult {
    let base = st.app.settings.public_url.trim_end_matches('/').to_owned();
    let sites = st.app.sites.list().await?;
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for site in sites.iter() {
        // Site codes are ASCII letters: nothing to escape.
        xml.push_str(&format!(
            "  <sitemap><loc>{base}/sitemaps/{}.xml</loc></sitemap>\n",
            site.code.as_str().to_lowercase()
        ));
    }
    xml.push_str("</sitemapindex>\n");
    Ok(([(header::CONTENT_TYPE, "application/xml; charset=utf-8")], xml).into_response())
}

/// `/sitemaps/{site}.xml`: the site's home page and the profile, priced for that site, of
/// every expert listed there (SP-options), not of every expert of every site.
pub async fn sitemap(State(st): State<AppState>, Path(file): Path<String>) -> PageResult {
    let not_found = || Problem::status(StatusCode::NOT_FOUND);
    let code: augure_domain::SiteCode = file.strip_suffix(".xml").and_then(|c| c.parse().ok()).ok_or_else(not_found)?;
    let site = st.app.sites.by_code(&code).await?.ok_or_else(not_found)?;
    let base = st.app.settings.public_url.trim_end_matches('/').to_owned();
    let listed = st.app.directory.listing(&DirectoryQuery { site: Some(site.id), ..DirectoryQuery::default() }).await?;
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    xml.push_str(&format!("  <url><loc>{base}/?site={}</loc></url>\n", site.code));
    for expert in listed {
        if let Some(c) = expert.entry.card.expert_code {
            // Expert codes are digits: nothing to escape.
            xml.push_str(&format!("  <url><loc>{base}/experts/{c}?site={}</loc></url>\n", site.code));
        }
    }
    xml.push_str("</urlset>\n");
    Ok(([(header::CONTENT_TYPE, "application/xml; charset=utf-8")], xml).into_response())
}
