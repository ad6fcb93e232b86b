//! Sign-up, sign-in, sign-out and password reset pages (SP-login). Clients and experts
//! have separate entry points; admins have their own.

use askama::Template;
use augure_app::{AccountError, SignUp};
use augure_domain::Role;
use augure_store::SessionKind;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::{Layout, PageCtx, PageForm, PageResult, dashboard_url, render};
use crate::AppState;
use crate::auth::{ClientIp, clear_session_cookie, session_cookie};
use crate::error::Problem;
use crate::flash::Flash;
use crate::redirect::local_path;

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage<'a> {
    l: Layout<'a>,
    role: &'static str,
    error: Option<String>,
    email: String,
    display_name: String,
    sites: Vec<(String, String)>,
    site: String,
    /// The box "I accept the terms" was ticked (kept when the form is shown again).
    accept_terms: bool,
    terms_version: u32,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    l: Layout<'a>,
    role: &'static str,
    error: Option<String>,
    email: String,
    next: String,
}

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage<'a> {
    l: Layout<'a>,
    sent: bool,
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage<'a> {
    l: Layout<'a>,
    token: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    site: String,
    /// `yes` when the terms box is ticked.
    #[serde(default)]
    accept_terms: String,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    /// Where to go once signed in (a page of this site), e.g. back to an expert's profile.
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    password: String,
}

pub async fn client_signup_page(State(st): State<AppState>, ctx: PageCtx) -> PageResult {
    signup_page(&st, &ctx, Role::Client, None, SignupForm::empty()).await
}

pub async fn expert_signup_page(State(st): State<AppState>, ctx: PageCtx) -> PageResult {
    signup_page(&st, &ctx, Role::Expert, None, SignupForm::empty()).await
}

pub async fn client_signup(
    State(st): State<AppState>,
    ctx: PageCtx,
    ip: ClientIp,
    jar: CookieJar,
    PageForm(form): PageForm<SignupForm>,
) -> PageResult {
    signup(st, ctx, ip, jar, form, Role::Client).await
}

pub async fn expert_signup(
    State(st): State<AppState>,
    ctx: PageCtx,
    ip: ClientIp,
    jar: CookieJar,
    PageForm(form): PageForm<SignupForm>,
) -> PageResult {
    signup(st, ctx, ip, jar, form, Role::Expert).await
}

impl SignupForm {
    fn empty() -> Self {
        Self {
            email: String::new(),
            password: String::new(),
            display_name: String::new(),
            site: String::new(),
            accept_terms: String::new(),
        }
    }
}

async fn signup_page(
    st: &AppState,
    ctx: &PageCtx,
    role: Role,
    error: Option<(StatusCode, String)>,
    form: SignupForm,
) -> PageResult {
    let sites = st.app.sites.list().await?.iter().cloned().map(|s| (s.code.to_string(), s.name)).collect();
    let (status, error) = match error {
        Some((status, message)) => (status, Some(message)),
        None => (StatusCode::OK, None),
    };
    let page = SignupPage {
        l: ctx.layout(st),
        role: role.as_str(),
        error,
        email: form.email,
        display_name: form.display_name,
        sites,
        site: form.site,
        accept_terms: form.accept_terms == "yes",
        terms_version: st.app.settings.terms.version,
    };
    render(status, &page)
}

async fn signup(st: AppState, ctx: PageCtx, ip: ClientIp, jar: CookieJar, form: SignupForm, role: Role) -> PageResult {
    st.limits.sign_up(ip.0)?;
    let site = match form.site.trim() {
        "" => None,
        code => match code.parse() {
            Ok(code) => Some(code),
            Err(_) => return form_error(&st, &ctx, role, AccountError::UnknownSite, form).await,
        },
    };
    let request = SignUp {
        email: form.email.clone(),
        password: form.password.clone(),
        display_name: form.display_name.clone(),
        role,
        locale: ctx.locale.into(),
        site,
        accept_terms: form.accept_terms == "yes",
    };
    let user = match st.app.accounts.sign_up(request).await {
        Ok(user) => user,
        Err(e) => return form_error(&st, &ctx, role, e, form).await,
    };
    let token = st.app.accounts.open_session(&user, SessionKind::Web).await?;
    let jar = jar.add(session_cookie(token, &st.app.settings));
    Ok((jar, Redirect::to(dashboard_url(user.role))).into_response())
}

async fn form_error(st: &AppState, ctx: &PageCtx, role: Role, e: AccountError, form: SignupForm) -> PageResult {
    let problem = Problem::from(e);
    if problem.status.is_server_error() {
        return Err(problem.into());
    }
    let message = problem.message(&ctx.layout(st).tr);
    signup_page(st, ctx, role, Some((problem.status, message)), SignupForm { password: String::new(), ..form }).await
}

