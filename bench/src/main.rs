//! Layan's load generator. Loopback only; every run is bounded in time and stops by itself.
//!
//!   cargo run --release -p layan-bench -- store  --db sqlite|postgres [--writers 16] [--seconds 5]
//!   cargo run --release -p layan-bench -- chat   --db sqlite|postgres [--widgets 1000] [--messages 2000] [--rate 200]
//!   cargo run --release -p layan-bench -- create --db sqlite|postgres [--clients 16] [--seconds 5]
//!
//! PostgreSQL runs use a fresh schema in LAYAN_TEST_POSTGRES_URL (default: the local `test` database).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use layan::Settings;
use layan_core::{Author, ClientMessageId, Direction, MessageBody, NewMessage, Role, Target};
use layan_store::{
    NewContact, NewInbox, Store,
    testing::{self, Backend},
};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

/// No run may last longer than this, whatever its arguments.
const HARD_LIMIT: Duration = Duration::from_secs(300);
const KEY: &str = "lw_bench";

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Persisted messages per second through the storage layer (each writer its own conversation).
    Store {
        #[arg(long, default_value = "sqlite")]
        db: String,
        #[arg(long, default_value_t = 16)]
        writers: usize,
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// SQLite: synchronous=NORMAL instead of FULL.
        #[arg(long)]
        no_fsync: bool,
    },
    /// End-to-end chat latency: widget WebSocket send → the agent's WebSocket sees it.
    Chat {
        #[arg(long, default_value = "sqlite")]
        db: String,
        #[arg(long, default_value_t = 1000)]
        widgets: usize,
        #[arg(long, default_value_t = 2000)]
        messages: usize,
        /// Messages per second across all widgets.
        #[arg(long, default_value_t = 200)]
        rate: u64,
    },
    /// Conversations created per second over HTTP (a new visitor's first message each).
    Create {
        #[arg(long, default_value = "sqlite")]
        db: String,
        #[arg(long, default_value_t = 16)]
        clients: usize,
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
}

fn backend(db: &str) -> anyhow::Result<Backend> {
    match db {
        "sqlite" => Ok(Backend::Sqlite),
        "postgres" => Ok(Backend::Postgres),
        other => bail!("--db must be sqlite or postgres, not {other}"),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tokio::time::timeout(HARD_LIMIT, run(cli.command))
        .await
        .context("the benchmark hit its time limit")?
}

async fn run(cmd: Cmd) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    match cmd {
        Cmd::Store {
            db,
            writers,
            seconds,
            no_fsync,
        } => {
            let (mut config, _) = testing::fresh(backend(&db)?, dir.path())
                .await
                .context("database")?;
            if let layan_store::DatabaseConfig::Sqlite(o) = &mut config {
                o.fsync_every_commit = !no_fsync;
            }
            store_bench(Store::open(&config).await?, &db, writers, seconds).await
        }
        Cmd::Chat {
            db,
            widgets,
            messages,
            rate,
        } => {
            let server = Server::start(backend(&db)?, dir.path()).await?;
            chat_bench(&server, &db, widgets, messages, rate).await
        }
        Cmd::Create {
            db,
            clients,
            seconds,
        } => {
            let server = Server::start(backend(&db)?, dir.path()).await?;
            create_bench(&server, &db, clients, seconds).await
        }
    }
}

