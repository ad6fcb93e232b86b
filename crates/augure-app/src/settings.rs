//! Every limit the platform enforces, with the specification's defaults. Loaded by the
//! binary from defaults, then `augure.toml`, then `AUGURE_…` variables.

use augure_domain::PasswordPolicy;
use augure_domain::jobs::RetryPolicy;
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The address people reach the platform at, used in links sent by mail.
    pub public_url: String,
    pub accounts: AccountSettings,
    pub limits: RateLimits,
    pub mail: MailSettings,
    pub jobs: JobSettings,
    pub http: HttpSettings,
    pub payments: PaymentSettings,
    /// SP-status, WG-pause, SP-bank, SP-chat-presence, SP-ranking.
    pub availability: augure_domain::availability::AvailabilityPolicy,
    pub directory: DirectorySettings,
    /// SP-media, SP-presentation.
    pub media: crate::media::MediaSettings,
    /// AT-min and the profile's price options.
    pub pricing: PricingSettings,
    /// SP-contract: the current version of the terms and code of ethics.
    pub terms: TermsSettings,
    /// SP-planning: how far ahead and how many slots a day.
    pub planning: augure_domain::planning::PlanningPolicy,
    pub retention: RetentionSettings,
    /// Live consultations: grants, warning, graces, idleness, ringing, commission.
    pub consultations: augure_domain::consultation::ConsultationPolicy,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            accounts: AccountSettings::default(),
            limits: RateLimits::default(),
            mail: MailSettings::default(),
            jobs: JobSettings::default(),
            http: HttpSettings::default(),
            payments: PaymentSettings::default(),
            availability: Default::default(),
            directory: DirectorySettings::default(),
            media: Default::default(),
            pricing: PricingSettings::default(),
            terms: TermsSettings::default(),
            planning: Default::default(),
            retention: RetentionSettings::default(),
            consultations: Default::default(),
        }
    }
}

impl Settings {
    /// Cookies get `Secure` only when people reach us over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The local defaults (the test-mode checkout, which credits test cards; the mail
    /// outbox, which sends nothing) are for a demo or a machine of one's own: a server
    /// people reach must not run them by accident. Allowed with `--demo` or a loopback
    /// `public_url`; otherwise the setting to add is named.
    pub fn check_local_defaults(&self, demo: bool) -> Result<(), String> {
        if demo || is_loopback_url(&self.public_url) {
            return Ok(());
        }
        let url = &self.public_url;
        if self.payments.provider == "test" {
            return Err(format!(
                "the test-mode checkout would credit test cards on {url}: set [payments] provider = \"stripe\" \
                 with its keys (AUGURE_PAYMENTS__PROVIDER, AUGURE_PAYMENTS__STRIPE_SECRET_KEY, \
                 AUGURE_PAYMENTS__WEBHOOK_SECRETS), or run with --demo"
            ));
        }
        if self.mail.smtp.is_none() && !self.mail.accept_outbox {
            return Err(format!(
                "mail on {url} would only be kept in the outbox: set [mail.smtp] host (AUGURE_MAIL__SMTP__HOST), \
                 or mail.accept_outbox = true (AUGURE_MAIL__ACCEPT_OUTBOX=true) to keep it there on purpose"
            ));
        }
        Ok(())
    }
}

/// Whether `url` names this machine: `localhost`, `*.localhost`, or a loopback address.
fn is_loopback_url(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct AccountSettings {
    pub password: PasswordPolicy,
    pub session_ttl_hours: i64,
    pub api_token_ttl_hours: i64,
    pub reset_link_ttl_minutes: i64,
    pub hashing: HashingCost,
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self {
            password: PasswordPolicy::default(),
            session_ttl_hours: 24 * 30,
            api_token_ttl_hours: 24 * 90,
            reset_link_ttl_minutes: 60,
            hashing: HashingCost::default(),
        }
    }
}

/// argon2id cost. The defaults are OWASP's recommendation; tests lower them.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct HashingCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for HashingCost {
    fn default() -> Self {
        Self { memory_kib: 19 * 1024, iterations: 2, parallelism: 1 }
    }
}

