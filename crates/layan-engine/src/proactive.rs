//! Proactive messages: every node looks for orders a rule applies to (a shipment late, an order
//! unfulfilled too long, a delivery some days ago) and enqueues one job per order and rule
//! (deduplicated by key); the job writes to the customer on the channel they last used — the
//! conversation opens for agents to see — and records the order as done. The message's client
//! id is derived from the order and rule, so a job that runs twice stores one message; the
//! record in `proactive_sends` keeps the order from being found again. Quiet hours delay the
//! jobs to their end.

use std::{net::IpAddr, time::Duration};

use layan_core::{
    Agent, Author, ClientMessageId, Direction, JobWork, Locale, MessageBody, NewMessage, OrderId,
    ProactiveKind, ProactiveRules, Target, now_millis, proactive::proactive_text,
};
use layan_store::{NewJob, ProactiveRule};

use crate::{Engine, EngineError, EngineResult, jobs::JobError};

const RULES: &str = "proactive_rules";
const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
/// Orders looked at per rule and sweep.
const SWEEP_LIMIT: u32 = 200;

impl Engine {
    /// The shop's proactive rules (all off until it turns them on).
    pub async fn proactive_rules(&self) -> EngineResult<ProactiveRules> {
        match self.store.document(RULES).await? {
            Some(raw) => serde_json::from_str(&raw)
                .map_err(|e| EngineError::Internal(format!("stored proactive rules: {e}"))),
            None => Ok(ProactiveRules::default()),
        }
    }

    /// Replaces the rules (admins only; checked; audited).
    pub async fn set_proactive_rules(
        &self,
        who: &Agent,
        rules: &ProactiveRules,
        ip: Option<IpAddr>,
    ) -> EngineResult<()> {
        if who.role != layan_core::Role::Admin {
            return Err(EngineError::Forbidden(
                "only admins change proactive messages",
            ));
        }
        rules.check()?;
        let json =
            serde_json::to_string(rules).map_err(|e| EngineError::Internal(e.to_string()))?;
        self.store.put_document(RULES, &json).await?;
        self.audit(Some(who), "proactive_rules_updated", None, Some(&json), ip)
            .await;
        Ok(())
    }

