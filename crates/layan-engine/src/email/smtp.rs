//! Handing a mail to the inbox's SMTP server, one transaction for all its recipients, each
//! recipient's answer on its own: a Cc the server refuses does not stop the mail to the
//! customer and the other Cc's (it is reported with the delivery), while a customer address
//! refused stops the mail (nothing goes to the Cc's alone).

use lettre::Address;
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};

use layan_core::{MailServer, Security};

use super::MAIL_TIMEOUT;
use crate::outbound::{NetError, OutboundPolicy};

/// Why a mail was not handed over.
#[derive(Debug)]
pub(super) enum SendError {
    /// Worth another try later (the server is busy or unreachable, a 4xx answer).
    Transient(String),
    /// Another try gives the same answer (a 5xx answer, bad TLS settings, a refused login).
    Permanent(String),
}

/// A mail the server took: the recipients it refused, each with its answer.
#[derive(Debug, Default)]
pub(super) struct Handed {
    pub refused: Vec<(String, String)>,
}

/// The server's answer to a command, as shown: its reply code and enhanced status code
/// (`550 5.1.1`), never its free text (the full answer goes to the log).
fn answer_code(e: &SmtpError) -> String {
    let Some(code) = e.status() else {
        return NetError::Protocol.code().to_string();
    };
    let text = e.to_string();
    let enhanced = text.split_whitespace().find(|w| {
        let parts: Vec<&str> = w.split('.').collect();
        parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
    });
    match enhanced {
        Some(x) => format!("{code} {x}"),
        None => code.to_string(),
    }
}

/// A refused command (MAIL, RCPT, DATA): its reply code; 5xx is final.
fn classify(what: &str, e: &SmtpError) -> SendError {
    tracing::warn!(error = %e, "SMTP {what}");
    if e.status().is_none() {
        return connection(what, e, NetError::Refused);
    }
    let shown = format!("SMTP {what}: {}", answer_code(e));
    if e.is_permanent() {
        SendError::Permanent(shown)
    } else {
        SendError::Transient(shown)
    }
}

/// A failure before the server took the mail (connecting, TLS, login): classified, never the
/// server's words (an admin-typed host could be anything).
fn connection(what: &str, e: &SmtpError, otherwise: NetError) -> SendError {
    tracing::warn!(error = %e, "SMTP {what}");
    let kind = if e.is_timeout() {
        NetError::TimedOut
    } else if e.is_tls() {
        NetError::Tls
    } else if e.status().is_some() {
        otherwise
    } else {
        NetError::Refused
    };
    let shown = kind.code().to_string();
    if e.is_permanent() {
        SendError::Permanent(shown)
    } else {
        SendError::Transient(shown)
    }
}

/// Sends `raw` from `from` to `recipients` (the customer first, then the Cc's).
pub(super) async fn send(
    server: &MailServer,
    outbound: &OutboundPolicy,
    from: &str,
    recipients: &[String],
    raw: &[u8],
    extra_ca: Option<&[u8]>,
) -> Result<Handed, SendError> {
    let address = |a: &str| {
        a.parse::<Address>()
            .map_err(|e| SendError::Permanent(format!("{a}: {e}")))
    };
    let from = address(from)?;
    let Some((customer, _)) = recipients.split_first() else {
        return Err(SendError::Permanent("no recipient".into()));
    };
    let params = || -> Result<TlsParameters, SendError> {
        let bad = |e: SmtpError| SendError::Permanent(format!("SMTP {}: {e}", server.host));
        let mut p = TlsParameters::builder(server.host.clone());
        if let Some(pem) = extra_ca {
            p = p.add_root_certificate(Certificate::from_pem(pem).map_err(bad)?);
        }
        p.build_rustls().map_err(bad)
    };
    let hello = ClientId::default();
    let (wrapper, starttls) = match server.security {
        Security::Tls => (Some(params()?), None),
        Security::Starttls => (None, Some(params()?)),
        Security::None => (None, None),
    };
    // Resolved and checked once; the connection goes to the checked addresses.
    let addrs = outbound
        .resolve(&server.host, server.port)
        .await
        .map_err(|kind| match kind {
            NetError::Blocked => SendError::Permanent(kind.code().into()),
            _ => SendError::Transient(kind.code().into()),
        })?;
    let mut conn =
        AsyncSmtpConnection::connect_tokio1(&addrs[..], Some(MAIL_TIMEOUT), &hello, wrapper, None)
            .await
            .map_err(|e| connection("connect", &e, NetError::Protocol))?;
    let outcome = transaction(
        &mut conn, server, starttls, &hello, from, customer, recipients, raw,
    )
    .await;
    match &outcome {
        Ok(_) => {
            let _ = conn.quit().await;
        }
        Err(_) => conn.abort().await,
    }
    outcome
}

