//! The real `layan` binary as a process: the demo, the agent command, graceful shutdown on SIGTERM,
//! and the crash test (SIGKILL while messages are being sent; nothing acknowledged may be lost or
//! doubled).

mod common;
#[path = "support/mail.rs"]
mod mail;

use std::{
    collections::{HashMap, HashSet},
    path::Path,
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use common::{ws_connect, ws_next, ws_send};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};
use tokio_tungstenite::tungstenite::{Message, protocol::frame::coding::CloseCode};

const DEMO_KEY: &str = "lw_demo_batik_sari";

struct Server {
    child: Child,
    base: String,
    /// What the process printed before it said where it listens, plus that line.
    banner: Vec<String>,
}

/// The database for one test's server(s): SQLite in `data`, or a fresh PostgreSQL schema when
/// `LAYAN_TEST_DATABASE=postgres`.
async fn database(data: &Path) -> String {
    let backend = layan_store::testing::selected();
    layan_store::testing::fresh(backend, data)
        .await
        .expect("LAYAN_TEST_DATABASE=postgres needs a reachable PostgreSQL")
        .1
}

async fn start(command: &str, data: &Path, database_url: &str) -> Server {
    start_with(command, data, database_url, &[]).await
}

async fn start_with(
    command: &str,
    data: &Path,
    database_url: &str,
    env: &[(&str, &str)],
) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_layan"))
        .args([command, "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(["--database-url", database_url])
        .env("LAYAN_LOG", "warn")
        // These tests drive a few visitors hard (hundreds of messages each): the public
        // endpoints' limits are tested in http_api.rs, not here.
        .env("LAYAN_WIDGET_MESSAGES_PER_MINUTE", "0")
        .env("LAYAN_WIDGET_SESSIONS_PER_HOUR", "0")
        // The mail servers run on this machine (a comma-separated list works in a variable).
        .env("LAYAN_OUTBOUND_ALLOW", "127.0.0.1, ::1")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn layan");
    let stdout = child.stdout.take().expect("stdout");
    // Drain stdout for the life of the process (a closed pipe would make its prints fail).
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut banner = Vec::new();
    let base = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = rx.recv().await {
            banner.push(line.clone());
            if let Some(url) = line.strip_prefix("Layan listening on ") {
                return url.to_owned();
            }
        }
        panic!("layan exited before listening: {banner:?}");
    })
    .await
    .expect("layan listens within 30 s");
    // The rest of the banner (demo logins) follows at once.
    while let Ok(Some(line)) = tokio::time::timeout(Duration::from_millis(300), rx.recv()).await {
        banner.push(line);
    }
    Server {
        child,
        base,
        banner,
    }
}

fn pid(child: &Child) -> String {
    child.id().expect("running").to_string()
}

