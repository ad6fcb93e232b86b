//! A site's public pages (legal notice, terms, privacy, contact) and the admin's editor.
//! The text is the operator's, per site and language; it is shown through the tiny markup
//! of [`augure_domain::legal::blocks`], every piece escaped by the template.

use askama::Template;
use augure_app::i18n::{LOCALES, Tr};
use augure_domain::legal::{Block, PageKind};
use augure_domain::{Role, Site, SiteCode};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::{Layout, PageCtx, PageForm, PageResult, render, when};
use crate::AppState;
use crate::error::Problem;

/// Where the public pages are, the same in every language.
pub const PATHS: [&str; 4] = ["/legal", "/terms", "/privacy", "/contact"];

#[derive(Template)]
#[template(path = "legal.html")]
struct PublicPage<'a> {
    l: Layout<'a>,
    kind: &'static str,
    title: String,
    blocks: Vec<BlockView>,
    site_name: String,
    /// The contact page lists the site's phone numbers: `(tel: link, as shown)`.
    phones: Vec<(String, String)>,
    terms_version: u32,
    updated: Option<String>,
    /// The language the text is written in, when it is not the page's (WCAG 3.1.2).
    text_lang: Option<String>,
}

/// A block of text as the template shows it: `h2`, `p` (lines with breaks) or `ul`.
struct BlockView {
    tag: &'static str,
    lines: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/pages.html")]
struct AdminList<'a> {
    l: Layout<'a>,
    sites: Vec<SiteRows>,
}

struct SiteRows {
    name: String,
    /// Per kind: its name, then its cell for each language.
    rows: Vec<(String, Vec<LanguageCell>)>,
}

/// `(edit link, language name, last change)`; no change while not written yet.
type LanguageCell = (String, String, Option<String>);

#[derive(Template)]
#[template(path = "admin/page_edit.html")]
struct AdminEdit<'a> {
    l: Layout<'a>,
    action: String,
    site_name: String,
    page_name: String,
    language: String,
    public_link: String,
    title: String,
    body: String,
    error: Option<String>,
    saved: bool,
    title_max: usize,
    body_max: usize,
}

#[derive(Deserialize)]
pub struct SiteQuery {
    site: Option<String>,
}

#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

#[derive(Deserialize)]
pub struct PageEditForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
}

pub async fn legal(st: State<AppState>, ctx: PageCtx, q: Query<SiteQuery>) -> PageResult {
    show(st, ctx, q, PageKind::Legal).await
}

pub async fn terms(st: State<AppState>, ctx: PageCtx, q: Query<SiteQuery>) -> PageResult {
    show(st, ctx, q, PageKind::Terms).await
}

pub async fn privacy(st: State<AppState>, ctx: PageCtx, q: Query<SiteQuery>) -> PageResult {
    show(st, ctx, q, PageKind::Privacy).await
}

pub async fn contact(st: State<AppState>, ctx: PageCtx, q: Query<SiteQuery>) -> PageResult {
    show(st, ctx, q, PageKind::Contact).await
}

/// The page's name when the operator gave it no title (and in the admin's list).
fn page_name(tr: &Tr<'_>, kind: PageKind) -> String {
    match kind {
        PageKind::Legal => tr.t("page-legal"),
        PageKind::Terms => tr.t("page-terms"),
        PageKind::Privacy => tr.t("page-privacy"),
        PageKind::Contact => tr.t("page-contact"),
    }
}

/// The site asked for, else the signed-in person's own, else the first (as the home page).
async fn chosen_site(st: &AppState, ctx: &PageCtx, asked: Option<&str>) -> Result<Option<Site>, Problem> {
    let sites = st.app.sites.list().await?;
    let asked: Option<SiteCode> = asked.and_then(|s| s.parse().ok());
    let own = ctx.session.as_ref().and_then(|s| s.user.site_id);
    Ok(asked
        .and_then(|code| sites.iter().find(|s| s.code == code).cloned())
        .or_else(|| own.and_then(|id| sites.iter().find(|s| s.id == id).cloned()))
        .or_else(|| sites.first().cloned()))
}

async fn show(State(st): State<AppState>, ctx: PageCtx, Query(q): Query<SiteQuery>, kind: PageKind) -> PageResult {
    let site = chosen_site(&st, &ctx, q.site.as_deref()).await?;
    let page = match &site {
        Some(site) => st.app.legal.page(site, kind, ctx.locale).await?,
        None => None,
    };
    let l = ctx.layout(&st);
    let zone = site.as_ref().map_or(chrono_tz::Europe::Paris, |s| s.time_zone);
    let phones = match (&site, kind) {
        (Some(site), PageKind::Contact) => site.phone_numbers.iter().map(|n| (n.replace(' ', ""), n.clone())).collect(),
        _ => Vec::new(),
    };
    let view = PublicPage {
        kind: kind.as_str(),
        title: page.as_ref().map_or_else(|| page_name(&l.tr, kind), |p| p.title.clone()),
        blocks: page
            .as_ref()
            .map(|p| augure_domain::legal::blocks(&p.body))
            .unwrap_or_default()
            .into_iter()
            .map(view)
            .collect(),
        site_name: site.as_ref().map_or_else(|| "augure".to_owned(), |s| s.name.clone()),
        phones,
        terms_version: st.app.settings.terms.version,
        updated: page.as_ref().map(|p| when(&l.tr, p.updated_at, zone)),
        text_lang: page.as_ref().map(|p| p.locale.clone()).filter(|lang| lang != l.tr.locale),
        l,
    };
    render(StatusCode::OK, &view)
}