    /// Looks for orders the enabled rules apply to every `every` (on every node; the job
    /// queue's dedupe keys keep it to one job per order and rule).
    pub fn start_proactive(&self, every: Duration) {
        let engine = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = engine.proactive_sweep(now_millis()).await {
                    tracing::debug!(error = %e, "proactive sweep failed");
                }
            }
        });
    }

    /// One sweep at `now`; returns how many jobs it enqueued.
    pub async fn proactive_sweep(&self, now: layan_core::Millis) -> EngineResult<usize> {
        let rules = self.proactive_rules().await?;
        if !rules.any_enabled() {
            return Ok(0);
        }
        let since = now - i64::from(rules.lookback_days) * DAY_MS;
        let mut wanted = Vec::new();
        if rules.late_shipment.enabled {
            wanted.push(ProactiveRule::LateShipment {
                grace_ms: i64::from(rules.late_shipment.grace_hours) * HOUR_MS,
                since,
            });
        }
        if rules.unfulfilled.enabled {
            let policy_days = self
                .shipping_policy()
                .await
                .ok()
                .flatten()
                .map(|p| p.processing_days.max);
            wanted.push(ProactiveRule::Unfulfilled {
                after_ms: rules.unfulfilled_after_ms(policy_days),
                since,
            });
        }
        if rules.after_delivery.enabled {
            wanted.push(ProactiveRule::AfterDelivery {
                after_ms: i64::from(rules.after_delivery.days) * DAY_MS,
                since,
            });
        }
        // In quiet hours the jobs wait for their end.
        let run_at = rules.quiet_until(now).unwrap_or(now);
        let mut enqueued = 0;
        for rule in wanted {
            for order in self
                .store
                .proactive_candidates(rule, now, SWEEP_LIMIT)
                .await?
            {
                let key = format!("proactive:{}:{}", rule.name(), order.id.0);
                let work = JobWork::ProactiveSend {
                    order: order.id,
                    rule: rule.name().to_owned(),
                };
                let payload = work.payload();
                if self
                    .store
                    .enqueue_job(NewJob {
                        kind: work.kind(),
                        payload: &payload,
                        dedupe_key: Some(&key),
                        run_at,
                        max_attempts: 8,
                    })
                    .await?
                {
                    enqueued += 1;
                }
            }
        }
        if enqueued > 0 {
            self.wake_jobs();
        }
        Ok(enqueued)
    }

    /// The job: writes the rule's message for the order, once.
    pub(crate) async fn proactive_send(&self, order: OrderId, rule: &str) -> Result<(), JobError> {
        let rules = self.proactive_rules().await?;
        let now = now_millis();
        if let Some(until) = rules.quiet_until(now) {
            // Started late, into quiet hours: try again when they end.
            return Err(JobError::RetryAt(until));
        }
        let kind = match rule {
            "late_shipment" if rules.late_shipment.enabled => ProactiveKind::LateShipment,
            "unfulfilled" if rules.unfulfilled.enabled => ProactiveKind::Unfulfilled,
            "after_delivery" if rules.after_delivery.enabled => {
                ProactiveKind::AfterDelivery(rules.after_delivery.survey)
            }
            // Turned off meanwhile: nothing to send.
            _ => return Ok(()),
        };
        let Some(o) = self.store.order(order).await? else {
            return Ok(());
        };
        let Some(contact_id) = o.contact_id else {
            return Ok(());
        };
        // Still true? (Delivered or cancelled since the sweep: say nothing.)
        let still = o.cancelled_at.is_none()
            && match kind {
                ProactiveKind::LateShipment => o
                    .shipments
                    .iter()
                    .any(|s| s.delivered_at.is_none() && s.expected_delivery_at.is_some()),
                ProactiveKind::Unfulfilled => o.fulfillment_status.is_none(),
                ProactiveKind::AfterDelivery(_) => true,
            };
        if !still {
            return Ok(());
        }
        let Some(contact) = self.store.contact(contact_id).await? else {
            return Ok(());
        };
        // The channel they last used. A customer who never wrote gets an email when the shop
        // has an email inbox and we know their address (a mail reaches them; a widget
        // conversation waits until they open the shop's site), else the first widget inbox.
        let last = self
            .store
            .contact_conversations(contact_id, None, 1)
            .await?
            .into_iter()
            .next();
        let inbox = match last {
            Some(c) => self.store.inbox(c.inbox_id).await?,
            None => {
                let inboxes = self.store.list_inboxes().await?;
                let by_mail = contact
                    .email
                    .as_ref()
                    .and_then(|_| {
                        inboxes
                            .iter()
                            .find(|i| i.channel == layan_core::ChannelKind::Email)
                    })
                    .cloned();
                by_mail.or_else(|| {
                    inboxes
                        .into_iter()
                        .find(|i| i.channel == layan_core::ChannelKind::WebWidget)
                })
            }
        };
        let Some(inbox) = inbox else {
            return Err(JobError::Permanent("no inbox to write in".into()));
        };
        let locale = contact
            .locale
            .as_deref()
            .and_then(Locale::from_tag)
            .unwrap_or(Locale::En);
        let text = proactive_text(kind, &o, contact.name.as_deref(), locale);
        let appended = self
            .ingest(NewMessage {
                target: Target::CurrentOrNew {
                    inbox_id: inbox.id,
                    contact_id,
                },
                direction: Direction::Outgoing,
                author: Author::System,
                author_name: Some(inbox.name.clone()),
                body: MessageBody::parse(&text)?,
                client_message_id: Some(ClientMessageId::parse(&format!(
                    "proactive-{rule}-{}",
                    o.id.0
                ))?),
                automations: false,
                attachments: Vec::new(),
                extras: None,
            })
            .await?;
        self.store
            .record_proactive(o.id, rule, Some(appended.conversation.id))
            .await?;
        Ok(())
    }
}