async fn send(http: &reqwest::Client, base: &str, token: &str, id: &str) -> Result<Value, String> {
    let res = http
        .post(format!("{base}/api/v1/widget/messages"))
        .header("x-layan-inbox", DEMO_KEY)
        .bearer_auth(token)
        .json(&json!({"body": format!("message {id}"), "client_message_id": id}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !res.status().is_success() {
        return Err(format!("status {}", res.status()));
    }
    res.json().await.map_err(|e| e.to_string())
}

#[tokio::test]
async fn sigkill_loses_no_acknowledged_message_and_retries_do_not_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path()).await;
    let server = start("demo", dir.path(), &db).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();

    const CLIENTS: usize = 4;
    let mut tokens = Vec::new();
    let site = common::Site::with_key(&server.base, DEMO_KEY);
    for _ in 0..CLIENTS {
        tokens.push(site.visitor().await);
    }
    // Per client: every id it tried, and the ids the server acknowledged.
    let attempted: Arc<Mutex<HashMap<usize, Vec<String>>>> = Arc::default();
    let acked: Arc<Mutex<HashMap<usize, HashSet<String>>>> = Arc::default();
    let mut tasks = Vec::new();
    for (c, token) in tokens.iter().cloned().enumerate() {
        let (http, base) = (http.clone(), server.base.clone());
        let (attempted, acked) = (Arc::clone(&attempted), Arc::clone(&acked));
        tasks.push(tokio::spawn(async move {
            for i in 0..300 {
                let id = format!("c{c}-m{i}");
                attempted
                    .lock()
                    .unwrap()
                    .entry(c)
                    .or_default()
                    .push(id.clone());
                match send(&http, &base, &token, &id).await {
                    Ok(_) => {
                        acked.lock().unwrap().entry(c).or_default().insert(id);
                    }
                    Err(_) => return, // the server is gone
                }
            }
        }));
    }
    // Let the clients get going, then pull the plug mid-stream.
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let n: usize = acked.lock().unwrap().values().map(HashSet::len).sum();
        if n >= 60 {
            break;
        }
    }
    let mut child = server.child;
    child.start_kill().expect("SIGKILL");
    child.wait().await.expect("reaped");
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let attempted = attempted.lock().unwrap().clone();
    let total_acked: usize = acked.values().map(HashSet::len).sum();
    assert!(total_acked >= 60);

    let server = start("demo", dir.path(), &db).await;
    let read_all = |token: String| {
        let (http, base) = (http.clone(), server.base.clone());
        async move {
            let s: Value = http
                .post(format!("{base}/api/v1/widget/session"))
                .json(&json!({"key": DEMO_KEY, "token": token}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let conv = s["conversation"]["id"]
                .as_i64()
                .expect("conversation survived");
            let msgs: Value = http
                .get(format!(
                    "{base}/api/v1/widget/conversations/{conv}/messages?limit=500"
                ))
                .header("x-layan-inbox", DEMO_KEY)
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            msgs.as_array().unwrap().clone()
        }
    };
    for (c, token) in tokens.iter().enumerate() {
        let msgs = read_all(token.clone()).await;
        // The demo inbox acknowledges a new conversation (a bot message): count the shopper's.
        let ids: Vec<String> = msgs
            .iter()
            .filter(|m| m["direction"] == "incoming")
            .map(|m| m["client_message_id"].as_str().unwrap().to_owned())
            .collect();
        let unique: HashSet<_> = ids.iter().cloned().collect();
        assert_eq!(
            unique.len(),
            ids.len(),
            "client {c}: a message stored twice"
        );
        for id in acked.get(&c).into_iter().flatten() {
            assert!(
                unique.contains(id),
                "client {c}: acknowledged {id} was lost"
            );
        }
        let seqs: Vec<i64> = msgs.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
        assert_eq!(
            seqs,
            (1..=seqs.len() as i64).collect::<Vec<_>>(),
            "sequence without gaps"
        );
    }

    // Clients retry everything they tried (acknowledged or not): each ends up stored once.
    for (c, token) in tokens.iter().enumerate() {
        for id in attempted.get(&c).into_iter().flatten() {
            send(&http, &server.base, token, id)
                .await
                .expect("retry accepted");
        }
        let msgs = read_all(token.clone()).await;
        let n_attempted = attempted.get(&c).map_or(0, Vec::len);
        let incoming = msgs.iter().filter(|m| m["direction"] == "incoming").count();
        assert_eq!(
            incoming, n_attempted,
            "client {c}: every attempt exactly once after retries"
        );
    }
}

#[tokio::test]
async fn sigterm_closes_sockets_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path()).await;
    let mut server = start("demo", dir.path(), &db).await;
    let http = reqwest::Client::new();
    let token = common::Site::with_key(&server.base, DEMO_KEY)
        .visitor()
        .await;
    let url = format!(
        "{}/api/v1/widget/ws",
        server.base.replace("http://", "ws://")
    );
    let mut ws = ws_connect(&url, None).await.unwrap();
    ws_send(
        &mut ws,
        json!({"type": "hello", "key": DEMO_KEY, "token": token}),
    )
    .await;
    assert_eq!(ws_next(&mut ws).await["type"], "ready");
    send(&http, &server.base, &token, "before-term")
        .await
        .unwrap();

    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid(&server.child)])
        .status()
        .unwrap();
    assert!(status.success());
    let close = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(f))) => return f.map(|f| f.code),
                Some(Ok(_)) => continue,
                other => panic!("expected close, got {other:?}"),
            }
        }
    })
    .await
    .expect("socket closed");
    assert_eq!(close, Some(CloseCode::Away));
    let exit = tokio::time::timeout(Duration::from_secs(15), server.child.wait())
        .await
        .expect("exits")
        .unwrap();
    assert!(exit.success(), "clean exit, got {exit:?}");

    // Restart: the message is there, and its follow-up job (the demo inbox's acknowledgement)
    // has run — before the shutdown or, queued in the database, after the restart.
    let server = start("serve", dir.path(), &db).await;
    let mut directions = Vec::new();
    for _ in 0..50 {
        let s: Value = http
            .post(format!("{}/api/v1/widget/session", server.base))
            .json(&json!({"key": DEMO_KEY, "token": token}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let conv = s["conversation"]["id"].as_i64().expect("conversation kept");
        let msgs: Value = http
            .get(format!(
                "{}/api/v1/widget/conversations/{conv}/messages",
                server.base
            ))
            .header("x-layan-inbox", DEMO_KEY)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        directions = msgs
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["direction"].as_str().unwrap().to_owned())
            .collect();
        if directions.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(directions, ["incoming", "bot"]);
}

#[tokio::test]
async fn demo_prints_working_logins_and_seeds_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path()).await;
    let server = start("demo", dir.path(), &db).await;
    let login_line = server
        .banner
        .iter()
        .find(|l| l.contains("ana@demo.layan.test"))
        .expect("printed login");
    assert!(
        login_line.contains("password: layan-demo-2026"),
        "{login_line}"
    );
    let app = common::Site::new(&server.base);
    let agent = app
        .try_login("ana@demo.layan.test", "layan-demo-2026")
        .await
        .expect("demo login works");
    let all: Value = agent
        .get("/api/v1/conversations?status=all")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all.as_array().unwrap().len(), 5, "four chats and one email");
    let langs: Vec<_> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["last_message"]["body"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        langs.iter().any(|b| b.contains("สวัสดี")),
        "a Thai conversation: {langs:?}"
    );
    let page = app
        .http
        .get(format!("{}/demo", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-inbox=\"lw_demo_batik_sari\""));
    drop(server);

    let server = start("demo", dir.path(), &db).await;
    let app = common::Site::new(&server.base);
    let agent = app
        .try_login("ana@demo.layan.test", "layan-demo-2026")
        .await
        .unwrap();
    let all: Value = agent
        .get("/api/v1/conversations?status=all")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all.as_array().unwrap().len(), 5, "seeded once");
}

