//! Layan's load generator. Loopback only; every run is bounded in time and stops by itself.
//!
//!   cargo run --release -p layan-bench -- store  --db sqlite|postgres [--writers 16] [--seconds 5]
//!   cargo run --release -p layan-bench -- chat   --db sqlite|postgres [--widgets 1000] [--messages 2000] [--rate 200]
//!   cargo run --release -p layan-bench -- create --db sqlite|postgres [--clients 16] [--seconds 5]
//!   cargo run --release -p layan-bench -- email  --db sqlite|postgres [--mails 2000]
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

/// The same allocator as the `layan` binary, so in-process runs measure what ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        /// Run the server as its own process (`<bin> demo`, SQLite) instead of in this one, so
        /// the server's memory is measured apart from the load generator's sockets.
        #[arg(long)]
        server_bin: Option<std::path::PathBuf>,
    },
    /// The agent inbox's list and search over HTTP with many conversations in the database.
    List {
        #[arg(long, default_value = "sqlite")]
        db: String,
        #[arg(long, default_value_t = 10_000)]
        conversations: usize,
        /// Requests per query kind.
        #[arg(long, default_value_t = 200)]
        requests: usize,
    },
    /// Help-center search latency: an index of N articles (each in four languages, made from the
    /// demo help center with varied text) queried with the relevance test set's questions.
    Kb {
        #[arg(long, default_value_t = 10_000)]
        articles: usize,
        #[arg(long, default_value_t = 2_000)]
        queries: usize,
    },
    /// Conversation search latency: an on-disk message index of N messages (words from the demo
    /// help center in four languages, names, order numbers) queried per kind of query.
    Messages {
        #[arg(long, default_value_t = 100_000)]
        messages: usize,
        /// Searches per query kind.
        #[arg(long, default_value_t = 300)]
        queries: usize,
    },
    /// Inbound mail: stored raw (what must happen before the IMAP server is told) per second,
    /// then read into messages by the job worker (parse, thread, contact, message, attachments)
    /// per second. The IMAP round trips are the mail server's and not measured.
    Email {
        #[arg(long, default_value = "sqlite")]
        db: String,
        #[arg(long, default_value_t = 2000)]
        mails: usize,
    },
    /// Answer-bot latency: shoppers' questions (the team's test sets, four languages) sent over
    /// HTTP at a fixed rate to an inbox where the bot answers (demo help center and policy);
    /// measured until the agent's WebSocket sees the bot's answer.
    Bot {
        #[arg(long, default_value = "sqlite")]
        db: String,
        /// Questions per second.
        #[arg(long, default_value_t = 50)]
        rate: u64,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
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
            server_bin: Some(bin),
        } => {
            let (child, server) = ChildServer::start(&bin, dir.path()).await?;
            let result = chat_bench(&server, &db, widgets, messages, rate, Some(child.id())).await;
            drop(child);
            result
        }
        Cmd::Chat {
            db,
            widgets,
            messages,
            rate,
            server_bin: None,
        } => {
            let server = Server::start(backend(&db)?, dir.path()).await?;
            chat_bench(&server, &db, widgets, messages, rate, None).await
        }
        Cmd::List {
            db,
            conversations,
            requests,
        } => {
            let server = Server::start(backend(&db)?, dir.path()).await?;
            list_bench(&server, &db, conversations, requests).await
        }
        Cmd::Kb { articles, queries } => kb_bench(articles, queries),
        Cmd::Messages { messages, queries } => messages_bench(messages, queries, dir.path()),
        Cmd::Email { db, mails } => {
            let server = Server::start(backend(&db)?, dir.path()).await?;
            email_bench(&server, &db, mails).await
        }
        Cmd::Bot { db, rate, seconds } => {
            let server = Server::start(backend(&db)?, dir.path()).await?;
            bot_bench(&server, &db, rate, seconds).await
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
                        automations: false,
                        attachments: Vec::new(),
                        extras: None,
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
    /// `None` when the server is another process.
    running: Option<layan::Running>,
    base: String,
    cookie: String,
    /// The widget key visitors use.
    key: &'static str,
}

