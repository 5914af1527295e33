//! Background jobs: what the queue stores and the retry rule. No I/O.

use serde::Serialize;

use crate::Millis;

/// The automations after a customer message (acknowledgement, routing); payload `{"message_id"}`.
pub const JOB_MESSAGE_FOLLOWUP: &str = "message.followup";

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff_ms(1, 0.0), 2_000);
        assert_eq!(backoff_ms(2, 0.0), 4_000);
        assert_eq!(backoff_ms(30, 0.0), 3_600_000);
        assert!(backoff_ms(1, 1.0) <= 2_500);
    }
}
