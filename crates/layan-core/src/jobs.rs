//! Background jobs: the work each job does (typed: [`JobWork`]), what the queue stores and the
//! retry rule. No I/O. A job is stored as a kind and a JSON payload; [`JobWork`] is the one
//! place that writes and reads them, so handlers never look fields up by name.

use serde::Serialize;

use crate::{ChannelKind, Direction, Millis, NewMessage};
use crate::{MessageId, OrderId};

/// The automations after a customer message (the bot, acknowledgement, routing).
pub const JOB_MESSAGE_FOLLOWUP: &str = "message.followup";
/// A reply in an email inbox, sent by mail.
pub const JOB_EMAIL_SEND: &str = "email.send";
/// A received mail, read into a conversation.
pub const JOB_EMAIL_INGEST: &str = "email.ingest";
/// A proactive message about an order.
pub const JOB_PROACTIVE_SEND: &str = "proactive.send";

/// The work a job does, with what it needs. New work is a new variant here (its kind string is
/// stored: it never changes meaning) and a handler in the engine's worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobWork {
    /// The automations after a customer message.
    MessageFollowup { message: MessageId },
    /// An agent's or the bot's message in an email inbox, sent by mail.
    EmailSend { message: MessageId },
    /// A received mail (`inbound_emails` id) read into a conversation; `again`: an admin asked
    /// for it to be read again.
    EmailIngest { inbound: i64, again: bool },
    /// A proactive message about an order under a rule (`late_shipment`, `unfulfilled`,
    /// `after_delivery`).
    ProactiveSend { order: OrderId, rule: String },
}

/// A job to enqueue: the work, the key that makes enqueuing it twice a no-op, and how many
/// attempts it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    pub work: JobWork,
    pub dedupe_key: String,
    pub max_attempts: i64,
}

impl JobWork {
    /// The kind as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MessageFollowup { .. } => JOB_MESSAGE_FOLLOWUP,
            Self::EmailSend { .. } => JOB_EMAIL_SEND,
            Self::EmailIngest { .. } => JOB_EMAIL_INGEST,
            Self::ProactiveSend { .. } => JOB_PROACTIVE_SEND,
        }
    }

    /// The payload as stored (JSON).
    pub fn payload(&self) -> String {
        match self {
            Self::MessageFollowup { message } | Self::EmailSend { message } => {
                serde_json::json!({ "message_id": message.0 }).to_string()
            }
            Self::EmailIngest { inbound, again } => {
                if *again {
                    serde_json::json!({ "inbound_id": inbound, "again": true }).to_string()
                } else {
                    serde_json::json!({ "inbound_id": inbound }).to_string()
                }
            }
            Self::ProactiveSend { order, rule } => {
                serde_json::json!({ "order_id": order.0, "rule": rule }).to_string()
            }
        }
    }

    /// Reads a stored job back; `Err` names what is wrong (an unknown kind, a payload without
    /// its fields): such a job cannot succeed by being tried again.
    pub fn parse(kind: &str, payload: &str) -> Result<Self, String> {
        let v: serde_json::Value =
            serde_json::from_str(payload).map_err(|e| format!("{kind}: bad payload: {e}"))?;
        let int = |field: &str| {
            v[field]
                .as_i64()
                .ok_or_else(|| format!("{kind}: payload without {field}"))
        };
        Ok(match kind {
            JOB_MESSAGE_FOLLOWUP => Self::MessageFollowup {
                message: MessageId(int("message_id")?),
            },
            JOB_EMAIL_SEND => Self::EmailSend {
                message: MessageId(int("message_id")?),
            },
            JOB_EMAIL_INGEST => Self::EmailIngest {
                inbound: int("inbound_id")?,
                again: v["again"].as_bool().unwrap_or(false),
            },
            JOB_PROACTIVE_SEND => Self::ProactiveSend {
                order: OrderId(int("order_id")?),
                rule: v["rule"]
                    .as_str()
                    .ok_or_else(|| format!("{kind}: payload without rule"))?
                    .to_owned(),
            },
            other => return Err(format!("unknown job kind {other:?}")),
        })
    }

    /// Whether the jobs of a new message depend on its inbox's channel (it goes out to the
    /// customer), so storage reads the channel only then.
    pub fn needs_channel(new: &NewMessage) -> bool {
        matches!(new.direction, Direction::Outgoing | Direction::Bot)
    }

    /// The jobs committed with new message `id` (in the same transaction, so a crash cannot
    /// lose them): a message to the customer in a channel that delivers by a job (email) goes
    /// out by one; a customer message's automations follow it. `channel` is the inbox's, given
    /// when [`Self::needs_channel`] says so.
    pub fn for_message(
        new: &NewMessage,
        id: MessageId,
        channel: Option<ChannelKind>,
    ) -> Vec<JobSpec> {
        let mut jobs = Vec::new();
        if Self::needs_channel(new) && channel == Some(ChannelKind::Email) {
            jobs.push(JobSpec {
                work: Self::EmailSend { message: id },
                dedupe_key: format!("email-out:{}", id.0),
                max_attempts: 10,
            });
        }
        if new.automations {
            jobs.push(JobSpec {
                work: Self::MessageFollowup { message: id },
                dedupe_key: format!("followup:{}", id.0),
                max_attempts: 8,
            });
        }
        jobs
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    /// Out of attempts (or a permanent error); an admin may retry it.
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "done" => Self::Done,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Job {
    pub id: i64,
    pub kind: String,
    /// JSON.
    pub payload: String,
    pub status: JobStatus,
    pub attempts: i64,
    pub max_attempts: i64,
    /// When it may run (next).
    pub run_at: Millis,
    pub last_error: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// How long to wait before attempt `attempts + 1`: 2, 4, 8 … seconds, at most an hour, with up to
/// a quarter of jitter (`jitter` in 0..1) so that many failures do not retry in lockstep.
pub fn backoff_ms(attempts: i64, jitter: f64) -> Millis {
    let base = 1000_i64 << attempts.clamp(1, 12);
    let capped = base.min(3_600_000);
    capped + (capped as f64 * 0.25 * jitter.clamp(0.0, 1.0)) as i64
}

impl Job {
    /// The job's work, read from its kind and payload.
    pub fn work(&self) -> Result<JobWork, String> {
        JobWork::parse(&self.kind, &self.payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_is_stored_and_read_back_as_it_was() {
        for w in [
            JobWork::MessageFollowup {
                message: MessageId(7),
            },
            JobWork::EmailSend {
                message: MessageId(8),
            },
            JobWork::EmailIngest {
                inbound: 9,
                again: false,
            },
            JobWork::EmailIngest {
                inbound: 9,
                again: true,
            },
            JobWork::ProactiveSend {
                order: OrderId(3),
                rule: "after_delivery".into(),
            },
        ] {
            assert_eq!(JobWork::parse(w.kind(), &w.payload()), Ok(w.clone()));
        }
        // The stored formats stay what they were (jobs queued by an older version run).
        assert_eq!(
            JobWork::parse("message.followup", r#"{"message_id":12}"#),
            Ok(JobWork::MessageFollowup {
                message: MessageId(12)
            })
        );
        assert!(JobWork::parse("email.send", "{}").is_err());
        assert!(JobWork::parse("no.such", "{}").is_err());
        assert!(JobWork::parse("email.send", "not json").is_err());
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff_ms(1, 0.0), 2_000);
        assert_eq!(backoff_ms(2, 0.0), 4_000);
        assert_eq!(backoff_ms(30, 0.0), 3_600_000);
        assert!(backoff_ms(1, 1.0) <= 2_500);
    }
}
