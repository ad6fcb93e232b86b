//! Sign-up, sign-in, sessions and password reset (SP-login, SP-code).

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use augure_domain::account::PasswordError;
use augure_domain::{Clock, Email, ExpertCode, Role, SiteCode, UserId, check_display_name};
use augure_store::{
    ExpertDetails, NewJob, NewResetToken, NewSession, NewUser, Session, SessionKind, Store, StoreError, StoreResult,
    User,
};
use chrono::Duration;

use crate::i18n::{I18n, Tr};
use crate::mail::{Mail, ResetHtml, ResetText, WelcomeHtml, WelcomeText};
use crate::settings::Settings;
use crate::tokens;

/// What a person fills in to open an account.
#[derive(Clone, Debug)]
pub struct SignUp {
    pub email: String,
    pub password: String,
    pub display_name: String,
    /// Client or expert; admins are created from the command line.
    pub role: Role,
    pub locale: String,
    pub site: Option<SiteCode>,
    /// The person ticked "I accept the terms": the current version is recorded with the
    /// account, so that a new expert is not asked again (SP-contract).
    pub accept_terms: bool,
}

/// Why an account operation was refused. Each maps to one message people understand.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("invalid email")]
    InvalidEmail,
    #[error(transparent)]
    WeakPassword(#[from] PasswordError),
    #[error("invalid name")]
    InvalidName,
    /// A control character, or a name with nothing visible (the text rule).
    #[error(transparent)]
    Text(#[from] augure_domain::TextError),
    #[error("an account already uses this email")]
    EmailTaken,
    #[error("unknown site")]
    UnknownSite,
    #[error("this role cannot sign up")]
    RoleNotAllowed,
    #[error("accept the terms to open an account")]
    TermsNotAccepted,
    #[error("wrong email or password")]
    WrongCredentials,
    /// The password is right but this is another role's entry point.
    #[error("this account signs in on the {0:?} page")]
    WrongEntryPoint(Role),
    #[error("not signed in")]
    NotSignedIn,
    #[error("unknown reset link")]
    ResetLinkUnknown,
    #[error("reset link expired")]
    ResetLinkExpired,
    #[error("reset link already used")]
    ResetLinkUsed,
    #[error(transparent)]
    Store(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        AccountError::Store(e)
    }
}

/// How many times sign-up draws a fresh expert code before widening it by a digit.
const CODE_DRAWS_PER_WIDTH: usize = 8;

/// The job that writes and sends a password-reset mail.
pub const RESET_MAIL_JOB: &str = "accounts.reset_mail";

/// What a reset-mail job holds: who asked, in which language, when. Not the link.
///
/// The store keeps only a hash of a reset token, so a link put in a job could never be
/// rebuilt from the store: it would have to sit in the payload in clear until the job row
/// was purged. Instead the token is drawn when the mail is written, in the job, and goes
/// to the mailer only. A rerun (a crash after sending, a retry after a refusal) draws
/// another one: each is a valid link, and the first one used voids the others.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ResetMailRequest {
    pub user_id: UserId,
    pub locale: String,
    pub requested_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    settings: Arc<Settings>,
    i18n: Arc<I18n>,
    /// A hash checked when the email is unknown, so both cases take the same time.
    decoy_hash: Arc<String>,
}