impl Server {
    fn stop(&self) {
        if let Some(r) = &self.running {
            r.shutdown.cancel();
        }
    }

    fn running(&self) -> anyhow::Result<&layan::Running> {
        self.running.as_ref().context("needs the in-process server")
    }
}

/// `layan demo` as a child process (killed on drop), for measuring the server alone.
struct ChildServer {
    child: tokio::process::Child,
}

impl ChildServer {
    fn id(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    async fn start(bin: &std::path::Path, dir: &std::path::Path) -> anyhow::Result<(Self, Server)> {
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::new(bin)
            .args(["demo", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir)
            .env("LAYAN_LOG", "warn")
            // Thousands of simulated shoppers come from this one address, as fast as they can.
            .env("LAYAN_MAX_CONNECTIONS_PER_IP", "0")
            .env("LAYAN_WIDGET_SESSIONS_PER_HOUR", "0")
            .env("LAYAN_WIDGET_MESSAGES_PER_MINUTE", "0")
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let base = loop {
            let line = lines.next_line().await?.context("the server exited")?;
            if let Some(url) = line.split("Layan listening on ").nth(1) {
                break url.split_whitespace().next().unwrap_or_default().to_owned();
            }
        };
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        // Log in as the demo admin through the real form.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let page = http.get(format!("{base}/login")).send().await?;
        let form_cookie = cookie_value(&page, "layan_form_csrf").context("form cookie")?;
        let html = page.text().await?;
        let csrf = html
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .context("csrf field")?
            .to_owned();
        let res = http
            .post(format!("{base}/login"))
            .header("cookie", format!("layan_form_csrf={form_cookie}"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", "ana@demo.layan.test"),
                ("password", "layan-demo-2026"),
            ])
            .send()
            .await?;
        let cookie = cookie_value(&res, "layan_session").context("login")?;
        Ok((
            Self { child },
            Server {
                running: None,
                base,
                cookie,
                key: "lw_demo_batik_sari",
            },
        ))
    }
}

fn cookie_value(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v.to_owned())
}

/// `VmRSS` of a process, from `/proc`.
fn rss_of(pid: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS"))
                .map(|l| l.trim_start_matches("VmRSS:").trim().to_owned())
        })
        .unwrap_or_default()
}

