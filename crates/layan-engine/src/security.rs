//! Account security: login with throttling and lockout, password changes that end every session,
//! per-agent API tokens, and the audit log of security-relevant and admin actions.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use layan_core::{Agent, AgentId, ApiTokenInfo, EmailAddress, Event, NewPassword, now_millis};
use layan_store::NewAudit;

use crate::{
    AgentSession, Engine, EngineError, EngineResult, Login, SESSION_LIFETIME_MS, Topic, auth,
    hash_blocking, lock, relay::Relayed, verify_blocking,
};

/// Failed logins for one email address before it is locked, within this window, and how long.
pub const MAX_FAILURES_PER_EMAIL: i64 = 5;
pub const FAILURE_WINDOW_MS: i64 = 15 * 60 * 1000;
pub const LOCKOUT_MS: i64 = 15 * 60 * 1000;
/// Failed logins from one IP address within [`IP_WINDOW`] before it must wait.
pub const MAX_FAILURES_PER_IP: u32 = 30;
pub const IP_WINDOW: Duration = Duration::from_secs(10 * 60);

/// API tokens start with this, so they are recognisable in logs and secret scanners.
pub const API_TOKEN_PREFIX: &str = "lyt_";

/// Failed logins per IP address, in memory (per node). Bounded: old windows are dropped.
#[derive(Default)]
pub(crate) struct IpFailures {
    by_ip: HashMap<IpAddr, (Instant, u32)>,
}

impl IpFailures {
    fn blocked(&self, ip: IpAddr) -> Option<Duration> {
        let (start, n) = self.by_ip.get(&ip)?;
        let elapsed = start.elapsed();
        (elapsed < IP_WINDOW && *n >= MAX_FAILURES_PER_IP).then(|| IP_WINDOW - elapsed)
    }