impl Accounts {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, settings: Arc<Settings>, i18n: Arc<I18n>) -> Self {
        let decoy_hash = Arc::new(hash_with(&settings, "decoy password, never matches").unwrap_or_default());
        Self { store, clock, settings, i18n, decoy_hash }
    }

    /// Opens a client or expert account and queues the welcome mail. The person must
    /// accept the terms; experts get their unique numeric code (SP-code).
    pub async fn sign_up(&self, form: SignUp) -> Result<User, AccountError> {
        if form.role == Role::Admin {
            return Err(AccountError::RoleNotAllowed);
        }
        let user = self.open(form, true).await?;
        self.queue_welcome(&user).await?;
        Ok(user)
    }

    /// Creates an admin; used by `augure admin create` and the demo data.
    pub async fn create_admin(&self, email: &str, password: &str, name: &str) -> Result<User, AccountError> {
        self.create(SignUp {
            email: email.into(),
            password: password.into(),
            display_name: name.into(),
            role: Role::Admin,
            locale: crate::i18n::DEFAULT_LOCALE.into(),
            site: None,
            accept_terms: false,
        })
        .await
    }

    pub async fn user(&self, id: UserId) -> StoreResult<User> {
        self.store.user_by_id(id).await
    }

    /// The expert with this code (SP-code); `None` when no account has it, or when the
    /// account is not an expert's.
    pub async fn expert_by_code(&self, code: u32) -> StoreResult<Option<User>> {
        match self.store.user_by_expert_code(code).await {
            Ok(user) if user.role == Role::Expert => Ok(Some(user)),
            Ok(_) | Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The language the person's mail is written in (the one they chose on the site).
    pub async fn set_locale(&self, id: UserId, locale: &str) -> StoreResult<()> {
        self.store.set_user_locale(id, locale).await
    }

    /// Creates an account without sending mail (the demo data uses this directly), with
    /// its acceptance of the terms when given.
    pub async fn create(&self, form: SignUp) -> Result<User, AccountError> {
        self.open(form, false).await
    }

    /// Creates the account and records its acceptance of the terms; with `terms_required`
    /// (a person signing up) an account whose terms are not accepted is refused once the
    /// other fields are valid, so that the form's other messages come first.
    async fn open(&self, form: SignUp, terms_required: bool) -> Result<User, AccountError> {
        let accept_terms = form.accept_terms;
        let user = self.create_user(form, terms_required).await?;
        if accept_terms {
            self.record_terms(&user).await?;
        }
        Ok(user)
    }

    /// The current terms version, accepted by `user` now: in the acceptances kept as the
    /// operator's proof and, for an expert, in the details that decide whether the
    /// dashboard asks for it (SP-contract).
    async fn record_terms(&self, user: &User) -> Result<(), AccountError> {
        let (version, now) = (self.settings.terms.version, self.clock.now());
        self.store.record_terms_acceptance(user.id, version, now).await?;
        if user.role == Role::Expert {
            let mut details = match self.store.expert_details(user.id).await {
                Ok(d) => d,
                Err(StoreError::NotFound) => ExpertDetails::empty(user.id, now),
                Err(e) => return Err(e.into()),
            };
            details.terms_version = Some(version);
            details.terms_accepted_at = Some(now);
            self.store.save_expert_details(&details).await?;
        }
        Ok(())
    }

    async fn create_user(&self, form: SignUp, terms_required: bool) -> Result<User, AccountError> {
        let email: Email = form.email.parse().map_err(|_| AccountError::InvalidEmail)?;
        self.settings.accounts.password.check(&form.password)?;
        augure_domain::check_line(form.display_name.trim())?;
        let display_name = check_display_name(&form.display_name).ok_or(AccountError::InvalidName)?;
        let site_id = match &form.site {
            Some(code) => Some(
                self.store
                    .site_by_code(code)
                    .await
                    .map_err(|e| match e {
                        StoreError::NotFound => AccountError::UnknownSite,
                        other => other.into(),
                    })?
                    .id,
            ),
            None => None,
        };
        if terms_required && !form.accept_terms {
            return Err(AccountError::TermsNotAccepted);
        }
        let password_hash = self.hash(form.password).await?;
        let mut new = NewUser {
            email,
            role: form.role,
            display_name,
            locale: I18n::supported(&form.locale).unwrap_or(crate::i18n::DEFAULT_LOCALE).into(),
            site_id,
            expert_code: None,
            password_hash,
            created_at: self.clock.now(),
        };
        if form.role != Role::Expert {
            return self.store.create_user(&new).await.map_err(map_conflict);
        }
        for draw in 0.. {
            let digits = 4 + (draw / CODE_DRAWS_PER_WIDTH) as u32;
            let random = u32::from_le_bytes(tokens::random_bytes::<4>());
            new.expert_code = Some(ExpertCode::from_random(random, digits));
            match self.store.create_user(&new).await {
                Err(StoreError::Conflict("expert_code")) if digits < 9 => continue,
                other => return other.map_err(map_conflict),
            }
        }
        unreachable!("the loop returns")
    }

    /// Checks the password and opens a session. `entry` is the role whose sign-in page was
    /// used: clients and experts have separate entry points (SP-login); the API has one
    /// entry point for all (`None`).
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        entry: Option<Role>,
        kind: SessionKind,
    ) -> Result<(User, String), AccountError> {
        let user = match email.parse::<Email>() {
            Ok(email) => match self.store.user_by_email(&email).await {
                Ok(user) => Some(user),
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            },
            Err(_) => None,
        };
        let hash = user.as_ref().map_or_else(|| self.decoy_hash.to_string(), |u| u.password_hash.clone());
        let matches = self.verify(password.to_owned(), hash).await?;
        let user = match user {
            Some(user) if matches => user,
            _ => return Err(AccountError::WrongCredentials),
        };
        if entry.is_some_and(|entry| entry != user.role) {
            return Err(AccountError::WrongEntryPoint(user.role));
        }
        let token = self.open_session(&user, kind).await?;
        Ok((user, token))
    }

    /// Opens a session for `user` and returns its secret token.
    pub async fn open_session(&self, user: &User, kind: SessionKind) -> Result<String, AccountError> {
        let token = tokens::new_token();
        let now = self.clock.now();
        let ttl_hours = match kind {
            SessionKind::Web => self.settings.accounts.session_ttl_hours,
            SessionKind::Api => self.settings.accounts.api_token_ttl_hours,
        };
        self.store
            .create_session(&NewSession {
                token_hash: tokens::hash_token(&token),
                user_id: user.id,
                kind,
                created_at: now,
                expires_at: now + Duration::hours(ttl_hours),
            })
            .await?;
        Ok(token)
    }

    /// The live session a token stands for.
    pub async fn authenticate(&self, token: &str, kind: SessionKind) -> Result<Session, AccountError> {
        match self.store.session(&tokens::hash_token(token), self.clock.now()).await {
            Ok(session) if session.kind == kind => Ok(session),
            Ok(_) | Err(StoreError::NotFound) => Err(AccountError::NotSignedIn),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn sign_out(&self, token: &str) -> Result<(), AccountError> {
        Ok(self.store.delete_session(&tokens::hash_token(token)).await?)
    }

    /// Mails a single-use reset link if the address has an account. Answers the same
    /// either way, so the form does not reveal who has an account.
    pub async fn request_password_reset(&self, email: &str, locale: &str) -> Result<(), AccountError> {
        let Ok(email) = email.parse::<Email>() else {
            return Ok(());
        };
        let user = match self.store.user_by_email(&email).await {
            Ok(user) => user,
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let now = self.clock.now();
        let request = ResetMailRequest { user_id: user.id, locale: locale.to_owned(), requested_at: now };
        let payload = serde_json::to_value(&request).map_err(|e| AccountError::Internal(e.to_string()))?;
        self.store
            .enqueue_job(&NewJob {
                kind: RESET_MAIL_JOB.into(),
                payload,
                unique_key: None,
                run_at: now,
                created_at: now,
            })
            .await?;
        Ok(())
    }

    /// The reset mail for `request`, with a fresh single-use link valid for
    /// `accounts.reset_link_ttl_minutes` from now. `None` when there is no one to send it
    /// to any more, or when the request is older than a link lives: the person asked
    /// that long ago and has asked again if they still need one.
    pub async fn reset_mail(&self, request: &ResetMailRequest) -> Result<Option<Mail>, AccountError> {
        let now = self.clock.now();
        let minutes = self.settings.accounts.reset_link_ttl_minutes;
        if now >= request.requested_at + Duration::minutes(minutes) {
            return Ok(None);
        }
        let user = match self.store.user_by_id(request.user_id).await {
            Ok(user) => user,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let token = tokens::new_token();
        self.store
            .create_reset_token(&NewResetToken {
                token_hash: tokens::hash_token(&token),
                user_id: user.id,
                created_at: now,
                expires_at: now + Duration::minutes(minutes),
            })
            .await?;
        // The mail speaks the language of the page the person used.
        let tr = Tr::new(&self.i18n, &request.locale);
        let reset_url = format!("{}/password/reset/{token}", self.public_url());
        let (name, url) = (user.display_name.as_str(), reset_url.as_str());
        let mail = Mail::render(
            user.email.as_str(),
            tr.t("mail-reset-subject"),
            &ResetText { tr, name, reset_url: url, minutes },
            &ResetHtml { tr, name, reset_url: url, minutes },
        )
        .map_err(|e| AccountError::Internal(e.to_string()))?
        // The link is a secret for the mailbox only: the list says a mail went, no more.
        .with_notice(tr.t("notice-reset-body"), None);
        Ok(Some(mail))
    }

    /// Sets a new password from a reset link, which is spent, and signs out everywhere.
    pub async fn reset_password(&self, token: &str, new_password: &str) -> Result<User, AccountError> {
        self.settings.accounts.password.check(new_password)?;
        let hash = self.hash(new_password.to_owned()).await?;
        let user_id = self.store.reset_password(&tokens::hash_token(token), &hash, self.clock.now()).await.map_err(
            |e| match e {
                StoreError::NotFound => AccountError::ResetLinkUnknown,
                StoreError::TokenExpired => AccountError::ResetLinkExpired,
                StoreError::TokenUsed => AccountError::ResetLinkUsed,
                other => other.into(),
            },
        )?;
        Ok(self.store.user_by_id(user_id).await?)
    }

    fn public_url(&self) -> &str {
        self.settings.public_url.trim_end_matches('/')
    }

    async fn queue_welcome(&self, user: &User) -> Result<(), AccountError> {
        let tr = Tr::new(&self.i18n, &user.locale);
        let login_url = match user.role {
            Role::Expert => format!("{}/expert/login", self.public_url()),
            _ => format!("{}/login", self.public_url()),
        };
        let (name, url, code) = (user.display_name.as_str(), login_url.as_str(), user.expert_code.map(|c| c.0));
        let mail = Mail::render(
            user.email.as_str(),
            tr.t("mail-welcome-subject"),
            &WelcomeText { tr, name, login_url: url, expert_code: code },
            &WelcomeHtml { tr, name, login_url: url, expert_code: code },
        )
        .map_err(|e| AccountError::Internal(e.to_string()))?
        // Its link is the sign-in page, of no use to someone reading their list signed in.
        .with_notice(tr.t("mail-welcome-body"), None);
        mail.enqueue(&*self.store, Some(format!("welcome:{}", user.id)), self.clock.now()).await?;
        Ok(())
    }

    async fn hash(&self, password: String) -> Result<String, AccountError> {
        let settings = self.settings.clone();
        // argon2 is deliberately slow: keep it off the async workers.
        tokio::task::spawn_blocking(move || hash_with(&settings, &password))
            .await
            .map_err(|e| AccountError::Internal(e.to_string()))?
    }

    async fn verify(&self, password: String, hash: String) -> Result<bool, AccountError> {
        let settings = self.settings.clone();
        tokio::task::spawn_blocking(move || {
            // The stored hash carries its own parameters; these only build the verifier.
            argon2(&settings).map(|a| a.verify_password(password.as_bytes(), hash.as_str()).is_ok())
        })
        .await
        .map_err(|e| AccountError::Internal(e.to_string()))?
    }
}

fn map_conflict(e: StoreError) -> AccountError {
    match e {
        StoreError::Conflict("email") => AccountError::EmailTaken,
        other => other.into(),
    }
}

fn argon2(settings: &Settings) -> Result<Argon2<'static>, AccountError> {
    let cost = &settings.accounts.hashing;
    let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
        .map_err(|e| AccountError::Internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_with(settings: &Settings, password: &str) -> Result<String, AccountError> {
    let salt = tokens::random_bytes::<16>();
    argon2(settings)?
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Internal(format!("argon2: {e}")))
}