impl Server {
    async fn start(backend: Backend, dir: &std::path::Path) -> anyhow::Result<Self> {
        let (_, url) = testing::fresh(backend, dir).await.context("database")?;
        let settings = Settings {
            data: dir.to_path_buf(),
            database_url: Some(url.into()),
            log: "warn".into(),
            // Thousands of simulated shoppers come from this one address, as fast as they can.
            max_connections_per_ip: 0,
            widget_sessions_per_hour: 0,
            widget_messages_per_minute: 0,
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
        let login = engine
            .login("bench@layan.test", "bench-password", None)
            .await?;
        Ok(Self {
            base: format!("http://{}", running.addr),
            cookie: login.token,
            running: Some(running),
            key: KEY,
        })
    }

    /// The bench admin's agent WebSocket (sees every conversation).
    async fn agent_socket(
        &self,
    ) -> anyhow::Result<
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
    > {
        let mut req = self.ws("/api/v1/agent/ws").into_client_request()?;
        req.headers_mut()
            .insert("cookie", format!("layan_session={}", self.cookie).parse()?);
        let (agent, _) =
            tokio_tungstenite::connect_async_with_config(req, Some(small_buffers()), true).await?;
        Ok(agent)
    }

    fn ws(&self, path: &str) -> String {
        format!("{}{path}", self.base.replace("http://", "ws://"))
    }
}

async fn visitor(http: &reqwest::Client, base: &str, key: &str) -> anyhow::Result<String> {
    let v: Value = http
        .post(format!("{base}/api/v1/widget/session"))
        .json(&json!({"key": key}))
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

/// The latencies measured, sorted, once `expected` have arrived or `wait` has passed.
async fn collected(
    latencies: &Mutex<Vec<Duration>>,
    expected: usize,
    wait: Duration,
) -> anyhow::Result<Vec<Duration>> {
    let wait_until = Instant::now() + wait;
    while Instant::now() < wait_until {
        if latencies.lock().map(|l| l.len()).unwrap_or(0) >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut l = latencies
        .lock()
        .map_err(|_| anyhow::anyhow!("lock"))?
        .clone();
    l.sort();
    Ok(l)
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
    server_pid: Option<u32>,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    // The agent, watching every conversation.
    let agent = server.agent_socket().await?;
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
            let (http, base, url, key) = (
                http.clone(),
                server.base.clone(),
                server.ws("/api/v1/widget/ws"),
                server.key,
            );
            joins.push(tokio::spawn(async move {
                let token = visitor(&http, &base, key).await?;
                let (ws, _) =
                    tokio_tungstenite::connect_async_with_config(url, Some(small_buffers()), true)
                        .await?;
                let (mut sink, mut read) = ws.split();
                sink.send(Message::Text(
                    json!({"type": "hello", "key": key, "token": token})
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
    let l = collected(&latencies, messages, Duration::from_secs(10)).await?;
    println!(
        "chat/{db}: {widgets} widgets, {messages} messages at {rate}/s: received {}, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        l.len(),
        percentile(&l, 0.50).as_secs_f64() * 1e3,
        percentile(&l, 0.99).as_secs_f64() * 1e3,
        l.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    match server_pid {
        Some(pid) => println!(
            "chat/{db}: server process RSS {} with {widgets} widgets + 1 agent connected; load generator {}",
            rss_of(&pid.to_string()),
            rss_of("self")
        ),
        None => println!(
            "chat/{db}: process (server + load generator) RSS {}",
            rss_of("self")
        ),
    }
    server.stop();
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
                let token = visitor(&http, &base, KEY).await?;
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
    server.stop();
    Ok(())
}

/// A customer's mail: half of them replies to the sender's previous one (threading), every
/// fifth in HTML with a small attachment; several charsets.
fn bench_mail(i: usize) -> Vec<u8> {
    let sender = i % 200;
    let text = PHRASES[i % PHRASES.len()];
    let reply = if i >= 200 && i.is_multiple_of(2) {
        format!(
            "In-Reply-To: <m{}@bench.test>\r\nReferences: <m{}@bench.test>\r\n",
            i - 200,
            i - 200
        )
    } else {
        String::new()
    };
    let head = format!(
        "From: Pembeli {sender} <pembeli{sender}@bench.test>\r\nTo: help@shop.test\r\n\
         Subject: Pesanan {sender}\r\nMessage-ID: <m{i}@bench.test>\r\n{reply}MIME-Version: 1.0\r\n"
    );
    if i.is_multiple_of(5) {
        format!(
            "{head}Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
             Content-Type: text/html; charset=utf-8\r\n\r\n<p>{text}</p><script>x()</script>\r\n--b\r\n\
             Content-Type: application/pdf; name=\"resi.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
             JVBERi0xLjQKJcfsj6IKJVBERi0xLjQKJcfsj6IK\r\n--b--\r\n"
        )
        .into_bytes()
    } else {
        format!(
            "{head}Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n\r\nOn Mon, 23 Nov 2026 at 10:00, Toko <help@shop.test> wrote:\r\n> earlier\r\n"
        )
        .into_bytes()
    }
}

async fn email_bench(server: &Server, db: &str, mails: usize) -> anyhow::Result<()> {
    let engine = &server.running()?.engine;
    let admin = engine
        .store()
        .agent_credentials("bench@layan.test")
        .await?
        .context("bench admin")?
        .0;
    let settings: layan_core::EmailSettings = serde_json::from_value(json!({
        "address": "help@shop.test", "from_name": "Bench", "max_per_sender_per_hour": 1000
    }))?;
    let inbox = engine
        .create_email_inbox(&admin, "Email", settings, None)
        .await?;
    let raw: Vec<Vec<u8>> = (0..mails).map(bench_mail).collect();
    let started = Instant::now();
    for r in &raw {
        engine.receive_email(inbox.id, r).await?;
    }
    let stored = started.elapsed();
    loop {
        let counts = engine.store().job_counts().await?;
        if counts.queued == 0 && counts.running == 0 {
            if counts.failed > 0 {
                bail!("{} jobs failed", counts.failed);
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let read = started.elapsed();
    let unread = engine
        .store()
        .inbound_emails(Some(layan_core::InboundStatus::Received), 1)
        .await?;
    if !unread.is_empty() {
        bail!("a mail was not read");
    }
    println!(
        "email/{db}: {mails} mails stored raw in {:.2} s ({:.0}/s); read into messages by {:.2} s ({:.0}/s)",
        stored.as_secs_f64(),
        mails as f64 / stored.as_secs_f64(),
        read.as_secs_f64(),
        mails as f64 / read.as_secs_f64(),
    );
    server.stop();
    Ok(())
}

async fn bot_bench(server: &Server, db: &str, rate: u64, seconds: u64) -> anyhow::Result<()> {
    let engine = &server.running()?.engine;
    let admin = engine
        .store()
        .agent_credentials("bench@layan.test")
        .await?
        .context("bench admin")?
        .0;
    layan::demo::seed_help_center(engine).await?;
    engine
        .set_shipping_policy(&admin, &layan::demo::shipping_policy()?, None)
        .await?;
    let inbox = engine
        .store()
        .inbox_by_widget_key(KEY)
        .await?
        .context("bench inbox")?;
    let settings = layan_bot::BotSettings {
        inboxes: vec![inbox.id.0],
        ..layan_bot::BotSettings::default()
    };
    engine.set_bot_settings(&admin, settings, None).await?;
    let mut rows = Vec::new();
    for (_, csv) in layan_bot::data::TEST_SETS {
        rows.extend(layan_bot::eval::read_csv(csv)?);
    }

    // The agent socket sees every bot message; the first one after a timed question answers it.
    let agent = server.agent_socket().await?;
    let waiting: Arc<Mutex<HashMap<i64, Instant>>> = Arc::default();
    let greeted: Arc<Mutex<std::collections::HashSet<i64>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
    {
        let (waiting, greeted, latencies) = (waiting.clone(), greeted.clone(), latencies.clone());
        let (_, mut read) = agent.split();
        tokio::spawn(async move {
            while let Some(Ok(Message::Text(t))) = read.next().await {
                let Ok(v) = serde_json::from_str::<Value>(&t) else {
                    continue;
                };
                let m = &v["new_message"];
                if m["direction"] != "bot" {
                    continue;
                }
                let Some(conv) = m["conversation_id"].as_i64() else {
                    continue;
                };
                if let Some(started) = waiting.lock().ok().and_then(|mut w| w.remove(&conv))
                    && let Ok(mut l) = latencies.lock()
                {
                    l.push(started.elapsed());
                }
                if let Ok(mut g) = greeted.lock() {
                    g.insert(conv);
                }
            }
        });
    }

    // One shopper per question, greeted first (not timed), so the next bot message is the answer.
    let total = (rate * seconds) as usize;
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut shoppers = Vec::with_capacity(total);
    for chunk in (0..total).collect::<Vec<_>>().chunks(25) {
        let mut joins = Vec::new();
        for &k in chunk {
            let (http, base) = (http.clone(), server.base.clone());
            joins.push(tokio::spawn(async move {
                let token = visitor(&http, &base, KEY).await?;
                let v = widget_post(&http, &base, &token, "hi", &format!("w{k}")).await?;
                let conv = v["message"]["conversation_id"]
                    .as_i64()
                    .context("conversation")?;
                anyhow::Ok((token, conv))
            }));
        }
        for j in joins {
            shoppers.push(j.await??);
        }
    }
    while greeted.lock().map(|g| g.len()).unwrap_or(0) < total {
        if started.elapsed() > Duration::from_secs(300) {
            bail!("greetings did not all arrive");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "bot/{db}: {total} shoppers greeted in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(1) as f64));
    let mut sends = Vec::with_capacity(total);
    for (k, (token, conv)) in shoppers.into_iter().enumerate() {
        tick.tick().await;
        let question = rows[k % rows.len()].utterance.clone();
        waiting
            .lock()
            .map_err(|_| anyhow::anyhow!("lock"))?
            .insert(conv, Instant::now());
        let (http, base) = (http.clone(), server.base.clone());
        sends.push(tokio::spawn(async move {
            widget_post(&http, &base, &token, &question, &format!("q{k}")).await
        }));
    }
    for s in sends {
        s.await??;
    }
    let l = collected(&latencies, total, Duration::from_secs(30)).await?;
    println!(
        "bot/{db}: {total} questions at {rate}/s: answered {}, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        l.len(),
        percentile(&l, 0.50).as_secs_f64() * 1e3,
        percentile(&l, 0.99).as_secs_f64() * 1e3,
        l.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    server.stop();
    Ok(())
}

async fn widget_post(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    body: &str,
    id: &str,
) -> anyhow::Result<Value> {
    let res = http
        .post(format!("{base}/api/v1/widget/messages"))
        .header("x-layan-inbox", KEY)
        .bearer_auth(token)
        .json(&json!({"body": body, "client_message_id": id}))
        .send()
        .await?;
    if !res.status().is_success() {
        bail!("widget message: {}", res.status());
    }
    Ok(res.json().await?)
}

/// What shoppers write, in the four languages; the search looks for words in here.
const PHRASES: &[&str] = &[
    "Pesanan saya belum sampai, bisa dicek?",
    "Apakah batik ini ada ukuran L?",
    "สวัสดีครับ สินค้ายังไม่ได้รับเลยครับ",
    "ส่งไปเชียงใหม่กี่วันครับ",
    "Waar blijft mijn pakket? Ik wacht al een week.",
    "Kan ik de sjaal nog retourneren?",
    "Hi, do you ship to Singapore?",
    "My refund has not arrived yet.",
];

async fn list_bench(
    server: &Server,
    db: &str,
    conversations: usize,
    requests: usize,
) -> anyhow::Result<()> {
    let store = server.running()?.engine.store().clone();
    let inbox = store
        .inbox_by_widget_key(KEY)
        .await?
        .context("bench inbox")?;
    let agent = store
        .agent_credentials("bench@layan.test")
        .await?
        .context("bench agent")?
        .0;
    // Seed: each conversation a new contact's message, every other one answered, every tenth
    // labelled. Sixteen writers at once.
    let started = Instant::now();
    let mut tasks = Vec::new();
    let per = conversations.div_ceil(16);
    for w in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w * per)..((w + 1) * per).min(conversations) {
                let contact = store
                    .create_contact_with_identity(
                        NewContact {
                            name: Some(&format!("Shopper {i}")),
                            email: Some(&format!("shopper{i}@example.com")),
                            locale: None,
                        },
                        "email",
                        &format!("shopper{i}@example.com"),
                    )
                    .await?;
                let first = store
                    .append_message(&NewMessage {
                        target: Target::CurrentOrNew {
                            inbox_id: inbox.id,
                            contact_id: contact.id,
                        },
                        direction: Direction::Incoming,
                        author: Author::Contact(contact.id),
                        author_name: None,
                        body: MessageBody::parse(PHRASES[i % PHRASES.len()])?,
                        client_message_id: None,
                        automations: false,
                        attachments: Vec::new(),
                        extras: None,
                    })
                    .await?;
                if i % 2 == 0 {
                    store
                        .append_message(&NewMessage {
                            target: Target::Conversation(first.conversation.id),
                            direction: Direction::Outgoing,
                            author: Author::Agent(agent.id),
                            author_name: Some("Bench".into()),
                            body: MessageBody::parse("Terima kasih, kami cek dulu ya.")?,
                            client_message_id: None,
                            automations: false,
                            attachments: Vec::new(),
                            extras: None,
                        })
                        .await?;
                }
                if i % 10 == 0 {
                    store.add_label(first.conversation.id, "vip").await?;
                }
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    // Statistics as autovacuum would have them after a while (right after a bulk load
    // PostgreSQL plans with none: 25 ms instead of 0.15 ms for the unassigned list).
    store.analyze().await?;
    println!(
        "list/{db}: seeded {conversations} conversations in {:.1} s (then ANALYZE)",
        started.elapsed().as_secs_f64()
    );
    let http = reqwest::Client::new();
    let queries = [
        (
            "newest open, 50",
            "/api/v1/conversations?status=open&limit=50",
        ),
        (
            "all statuses, 50",
            "/api/v1/conversations?status=all&limit=50",
        ),
        (
            "longest waiting, 50",
            "/api/v1/conversations?sort=waiting&limit=50",
        ),
        (
            "label filter",
            "/api/v1/conversations?status=all&label=vip&limit=50",
        ),
        (
            "unassigned",
            "/api/v1/conversations?view=unassigned&limit=50",
        ),
        ("view counts", "/api/v1/conversations/counts"),
        (
            "search a word (id)",
            "/api/v1/conversations?status=all&q=pakket&limit=50",
        ),
        (
            "search Thai",
            "/api/v1/conversations?status=all&q=%E0%B9%80%E0%B8%8A%E0%B8%B5%E0%B8%A2%E0%B8%87%E0%B9%83%E0%B8%AB%E0%B8%A1%E0%B9%88&limit=50",
        ),
        (
            "search a name",
            "/api/v1/conversations?status=all&q=Shopper%209999&limit=50",
        ),
        (
            "search a ticket number",
            "/api/v1/conversations?status=all&q=%235000&limit=50",
        ),
    ];
    // One customer's sidebar: the profile with its timeline, and suggested duplicates (a scan
    // for the same email, phone or name among every contact).
    let one: serde_json::Value = http
        .get(format!(
            "{}/api/v1/conversations?status=all&limit=1",
            server.base
        ))
        .header("cookie", format!("layan_session={}", server.cookie))
        .send()
        .await?
        .json()
        .await?;
    let conversation = one[0]["id"].as_i64().context("a conversation")?;
    let contact = one[0]["contact_id"].as_i64().context("its contact")?;
    let sidebar = [
        (
            "customer profile",
            format!("/api/v1/conversations/{conversation}/contact"),
        ),
        (
            "suggested duplicates",
            format!("/api/v1/contacts/{contact}/duplicates"),
        ),
    ];
    let queries = queries
        .iter()
        .map(|(n, p)| (*n, (*p).to_string()))
        .chain(sidebar);
    for (name, path) in queries {
        let mut times = Vec::with_capacity(requests);
        for _ in 0..requests {
            let t0 = Instant::now();
            let res = http
                .get(format!("{}{path}", server.base))
                .header("cookie", format!("layan_session={}", server.cookie))
                .send()
                .await?;
            if !res.status().is_success() {
                bail!("{path}: {}", res.status());
            }
            res.bytes().await?;
            times.push(t0.elapsed());
        }
        times.sort();
        println!(
            "list/{db}: {name:<24} p50 {:>8.2?}  p99 {:>8.2?}",
            percentile(&times, 0.50),
            percentile(&times, 0.99)
        );
    }
    server.stop();
    Ok(())
}

/// Every word of the demo help center's articles per language (to make varied text from).
fn demo_vocabulary(
    help: &layan::demo::HelpCenter,
) -> std::collections::HashMap<String, Vec<String>> {
    let mut vocabulary: std::collections::HashMap<String, Vec<String>> = Default::default();
    for a in &help.article {
        for (locale, t) in &a.translations {
            vocabulary.entry(locale.clone()).or_default().extend(
                layan_search::markdown::to_plain(&t.body)
                    .split_whitespace()
                    .map(str::to_string),
            );
        }
    }
    vocabulary
}

/// A small deterministic random number generator (xorshift).
fn xorshift() -> impl FnMut() -> u64 {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

fn messages_bench(messages: usize, queries: usize, dir: &std::path::Path) -> anyhow::Result<()> {
    use layan_search::{IndexedMessage, MessageIndex};
    let help = layan::demo::help_center()?;
    let vocabulary = demo_vocabulary(&help);
    let languages: Vec<&String> = vocabulary.keys().collect();
    let mut next = xorshift();
    let index_dir = dir.join("messages");
    let index = MessageIndex::open(&index_dir)?;
    let started = Instant::now();
    let mut batch = Vec::with_capacity(2_000);
    for i in 0..messages {
        let words = &vocabulary[languages[i % languages.len()]];
        let n = 8 + (next() % 25) as usize;
        let mut body: Vec<String> = (0..n)
            .map(|_| words[(next() % words.len() as u64) as usize].clone())
            .collect();
        // Every message names a customer and an order; a few mention a rare word.
        body.push(format!("Shopper{} order {}", i % 20_000, 100_000 + i));
        if i % 10_000 == 0 {
            body.push("zeldzaamheid".into());
        }
        batch.push(IndexedMessage {
            id: i as i64 + 1,
            conversation_id: (i / 4) as i64 + 1,
            inbox_id: (i % 3) as i64 + 1,
            created_at: 1_700_000_000_000 + i as i64 * 1_000,
            body: body.join(" "),
        });
        if batch.len() == 2_000 || i + 1 == messages {
            index.add(&batch)?;
            index.commit(i as i64 + 1)?;
            batch.clear();
        }
    }
    let build = started.elapsed();
    let size: u64 = std::fs::read_dir(&index_dir)?
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "messages: {messages} indexed in {:.2} s ({:.0}/s, batches of 2,000 each committed); \
         index on disk {:.1} MiB",
        build.as_secs_f64(),
        messages as f64 / build.as_secs_f64(),
        size as f64 / 1_048_576.0
    );
    let cases: [(&str, &str, Option<&[i64]>); 8] = [
        ("a common word (nl)", "bestelling", None),
        ("a common word (id)", "pesanan", None),
        ("a Thai word", "สินค้า", None),
        ("two words (en)", "refund order", None),
        ("a prefix", "bezorg", None),
        ("a typo", "pengirman", None),
        ("a rare word", "zeldzaamheid", None),
        ("one inbox of three", "bestelling", Some(&[2])),
    ];
    for (name, q, inboxes) in cases {
        let mut times = Vec::with_capacity(queries);
        let mut found = 0;
        for _ in 0..queries {
            let t = Instant::now();
            let hits = index.search(q, inboxes, 1_000)?;
            times.push(t.elapsed());
            found = hits.len();
        }
        times.sort();
        println!(
            "messages: {name:<20} {q:<14} {found:>5} conversations  p50 {:>8.2?}  p99 {:>8.2?}",
            percentile(&times, 0.50),
            percentile(&times, 0.99)
        );
    }
    Ok(())
}

fn kb_bench(articles: usize, queries: usize) -> anyhow::Result<()> {
    use layan_search::{ArticleIndex, ArticleText, markdown};
    let help = layan::demo::help_center()?;
    let vocabulary = demo_vocabulary(&help);
    let mut next = xorshift();
    let mut texts = Vec::with_capacity(articles * 4);
    for i in 0..articles {
        let base = &help.article[i % help.article.len()];
        for (tag, t) in &base.translations {
            let locale = layan_core::Locale::from_tag(tag).context("locale")?;
            let words = &vocabulary[tag];
            let extra: Vec<&str> = (0..60)
                .map(|_| words[(next() % words.len() as u64) as usize].as_str())
                .collect();
            texts.push(ArticleText {
                article_id: i as i64,
                locale,
                slug: format!("{}-{i}", base.slug),
                title: format!("{} {i}", t.title),
                body: format!("{} {}", markdown::to_plain(&t.body), extra.join(" ")),
            });
        }
    }
    let docs = texts.len();
    let index = ArticleIndex::new()?;
    let started = Instant::now();
    index.rebuild(texts, |_| {})?;
    let build = started.elapsed();
    let csv = include_str!("../../crates/layan/demo/relevance.csv");
    let questions: Vec<(layan_core::Locale, &str)> = csv
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.splitn(3, ',');
            Some((layan_core::Locale::from_tag(cols.next()?)?, cols.next()?))
        })
        .collect();
    let mut latencies = Vec::with_capacity(queries);
    for i in 0..queries {
        let (locale, q) = questions[i % questions.len()];
        let t = Instant::now();
        let hits = index.search(locale, q, 5)?;
        latencies.push(t.elapsed());
        std::hint::black_box(hits);
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "kb: {articles} articles ({docs} translations) indexed in {:.2} s; {queries} searches: \
         p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        build.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
        latencies[latencies.len() - 1].as_secs_f64() * 1000.0
    );
    Ok(())
}
