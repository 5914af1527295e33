//! The Layan application: settings, start-up and shutdown, the demo shop. `main.rs` only parses
//! the command line and calls in here; integration tests call [`start`] directly.

pub mod demo;
pub mod import;
pub mod settings;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use layan_engine::Engine;
use layan_store::Store;
use layan_web::{AppState, WebConfig};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

pub use settings::Settings;

/// How long shutdown waits for in-flight requests before giving up on them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);
/// How long the job in hand may take to finish at shutdown.
const JOB_GRACE: Duration = Duration::from_secs(5);

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub engine: Engine,
    pub shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish, closes the database.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Waits until the server has stopped (after `shutdown` was cancelled).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.context("server task panicked")?
    }
}

/// A secret setting's value, when set and not empty.
fn configured(secret: Option<&settings::Secret>) -> Option<String> {
    secret
        .map(|s| s.expose().to_owned())
        .filter(|s| !s.is_empty())
}

/// Where this node keeps its conversation search index.
pub fn message_index_dir(settings: &Settings) -> std::path::PathBuf {
    settings.data.join("index").join("messages")
}

/// This node's conversation search index, on disk in the data directory. When that cannot be
/// opened (another process holds it, the disk refuses), the node searches an index in memory,
/// built from the database in the background, and says so.
fn open_message_index(settings: &Settings) -> layan_search::MessageIndex {
    let dir = message_index_dir(settings);
    match layan_search::MessageIndex::open(&dir) {
        Ok(index) => index,
        Err(e) => {
            tracing::warn!(
                dir = %dir.display(),
                error = %e,
                "cannot open the search index on disk; this node keeps one in memory"
            );
            layan_search::MessageIndex::in_memory().expect("an in-memory index")
        }
    }
}