#[tokio::test]
async fn agent_create_command_and_first_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path()).await;
    let create_owner = |password: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_layan"))
            .args([
                "agent",
                "create",
                "--email",
                "owner@toko.test",
                "--name",
                "Owner",
            ])
            .args(["--role", "admin", "--data"])
            .arg(dir.path())
            .env("LAYAN_NEW_PASSWORD", password)
            .env("LAYAN_DATABASE_URL", &db)
            .output()
            .unwrap()
    };
    let out = create_owner("short");
    assert!(!out.status.success(), "a weak password is refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("10-256 characters"));
    let out = create_owner("a-long-enough-password");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = start("serve", dir.path(), &db).await;
    let app = common::Site::new(&server.base);
    let agent = app
        .try_login("owner@toko.test", "a-long-enough-password")
        .await
        .expect("login");
    let inboxes: Value = agent.get("/api/v1/inboxes").await.json().await.unwrap();
    assert_eq!(
        inboxes.as_array().unwrap().len(),
        1,
        "a website inbox was created"
    );
}

#[tokio::test]
async fn settings_command_redacts_secrets() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_layan"))
        .arg("settings")
        .env("LAYAN_DATABASE_URL", "sqlite:///tmp/secret-path-xyz.db")
        .env("LAYAN_LISTEN", "127.0.0.1:9999")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("127.0.0.1:9999"), "{text}");
    assert!(!text.contains("secret-path-xyz"), "{text}");
    assert!(text.contains("[redacted]"));
}