    fn record(&mut self, ip: IpAddr) {
        if self.by_ip.len() > 10_000 {
            self.by_ip
                .retain(|_, (start, _)| start.elapsed() < IP_WINDOW);
        }
        let entry = self.by_ip.entry(ip).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= IP_WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

impl Engine {
    /// Writes an audit entry; a failure to write is logged, not raised (the action happened).
    pub async fn audit(
        &self,
        actor: Option<&Agent>,
        action: &str,
        target: Option<&str>,
        detail: Option<&str>,
        ip: Option<IpAddr>,
    ) {
        let ip = ip.map(|i| i.to_string());
        let entry = NewAudit {
            actor_id: actor.map(|a| a.id),
            actor: actor.map(|a| a.email.as_str()),
            action,
            target,
            detail,
            ip: ip.as_deref(),
        };
        if let Err(e) = self.store.audit(entry).await {
            tracing::warn!(error = %e, action, "could not write the audit log");
        }
    }

    /// Checks the credentials and opens a session. Unknown email and wrong password fail the same
    /// way, in the same time. Too many failures for an email (known or not, so a lockout reveals
    /// nothing) lock it for a while; too many from one address make that address wait.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        ip: Option<IpAddr>,
    ) -> EngineResult<Login> {
        if let Some(ip) = ip
            && let Some(wait) = lock(&self.ip_failures).blocked(ip)
        {
            return Err(EngineError::RateLimited {
                retry_after_s: wait.as_secs().max(1),
            });
        }
        let normalized = EmailAddress::parse(email).ok().map(|e| e.normalized());
        let now = now_millis();
        if let Some(e) = &normalized
            && let Some(until) = self.store.login_locked_until(e, now).await?
        {
            return Err(EngineError::Locked { until });
        }
        let found = match &normalized {
            Some(e) => self.store.agent_credentials(e).await?,
            None => None,
        };
        let (agent, hash) = match found {
            Some((agent, hash)) => (Some(agent), hash),
            None => (None, auth::dummy_hash().to_owned()),
        };
        let ok = verify_blocking(password, hash).await?;
        let agent = match (agent, ok) {
            // A deactivated account is refused like a wrong password (nobody learns which).
            (Some(agent), true) if agent.deactivated_at.is_some() => {
                self.audit(
                    Some(&agent),
                    "login_refused_deactivated",
                    Some(&agent.email),
                    None,
                    ip,
                )
                .await;
                return Err(EngineError::InvalidCredentials);
            }
            (Some(agent), true) => agent,
            (agent, _) => {
                if let Some(ip) = ip {
                    lock(&self.ip_failures).record(ip);
                }
                let target = normalized.as_deref().unwrap_or("(not an email)");
                self.audit(agent.as_ref(), "login_failed", Some(target), None, ip)
                    .await;
                if let Some(e) = &normalized {
                    self.count_password_failure(None, e, now, ip).await?;
                }
                return Err(EngineError::InvalidCredentials);
            }
        };
        self.store.clear_login_failures(&agent.email).await?;
        let login = self.open_session(agent).await?;
        self.audit(Some(&login.agent), "login", None, None, ip)
            .await;
        Ok(login)
    }

    /// Counts a wrong password for `email` (at a login, or as the current password of a
    /// password change: `actor`); past the limit the account is locked — audited, and
    /// `Locked` returned.
    async fn count_password_failure(
        &self,
        actor: Option<&Agent>,
        email: &str,
        now: layan_core::Millis,
        ip: Option<IpAddr>,
    ) -> EngineResult<()> {
        let t = self
            .store
            .record_login_failure(
                email,
                now,
                MAX_FAILURES_PER_EMAIL,
                FAILURE_WINDOW_MS,
                LOCKOUT_MS,
            )
            .await?;
        if let Some(until) = t.locked_until {
            let detail = match actor {
                Some(_) => format!("{} failures (password change)", t.failures),
                None => format!("{} failures", t.failures),
            };
            self.audit(actor, "login_locked", Some(email), Some(&detail), ip)
                .await;
            return Err(EngineError::Locked { until });
        }
        Ok(())
    }

    async fn open_session(&self, agent: Agent) -> EngineResult<Login> {
        let token = auth::random_token();
        let csrf_token = auth::random_token();
        let expires_at = now_millis() + SESSION_LIFETIME_MS;
        self.store
            .create_session(layan_store::NewSession {
                token_hash: &auth::token_hash(&token),
                agent_id: agent.id,
                csrf_token: &csrf_token,
                expires_at,
            })
            .await?;
        Ok(Login {
            agent,
            token,
            csrf_token,
            expires_at,
        })
    }

    /// Changes the agent's own password (the current one is required), ends every session of the
    /// account (all browsers, all live connections) and opens a new one for this browser.
    pub async fn change_password(
        &self,
        agent: &Agent,
        current: &str,
        new: &str,
        ip: Option<IpAddr>,
    ) -> EngineResult<Login> {
        let new = NewPassword::parse(new)?;
        self.check_current_password(agent, current, ip).await?;
        let hash = hash_blocking(new).await?;
        // Tokens marked to survive a password change (an integration's) are kept.
        self.store.set_password(agent.id, &hash, true).await?;
        self.audit(Some(agent), "password_changed", None, None, ip)
            .await;
        self.access_changed(agent.id);
        self.open_session(agent.clone()).await
    }

    /// An admin deactivates an account (staff who left) or activates it again. Deactivating
    /// ends every session and socket of it on every node, deletes its API tokens and puts its
    /// open conversations back in the queue; it cannot sign in until activated again. Admins
    /// cannot deactivate themselves.
    pub async fn set_agent_active(
        &self,
        admin: &Agent,
        target: AgentId,
        active: bool,
        ip: Option<IpAddr>,
    ) -> EngineResult<Agent> {
        if !admin.role.is_admin() {
            return Err(EngineError::Forbidden(
                "only admins can deactivate accounts",
            ));
        }
        if admin.id == target && !active {
            return Err(EngineError::Forbidden(
                "you cannot deactivate your own account",
            ));
        }
        let (agent, released) = self
            .store
            .set_agent_deactivated(target, (!active).then(now_millis))
            .await?;
        self.audit(
            Some(admin),
            if active {
                "agent_activated"
            } else {
                "agent_deactivated"
            },
            Some(&agent.email),
            (!released.is_empty())
                .then(|| format!("{} conversations back in the queue", released.len()))
                .as_deref(),
            ip,
        )
        .await;
        if !active {
            self.access_changed(target);
        }
        for c in released {
            let _ = self.publish_conversation(c.id).await;
            if let Err(e) = self.route(&c).await {
                tracing::warn!(error = %e, "routing a deactivated agent's conversation failed");
            }
        }
        self.publish_agents_changed();
        Ok(agent)
    }

    /// The agent's own current password, asked again before changing it or creating a token
    /// that survives a password change. Guesses count like failed logins (the same lockout per
    /// account, the same wait per address).
    async fn check_current_password(
        &self,
        agent: &Agent,
        current: &str,
        ip: Option<IpAddr>,
    ) -> EngineResult<()> {
        let now = now_millis();
        if let Some(ip) = ip
            && let Some(wait) = lock(&self.ip_failures).blocked(ip)
        {
            return Err(EngineError::RateLimited {
                retry_after_s: wait.as_secs().max(1),
            });
        }
        if let Some(until) = self.store.login_locked_until(&agent.email, now).await? {
            return Err(EngineError::Locked { until });
        }
        let (_, hash) = self
            .store
            .agent_credentials(&agent.email)
            .await?
            .ok_or(EngineError::NotFound)?;
        let ok = verify_blocking(current, hash).await?;
        if !ok {
            self.audit(Some(agent), "password_change_failed", None, None, ip)
                .await;
            if let Some(ip) = ip {
                lock(&self.ip_failures).record(ip);
            }
            self.count_password_failure(Some(agent), &agent.email, now, ip)
                .await?;
            return Err(EngineError::InvalidCredentials);
        }
        self.store.clear_login_failures(&agent.email).await?;
        Ok(())
    }

    /// An admin sets someone's password (account recovery): every session and every API token
    /// of that account ends, those marked to survive a password change too.
    pub async fn reset_password(
        &self,
        admin: &Agent,
        target: AgentId,
        new: &str,
        ip: Option<IpAddr>,
    ) -> EngineResult<()> {
        if !admin.role.is_admin() {
            return Err(EngineError::Forbidden("only admins can reset passwords"));
        }
        let new = NewPassword::parse(new)?;
        let who = self
            .store
            .agent(target)
            .await?
            .ok_or(EngineError::NotFound)?;
        let hash = hash_blocking(new).await?;
        self.store.set_password(target, &hash, false).await?;
        self.audit(Some(admin), "password_reset", Some(&who.email), None, ip)
            .await;
        self.access_changed(target);
        Ok(())
    }

    /// Tells the agent's live connections (on every node) to re-read what they may see, or to
    /// close when their session ended.
    pub fn access_changed(&self, agent: AgentId) {
        self.hub.publish(
            Topic::Agent(agent),
            Arc::new(Event::AccessChanged { agent_id: agent }),
        );
        self.relay(Relayed::Access {
            node: self.node,
            agent_id: agent.0,
        });
    }

    /// Creates a personal API token; the secret is returned once and stored only as a hash.
    /// `survives_password_change`: an integration's token, kept when the owner's password
    /// changes (every other token ends then; all end when the account is deactivated).
    pub async fn create_api_token(
        &self,
        agent: &Agent,
        name: &str,
        survives_password_change: Option<&str>,
        ip: Option<IpAddr>,
    ) -> EngineResult<(String, ApiTokenInfo)> {
        // A token that outlives a password change needs the current password: someone with a
        // stolen session could otherwise keep access after the owner changes it.
        let survives_password_change = match survives_password_change {
            Some(current) => {
                self.check_current_password(agent, current, ip).await?;
                true
            }
            None => false,
        };
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(layan_core::InvalidValue::new(
                "invalid_name",
                "a token name has 1-80 characters",
            )
            .into());
        }
        let secret = format!("{API_TOKEN_PREFIX}{}", auth::random_token());
        let prefix: String = secret.chars().take(API_TOKEN_PREFIX.len() + 6).collect();
        let info = self
            .store
            .create_api_token(
                agent.id,
                name,
                &auth::token_hash(&secret),
                &prefix,
                survives_password_change,
            )
            .await?;
        let detail = if survives_password_change {
            format!("{prefix} (survives a password change)")
        } else {
            prefix.clone()
        };
        self.audit(
            Some(agent),
            "api_token_created",
            Some(name),
            Some(&detail),
            ip,
        )
        .await;
        Ok((secret, info))
    }