/// How often snoozed conversations are checked for waking up.
const SNOOZE_SWEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens the database (running migrations), seeds the demo shop when asked, and serves on
/// `listener` until `shutdown` is cancelled.
pub async fn start(
    settings: &Settings,
    listener: TcpListener,
    demo: bool,
) -> anyhow::Result<Running> {
    let database = settings.database().map_err(anyhow::Error::msg)?;
    let phone_country = match settings.phone_country.as_deref().map(str::trim) {
        None | Some("") => demo
            .then(|| layan_core::PhoneCountry::by_iso("ID"))
            .flatten(),
        Some(iso) => Some(layan_core::PhoneCountry::by_iso(iso).with_context(|| {
            format!(
                "phone_country {iso:?} is not one of {}",
                layan_core::contact::PHONE_COUNTRIES
                    .iter()
                    .map(|c| c.iso)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?),
    };
    let store = Store::open(&database)
        .await
        .with_context(|| match &database {
            layan_store::DatabaseConfig::Sqlite(o) => {
                format!("opening the SQLite database {}", o.path.display())
            }
            layan_store::DatabaseConfig::Postgres(_) => {
                "opening the PostgreSQL database".to_owned()
            }
        })?;
    let outbound = layan_engine::outbound::OutboundPolicy::parse(&settings.outbound_allow)
        .map_err(|e| anyhow::anyhow!("outbound_allow: {e}"))?;
    let mut engine = Engine::new(store.clone())
        .with_secrets(Arc::new(settings.secret_box()?))
        .with_outbound(outbound.clone())
        .with_offline_grace(std::time::Duration::from_secs(
            settings.offline_grace_seconds,
        ))
        .with_message_index(open_message_index(settings));
    match (
        settings
            .shopify_admin_url
            .as_deref()
            .filter(|u| !u.trim().is_empty()),
        configured(settings.shopify_admin_token.as_ref()),
    ) {
        (Some(url), Some(token)) => {
            let admin = layan_engine::store_api::ShopifyAdmin::new(
                url,
                &token,
                &outbound,
                Duration::from_secs(settings.shopify_admin_timeout_seconds.clamp(1, 120)),
            )
            .map_err(|e| anyhow::anyhow!("shopify_admin_url: {e}"))?;
            engine = engine.with_shopify_admin(admin);
        }
        (None, None) => {}
        _ => anyhow::bail!("order actions need both shopify_admin_url and shopify_admin_token"),
    }
    if let Some(path) = &settings.email_ca_file {
        let pem = std::fs::read(path)
            .with_context(|| format!("email_ca_file: reading {}", path.display()))?;
        engine = engine
            .with_mail_ca(pem)
            .map_err(|e| anyhow::anyhow!("email_ca_file {}: {e}", path.display()))?;
    }
    // On PostgreSQL, other nodes may serve the same shop: relay events between them.
    engine
        .start_relay()
        .await
        .context("listening for other nodes' events")?;
    // Secrets stored before sealing existed (or with a key being rotated out) are sealed now.
    // One that does not open (another key file) is reported, not fatal: an admin enters it
    // again.
    match engine.reseal_secrets().await {
        Ok(r) => {
            if r.changed > 0 {
                tracing::info!(
                    records = r.changed,
                    "sealed stored secrets with the current key"
                );
            }
            if r.unreadable > 0 {
                tracing::error!(
                    records = r.unreadable,
                    key_file = %settings.secret_key_path().display(),
                    "stored secrets that do not open with this key file (left as they are): restore the key file they were sealed with, or enter them again"
                );
            }
        }
        Err(e) => tracing::error!(error = %e, "the stored secrets could not be sealed again"),
    }
    if demo {
        demo::seed(&engine).await.context("seeding the demo shop")?;
    }
    // The help-center index lives in memory: fill it from the database.
    let indexed = engine
        .rebuild_article_index(|_| {})
        .await
        .context("building the help-center index")?;
    tracing::debug!(articles = indexed, "help-center index built");
    // Snoozed conversations wake up on time (every node sweeps; each wakes once).
    engine.start_timers(SNOOZE_SWEEP);
    // The conversation search index catches up with the database in the background.
    engine.start_indexer();
    // Proactive messages: orders the shop's rules apply to become jobs.
    engine.start_proactive(std::time::Duration::from_secs(
        settings.proactive_sweep_seconds.max(1),
    ));
    // Email inboxes' mailboxes are fetched on every node (a mail fetched twice is stored once).
    let fetcher = engine.start_email_fetch(std::time::Duration::from_secs(
        settings.email_poll_seconds.max(1),
    ));
    // This node's job worker (automations after customer messages, email in and out, proactive
    // messages).
    let worker = engine.start_workers();
    let shutdown = CancellationToken::new();
    let state = AppState {
        engine: engine.clone(),
        config: Arc::new(WebConfig {
            cookie_secure: settings.cookie_secure,
            trust_forwarded_for: settings.trust_forwarded_for,
            demo,
            shopify_webhook_secret: configured(settings.shopify_webhook_secret.as_ref()),
            woocommerce_webhook_secret: configured(settings.woocommerce_webhook_secret.as_ref()),
            // The demo page signs its demo shopper's identity; without a configured secret it
            // uses one made up for this run.
            widget_identity_secret: configured(settings.widget_identity_secret.as_ref())
                .or_else(|| demo.then(layan_engine::auth::random_token)),
            phone_country,
            shopify_shop_domain: shop_domain(settings),
            http_timeout: Duration::from_secs(settings.http_timeout_seconds.max(1)),
            // Behind a trusted proxy every connection comes from the proxy: it limits them.
            max_connections_per_ip: if settings.trust_forwarded_for {
                0
            } else {
                settings.max_connections_per_ip
            },
        }),
        shutdown: shutdown.clone(),
        metrics: Arc::default(),
        limits: Arc::new(layan_web::limits::Limits::new(
            layan_web::limits::LimitSettings {
                sessions_per_hour: settings.widget_sessions_per_hour,
                messages_per_minute: settings.widget_messages_per_minute,
                offline_per_hour: settings.widget_offline_per_hour,
                votes_per_hour: settings.help_votes_per_hour,
                sockets_per_visitor: settings.widget_sockets_per_visitor,
            },
        )),
    };
    let addr = listener.local_addr()?;
    let deadline = shutdown.clone();
    let task = tokio::spawn(async move {
        let served = tokio::select! {
            r = layan_web::serve(listener, state) => r.context("serving HTTP"),
            () = async {
                deadline.cancelled().await;
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } => {
                tracing::warn!("in-flight requests did not finish within {SHUTDOWN_GRACE:?}; stopping anyway");
                Ok(())
            }
        };
        fetcher.abort();
        worker.stop(JOB_GRACE).await;
        // Every write that was acknowledged is committed; closing checkpoints the WAL.
        store.close().await;
        served
    });
    Ok(Running {
        addr,
        engine,
        shutdown,
        task,
    })
}

/// The Shopify shop this server serves: `shopify_shop_domain`, else the host of
/// `shopify_admin_url`; lower case, a bare host name.
fn shop_domain(settings: &Settings) -> Option<String> {
    let given = settings
        .shopify_shop_domain
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .or_else(|| {
            let url = settings.shopify_admin_url.as_deref()?.trim();
            let rest = url.split_once("://").map_or(url, |(_, r)| r);
            rest.split(['/', ':']).next().map(str::to_string)
        })?;
    let d = given
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_ascii_lowercase();
    (!d.is_empty()
        && d.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'))
    .then_some(d)
}