#[tokio::test]
async fn two_nodes_serve_one_shop_live_and_survive_one_being_killed() {
    if layan_store::testing::selected() != layan_store::testing::Backend::Postgres {
        eprintln!(
            "\n!!! SKIPPING the two-node test: several nodes need PostgreSQL \
             (scripts/test runs it with LAYAN_TEST_DATABASE=postgres)\n"
        );
        return;
    }
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let db = database(dir_a.path()).await;
    let node_a = start("demo", dir_a.path(), &db).await;
    let node_b = start("serve", dir_b.path(), &db).await;
    let site_a = common::Site::with_key(&node_a.base, DEMO_KEY);
    let site_b = common::Site::with_key(&node_b.base, DEMO_KEY);

    // The agent works on node B; the shopper is on node A.
    let agent = site_b
        .try_login("budi@demo.layan.test", "layan-demo-2026")
        .await
        .expect("demo login on node B");
    let ws_b = site_b.ws_url("/api/v1/agent/ws");
    let mut agent_ws = ws_connect(&ws_b, Some(&agent.cookie)).await.unwrap();
    assert_eq!(ws_next(&mut agent_ws).await["type"], "hello");
    let token = site_a.visitor().await;
    let mut widget = ws_connect(&site_a.ws_url("/api/v1/widget/ws"), None)
        .await
        .unwrap();
    ws_send(
        &mut widget,
        json!({"type": "hello", "key": DEMO_KEY, "token": token}),
    )
    .await;
    let ready = ws_next(&mut widget).await;
    assert_eq!(
        ready["agents_online"], 1,
        "node A knows Budi is online on node B: {ready}"
    );

    ws_send(
        &mut widget,
        json!({"type": "send", "client_message_id": "x1", "body": "halo dari node A"}),
    )
    .await;
    let (ack, _) = common::ws_until(&mut widget, "ack").await;
    let conv = ack["conversation"]["id"].as_i64().unwrap();
    // Other updates may come first (the demo inbox acknowledges and routes new conversations).
    let mut update = Value::Null;
    for _ in 0..5 {
        update = common::ws_until(&mut agent_ws, "conversation").await.0;
        if update["new_message"]["body"] == "halo dari node A" {
            break;
        }
    }
    assert_eq!(
        update["new_message"]["body"], "halo dari node A",
        "node A's message reached node B live"
    );

    let reply = agent
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            json!({"body": "balasan dari node B"}),
        )
        .await;
    assert_eq!(reply.status(), 201);
    // The demo inbox's acknowledgement (a job, on either node) may come before or after it.
    let mut msg = Value::Null;
    for _ in 0..3 {
        msg = common::ws_until(&mut widget, "message").await.0;
        if msg["message"]["body"] == "balasan dari node B" {
            break;
        }
    }
    assert_eq!(
        msg["message"]["body"], "balasan dari node B",
        "node B's reply reached node A live"
    );
    let seen = msg["message"]["seq"].as_i64().unwrap().max(2);
    // Whatever came before the resume point is not sent again; what came after is.
    let skip_ack = seen == 2;

    // Node A dies. The agent answers twice more; the widget resumes on node B with exactly those.
    let mut a = node_a.child;
    a.start_kill().unwrap();
    a.wait().await.unwrap();
    for body in ["tiga", "empat"] {
        agent
            .post(
                &format!("/api/v1/conversations/{conv}/messages"),
                json!({"body": body}),
            )
            .await;
    }
    let mut widget = ws_connect(&site_b.ws_url("/api/v1/widget/ws"), None)
        .await
        .unwrap();
    ws_send(&mut widget, json!({"type": "hello", "key": DEMO_KEY, "token": token, "conversation_id": conv, "after_seq": seen})).await;
    assert_eq!(ws_next(&mut widget).await["type"], "ready");
    let mut got = Vec::new();
    for _ in 0..(if skip_ack { 3 } else { 2 }) {
        let f = ws_next(&mut widget).await;
        assert_eq!(f["type"], "message", "{f}");
        if f["message"]["direction"] != "bot" {
            got.push(f["message"]["body"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(got, ["tiga", "empat"]);
    common::ws_quiet(&mut widget, "message", 300).await;
    drop(node_b);
}

/// A TCP proxy to PostgreSQL that the test can cut and restore, to play a database outage.
struct Proxy {
    port: u16,
    stop: tokio_util::sync::CancellationToken,
}

impl Proxy {
    async fn start(port: u16, target: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("proxy bind");
        let port = listener.local_addr().expect("proxy address").port();
        let stop = tokio_util::sync::CancellationToken::new();
        let token = stop.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = token.cancelled() => return,
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { return };
                        let token = token.clone();
                        tokio::spawn(async move {
                            let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else { return };
                            tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                                () = token.cancelled() => {}
                            }
                        });
                    }
                }
            }
        });
        Self { port, stop }
    }
}