fn login_page(
    st: &AppState,
    ctx: &PageCtx,
    role: Role,
    error: Option<Problem>,
    email: String,
    next: &str,
) -> PageResult {
    let l = ctx.layout(st);
    let status = error.as_ref().map_or(StatusCode::OK, |p| p.status);
    let error = error.map(|p| p.message(&l.tr));
    let next = local_path(next).unwrap_or_default().to_owned();
    render(status, &LoginPage { l, role: role.as_str(), error, email, next })
}

pub async fn client_login_page(
    State(st): State<AppState>,
    ctx: PageCtx,
    axum::extract::Query(q): axum::extract::Query<NextQuery>,
) -> PageResult {
    login_page(&st, &ctx, Role::Client, None, String::new(), &q.next)
}

pub async fn expert_login_page(State(st): State<AppState>, ctx: PageCtx) -> PageResult {
    login_page(&st, &ctx, Role::Expert, None, String::new(), "")
}

pub async fn admin_login_page(State(st): State<AppState>, ctx: PageCtx) -> PageResult {
    login_page(&st, &ctx, Role::Admin, None, String::new(), "")
}

pub async fn client_login(
    State(st): State<AppState>,
    ctx: PageCtx,
    ip: ClientIp,
    jar: CookieJar,
    PageForm(form): PageForm<LoginForm>,
) -> PageResult {
    login(st, ctx, ip, jar, form, Role::Client).await
}

pub async fn expert_login(
    State(st): State<AppState>,
    ctx: PageCtx,
    ip: ClientIp,
    jar: CookieJar,
    PageForm(form): PageForm<LoginForm>,
) -> PageResult {
    login(st, ctx, ip, jar, form, Role::Expert).await
}

pub async fn admin_login(
    State(st): State<AppState>,
    ctx: PageCtx,
    ip: ClientIp,
    jar: CookieJar,
    PageForm(form): PageForm<LoginForm>,
) -> PageResult {
    login(st, ctx, ip, jar, form, Role::Admin).await
}

async fn login(st: AppState, ctx: PageCtx, ip: ClientIp, jar: CookieJar, form: LoginForm, entry: Role) -> PageResult {
    st.limits.sign_in(ip.0, &form.email)?;
    match st.app.accounts.sign_in(&form.email, &form.password, Some(entry), SessionKind::Web).await {
        Ok((user, token)) => {
            let jar = jar.add(session_cookie(token, &st.app.settings));
            let to = local_path(&form.next).unwrap_or(dashboard_url(user.role));
            Ok((jar, Redirect::to(to)).into_response())
        }
        Err(e) => {
            let problem = Problem::from(e);
            if problem.status.is_server_error() {
                return Err(problem.into());
            }
            login_page(&st, &ctx, entry, Some(problem), form.email, &form.next)
        }
    }
}

pub async fn logout(State(st): State<AppState>, ctx: PageCtx, jar: CookieJar) -> PageResult {
    if let Some(token) = &ctx.token {
        st.app.accounts.sign_out(token).await?;
    }
    Ok((jar.remove(clear_session_cookie()), Flash::new("signed-out").redirect("/")).into_response())
}

pub async fn forgot_page(State(st): State<AppState>, ctx: PageCtx) -> PageResult {
    render(StatusCode::OK, &ForgotPage { l: ctx.layout(&st), sent: false })
}

pub async fn forgot(
    State(st): State<AppState>,
    ctx: PageCtx,
    ip: ClientIp,
    PageForm(form): PageForm<ForgotForm>,
) -> PageResult {
    st.limits.password_reset(ip.0)?;
    st.app.accounts.request_password_reset(&form.email, ctx.locale).await?;
    render(StatusCode::OK, &ForgotPage { l: ctx.layout(&st), sent: true })
}

pub async fn reset_page(State(st): State<AppState>, ctx: PageCtx, Path(token): Path<String>) -> PageResult {
    render(StatusCode::OK, &ResetPage { l: ctx.layout(&st), token, error: None })
}

pub async fn reset(
    State(st): State<AppState>,
    ctx: PageCtx,
    ip: ClientIp,
    jar: CookieJar,
    Path(token): Path<String>,
    PageForm(form): PageForm<ResetForm>,
) -> PageResult {
    st.limits.password_reset(ip.0)?;
    match st.app.accounts.reset_password(&token, &form.password).await {
        Ok(user) => {
            // The reset signed the person out everywhere; sign this browser back in.
            let token = st.app.accounts.open_session(&user, SessionKind::Web).await?;
            let jar = jar.add(session_cookie(token, &st.app.settings));
            Ok((jar, Flash::new("password-changed").redirect(dashboard_url(user.role))).into_response())
        }
        Err(e) => {
            let problem = Problem::from(e);
            if problem.status.is_server_error() {
                return Err(problem.into());
            }
            let l = ctx.layout(&st);
            let message = problem.message(&l.tr);
            render(problem.status, &ResetPage { l, token, error: Some(message) })
        }
    }
}
