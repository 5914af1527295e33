//! Signed shopper identity for the widget. A shop whose shopper is signed in gives the widget a
//! token it signed (a JWT, HS256, with the shop's `widget_identity_secret`): `{"email", "name"?,
//! "exp"}`. A valid token attaches the widget session to the customer with that email — the
//! same contact the store's orders are on. Without one a visitor stays anonymous, and a
//! browser that was signed in and no longer is gets a fresh anonymous session, so the next
//! person at that computer cannot read the customer's conversations. Typing an email into a
//! form never identifies anyone.

use hmac::{Hmac, Mac};
use serde::Deserialize;

/// The identity kind of a visitor token that a signed identity vouched for.
pub const WIDGET_IDENTIFIED: &str = "widget_identified";
/// The identity kind of a verified email address (from the store, or a signed identity).
pub const EMAIL: &str = "email";

/// Who a valid identity token says the shopper is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopperIdentity {
    /// Lower-cased.
    pub email: String,
    pub name: Option<String>,
    /// The token's `exp` (seconds since the epoch): the signed-in widget session ends then.
    pub expires_at: i64,
}

/// Why an identity token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityError {
    Malformed,
    /// Not HS256 (`none` and asymmetric algorithms are refused).
    Algorithm,
    Signature,
    Expired,
    /// No `exp`, or no valid `email`.
    Claims,
}

impl IdentityError {
    pub fn message(self) -> &'static str {
        match self {
            Self::Malformed => "the identity token is not a JWT",
            Self::Algorithm => "the identity token must be signed with HS256",
            Self::Signature => "the identity token's signature does not match",
            Self::Expired => "the identity token has expired",
            Self::Claims => "the identity token needs exp and a valid email",
        }
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

#[derive(Deserialize)]
struct Claims {
    email: Option<String>,
    name: Option<String>,
    exp: Option<i64>,
}

fn b64(part: &str) -> Result<Vec<u8>, IdentityError> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| IdentityError::Malformed)
}

/// Checks an identity token at `now` (seconds since the epoch).
pub fn verify_identity(
    secret: &str,
    token: &str,
    now: i64,
) -> Result<ShopperIdentity, IdentityError> {
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdentityError::Malformed);
    };
    let header: Header = serde_json::from_slice(&b64(h)?).map_err(|_| IdentityError::Malformed)?;
    if header.alg != "HS256" {
        return Err(IdentityError::Algorithm);
    }
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|_| IdentityError::Signature)?;
    mac.update(h.as_bytes());
    mac.update(b".");
    mac.update(p.as_bytes());
    mac.verify_slice(&b64(sig)?)
        .map_err(|_| IdentityError::Signature)?;
    let claims: Claims = serde_json::from_slice(&b64(p)?).map_err(|_| IdentityError::Claims)?;
    let exp = claims.exp.ok_or(IdentityError::Claims)?;
    if exp <= now {
        return Err(IdentityError::Expired);
    }
    let email = claims
        .email
        .map(|e| e.trim().to_lowercase())
        .filter(|e| {
            e.len() <= 254
                && e.split_once('@')
                    .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
        })
        .ok_or(IdentityError::Claims)?;
    Ok(ShopperIdentity {
        email,
        name: claims
            .name
            .map(|n| {
                layan_core::one_line(&n)
                    .chars()
                    .take(200)
                    .collect::<String>()
            })
            .filter(|n| !n.is_empty()),
        expires_at: exp,
    })
}

/// A signed-in widget session's token: random, then the identity's expiry (seconds). Only its
/// hash is stored, so the expiry cannot be changed by the browser.
pub(crate) fn session_token(expires_at: i64) -> String {
    format!("{}.{expires_at}", crate::auth::random_token())
}

/// When a signed-in widget session ends (seconds since the epoch): the expiry in its token.
/// `None` for an anonymous visitor's token (which has no dot), and for a signed-in token made
/// before expiries were kept (such a session counts as expired).
pub fn session_expiry(token: &str) -> Option<i64> {
    token.rsplit_once('.').and_then(|(_, e)| e.parse().ok())
}

/// Signs an identity token (for tests, the demo page and shops' documentation).
pub fn sign_identity(secret: &str, email: &str, name: Option<&str>, exp: i64) -> String {
    use base64::Engine as _;
    let enc = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let header = enc(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = enc(
        serde_json::json!({"email": email, "name": name, "exp": exp})
            .to_string()
            .as_bytes(),
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(header.as_bytes());
    mac.update(b".");
    mac.update(claims.as_bytes());
    let sig = enc(&mac.finalize().into_bytes());
    format!("{header}.{claims}.{sig}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_tokens_pass_and_everything_else_is_refused() {
        let t = sign_identity("s3cret", " Sari@Example.TEST ", Some("Sari"), 2_000);
        assert_eq!(
            verify_identity("s3cret", &t, 1_000),
            Ok(ShopperIdentity {
                email: "sari@example.test".into(),
                name: Some("Sari".into()),
                expires_at: 2_000,
            })
        );
        assert_eq!(
            verify_identity("other", &t, 1_000),
            Err(IdentityError::Signature)
        );
        assert_eq!(
            verify_identity("s3cret", &t, 2_000),
            Err(IdentityError::Expired)
        );
        assert_eq!(
            verify_identity("s3cret", "a.b", 1_000),
            Err(IdentityError::Malformed)
        );
        // A changed payload with the old signature.
        let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
        let forged = sign_identity("s3cret", "boss@example.test", None, 2_000);
        parts[1] = forged.split('.').nth(1).unwrap().to_owned();
        assert_eq!(
            verify_identity("s3cret", &parts.join("."), 1_000),
            Err(IdentityError::Signature)
        );
        // alg none, unsigned.
        use base64::Engine as _;
        let enc = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let none = format!(
            "{}.{}.",
            enc(br#"{"alg":"none"}"#),
            enc(br#"{"email":"a@b.c","exp":9999}"#)
        );
        assert_eq!(
            verify_identity("s3cret", &none, 1_000),
            Err(IdentityError::Algorithm)
        );
        let no_email = sign_identity("s3cret", "not-an-email", None, 2_000);
        assert_eq!(
            verify_identity("s3cret", &no_email, 1_000),
            Err(IdentityError::Claims)
        );
    }
}