#[tokio::test]
async fn a_database_outage_gives_503_loses_nothing_and_recovers_without_restart() {
    if layan_store::testing::selected() != layan_store::testing::Backend::Postgres {
        eprintln!(
            "\n!!! SKIPPING the database-outage test: it cuts a PostgreSQL connection (LAYAN_TEST_DATABASE=postgres)\n"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path()).await;
    let target: std::net::SocketAddr = "127.0.0.1:5432".parse().unwrap();
    let proxy = Proxy::start(0, target).await;
    let port = proxy.port;
    // The same database and schema, reached through the proxy.
    let via_proxy = db.replacen("127.0.0.1:5432", &format!("127.0.0.1:{port}"), 1);
    assert_ne!(
        via_proxy, db,
        "the test database URL must name 127.0.0.1:5432"
    );
    let node = start("demo", dir.path(), &via_proxy).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let token = common::Site::with_key(&node.base, DEMO_KEY).visitor().await;
    send(&http, &node.base, &token, "before")
        .await
        .expect("stored while the database is up");

    proxy.stop.cancel();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let res = http
        .post(format!("{}/api/v1/widget/messages", node.base))
        .header("x-layan-inbox", DEMO_KEY)
        .bearer_auth(&token)
        .json(&json!({"body": "during", "client_message_id": "during"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "database_unavailable");
    let health = http
        .get(format!("{}/healthz", node.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the process itself is alive");
    let ready = http
        .get(format!("{}/readyz", node.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503, "but not ready");

    // Meanwhile another node publishes a help article: its notification cannot reach this node.
    let other_dir = tempfile::tempdir().unwrap();
    let other = start("serve", other_dir.path(), &db).await;
    let admin = common::Site::with_key(&other.base, DEMO_KEY)
        .try_login("ana@demo.layan.test", "layan-demo-2026")
        .await
        .expect("the demo admin signs in on the other node");
    let res = admin
        .call(
            "POST",
            "/api/v1/kb/articles",
            Some(json!({"slug": "outage-notes", "translations": [{"locale": "en",
                "title": "Zeppelin deliveries", "body": "We deliver by zeppelin.", "status": "published"}]})),
        )
        .await;
    assert_eq!(res.status(), 201);

    // The database comes back: the same node recovers, and the retried send is stored once.
    let _back = Proxy::start(port, target).await;
    let mut stored = None;
    for _ in 0..40 {
        if let Ok(v) = send(&http, &node.base, &token, "during").await {
            stored = Some(v);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let stored = stored.expect("recovered without a restart");
    assert_eq!(
        stored["duplicate"], false,
        "the refused send had not been stored"
    );
    // After the first message (and the acknowledgement, if its job ran before the outage).
    assert!(stored["message"]["seq"].as_i64().unwrap() >= 2);
    // Its listener reconnected, knows notifications were lost, and re-read the help center.
    let mut found = Value::Null;
    for _ in 0..120 {
        found = http
            .get(format!(
                "{}/api/v1/widget/help/search?locale=en&q=zeppelin",
                node.base
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if found["results"].as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(found["results"][0]["slug"], "outage-notes", "{found}");
    drop(other);
    drop(node);
}

#[tokio::test]
async fn an_unreachable_database_at_start_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        Command::new(env!("CARGO_BIN_EXE_layan"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                "postgres://postgres@127.0.0.1:1/nowhere",
                "--data",
            ])
            .arg(dir.path())
            .env("LAYAN_LOG", "warn")
            .env_remove("RUST_BACKTRACE")
            .output(),
    )
    .await
    .expect("gives up within 30 s")
    .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("opening the PostgreSQL database"), "{err}");
    assert!(
        !err.contains("postgres://"),
        "the URL (which may hold a password) is not printed: {err}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).is_empty(),
        "never said it was listening"
    );
}

#[tokio::test]
async fn search_rebuild_shows_progress_and_refuses_while_the_server_holds_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path()).await;
    let mut server = start("demo", dir.path(), &db).await;
    let rebuild = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_layan"))
            .args(["search", "rebuild", "--data"])
            .arg(dir.path())
            .args(["--database-url", &db])
            .env("LAYAN_LOG", "warn")
            .output()
            .expect("run layan search rebuild")
    };
    let busy = rebuild();
    assert!(!busy.status.success());
    let err = String::from_utf8_lossy(&busy.stderr);
    assert!(err.contains("in use"), "{err}");

    std::process::Command::new("kill")
        .args(["-TERM", &pid(&server.child)])
        .status()
        .unwrap();
    server.child.wait().await.unwrap();
    let out = rebuild();
    let err = String::from_utf8_lossy(&out.stderr);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{err}");
    // The demo shop has sample conversations: at least one message, all of them indexed.
    let last = err.lines().last().unwrap_or_default().to_owned();
    let (done, total) = last
        .strip_prefix("indexed ")
        .and_then(|r| r.split_once(" messages"))
        .and_then(|(n, _)| n.split_once(" of "))
        .map(|(d, t)| (d.parse::<u64>().unwrap(), t.parse::<u64>().unwrap()))
        .unwrap_or_else(|| panic!("progress line, got {err}"));
    assert!(total > 0 && done == total, "{last}");
    assert!(last.ends_with("(100%)"), "{last}");
    assert!(
        text.contains(&format!("rebuilt: {total} messages")),
        "{text}"
    );
}

#[tokio::test]
async fn orders_import_from_csv_and_json_with_progress_reports_bad_rows_and_is_repeatable() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path()).await;
    let csv = dir.path().join("orders.csv");
    std::fs::write(
        &csv,
        "id,number,email,name,currency,total,financial_status,fulfillment_status,placed_at,updated_at,carrier,tracking_number,tracking_url,shipment_status\n\
         1001,#1001,sari@example.test,Sari,IDR,150000,paid,fulfilled,2026-11-01T10:00:00+07:00,,JNE,JNE1,https://jne.test/JNE1,delivered\n\
         1002,#1002,budi@example.test,,IDR,lots,paid,,2026-11-02T10:00:00+07:00,,,,,\n\
         1003,#1003,,,IDR,99000.50,pending,none,2026-11-03T10:00:00+07:00,2026-11-03T11:00:00+07:00,,,,\n",
    )
    .unwrap();
    let json = dir.path().join("orders.json");
    std::fs::write(
        &json,
        serde_json::to_string(&json!([
            {"id": "W-1", "number": "#W1", "email": "Sari@Example.test", "currency": "EUR", "total": "89.95",
             "financial_status": "paid", "placed_at": "2026-11-05T09:00:00+01:00",
             "lines": [{"title": "Batik sjaal", "quantity": 1, "price": "89.95"}]},
            {"id": "W-2", "number": "#W2", "currency": "EUR", "total": "10", "placed_at": "yesterday"},
            {"id": "W-3", "number": "#W3", "currency": "EUR", "total": "10", "placed_at": "2026-11-05T09:00:00Z", "surprise": 1}
        ]))
        .unwrap(),
    )
    .unwrap();
    let import = |file: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_layan"))
            .args(["orders", "import"])
            .arg(file)
            .arg("--data")
            .arg(dir.path())
            .args(["--database-url", &db])
            .env("LAYAN_LOG", "warn")
            .output()
            .expect("run layan orders import")
    };
    let out = import(&csv);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        !out.status.success(),
        "a bad row makes the exit status say so"
    );
    assert!(
        stdout.contains("Orders: 2 imported, 0 unchanged, 1 not imported"),
        "{stdout}"
    );
    assert!(stderr.contains("imported 3 of 3 orders (100%)"), "{stderr}");
    assert!(
        stderr.contains("not imported: row 3: total"),
        "the bad row by its line: {stderr}"
    );

    let out = import(&json);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        stdout.contains("Orders: 1 imported, 0 unchanged, 2 not imported"),
        "{stdout}"
    );
    assert!(
        stderr.contains("not imported: order 2: placed_at"),
        "{stderr}"
    );
    assert!(
        stderr.contains("not imported: order 3: unknown field `surprise`"),
        "{stderr}"
    );

    // Again: the same orders are written again (same content, nothing added).
    let out = import(&csv);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Orders: 2 imported, 0 unchanged, 1 not imported"),
        "{stdout}"
    );
    // An older version of an order is left alone.
    let older = dir.path().join("older.csv");
    std::fs::write(
        &older,
        "id,number,currency,total,placed_at,updated_at
1003,#1003,IDR,1,2026-11-03T10:00:00+07:00,2026-11-03T10:30:00+07:00
",
    )
    .unwrap();
    let out = import(&older);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        stdout.contains("Orders: 0 imported, 1 unchanged, 0 not imported"),
        "{stdout}"
    );

    let store = layan_store::Store::open(&layan_store::testing::config_for(&db))
        .await
        .unwrap();
    let sari = store
        .contact_by_email("sari@example.test")
        .await
        .unwrap()
        .expect("one contact");
    let orders = store.orders_of_contact(sari.id, 10).await.unwrap();
    let numbers: Vec<&str> = orders.iter().map(|o| o.number.as_str()).collect();
    assert_eq!(
        numbers,
        ["#W1", "#1001"],
        "both files' orders on the one customer"
    );
    assert_eq!(orders[1].status(), "delivered");
    assert_eq!(orders[1].tracking_url(), Some("https://jne.test/JNE1"));
    store.close().await;
}

