//! Limits on what a request may cost: rate limits on the actions people abuse (sign-in,
//! sign-up, reset) per client address ([`crate::client_addr`]) and, for sign-in, per
//! account; and the largest body a request may declare.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use augure_app::settings::{ForwardedHeader, Settings, TrustedProxy};
use augure_domain::Clock;
use chrono::{DateTime, Utc};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::error::Problem;

/// governor on the injected clock, so limits and their pruning follow the fake clock in
/// tests like every other rule.
#[derive(Clone)]
struct LimiterClock(Arc<dyn Clock>);

impl governor::clock::Clock for LimiterClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Duration::from_micros(u64::try_from(self.0.now().timestamp_micros()).unwrap_or(0))
    }
}

type Keyed<K> = RateLimiter<K, HashMapStateStore<K>, LimiterClock, NoOpMiddleware<Duration>>;

fn keyed<K: Clone + Hash + Eq>(quota: Quota, clock: &Arc<dyn Clock>) -> Keyed<K> {
    RateLimiter::new(quota, HashMapStateStore::default(), LimiterClock(clock.clone()))
}

pub struct Limits {
    sign_in: Keyed<IpAddr>,
    /// Keyed on the email as typed, normalised: whether an account has it is not asked,
    /// so the answer is the same for every address and reveals nothing.
    sign_in_account: Keyed<String>,
    sign_up: Keyed<IpAddr>,
    password_reset: Keyed<IpAddr>,
    trusted_proxies: Vec<TrustedProxy>,
    forwarded_header: ForwardedHeader,
    clock: Arc<dyn Clock>,
    prune_every: chrono::Duration,
    last_prune: Mutex<DateTime<Utc>>,
}

impl Limits {
    pub fn new(settings: &Settings, clock: Arc<dyn Clock>) -> Self {
        let limits = &settings.limits;
        let n = |v: u32| NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN);
        // N per window: the whole allowance at once, then one more every window / N.
        let per_account = n(limits.sign_in_per_account);
        let window = Duration::from_secs(u64::from(limits.sign_in_account_minutes.max(1)) * 60);
        let account_quota = Quota::with_period(window / per_account.get())
            .unwrap_or(Quota::per_minute(per_account))
            .allow_burst(per_account);
        Self {
            sign_in: keyed(Quota::per_minute(n(limits.sign_in_per_minute)), &clock),
            sign_in_account: keyed(account_quota, &clock),
            sign_up: keyed(Quota::per_hour(n(limits.sign_up_per_hour)), &clock),
            password_reset: keyed(Quota::per_hour(n(limits.password_reset_per_hour)), &clock),
            trusted_proxies: settings.http.trusted_proxies.clone(),
            forwarded_header: settings.http.forwarded_header,
            last_prune: Mutex::new(clock.now()),
            prune_every: chrono::Duration::seconds(i64::try_from(limits.prune_seconds).unwrap_or(i64::MAX).max(1)),
            clock,
        }
    }

    /// The client behind `peer`, as the rate limits see it.
    pub fn client_addr(&self, peer: IpAddr, headers: &axum::http::HeaderMap) -> IpAddr {
        crate::client_addr::client_addr(peer, headers, &self.trusted_proxies, self.forwarded_header)
    }

    /// A sign-in attempt from `ip` on the account `email`: both must have room. The
    /// address is asked first, so one address over its limit cannot also use up the
    /// allowance of the accounts it names.
    pub fn sign_in(&self, ip: IpAddr, email: &str) -> Result<(), Problem> {
        self.check(&self.sign_in, &ip)?;
        let account = email
            .parse::<augure_domain::Email>()
            .map_or_else(|_| email.trim().to_lowercase(), |email| email.as_str().to_owned());
        self.check(&self.sign_in_account, &account)
    }

    pub fn sign_up(&self, ip: IpAddr) -> Result<(), Problem> {
        self.check(&self.sign_up, &ip)
    }

    pub fn password_reset(&self, ip: IpAddr) -> Result<(), Problem> {
        self.check(&self.password_reset, &ip)
    }

    fn check<K: Clone + Hash + Eq>(&self, limiter: &Keyed<K>, key: &K) -> Result<(), Problem> {
        self.prune_when_due();
        limiter.check_key(key).map_err(|_| Problem::status(axum::http::StatusCode::TOO_MANY_REQUESTS))
    }

    /// Prunes at most every `limits.prune_seconds`, on the requests that add keys: state
    /// only grows when requests come, so no timer is needed to keep it bounded.
    fn prune_when_due(&self) {
        let now = self.clock.now();
        {
            let Ok(mut last) = self.last_prune.try_lock() else { return };
            if now - *last < self.prune_every {
                return;
            }
            *last = now;
        }
        self.prune();
    }

    /// Forgets every key back to a full allowance (indistinguishable from a new one).
    pub fn prune(&self) {
        fn prune<K: Clone + Hash + Eq>(limiter: &Keyed<K>) {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        prune(&self.sign_in);
        prune(&self.sign_in_account);
        prune(&self.sign_up);
        prune(&self.password_reset);
    }

    /// Keys held by all limiters.
    #[cfg(test)]
    pub fn keys(&self) -> usize {
        self.sign_in.len() + self.sign_in_account.len() + self.sign_up.len() + self.password_reset.len()
    }
}

