//! The JWTs of MoySklad's Vendor API, both ways, HS256 with the app's secretKey.
//! Outgoing client: must not depend on `state`, incoming modules, services or `store`.
//!
//! Incoming (MoySklad → us): signature, algorithm (HS256 only — `none` and every other algorithm
//! are refused by the decoder), expiry and the presence of a `jti` are checked here; that the `jti`
//! was never seen before is checked against the database by the caller, so it holds across
//! instances and restarts. Outgoing (us → MoySklad): `sub` = appUid, a fresh `jti` every call and a
//! short lifetime (MoySklad refuses more than 300 s).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Lifetime of the tokens we sign.
const OUTGOING_LIFETIME_SECS: i64 = 60;
/// Clock difference tolerated on `exp` of incoming tokens.
const LEEWAY_SECS: u64 = 5;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("no bearer token")]
    Missing,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("token already used")]
    Replayed,
    #[error("cannot sign a token: {0}")]
    Sign(String),
}

/// What we need from an incoming token.
#[derive(Debug, Clone, Deserialize)]
pub struct IncomingClaims {
    pub jti: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
}

impl IncomingClaims {
    /// Until when (epoch milliseconds) the token is accepted: `exp` plus the clock leeway. Its
    /// `jti` must be remembered at least that long, or a replay inside the leeway would pass.
    pub fn accepted_until_ms(&self) -> i64 {
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(i64::MAX);
        self.exp.saturating_add(leeway).saturating_mul(1000)
    }
}

#[derive(Serialize)]
struct OutgoingClaims<'a> {
    sub: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
}

/// Keys derived once from the secretKey.
#[derive(Clone)]
pub struct VendorJwt {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    app_uid: String,
}

impl std::fmt::Debug for VendorJwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VendorJwt({}, ***)", self.app_uid)
    }
}

impl VendorJwt {
    pub fn new(secret_key: &SecretString, app_uid: &str) -> Self {
        let secret = secret_key.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp"]);
        VendorJwt {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            app_uid: app_uid.to_owned(),
        }
    }

    /// Checks an incoming token (the part after `Bearer `); the `jti` replay check is the caller's.
    pub fn verify(&self, token: &str) -> Result<IncomingClaims, JwtError> {
        let data = jsonwebtoken::decode::<IncomingClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| JwtError::Invalid(e.to_string()))?;
        let claims = data.claims;
        if claims.jti.trim().is_empty() || claims.jti.len() > 200 {
            return Err(JwtError::Invalid("bad jti".into()));
        }
        Ok(claims)
    }

    /// A fresh token for one call to MoySklad.
    pub fn sign(&self) -> Result<String, JwtError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = OutgoingClaims {
            sub: &self.app_uid,
            iat: now,
            exp: now + OUTGOING_LIFETIME_SECS,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| JwtError::Sign(e.to_string()))
    }
}

/// The token of an `Authorization: Bearer …` header value.
pub fn bearer(header: Option<&str>) -> Result<&str, JwtError> {
    let value = header.ok_or(JwtError::Missing)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(JwtError::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(JwtError::Missing);
    }
    Ok(token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    fn jwt() -> VendorJwt {
        VendorJwt::new(&SecretString::from("s3cret-key-of-the-app"), "bonus.vendor")
    }

    fn incoming(secret: &str, exp_offset: i64, jti: &str) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = serde_json::json!({"iat": now, "exp": now + exp_offset, "jti": jti});
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn a_good_token_passes() {
        let claims = jwt()
            .verify(&incoming("s3cret-key-of-the-app", 60, "j-1"))
            .unwrap();
        assert_eq!(claims.jti, "j-1");
    }

    #[test]
    fn wrong_secret_expired_and_missing_jti_are_refused() {
        assert!(jwt().verify(&incoming("other", 60, "j")).is_err());
        assert!(jwt()
            .verify(&incoming("s3cret-key-of-the-app", -60, "j"))
            .is_err());
        assert!(jwt()
            .verify(&incoming("s3cret-key-of-the-app", 60, ""))
            .is_err());
    }

    #[test]
    fn a_token_is_accepted_inside_the_leeway_and_remembered_past_it() {
        let claims = jwt()
            .verify(&incoming("s3cret-key-of-the-app", -2, "j-late"))
            .unwrap();
        assert_eq!(
            claims.accepted_until_ms(),
            (claims.exp + LEEWAY_SECS as i64) * 1000
        );
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let payload =
            URL_SAFE_NO_PAD.encode(serde_json::json!({"exp": now + 60, "jti": "x"}).to_string());
        for header in [
            r#"{"alg":"none","typ":"JWT"}"#,
            r#"{"alg":"HS512","typ":"JWT"}"#,
        ] {
            let token = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(header));
            assert!(jwt().verify(&token).is_err(), "{header}");
        }
    }

    #[test]
    fn our_tokens_carry_sub_and_a_fresh_jti() {
        let jwt = jwt();
        let decode = |token: &str| {
            let mut validation = Validation::new(Algorithm::HS256);
            validation.set_required_spec_claims(&["exp", "sub"]);
            jsonwebtoken::decode::<serde_json::Value>(
                token,
                &DecodingKey::from_secret(b"s3cret-key-of-the-app"),
                &validation,
            )
            .unwrap()
            .claims
        };
        let (a, b) = (decode(&jwt.sign().unwrap()), decode(&jwt.sign().unwrap()));
        assert_eq!(a["sub"], "bonus.vendor");
        assert_ne!(a["jti"], b["jti"]);
        assert!(a["exp"].as_i64().unwrap() - a["iat"].as_i64().unwrap() <= 300);
    }

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(bearer(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Ok("abc"));
        assert_eq!(bearer(Some("Basic abc")), Err(JwtError::Missing));
        assert_eq!(bearer(None), Err(JwtError::Missing));
        assert_eq!(bearer(Some("Bearer ")), Err(JwtError::Missing));
    }
}
