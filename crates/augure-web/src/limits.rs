//! Per-address rate limits on the actions people abuse: sign-in, sign-up, reset.

use std::net::IpAddr;
use std::num::NonZeroU32;

use augure_app::settings::RateLimits;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct Limits {
    pub sign_in: DefaultKeyedRateLimiter<IpAddr>,
    pub sign_up: DefaultKeyedRateLimiter<IpAddr>,
    pub password_reset: DefaultKeyedRateLimiter<IpAddr>,
}

impl Limits {
    pub fn new(settings: &RateLimits) -> Self {
        let n = |v: u32| NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN);
        Self {
            sign_in: RateLimiter::keyed(Quota::per_minute(n(settings.sign_in_per_minute))),
            sign_up: RateLimiter::keyed(Quota::per_hour(n(settings.sign_up_per_hour))),
            password_reset: RateLimiter::keyed(Quota::per_hour(n(settings.password_reset_per_hour))),
        }
    }
}