/// What an upload route accepts for a file of at most `file_limit` bytes: the multipart
/// envelope around it, and room for the check to answer with the file's own limit.
pub fn upload_body_limit(file_limit: usize) -> usize {
    file_limit.saturating_mul(2).max(16 * 1024 * 1024)
}

/// The largest body any route accepts.
pub fn largest_body(settings: &augure_app::Settings) -> usize {
    let uploads = [settings.media.photo_max_upload_bytes, settings.media.audio_max_bytes].map(upload_body_limit);
    uploads.into_iter().fold(settings.http.max_body_bytes, usize::max)
}

/// Refuses at once a request that declares a body larger than any route accepts. The
/// per-route limits apply while a body is read, so without this a request declaring 10 GB
/// and sending nothing held its connection until the request timeout.
pub async fn refuse_oversized(
    axum::extract::State(largest): axum::extract::State<usize>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > largest as u64 => {
            crate::error::Problem::status(axum::http::StatusCode::PAYLOAD_TOO_LARGE).into_response()
        }
        _ => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use augure_domain::FakeClock;

    use super::*;

    fn limits(adjust: impl FnOnce(&mut Settings)) -> (Limits, FakeClock) {
        let mut settings = Settings::default();
        adjust(&mut settings);
        let clock = FakeClock::new(DateTime::from_timestamp(1_795_000_000, 0).unwrap());
        (Limits::new(&settings, Arc::new(clock.clone())), clock)
    }

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([203, 0, 113, n])
    }

    #[test]
    fn sign_in_on_one_account_is_limited_whatever_the_address() {
        let (limits, clock) = limits(|s| {
            s.limits.sign_in_per_account = 3;
            s.limits.sign_in_account_minutes = 15;
        });
        for n in 0..3 {
            assert!(limits.sign_in(ip(n), "Marie@Example.fr").is_ok());
        }
        // The same account typed another way, from yet another address.
        assert!(limits.sign_in(ip(9), " marie@example.FR ").is_err());
        assert!(limits.sign_in(ip(9), "other@example.fr").is_ok(), "other accounts are not affected");
        // One attempt comes back every window / N.
        clock.advance(chrono::Duration::minutes(5));
        assert!(limits.sign_in(ip(10), "marie@example.fr").is_ok());
        assert!(limits.sign_in(ip(11), "marie@example.fr").is_err());
    }

    #[test]
    fn an_address_over_its_limit_does_not_use_up_accounts() {
        let (limits, _clock) = limits(|s| {
            s.limits.sign_in_per_minute = 1;
            s.limits.sign_in_per_account = 1;
        });
        assert!(limits.sign_in(ip(1), "a@example.fr").is_ok());
        assert!(limits.sign_in(ip(1), "b@example.fr").is_err());
        assert!(limits.sign_in(ip(2), "b@example.fr").is_ok(), "b's allowance was left alone");
    }

    #[test]
    fn pruning_forgets_keys_back_to_a_full_allowance_and_keeps_the_others() {
        let (limits, clock) = limits(|s| {
            s.limits.sign_in_per_minute = 10;
            s.limits.prune_seconds = 60;
        });
        for n in 0..50 {
            limits.sign_up(ip(n)).unwrap();
        }
        limits.sign_in(ip(200), "marie@example.fr").unwrap();
        assert_eq!(limits.keys(), 52);
        // Sign-in keys are back to full within minutes; sign-up ones take longer.
        clock.advance(chrono::Duration::minutes(4));
        limits.prune();
        assert_eq!(limits.keys(), 50);
        clock.advance(chrono::Duration::hours(3));
        // Pruning runs by itself on a later request once `prune_seconds` have passed.
        limits.password_reset(ip(1)).unwrap();
        assert_eq!(limits.keys(), 1, "only the request just made is remembered");
    }
}