    pub async fn revoke_api_token(
        &self,
        agent: &Agent,
        id: i64,
        ip: Option<IpAddr>,
    ) -> EngineResult<()> {
        self.store.revoke_api_token(agent.id, id).await?;
        self.audit(
            Some(agent),
            "api_token_revoked",
            Some(&id.to_string()),
            None,
            ip,
        )
        .await;
        Ok(())
    }

    /// The agent behind an API token (`Authorization: Bearer lyt_…`).
    pub async fn authenticate_api_token(&self, token: &str) -> EngineResult<Option<AgentSession>> {
        if !token.starts_with(API_TOKEN_PREFIX) {
            return Ok(None);
        }
        Ok(self
            .store
            .agent_by_api_token(&auth::token_hash(token))
            .await?
            .map(|agent| AgentSession {
                agent,
                // Tokens are not ambient credentials: no CSRF token applies.
                csrf_token: String::new(),
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_waits_after_too_many_failures() {
        let mut f = IpFailures::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        for _ in 0..MAX_FAILURES_PER_IP - 1 {
            f.record(ip);
        }
        assert!(f.blocked(ip).is_none());
        f.record(ip);
        assert!(f.blocked(ip).is_some());
        assert!(f.blocked("192.0.2.8".parse().unwrap()).is_none());
    }
}