#[allow(clippy::too_many_arguments)]
async fn transaction(
    conn: &mut AsyncSmtpConnection,
    server: &MailServer,
    starttls: Option<TlsParameters>,
    hello: &ClientId,
    from: Address,
    customer: &str,
    recipients: &[String],
    raw: &[u8],
) -> Result<Handed, SendError> {
    if let Some(params) = starttls {
        conn.starttls(params, hello)
            .await
            .map_err(|e| connection("STARTTLS", &e, NetError::Tls))?;
    }
    if !server.username.is_empty() {
        let credentials = Credentials::new(server.username.clone(), server.password.clone());
        conn.auth(DEFAULT_MECHANISMS, &credentials)
            .await
            .map_err(|e| connection("login", &e, NetError::Auth))?;
    }
    // As lettre's own transport: 8BITMIME for a body that is not ASCII, SMTPUTF8 for addresses
    // that are not, refused up front when the server cannot take them.
    let info = conn.server_info();
    let mut options = Vec::new();
    let mut handed = Handed::default();
    let utf8 = info.supports_feature(Extension::SmtpUtfEight);
    if !utf8 && (!customer.is_ascii() || !AsRef::<str>::as_ref(&from).is_ascii()) {
        return Err(SendError::Permanent(
            "SMTP: the server does not take addresses that are not ASCII".into(),
        ));
    }
    // A Cc the server cannot take (not ASCII, no SMTPUTF8) is refused alone.
    let recipients: Vec<&String> = recipients
        .iter()
        .filter(|r| {
            let takes = utf8 || r.is_ascii();
            if !takes {
                handed
                    .refused
                    .push(((*r).clone(), "the server does not take this address".into()));
            }
            takes
        })
        .collect();
    if utf8 && recipients.iter().any(|r| !r.is_ascii()) {
        options.push(MailParameter::SmtpUtfEight);
    }
    if !raw.is_ascii() {
        if !info.supports_feature(Extension::EightBitMime) {
            return Err(SendError::Permanent(
                "SMTP: the server does not take 8-bit mail".into(),
            ));
        }
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    conn.command(Mail::new(Some(from), options))
        .await
        .map_err(|e| classify("MAIL", &e))?;
    for r in recipients {
        let to = match r.parse::<Address>() {
            Ok(to) => to,
            Err(e) if *r == customer => return Err(SendError::Permanent(format!("{r}: {e}"))),
            Err(_) => {
                handed
                    .refused
                    .push((r.clone(), "not a valid address".into()));
                continue;
            }
        };
        match conn.command(Rcpt::new(to, Vec::new())).await {
            Ok(_) => {}
            // The customer's address refused: nothing goes (not to the Cc's alone).
            Err(e) if *r == customer => return Err(classify(&format!("RCPT {r}"), &e)),
            // A Cc refused: noted, the others still get it. An answer that is not a reply code
            // (the connection broke) ends the attempt.
            Err(e) if e.status().is_some() => {
                tracing::info!(error = %e, "SMTP RCPT {r}");
                handed.refused.push((r.clone(), answer_code(&e)));
            }
            Err(e) => return Err(classify("RCPT", &e)),
        }
    }
    conn.command(Data).await.map_err(|e| classify("DATA", &e))?;
    conn.message(raw).await.map_err(|e| classify("DATA", &e))?;
    Ok(handed)
}
