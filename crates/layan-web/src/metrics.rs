//! Prometheus metrics at `/metrics`, in the text exposition format. Hand-rolled on atomics: a few
//! counters, gauges and one histogram do not justify a metrics framework on the request path.

use std::{
    fmt::Write,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use axum::{
    extract::{Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::AppState;

/// Upper bounds of the request-latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
pub struct Metrics {
    /// Responses by status class: 1xx…5xx.
    responses: [AtomicU64; 5],
    /// Cumulative histogram counts, one per bucket, plus the +Inf bucket.
    latency_buckets: [AtomicU64; BUCKETS.len() + 1],
    latency_sum_micros: AtomicU64,
    pub widget_sockets: AtomicU64,
    pub agent_sockets: AtomicU64,
}

/// Counts a live WebSocket while it exists.
pub struct SocketGauge(Arc<Metrics>, bool);

impl SocketGauge {
    pub fn widget(metrics: &Arc<Metrics>) -> Self {
        metrics.widget_sockets.fetch_add(1, Ordering::Relaxed);
        Self(Arc::clone(metrics), true)
    }

    pub fn agent(metrics: &Arc<Metrics>) -> Self {
        metrics.agent_sockets.fetch_add(1, Ordering::Relaxed);
        Self(Arc::clone(metrics), false)
    }
}

impl Drop for SocketGauge {
    fn drop(&mut self) {
        let gauge = if self.1 {
            &self.0.widget_sockets
        } else {
            &self.0.agent_sockets
        };
        gauge.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    fn observe(&self, status: u16, seconds: f64) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.responses[class].fetch_add(1, Ordering::Relaxed);
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_buckets[BUCKETS.len()].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    fn render(&self, state: &AppState) -> String {
        let mut out = String::with_capacity(2048);
        let _ = writeln!(
            out,
            "# HELP layan_http_responses_total HTTP responses by status class.\n\
             # TYPE layan_http_responses_total counter"
        );
        for (i, n) in self.responses.iter().enumerate() {
            let _ = writeln!(
                out,
                "layan_http_responses_total{{class=\"{}xx\"}} {}",
                i + 1,
                n.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP layan_http_request_duration_seconds Time to produce a response.\n\
             # TYPE layan_http_request_duration_seconds histogram"
        );
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "layan_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                self.latency_buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.latency_buckets[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "layan_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}\n\
             layan_http_request_duration_seconds_sum {}\n\
             layan_http_request_duration_seconds_count {count}",
            self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "# HELP layan_websocket_connections Live WebSocket connections on this node.\n\
             # TYPE layan_websocket_connections gauge\n\
             layan_websocket_connections{{kind=\"widget\"}} {}\n\
             layan_websocket_connections{{kind=\"agent\"}} {}",
            self.widget_sockets.load(Ordering::Relaxed),
            self.agent_sockets.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP layan_messages_stored_total Messages stored by this node.\n\
             # TYPE layan_messages_stored_total counter\n\
             layan_messages_stored_total {}\n\
             # HELP layan_agents_online Agents with a live connection, on any node.\n\
             # TYPE layan_agents_online gauge\n\
             layan_agents_online {}",
            state.engine.messages_stored(),
            state.engine.agents_online()
        );
        out
    }
}

/// Middleware: times every request and counts its response.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let response = next.run(request).await;
    state
        .metrics
        .observe(response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut out = state.metrics.render(&state);
    // The queue lives in the database, shared by every node: its depth is the same everywhere.
    // When the database is down, the gauges are left out rather than reported as zero.
    if let Ok(c) = state.engine.store().job_counts().await {
        use std::fmt::Write as _;
        let _ = writeln!(
            out,
            "# HELP layan_jobs Jobs in the queue by status (all nodes).\n\
             # TYPE layan_jobs gauge\n\
             layan_jobs{{status=\"queued\"}} {}\n\
             layan_jobs{{status=\"running\"}} {}\n\
             layan_jobs{{status=\"failed\"}} {}",
            c.queued, c.running, c.failed
        );
    }
    {
        use std::fmt::Write as _;
        let _ = writeln!(
            out,
            "# HELP layan_job_failures_total Job attempts that failed on this node.\n\
             # TYPE layan_job_failures_total counter\n\
             layan_job_failures_total {}",
            state.engine.job_failures()
        );
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let m = Metrics::default();
        m.observe(200, 0.003);
        m.observe(404, 0.2);
        m.observe(500, 10.0);
        let at = |i: usize| m.latency_buckets[i].load(Ordering::Relaxed);
        assert_eq!(at(2), 0); // le 0.0025
        assert_eq!(at(3), 1); // le 0.005
        assert_eq!(at(8), 2); // le 0.25
        assert_eq!(at(BUCKETS.len()), 3); // +Inf
        assert_eq!(m.responses[1].load(Ordering::Relaxed), 1);
        assert_eq!(m.responses[3].load(Ordering::Relaxed), 1);
        assert_eq!(m.responses[4].load(Ordering::Relaxed), 1);
    }
}
