//! The expert's profile editor (SP-profile, SP-options, AT-min, SP-contract) and the
//! operator's specialty list.

use askama::Template;
use augure_app::pricing::{self, PriceForm};
use augure_app::profile::ProfileForm;
use augure_domain::{Mode, Role, Site};
use augure_store::Specialty;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};

use super::{Layout, PageCtx, PageResult, render};
use crate::AppState;
use crate::error::{Problem, prices_label};
use crate::flash::Flash;

/// Languages offered as checkboxes; others can be typed.
const COMMON_LANGUAGES: [&str; 6] = ["fr", "it", "en", "es", "de", "pt"];

#[derive(Template)]
#[template(path = "expert_profile.html")]
struct ProfileEditPage<'a> {
    l: Layout<'a>,
    form: ProfileForm,
    /// `(key, label, checked)` for each checkbox group.
    specialties: Vec<(String, String, bool)>,
    languages: Vec<(&'static str, String, bool)>,
    other_languages: String,
    modes: Vec<(&'static str, String, bool)>,
    sites: Vec<(String, String, bool)>,
    /// One fieldset per currency of the chosen sites.
    price_sets: Vec<PriceFieldset>,
    terms_pending: bool,
    terms_version: u32,
    error: Option<String>,
    saved: bool,
}

/// The prices of one currency in the form.
struct PriceFieldset {
    /// The currency's code, prefixing the fields' names (`CHF.price_per_minute`).
    code: String,
    /// "Prix en francs suisses (augure Suisse)".
    legend: String,
    form: PriceForm,
    /// SP-tariffs: what each site of this currency imposing its tariff means here.
    imposed: Vec<String>,
    /// Some site of this currency lets the expert set the per-minute price.
    per_minute_required: bool,
}

/// The decimal separator people of `locale` type ("1,55" in French and Italian).
fn decimal(locale: &str) -> char {
    if locale.starts_with("en") { '.' } else { ',' }
}

/// Puts a price field into the form: `CHF.price_per_minute` for a currency's fieldset, or
/// a name without currency (the first chosen site's currency). `false` if not a price field.
fn price_field(f: &mut ProfileForm, key: &str, value: &str) -> bool {
    let (currency, field) = match key.split_once('.') {
        Some((code, field)) if code.parse::<augure_domain::Currency>().is_ok() => (code.to_ascii_uppercase(), field),
        Some(_) => return false,
        None => (String::new(), key),
    };
    let index = match f.prices.iter().position(|p| p.currency == currency) {
        Some(i) => i,
        None => {
            f.prices.push(PriceForm { currency, ..PriceForm::default() });
            f.prices.len() - 1
        }
    };
    let p = &mut f.prices[index];
    let slot = match field {
        "price_per_minute" => &mut p.per_minute,
        "email_price" => &mut p.email_price,
        "package_price" => &mut p.package_price,
        "package_minutes" => &mut p.package_minutes,
        "free_minutes" => &mut p.free_minutes,
        _ => return false,
    };
    *slot = value.to_owned();
    true
}

/// A multi-valued form body (checkbox groups repeat their name).
fn parse_form(body: &[u8]) -> ProfileForm {
    let mut f = ProfileForm::default();
    for (key, value) in form_urlencoded::parse(body) {
        let value = value.into_owned();
        match key.as_ref() {
            "headline" => f.headline = value,
            "specialty" => f.specialties.push(value),
            "language" => f.languages.push(value),
            "other_languages" => {
                f.languages.extend(value.split([',', ' ']).filter(|l| !l.is_empty()).map(str::to_owned))
            }
            "mode" => f.modes.push(value),
            "site" => f.sites.push(value),
            "email_needs" => f.email_needs = value,
            "legal_name" => f.legal_name = value,
            "company_name" => f.company_name = value,
            "company_number" => f.company_number = value,
            "vat_number" => f.vat_number = value,
            "address" => f.address = value,
            "postal_code" => f.postal_code = value,
            "city" => f.city = value,
            "country" => f.country = value,
            "phone" => f.phone = value,
            "accept_terms" => f.accept_terms = value == "yes",
            other => {
                price_field(&mut f, other, &value);
            }
        }
    }
    f
}

async fn page(
    st: &AppState,
    ctx: &PageCtx,
    form: Option<ProfileForm>,
    status: StatusCode,
    error: Option<String>,
    saved: bool,
) -> PageResult {
    let me = ctx.require(Role::Expert)?;
    let own = st.app.profiles.own(me.id).await?;
    let sites = st.app.sites.list().await?;
    let l = ctx.layout(st);
    let form = form.unwrap_or_else(|| {
        let d = &own.details;
        let mut f = ProfileForm {
            email_needs: d.email_needs.clone(),
            legal_name: d.legal_name.clone(),
            company_name: d.company_name.clone(),
            company_number: d.company_number.clone(),
            vat_number: d.vat_number.clone(),
            address: d.address.clone(),
            postal_code: d.postal_code.clone(),
            city: d.city.clone(),
            country: d.country.clone(),
            // Stored in E.164, shown as the expert dials it at home.
            phone: augure_domain::phone::display(&d.phone, Some(d.country.as_str()).filter(|c| !c.is_empty())),
            sites: sites.iter().filter(|s| d.visible_sites.contains(&s.id)).map(|s| s.code.to_string()).collect(),
            ..ProfileForm::default()
        };
        if f.sites.is_empty() {
            // New profiles start visible on the expert's own site.
            f.sites = sites.iter().filter(|s| Some(s.id) == me.site_id).map(|s| s.code.to_string()).collect();
        }
        if let Some(p) = &own.profile {
            f.headline = p.headline.clone();
            f.specialties = p.specialties.clone();
            f.languages = p.languages.clone();
            f.modes = p.modes.iter().map(|m| m.as_str().to_owned()).collect();
            f.prices = p.prices.iter().map(|set| PriceForm::from_set(set, decimal(ctx.locale))).collect();
        }
        f
    });
    let specialties = st
        .app
        .profiles
        .active_specialties()
        .await?
        .into_iter()
        .map(|s: Specialty| {
            let key = format!("specialty-{}", s.key);
            let translated = l.tr.t(&key);
            let label = if translated == key && !s.label.is_empty() { s.label } else { translated };
            let checked = form.specialties.contains(&s.key);
            (s.key, label, checked)
        })
        .collect();
    let modes = Mode::ALL
        .iter()
        .map(|m| (m.as_str(), l.tr.t(&format!("mode-{m}")), form.modes.iter().any(|x| x == m.as_str())))
        .collect();
    let languages = COMMON_LANGUAGES
        .iter()
        .map(|c| (*c, super::names::language(&l.tr, c), form.languages.iter().any(|x| x == c)))
        .collect();
    let other_languages = form
        .languages
        .iter()
        .filter(|x| !COMMON_LANGUAGES.contains(&x.as_str()))
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    let chosen: Vec<&Site> = sites.iter().filter(|s| form.sites.iter().any(|x| x == s.code.as_str())).collect();
    let first = chosen.first().map(|s| s.currency);
    let price_sets = pricing::by_currency(&chosen)
        .into_iter()
        .map(|(currency, group)| {
            let names: Vec<String> = group.iter().map(|s| s.name.clone()).collect();
            let imposed = group
                .iter()
                .filter_map(|s| {
                    let tariff = s.imposed_per_minute?;
                    Some(l.tr.t2("profile-prices-imposed", "site", &s.name, "price", &tariff.format(l.tr.locale)))
                })
                .collect();
            PriceFieldset {
                code: currency.code().to_owned(),
                legend: l.tr.t1("profile-prices-legend", "prices", &prices_label(&l.tr, currency, &names)),
                form: pricing::typed_for(&form.prices, currency, first),
                imposed,
                per_minute_required: group.iter().any(|s| s.imposed_per_minute.is_none()),
            }
        })
        .collect();
    let sites = sites
        .iter()
        .map(|s: &Site| {
            (
                s.code.to_string(),
                format!("{} ({})", s.name, super::names::currency(&l.tr, s.currency)),
                form.sites.iter().any(|x| x == s.code.as_str()),
            )
        })
        .collect();
    let view = ProfileEditPage {
        form,
        specialties,
        languages,
        other_languages,
        modes,
        sites,
        price_sets,
        terms_pending: own.terms_pending,
        terms_version: st.app.settings.terms.version,
        error,
        saved,
        l,
    };
    render(status, &view)
}

#[derive(serde::Deserialize)]
pub struct Saved {
    saved: Option<String>,
}

pub async fn edit(
    State(st): State<AppState>,
    ctx: PageCtx,
    axum::extract::Query(q): axum::extract::Query<Saved>,
) -> PageResult {
    page(&st, &ctx, None, StatusCode::OK, None, q.saved.is_some()).await
}

pub async fn save(State(st): State<AppState>, ctx: PageCtx, body: Bytes) -> PageResult {
    let me = ctx.require(Role::Expert)?.clone();
    let form = parse_form(&body);
    match st.app.profiles.save_profile(me.id, &form).await {
        Ok(()) => Ok(Redirect::to("/expert/profile/edit?saved=1").into_response()),
        Err(e) => {
            let problem = Problem::from(e);
            if problem.status.is_server_error() {
                return Err(problem.into());
            }
            let message = problem.message(&ctx.layout(&st).tr);
            page(&st, &ctx, Some(form), problem.status, Some(message), false).await
        }
    }
}

/// SP-contract from the dashboard banner: accept the current version.
pub async fn accept_terms(State(st): State<AppState>, ctx: PageCtx) -> PageResult {
    let me = ctx.require(Role::Expert)?.clone();
    st.app.profiles.accept_terms(me.id).await?;
    Ok(Flash::new("terms-accepted").redirect("/expert/dashboard"))
}

#[derive(Template)]
#[template(path = "admin/specialties.html")]
struct SpecialtiesPage<'a> {
    l: Layout<'a>,
    specialties: Vec<Specialty>,
    error: Option<String>,
}