#[tokio::test]
async fn products_import_from_csv_reports_bad_rows_and_is_repeatable() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path()).await;
    let csv = dir.path().join("products.csv");
    std::fs::write(
        &csv,
        "id,title,price,currency,url,stock,keywords,active,updated_at\n\
         B-1,Batik tulis Parang,350000,IDR,https://toko.test/p/parang,3,kemeja solo,true,2026-11-01T10:00:00+07:00\n\
         B-2,Selendang sutra,murah,IDR,,,,,\n\
         B-3,Sarung tenun,125000.50,IDR,javascript:alert(1),,,,\n\
         B-4,Kain lurik,99000,IDR,,0,,,\n",
    )
    .unwrap();
    let import = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_layan"))
            .args(["products", "import"])
            .arg(&csv)
            .arg("--data")
            .arg(dir.path())
            .args(["--database-url", &db])
            .env("LAYAN_LOG", "warn")
            .output()
            .expect("run layan products import")
    };
    let out = import();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        !out.status.success(),
        "bad rows make the exit status say so"
    );
    assert!(
        stdout.contains("Products: 2 imported, 0 unchanged, 2 not imported"),
        "{stdout}"
    );
    assert!(
        stderr.contains("imported 4 of 4 products (100%)"),
        "{stderr}"
    );
    assert!(stderr.contains("not imported: row 3: price"), "{stderr}");
    assert!(stderr.contains("not imported: row 4: url"), "{stderr}");
    let again = import();
    assert!(
        String::from_utf8_lossy(&again.stdout)
            .contains("Products: 0 imported, 2 unchanged, 2 not imported")
    );

    let store = layan_store::Store::open(&layan_store::testing::config_for(&db))
        .await
        .unwrap();
    let found = store
        .search_products(&layan_store::ProductQuery {
            words: vec!["parang".into()],
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        (
            found[0].price.as_str(),
            found[0].stock,
            found[0].url.as_deref()
        ),
        ("350000", Some(3), Some("https://toko.test/p/parang"))
    );
    store.close().await;
}

