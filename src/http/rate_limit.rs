//! Rate limits on the public endpoints: per client IP for everything but the health probes and
//! MoySklad's Vendor API calls, and per LoyaltyAPI token on top. A refusal is a 429 in MoySklad's
//! error format with `Retry-After`.
//!
//! The Vendor API (`/api/moysklad/vendor/…`) is never limited: MoySklad takes any 4xx there as a
//! failed activation, and its calls are few, single-use-JWT authenticated and come from MoySklad's
//! own addresses (which, behind a proxy, share the proxy's IP with every till).
//! HTTP plumbing: must not depend on `state` or on incoming modules (the middleware takes only the
//! [`RateLimits`]).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::error::{codes, ApiError};
use super::TOKEN_HEADER;
use crate::config::LimitSettings;
use crate::crypto::token_hash;

/// Forget idle keys every this many checks, so the maps stay small.
const RETAIN_EVERY: u64 = 10_000;

pub struct RateLimits {
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_token: Option<DefaultKeyedRateLimiter<String>>,
    checks: AtomicU64,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(
    per_second: u32,
    burst: u32,
) -> Option<DefaultKeyedRateLimiter<K>> {
    let rate = NonZeroU32::new(per_second)?;
    let burst = NonZeroU32::new(burst.max(per_second)).unwrap_or(rate);
    Some(RateLimiter::keyed(
        Quota::per_second(rate).allow_burst(burst),
    ))
}

impl RateLimits {
    /// A rate of 0 switches that limit off.
    pub fn new(settings: &LimitSettings) -> Self {
        RateLimits {
            per_ip: limiter(settings.per_ip_per_second, settings.per_ip_burst),
            per_token: limiter(settings.per_token_per_second, settings.per_token_burst),
            checks: AtomicU64::new(0),
        }
    }

    /// `Err(wait)` when the caller is over a limit.
    fn check(&self, ip: Option<IpAddr>, token: Option<&str>) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % RETAIN_EVERY == RETAIN_EVERY - 1 {
            self.forget_idle();
        }
        if let (Some(limiter), Some(ip)) = (&self.per_ip, ip) {
            limiter
                .check_key(&ip)
                .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))?;
        }
        if let (Some(limiter), Some(token)) = (&self.per_token, token) {
            // Keyed by the token's hash: the clear token is not kept in memory longer than needed.
            limiter
                .check_key(&token_hash(token))
                .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))?;
        }
        Ok(())
    }

    fn forget_idle(&self) {
        if let Some(limiter) = &self.per_ip {
            limiter.retain_recent();
        }
        if let Some(limiter) = &self.per_token {
            limiter.retain_recent();
        }
    }
}

pub async fn enforce(
    State(limits): State<Arc<RateLimits>>,
    request: Request,
    next: Next,
) -> Response {
    if is_exempt(request.uri().path()) {
        return next.run(request).await;
    }
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let token = request
        .headers()
        .get(TOKEN_HEADER)
        .and_then(|value| value.to_str().ok());
    match limits.check(ip, token) {
        Ok(()) => next.run(request).await,
        Err(wait) => too_many(wait),
    }
}

/// Where MoySklad's Vendor API calls us (see `vendor_api`).
pub const VENDOR_API_PREFIX: &str = "/api/moysklad/vendor/";

/// Health probes and MoySklad's Vendor API calls are never rate limited.
fn is_exempt(path: &str) -> bool {
    path.starts_with("/health/") || path.starts_with(VENDOR_API_PREFIX)
}

fn too_many(wait: Duration) -> Response {
    let seconds = wait.as_secs().max(1);
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        codes::RATE_LIMITED,
        "Слишком много запросов, повторите через несколько секунд",
        format!("Rate limit exceeded; retry in {seconds} s"),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_ip_and_per_token_independently() {
        let limits = RateLimits::new(&LimitSettings {
            per_ip_per_second: 2,
            per_ip_burst: 2,
            per_token_per_second: 1,
            per_token_burst: 1,
        });
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(limits.check(Some(ip), Some("a")).is_ok());
        assert!(
            limits.check(Some(ip), Some("a")).is_err(),
            "token a is over its limit"
        );
        assert!(
            limits.check(Some(ip), Some("b")).is_err(),
            "the ip is over its limit"
        );
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(limits.check(Some(other), Some("b")).is_ok());
    }

    #[test]
    fn health_and_the_vendor_api_are_exempt() {
        assert!(is_exempt("/health/ready"));
        assert!(is_exempt(
            "/api/moysklad/vendor/1.0/apps/a/1b2c3d4e-0000-11ee-0a80-000000000001"
        ));
        assert!(!is_exempt("/loyalty/retaildemand/recalc"));
        assert!(!is_exempt("/ui/api/settings"));
        assert!(!is_exempt("/api/moysklad/other"));
    }

    #[test]
    fn zero_switches_a_limit_off() {
        let limits = RateLimits::new(&LimitSettings {
            per_ip_per_second: 0,
            per_ip_burst: 0,
            per_token_per_second: 0,
            per_token_burst: 0,
        });
        for _ in 0..1000 {
            assert!(limits
                .check(Some("10.0.0.1".parse().unwrap()), Some("t"))
                .is_ok());
        }
    }
}