pub async fn admin_specialties(State(st): State<AppState>, ctx: PageCtx) -> PageResult {
    ctx.require(Role::Admin)?;
    let specialties = st.app.profiles.specialties().await?.to_vec();
    render(StatusCode::OK, &SpecialtiesPage { l: ctx.layout(&st), specialties, error: None })
}

/// Adds a specialty (`key` + `label`) or switches one on or off (`key` + `toggle`).
pub async fn admin_save_specialty(State(st): State<AppState>, ctx: PageCtx, body: Bytes) -> PageResult {
    ctx.require(Role::Admin)?;
    let fields: std::collections::HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let key = fields.get("key").map(|k| k.trim().to_lowercase()).unwrap_or_default();
    let valid = !key.is_empty() && key.len() <= 40 && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
    let mut list = st.app.profiles.specialties().await?.to_vec();
    if !valid {
        let error =
            Some(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "err-specialty-key").message(&ctx.layout(&st).tr));
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SpecialtiesPage { l: ctx.layout(&st), specialties: list, error },
        );
    }
    let (specialty, done) = match list.iter_mut().find(|s| s.key == key) {
        Some(existing) if fields.contains_key("toggle") => {
            let done = if existing.active { "specialty-disabled" } else { "specialty-enabled" };
            (Specialty { active: !existing.active, ..existing.clone() }, done)
        }
        Some(existing) => (
            Specialty { label: fields.get("label").cloned().unwrap_or_default(), ..existing.clone() },
            "specialty-renamed",
        ),
        None => (
            Specialty {
                key,
                label: fields.get("label").map(|l| l.trim().chars().take(60).collect()).unwrap_or_default(),
                position: list.iter().map(|s| s.position).max().unwrap_or(0) + 1,
                active: true,
            },
            "specialty-added",
        ),
    };
    match st.app.profiles.save_specialty(&specialty).await {
        Ok(()) => Ok(Flash::new(done).redirect("/admin/specialties")),
        Err(e) => {
            let problem = Problem::from(e);
            if problem.status.is_server_error() {
                return Err(problem.into());
            }
            let error = Some(problem.message(&ctx.layout(&st).tr));
            render(problem.status, &SpecialtiesPage { l: ctx.layout(&st), specialties: list, error })
        }
    }
}