/// Attempts allowed per client address (and, for sign-in, per account) before
/// `429 Too Many Requests`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct RateLimits {
    pub sign_in_per_minute: u32,
    /// Sign-in attempts on one account (the email typed, normalised) from any address,
    /// per `sign_in_account_minutes`: a guesser spread over many addresses still gets
    /// this many. It counts right and wrong passwords alike, so someone hammering an
    /// account keeps its owner out for the window too: the price of stopping them.
    pub sign_in_per_account: u32,
    pub sign_in_account_minutes: u32,
    pub sign_up_per_hour: u32,
    pub password_reset_per_hour: u32,
    /// How often the limiters forget the addresses and accounts that are back to a full
    /// allowance, so their memory follows recent traffic instead of growing forever.
    pub prune_seconds: u64,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            sign_in_per_minute: 10,
            sign_in_per_account: 10,
            sign_in_account_minutes: 15,
            sign_up_per_hour: 20,
            password_reset_per_hour: 5,
            prune_seconds: 60,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct MailSettings {
    /// The `From:` of every mail.
    pub from: String,
    /// Without SMTP, mail goes to the outbox shown on the admin page.
    pub smtp: Option<SmtpSettings>,
    /// Keep mail in the outbox on a public server, on purpose (see
    /// [`Settings::check_local_defaults`]).
    pub accept_outbox: bool,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self { from: "augure <no-reply@augure.localhost>".into(), smtp: None, accept_outbox: false }
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct SmtpSettings {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<SecretString>,
    #[serde(default)]
    pub tls: SmtpTls,
}

fn default_smtp_port() -> u16 {
    587
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP: only for a relay on the same host or a test sink.
    None,
    #[default]
    Starttls,
    /// Implicit TLS (port 465).
    Tls,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct JobSettings {
    pub retry: RetryPolicy,
    /// How long a worker may hold a job before another may take it over.
    pub lease_seconds: i64,
    pub poll_interval_ms: u64,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self { retry: RetryPolicy::default(), lease_seconds: 300, poll_interval_ms: 500 }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct HttpSettings {
    /// Largest JSON or form body accepted, in bytes.
    pub max_body_bytes: usize,
    pub request_timeout_seconds: u64,
    /// When set, `/metrics` answers only `Authorization: Bearer <token>`; unset, it is open
    /// (fine on a private network or behind a proxy that keeps it in).
    pub metrics_token: Option<SecretString>,
    /// How long an `Idempotency-Key` stays reserved for a request that has not answered;
    /// past it the request is taken to have died and a retry may act.
    pub idempotency_reservation_seconds: u64,
    /// On stop, how long requests still open may finish before they are dropped.
    pub shutdown_grace_seconds: u64,
    /// The reverse proxies in front of us, as addresses or CIDR ranges (`10.0.0.1`,
    /// `10.0.0.0/8`, `fd00::/8`). Only a request whose TCP peer is one of them has its
    /// client address read from `forwarded_header`. Empty (the default): the peer is the
    /// client and forwarding headers, which anyone can send, are ignored.
    pub trusted_proxies: Vec<TrustedProxy>,
    /// The header those proxies write: `x-forwarded-for` (default) or `forwarded`
    /// (RFC 7239). Only that one is read, since a proxy passes the other one on as the
    /// client wrote it.
    pub forwarded_header: ForwardedHeader,
}

/// A trusted proxy: one address or a CIDR range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrustedProxy(pub ipnet::IpNet);

impl<'de> Deserialize<'de> for TrustedProxy {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}

impl TrustedProxy {
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }
}

impl std::str::FromStr for TrustedProxy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        match s.parse::<std::net::IpAddr>() {
            Ok(ip) => Ok(TrustedProxy(ipnet::IpNet::from(ip.to_canonical()))),
            Err(_) => s
                .parse::<ipnet::IpNet>()
                .map(|net| TrustedProxy(net.trunc()))
                .map_err(|_| format!("{s:?} is neither an IP address nor a CIDR range")),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    #[default]
    XForwardedFor,
    Forwarded,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            request_timeout_seconds: 30,
            metrics_token: None,
            idempotency_reservation_seconds: 60,
            shutdown_grace_seconds: 10,
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::default(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct PaymentSettings {
    /// `test` (the built-in test-mode checkout) or `stripe`.
    pub provider: String,
    /// Webhook signing secrets: the current one first, then any being rotated out.
    pub webhook_secrets: Vec<SecretString>,
    /// Stripe's secret API key (`sk_…`), for `provider = "stripe"`.
    pub stripe_secret_key: Option<SecretString>,
    pub stripe_api_base: String,
    /// How a refund the provider did not answer is asked again: doubling from
    /// `base_seconds` up to `max_delay_seconds`, and never given up (the credit is taken).
    pub refund_retry: RetryPolicy,
    /// A refund still unanswered after this long is shown as stuck to admins, and mailed
    /// to them once.
    pub refund_stuck_minutes: i64,
    /// How long the provider keeps an idempotency key (Stripe: 24 hours). A refund older
    /// than this is never sent again before asking the provider what became of it.
    pub provider_key_hours: i64,
    /// The test-mode checkout: how long a delayed payment takes to settle or fail.
    pub test_settle_seconds: i64,
    /// A checkout left unpaid this long is closed (expired); a payment that still arrives
    /// later is credited all the same.
    pub checkout_expiry_minutes: i64,
}

impl Default for PaymentSettings {
    fn default() -> Self {
        // Only the local test-mode checkout signs with this; set your provider's secrets.
        Self {
            provider: "test".into(),
            webhook_secrets: vec![SecretString::from("whsec_augure_local_test".to_owned())],
            stripe_secret_key: None,
            stripe_api_base: "https://api.stripe.com".into(),
            refund_retry: RetryPolicy { base_seconds: 60, max_delay_seconds: 3600, max_attempts: u32::MAX },
            refund_stuck_minutes: 60,
            provider_key_hours: 24,
            test_settle_seconds: 60,
            checkout_expiry_minutes: 60,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct DirectorySettings {
    /// How long a node serves the listing from memory before reading the store again.
    /// Changes made on this node show at once; this bounds how late other nodes see them.
    pub cache_ms: i64,
    /// Experts per page of the home listing and of `GET /api/v1/experts`.
    pub page_size: usize,
    /// Cards carry a "new" badge this many days after the expert signed up.
    pub new_badge_days: i64,
}

impl Default for DirectorySettings {
    fn default() -> Self {
        Self { cache_ms: 2000, page_size: 48, new_badge_days: 30 }
    }
}

/// AT-min: the operator's minimum price per service type, in minor units of the site's
/// currency; `per_site` overrides `default` by site code.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct PricingSettings {
    pub default: Minimums,
    pub per_site: std::collections::BTreeMap<String, Minimums>,
    /// The most free first minutes an expert may offer (PH-free).
    pub max_free_minutes: u32,
    /// The longest package an expert may sell, in minutes.
    pub max_package_minutes: u32,
    /// The most an expert may ask, per service type, in minor units of any currency.
    pub maximums: Maximums,
    /// The most a credit pack may cost, in minor units (10 000.00).
    pub max_pack_price: i64,
    /// The largest bonus a credit pack may give, in minor units (5 000.00).
    pub max_pack_bonus: i64,
}

impl Default for PricingSettings {
    fn default() -> Self {
        Self {
            default: Minimums::default(),
            per_site: Default::default(),
            max_free_minutes: 10,
            max_package_minutes: 180,
            maximums: Maximums::default(),
            max_pack_price: 1_000_000,
            max_pack_bonus: 500_000,
        }
    }
}

impl PricingSettings {
    pub fn minimums(&self, site: &augure_domain::SiteCode) -> &Minimums {
        self.per_site.get(site.as_str()).unwrap_or(&self.default)
    }

    /// AT-min and the maximums for prices on `site`, in its currency's minor units.
    pub fn limits(&self, site: &augure_domain::SiteCode) -> augure_domain::pricing::PriceLimits {
        let min = self.minimums(site);
        augure_domain::pricing::PriceLimits {
            min_per_minute: min.per_minute,
            min_package: min.package,
            min_email: min.email_consultation,
            max_per_minute: self.maximums.per_minute,
            max_package: self.maximums.package,
            max_email: self.maximums.email_consultation,
            max_free_minutes: self.max_free_minutes,
            max_package_minutes: self.max_package_minutes,
        }
    }

    pub fn pack_limits(&self) -> augure_domain::credit::PackLimits {
        augure_domain::credit::PackLimits { max_price: self.max_pack_price, max_bonus: self.max_pack_bonus }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct Minimums {
    pub per_minute: i64,
    pub package: i64,
    pub email_consultation: i64,
}

impl Default for Minimums {
    fn default() -> Self {
        Self { per_minute: 100, package: 1000, email_consultation: 1000 }
    }
}

/// How long records that only serve for a while are kept, in days; the job runner deletes
/// older ones every `purge_minutes`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct RetentionSettings {
    /// Jobs done or given up (a mail job holds the whole mail).
    pub finished_jobs_days: u32,
    /// Mail and SMS in the outboxes, the local stand-ins for a mailbox and a phone (reset
    /// links included).
    pub outbox_days: u32,
    /// Notifications already read (SPEC §11); unread ones are kept whatever their age.
    pub notifications_days: u32,
    /// Provider event ids, which make a webhook delivered twice count once. Stripe
    /// retries for up to 3 days and its events can be resent for 30: a shorter life
    /// would let a late retry count again, so fewer than 4 days are taken as 4.
    pub payment_events_days: u32,
    /// `Idempotency-Key` answers: a client retrying after an outage gets the first
    /// answer back. Same floor as provider events.
    pub idempotency_days: u32,
    pub purge_minutes: u32,
}

impl RetentionSettings {
    /// The floor under the two settings that deduplicate retries.
    pub const RETRY_WINDOW_DAYS: u32 = 4;
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            finished_jobs_days: 30,
            outbox_days: 30,
            notifications_days: 180,
            payment_events_days: 30,
            idempotency_days: 30,
            purge_minutes: 60,
        }
    }
}

/// The most an expert may ask per service type, in minor units: a typo ("2500" for
/// "2,50") must not bill a client 2 500 a minute.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct Maximums {
    pub per_minute: i64,
    pub package: i64,
    pub email_consultation: i64,
}

impl Default for Maximums {
    fn default() -> Self {
        Self { per_minute: 10_000, package: 1_000_000, email_consultation: 100_000 }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct TermsSettings {
    /// Raise it when the terms change: every expert is asked to accept again.
    pub version: u32,
}

impl Default for TermsSettings {
    fn default() -> Self {
        Self { version: 1 }
    }
}

#[cfg(test)]
mod local_defaults_tests {
    use super::{Settings, SmtpSettings, is_loopback_url};

    #[test]
    fn loopback_urls_are_this_machine() {
        for url in ["http://127.0.0.1:8080", "http://localhost", "http://[::1]:18080/", "http://augure.localhost:8080"]
        {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "https://augure.example",
            "http://10.0.0.5:8080",
            "http://127.0.0.1.evil.example",
            "http://localhost@evil.example",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }

    #[test]
    fn a_public_server_refuses_the_test_checkout_and_the_outbox_unless_asked() {
        let mut s = Settings { public_url: "https://augure.example".into(), ..Settings::default() };
        assert!(s.check_local_defaults(true).is_ok(), "--demo allows them");
        assert!(s.check_local_defaults(false).unwrap_err().contains("[payments] provider"));
        s.payments.provider = "stripe".into();
        assert!(s.check_local_defaults(false).unwrap_err().contains("[mail.smtp]"));
        s.mail.accept_outbox = true;
        assert!(s.check_local_defaults(false).is_ok());
        s.mail.accept_outbox = false;
        s.mail.smtp = Some(SmtpSettings {
            host: "smtp.example".into(),
            port: 587,
            username: None,
            password: None,
            tls: Default::default(),
        });
        assert!(s.check_local_defaults(false).is_ok());
        assert!(Settings::default().check_local_defaults(false).is_ok(), "the default URL is loopback");
    }
}