/// SIGKILL while the server is fetching a mailbox of 60 mails (some stored, some not yet): after
/// a restart every mail is a message exactly once, and none is left unread on the IMAP server.
/// A mail is marked read only after its commit, and one fetched again is recognised.
#[tokio::test]
async fn sigkill_while_fetching_mail_loses_and_doubles_nothing() {
    if !mail::available() {
        return;
    }
    const MAILS: usize = 60;
    // The test's mails among those received (the demo has one of its own).
    let ours = |list: &Value| {
        list.as_array().map_or(0, |l| {
            l.iter()
                .filter(|m| {
                    m["sender"]
                        .as_str()
                        .is_some_and(|s| s.starts_with("pembeli"))
                })
                .count()
        })
    };
    let servers = mail::MailServers::start().await;
    for i in 0..MAILS {
        let raw = format!(
            "From: pembeli{i}@example.test\r\nTo: help@shop.test\r\nSubject: Pesanan {i}\r\n\
             Message-ID: <crash-{i}@example.test>\r\n\r\nmail nomor {i}\r\n"
        );
        servers.deliver(raw.as_bytes()).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path()).await;
    let env = [("LAYAN_EMAIL_POLL_SECONDS", "1")];
    let mut server = start_with("demo", dir.path(), &db, &env).await;
    let app = common::Site::new(&server.base);
    let ana = app
        .try_login("ana@demo.layan.test", "layan-demo-2026")
        .await
        .unwrap();
    let res = ana
        .post(
            "/api/v1/email-inboxes",
            json!({"name": "Email", "settings": servers.settings("help@shop.test")}),
        )
        .await;
    assert_eq!(res.status(), 201);
    // Kill it as soon as some mails are stored and others are not.
    let mut stored_at_kill = 0;
    for _ in 0..2000 {
        let n = ours(&ana.json("/api/v1/inbound-emails").await);
        if n > 0 {
            stored_at_kill = n;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let status = std::process::Command::new("kill")
        .args(["-KILL", &pid(&server.child)])
        .status()
        .unwrap();
    assert!(status.success());
    server.child.wait().await.unwrap();
    assert!(
        stored_at_kill > 0 && stored_at_kill < MAILS,
        "killed mid-fetch ({stored_at_kill} of {MAILS} stored)"
    );
    let unseen_at_kill = servers.unseen().await;
    assert!(unseen_at_kill > 0, "some mails were not fetched yet");

    let server = start_with("demo", dir.path(), &db, &env).await;
    let app = common::Site::new(&server.base);
    let ana = app
        .try_login("ana@demo.layan.test", "layan-demo-2026")
        .await
        .unwrap();
    let mine = |list: &Value| -> Vec<Value> {
        list.as_array()
            .unwrap()
            .iter()
            .filter(|c| {
                c["contact_email"]
                    .as_str()
                    .is_some_and(|e| e.starts_with("pembeli"))
            })
            .cloned()
            .collect()
    };
    for _ in 0..600 {
        let list = ana.json("/api/v1/conversations?view=all&limit=200").await;
        if mine(&list).len() >= MAILS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Give a duplicate the chance to show up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let conversations = mine(&ana.json("/api/v1/conversations?view=all&limit=200").await);
    let bodies: Vec<&str> = conversations
        .iter()
        .map(|c| c["last_message"]["body"].as_str().unwrap())
        .collect();
    let distinct: HashSet<&&str> = bodies.iter().collect();
    assert_eq!(
        bodies.len(),
        MAILS,
        "every mail once (killed with {stored_at_kill} stored)"
    );
    assert_eq!(distinct.len(), MAILS);
    for c in &conversations {
        assert_eq!(
            c["last_message"]["seq"], 1,
            "one message per conversation: {c}"
        );
    }
    assert_eq!(servers.unseen().await, 0);
    assert_eq!(ours(&ana.json("/api/v1/inbound-emails").await), MAILS);
    drop(server);
}