fn view(block: Block) -> BlockView {
    match block {
        Block::Heading(text) => BlockView { tag: "h2", lines: vec![text] },
        Block::Paragraph(lines) => BlockView { tag: "p", lines },
        Block::List(items) => BlockView { tag: "ul", lines: items },
    }
}

/// Every site's pages in every language, with a link to write or change each.
pub async fn admin_list(State(st): State<AppState>, ctx: PageCtx) -> PageResult {
    ctx.require(Role::Admin)?;
    let l = ctx.layout(&st);
    let mut sites = Vec::new();
    for site in st.app.sites.list().await?.iter() {
        let written = st.app.legal.pages(site.id).await?;
        let rows = PageKind::ALL
            .into_iter()
            .map(|kind| {
                let cells = LOCALES
                    .iter()
                    .map(|locale| {
                        let page = written.iter().find(|p| p.kind == kind && p.locale == *locale);
                        (
                            format!("/admin/pages/{}/{kind}/{locale}", site.code),
                            l.tr.t(&format!("lang-{locale}")),
                            page.map(|p| when(&l.tr, p.updated_at, site.time_zone)),
                        )
                    })
                    .collect();
                (page_name(&l.tr, kind), cells)
            })
            .collect();
        sites.push(SiteRows { name: site.name.clone(), rows });
    }
    render(StatusCode::OK, &AdminList { l, sites })
}

/// The page of one site, kind and language as an admin edits it.
struct Target {
    site: Site,
    kind: PageKind,
    locale: &'static str,
}

async fn target(st: &AppState, (site, kind, locale): (String, String, String)) -> Result<Target, Problem> {
    let not_found = || Problem::status(StatusCode::NOT_FOUND);
    let code: SiteCode = site.parse().map_err(|_| not_found())?;
    let site = st.app.sites.by_code(&code).await?.ok_or_else(not_found)?;
    let kind: PageKind = kind.parse().map_err(|_| not_found())?;
    let locale = LOCALES.into_iter().find(|l| *l == locale).ok_or_else(not_found)?;
    Ok(Target { site, kind, locale })
}

pub async fn admin_edit(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path(path): Path<(String, String, String)>,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    ctx.require(Role::Admin)?;
    let t = target(&st, path).await?;
    let written = st.app.legal.written(t.site.id, t.kind, t.locale).await?;
    let (title, body) = written.map_or_else(|| (String::new(), String::new()), |p| (p.title, p.body));
    edit_page(&st, &ctx, &t, StatusCode::OK, PageEditForm { title, body }, None, q.saved.is_some())
}

pub async fn admin_save(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path(path): Path<(String, String, String)>,
    PageForm(form): PageForm<PageEditForm>,
) -> PageResult {
    ctx.require(Role::Admin)?;
    let t = target(&st, path).await?;
    match st.app.legal.save(t.site.id, t.kind, t.locale, &form.title, &form.body).await {
        Ok(_) => Ok(Redirect::to(&format!("{}?saved=1", edit_path(&t))).into_response()),
        Err(e) => {
            let problem = Problem::from(e);
            if problem.status.is_server_error() {
                return Err(problem.into());
            }
            let message = problem.message(&ctx.layout(&st).tr);
            edit_page(&st, &ctx, &t, problem.status, form, Some(message), false)
        }
    }
}

fn edit_path(t: &Target) -> String {
    format!("/admin/pages/{}/{}/{}", t.site.code, t.kind, t.locale)
}

fn edit_page(
    st: &AppState,
    ctx: &PageCtx,
    t: &Target,
    status: StatusCode,
    form: PageEditForm,
    error: Option<String>,
    saved: bool,
) -> PageResult {
    let l = ctx.layout(st);
    let page = AdminEdit {
        action: edit_path(t),
        site_name: t.site.name.clone(),
        page_name: page_name(&l.tr, t.kind),
        language: l.tr.t(&format!("lang-{}", t.locale)),
        public_link: format!("/{}?site={}", t.kind, t.site.code),
        title: form.title,
        body: form.body,
        error,
        saved,
        title_max: augure_app::legal::TITLE_MAX,
        body_max: augure_app::legal::BODY_MAX,
        l,
    };
    render(status, &page)
}