async fn store_bench(store: Store, db: &str, writers: usize, seconds: u64) -> anyhow::Result<()> {
    let inbox = store
        .create_inbox(NewInbox {
            name: "bench",
            widget_key: KEY,
            greeting: "hi",
            color: "#000000",
        })
        .await?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = store.clone();
        let inbox_id = inbox.id;
        tasks.push(tokio::spawn(async move {
            let contact = store
                .create_contact_with_identity(NewContact::default(), "bench", &format!("w{w}"))
                .await?;
            let mut n = 0u64;
            while Instant::now() < deadline {
                store
                    .append_message(&NewMessage {
                        target: Target::CurrentOrNew {
                            inbox_id,
                            contact_id: contact.id,
                        },
                        direction: Direction::Incoming,
                        author: Author::Contact(contact.id),
                        author_name: None,
                        body: MessageBody::parse("Halo, pesanan saya sudah dikirim?")?,
                        client_message_id: Some(ClientMessageId::parse(&format!("w{w}-{n}"))?),
                    })
                    .await?;
                n += 1;
            }
            anyhow::Ok(n)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    println!(
        "store/{db}: {writers} writers, {seconds} s: {total} messages persisted, {:.0} messages/s",
        total as f64 / seconds as f64
    );
    Ok(())
}

struct Server {
    running: layan::Running,
    base: String,
    cookie: String,
}

impl Server {
    async fn start(backend: Backend, dir: &std::path::Path) -> anyhow::Result<Self> {
        let (_, url) = testing::fresh(backend, dir).await.context("database")?;
        let settings = Settings {
            data: dir.to_path_buf(),
            database_url: Some(url.into()),
            log: "warn".into(),
            ..Settings::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let running = layan::start(&settings, listener, false).await?;
        let engine = &running.engine;
        engine
            .create_agent("bench@layan.test", "Bench", Role::Admin, "bench-password")
            .await?;
        engine
            .store()
            .create_inbox(NewInbox {
                name: "bench",
                widget_key: KEY,
                greeting: "hi",
                color: "#000000",
            })
            .await?;
        let login = engine.login("bench@layan.test", "bench-password").await?;
        Ok(Self {
            base: format!("http://{}", running.addr),
            cookie: login.token,
            running,
        })
    }

    fn ws(&self, path: &str) -> String {
        format!("{}{path}", self.base.replace("http://", "ws://"))
    }
}

async fn visitor(http: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let v: Value = http
        .post(format!("{base}/api/v1/widget/session"))
        .json(&json!({"key": KEY}))
        .send()
        .await?
        .json()
        .await?;
    Ok(v["token"].as_str().context("token")?.to_owned())
}

/// Client sockets as small as the server's, so the process RSS is mostly the server's.
fn small_buffers() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn chat_bench(
    server: &Server,
    db: &str,
    widgets: usize,
    messages: usize,
    rate: u64,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    // The agent, watching every conversation.
    let mut req = server.ws("/api/v1/agent/ws").into_client_request()?;
    req.headers_mut().insert(
        "cookie",
        format!("layan_session={}", server.cookie).parse()?,
    );
    let (agent, _) =
        tokio_tungstenite::connect_async_with_config(req, Some(small_buffers()), true).await?;
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
    {
        let (sent, latencies) = (Arc::clone(&sent), Arc::clone(&latencies));
        let (_, mut read) = agent.split();
        tokio::spawn(async move {
            while let Some(Ok(Message::Text(t))) = read.next().await {
                let Ok(v) = serde_json::from_str::<Value>(&t) else {
                    continue;
                };
                if let Some(id) = v["new_message"]["client_message_id"].as_str() {
                    let started = sent.lock().map(|mut m| m.remove(id)).ok().flatten();
                    if let Some(started) = started
                        && let Ok(mut l) = latencies.lock()
                    {
                        l.push(started.elapsed());
                    }
                }
            }
        });
    }

    // Connect the widgets, 50 at a time.
    let started = Instant::now();
    let mut sinks = Vec::with_capacity(widgets);
    for chunk in (0..widgets).collect::<Vec<_>>().chunks(50) {
        let mut joins = Vec::new();
        for _ in chunk {
            let (http, base, url) = (
                http.clone(),
                server.base.clone(),
                server.ws("/api/v1/widget/ws"),
            );
            joins.push(tokio::spawn(async move {
                let token = visitor(&http, &base).await?;
                let (ws, _) =
                    tokio_tungstenite::connect_async_with_config(url, Some(small_buffers()), true)
                        .await?;
                let (mut sink, mut read) = ws.split();
                sink.send(Message::Text(
                    json!({"type": "hello", "key": KEY, "token": token})
                        .to_string()
                        .into(),
                ))
                .await?;
                match read.next().await {
                    Some(Ok(Message::Text(t))) if t.contains("\"ready\"") => {}
                    other => bail!("widget hello failed: {other:?}"),
                }
                // Drain whatever the server sends this widget.
                tokio::spawn(async move { while let Some(Ok(_)) = read.next().await {} });
                anyhow::Ok(sink)
            }));
        }
        for j in joins {
            sinks.push(j.await??);
        }
    }
    println!(
        "chat/{db}: {widgets} widgets connected in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let interval = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let mut tick = tokio::time::interval(interval);
    for k in 0..messages {
        tick.tick().await;
        let id = format!("b{k}");
        let frame =
            json!({"type": "send", "client_message_id": id, "body": "Apakah ukuran L masih ada?"});
        sent.lock()
            .map_err(|_| anyhow::anyhow!("lock"))?
            .insert(id, Instant::now());
        let sink = &mut sinks[k % widgets];
        sink.send(Message::Text(frame.to_string().into())).await?;
    }
    // Give the last ones time to arrive.
    let wait_until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < wait_until {
        if latencies.lock().map(|l| l.len()).unwrap_or(0) >= messages {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut l = latencies
        .lock()
        .map_err(|_| anyhow::anyhow!("lock"))?
        .clone();
    l.sort();
    println!(
        "chat/{db}: {widgets} widgets, {messages} messages at {rate}/s: received {}, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        l.len(),
        percentile(&l, 0.50).as_secs_f64() * 1e3,
        percentile(&l, 0.99).as_secs_f64() * 1e3,
        l.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS"))
                .map(str::to_owned)
        })
        .unwrap_or_default();
    println!("chat/{db}: process (server + load generator) {rss}");
    server.running.shutdown.cancel();
    Ok(())
}

async fn create_bench(
    server: &Server,
    db: &str,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, base) = (http.clone(), server.base.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let token = visitor(&http, &base).await?;
                let res = http
                    .post(format!("{base}/api/v1/widget/messages"))
                    .header("x-layan-inbox", KEY)
                    .bearer_auth(&token)
                    .json(&json!({"body": "Halo!", "client_message_id": format!("c{c}-{n}")}))
                    .send()
                    .await?;
                if res.status() != 201 {
                    bail!("unexpected status {}", res.status());
                }
                n += 1;
            }
            anyhow::Ok(n)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    println!(
        "create/{db}: {clients} clients, {seconds} s: {total} conversations (new visitor + first message), {:.0}/s",
        total as f64 / seconds as f64
    );
    server.running.shutdown.cancel();
    Ok(())
}
