//! `layan`: parses the command line, loads settings, calls the library.

use std::{
    io::BufRead,
    path::{Path, PathBuf},
};

use anyhow::Context;
use clap::{Parser, Subcommand};
use layan::{
    Settings, demo,
    settings::{LogFormat, Overrides, Secret},
};
use layan_core::Role;
use layan_engine::Engine;
use layan_store::Store;

/// mimalloc instead of glibc's malloc: glibc keeps an arena per thread (Tokio's workers, SQLite's
/// and tantivy's threads) and memory freed in one is not reused by another — under the chat
/// benchmark the process grew to ~290 MiB, ~90 MiB with `MALLOC_ARENA_MAX=2` (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "layan", version, about = "Customer service for online stores")]
struct Cli {
    /// A TOML settings file (default: ./layan.toml when present).
    #[arg(long, global = true, env = "LAYAN_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// Data directory [default: ./layan-data; ./layan-demo for `demo`].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://… [default: SQLite in the data directory].
    #[arg(long)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Run the server with a seeded demo shop (agents, an inbox, sample conversations).
    Demo(ServeArgs),
    /// Manage agent accounts.
    Agent {
        #[command(subcommand)]
        command: AgentCommand,
    },
    /// Orders from the shop's store.
    Orders {
        #[command(subcommand)]
        command: OrdersCommand,
    },
    /// Products from the shop's store.
    Products {
        #[command(subcommand)]
        command: ProductsCommand,
    },
    /// Manage the conversation search index.
    Search {
        #[command(subcommand)]
        command: SearchCommand,
    },
    /// The answer bot.
    Bot {
        #[command(subcommand)]
        command: BotCommand,
    },
    /// The key the secrets stored in the database are sealed with.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Print the effective settings (secrets redacted), or with --markdown the documentation
    /// table of every setting.
    Settings {
        #[command(flatten)]
        args: ServeArgs,
        /// Print the settings' documentation (generated from the code) as a Markdown table.
        #[arg(long)]
        markdown: bool,
    },
}

#[derive(Subcommand)]
enum OrdersCommand {
    /// Import orders from a JSON or CSV file (formats in README), showing progress. Safe to run
    /// again: an order already stored with the same or a newer updated_at is left alone.
    Import {
        /// The file to read.
        file: PathBuf,
        /// json or csv [default: from the file's extension].
        #[arg(long)]
        format: Option<String>,
        #[command(flatten)]
        args: ServeArgs,
    },
}

#[derive(Subcommand)]
enum ProductsCommand {
    /// Import products from a JSON or CSV file (formats in README), showing progress. Safe to
    /// run again: a product already stored with the same or a newer updated_at is left alone.
    Import {
        /// The file to read.
        file: PathBuf,
        /// json or csv [default: from the file's extension].
        #[arg(long)]
        format: Option<String>,
        #[command(flatten)]
        args: ServeArgs,
    },
}

#[derive(Subcommand)]
enum BotCommand {
    /// Measure the intent classifier (built-in training phrases) on a labelled CSV file with the
    /// columns utterance,intent and optionally language: accuracy, per-intent precision and
    /// recall, confusions, out-of-scope rejection and latency; the last line is accuracy=0.NNN.
    Eval {
        /// The CSV file (the team's sets: crates/layan-bot/eval/*.csv).
        #[arg(long)]
        data: PathBuf,
        /// The confidence under which a message counts as out of scope (default: the bot's).
        #[arg(long)]
        threshold: Option<f32>,
        /// How intent scores combine: mixed (the bot's), nearest or centroid.
        #[arg(long, default_value = "mixed")]
        method: String,
        /// The language assumed for rows without one when the text does not tell.
        #[arg(long, default_value = "en")]
        language: String,
    },
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Seal every stored secret with a new key and drop the old one. Safe while the server
    /// runs (it reads the key file again); other nodes sharing the database need the new
    /// file copied to them. A rotation cut short is finished by running it again.
    Rotate {
        #[command(flatten)]
        args: ServeArgs,
    },
}

#[derive(Subcommand)]
enum SearchCommand {
    /// Index every message again from the database, showing progress. Stop the server (on this
    /// node) first: it holds the index while it runs.
    Rebuild {
        #[command(flatten)]
        args: ServeArgs,
    },
}

#[derive(Subcommand)]
enum AgentCommand {
    /// Create an agent. The password is read from LAYAN_NEW_PASSWORD or, if unset, from the first
    /// line of standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, supervisor or agent
        #[arg(long, default_value = "agent")]
        role: String,
        /// Data directory [default: ./layan-data].
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

fn load(cli_config: Option<&PathBuf>, overrides: &Overrides) -> anyhow::Result<Settings> {
    Settings::load(cli_config.map(PathBuf::as_path), overrides)
        .map_err(|e| anyhow::anyhow!("invalid settings: {e}"))
}

fn init_logs(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match settings.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(cli.config.as_ref(), args, false).await,
        Command::Demo(args) => serve(cli.config.as_ref(), args, true).await,
        Command::Orders {
            command: OrdersCommand::Import { file, format, args },
        } => {
            import_file(
                cli.config.as_ref(),
                &file,
                format.as_deref(),
                args,
                Kind::Orders,
            )
            .await
        }
        Command::Products {
            command: ProductsCommand::Import { file, format, args },
        } => {
            import_file(
                cli.config.as_ref(),
                &file,
                format.as_deref(),
                args,
                Kind::Products,
            )
            .await
        }
        Command::Search {
            command: SearchCommand::Rebuild { args },
        } => rebuild_search(cli.config.as_ref(), args).await,
        Command::Secrets {
            command: SecretsCommand::Rotate { args },
        } => rotate_secrets(cli.config.as_ref(), args).await,
        Command::Bot {
            command:
                BotCommand::Eval {
                    data,
                    threshold,
                    method,
                    language,
                },
        } => bot_eval(&data, threshold, &method, &language),
        Command::Settings { markdown: true, .. } => {
            print!("{}", layan::settings::markdown_table());
            Ok(())
        }
        Command::Settings { args, .. } => {
            let settings = settings_for(cli.config.as_ref(), args)?;
            println!("{settings:#?}");
            Ok(())
        }
        Command::Agent {
            command:
                AgentCommand::Create {
                    email,
                    name,
                    role,
                    data,
                },
        } => {
            let settings = load(
                cli.config.as_ref(),
                &Overrides {
                    data,
                    ..Overrides::default()
                },
            )?;
            let role = Role::parse(&role).context("role must be admin, supervisor or agent")?;
            let password = match std::env::var("LAYAN_NEW_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    eprintln!("Password for {email} (at least 10 characters):");
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let store = Store::open(&settings.database().map_err(anyhow::Error::msg)?).await?;
            let engine = Engine::new(store.clone());
            let agent = engine
                .create_agent(&email, &name, role, &password)
                .await
                .map_err(|e| anyhow::anyhow!("could not create the agent: {e}"))?;
            if store.list_inboxes().await?.is_empty() {
                // A fresh install: give the widget an inbox to talk to.
                store
                    .create_inbox(layan_store::NewInbox {
                        name: "Website chat",
                        widget_key: &layan_engine::auth::random_key("lw_"),
                        greeting: "Hi! How can we help you today?",
                        color: "#1f6feb",
                    })
                    .await?;
            }
            store.close().await;
            println!(
                "Created {} {} <{}>",
                agent.role.as_str(),
                agent.name,
                agent.email
            );
            Ok(())
        }
    }
}

/// `layan secrets rotate`: a new key first in the file (the old one still opens), every stored
/// secret sealed with it, then the old key dropped.
async fn rotate_secrets(config: Option<&PathBuf>, args: ServeArgs) -> anyhow::Result<()> {
    let settings = settings_for(config, args)?;
    let path = settings.secret_key_path();
    if !path.exists() {
        anyhow::bail!(
            "{} does not exist: start the server once first (it creates the key)",
            path.display()
        );
    }
    let secrets = std::sync::Arc::new(settings.secret_box()?);
    let store = Store::open(&settings.database().map_err(anyhow::Error::msg)?).await?;
    let engine = Engine::new(store.clone()).with_secrets(secrets.clone());
    let before = secrets.current_id();
    secrets.begin_rotation()?;
    // Pass after pass (from the database itself) until one finds nothing left to seal: a value
    // a running server saved meanwhile is caught by the next (it seals with the new key from
    // its next save on, having read the file again).
    let mut sealed = 0;
    let mut clean = false;
    for _ in 0..10 {
        let pass = engine.reseal_secrets().await.map_err(|e| {
            anyhow::anyhow!(
                "sealing the stored secrets again (run the command again to finish): {e}"
            )
        })?;
        sealed += pass.changed;
        if pass.unreadable > 0 {
            store.close().await;
            anyhow::bail!(
                "{} stored record(s) do not open with the keys in {} (sealed with a key from elsewhere?). \
                 The rotation is unfinished: the old key stays in the file, so nothing is lost; \
                 restore the right key or enter those secrets again, then run this again",
                pass.unreadable,
                path.display()
            );
        }
        if pass.changed == 0 && pass.raced == 0 {
            clean = true;
            break;
        }
    }
    if !clean {
        store.close().await;
        anyhow::bail!(
            "the stored secrets kept changing; the rotation is unfinished (nothing is lost): run it again"
        );
    }
    secrets.finish_rotation()?;
    store.close().await;
    println!(
        "Rotated the key for stored secrets: {before} -> {} ({sealed} records sealed again). \
         Copy {} to every other node sharing this database.",
        secrets.current_id(),
        path.display()
    );
    Ok(())
}

/// The settings with a command's `--listen`, `--data` and `--database-url` on top.
fn settings_for(config: Option<&PathBuf>, args: ServeArgs) -> anyhow::Result<Settings> {
    load(
        config,
        &Overrides {
            listen: args.listen,
            data: args.data,
            database_url: args.database_url.map(Secret::from),
        },
    )
}

/// Prints "`verb` done of total `things` (n%)" to standard error at the start, the end and at
/// most twice a second in between.
fn progress(verb: &'static str, things: &'static str) -> impl FnMut(u64, u64) {
    let mut last_shown = std::time::Instant::now();
    move |done, total| {
        if done == 0 || done == total || last_shown.elapsed().as_millis() >= 500 {
            last_shown = std::time::Instant::now();
            let percent = (done * 100).checked_div(total).unwrap_or(100);
            eprintln!("{verb} {done} of {total} {things} ({percent}%)");
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Orders,
    Products,
}

async fn import_file(
    config: Option<&PathBuf>,
    file: &std::path::Path,
    format: Option<&str>,
    args: ServeArgs,
    kind: Kind,
) -> anyhow::Result<()> {
    let settings = settings_for(config, args)?;
    let database = settings.database().map_err(anyhow::Error::msg)?;
    let (things, summary, store) = match kind {
        Kind::Orders => {
            let items = layan::import::read(file, format)?;
            let store = Store::open(&database).await?;
            let engine = Engine::new(store.clone());
            let summary = layan::import::run(&engine, items, progress("imported", "orders")).await;
            ("orders", summary, store)
        }
        Kind::Products => {
            let items = layan::import::read_products(file, format)?;
            let store = Store::open(&database).await?;
            let engine = Engine::new(store.clone());
            let summary =
                layan::import::run_products(&engine, items, progress("imported", "products")).await;
            ("products", summary, store)
        }
    };
    store.close().await;
    let summary = summary?;
    for problem in &summary.failed {
        eprintln!("not imported: {problem}");
    }
    let title = if things == "orders" {
        "Orders"
    } else {
        "Products"
    };
    println!(
        "{title}: {} imported, {} unchanged, {} not imported",
        summary.applied,
        summary.unchanged,
        summary.failed.len()
    );
    if summary.failed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "{} {things} could not be imported (listed above)",
            summary.failed.len()
        )
    }
}

async fn rebuild_search(config: Option<&PathBuf>, args: ServeArgs) -> anyhow::Result<()> {
    let settings = settings_for(config, args)?;
    let dir = layan::message_index_dir(&settings);
    let index = layan_search::MessageIndex::open(&dir).map_err(|e| match e {
        layan_search::SearchError::Busy => anyhow::anyhow!(
            "the search index in {} is in use: stop the Layan server using this data directory first",
            dir.display()
        ),
        other => anyhow::anyhow!("cannot open the search index in {}: {other}", dir.display()),
    })?;
    let store = Store::open(&settings.database().map_err(anyhow::Error::msg)?).await?;
    let engine = Engine::new(store.clone()).with_message_index(index);
    let started = std::time::Instant::now();
    let indexed = engine
        .rebuild_message_index(progress("indexed", "messages"))
        .await
        .map_err(|e| anyhow::anyhow!("rebuilding the search index failed: {e}"))?;
    store.close().await;
    println!(
        "Search index rebuilt: {indexed} messages in {:.1} s ({})",
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    Ok(())
}

async fn serve(config: Option<&PathBuf>, args: ServeArgs, demo: bool) -> anyhow::Result<()> {
    let data = args.data.or_else(|| {
        demo.then(|| PathBuf::from("./layan-demo"))
            .filter(|_| std::env::var_os("LAYAN_DATA").is_none())
    });
    let settings = load(
        config,
        &Overrides {
            listen: args.listen,
            data,
            database_url: args.database_url.map(Secret::from),
        },
    )?;
    init_logs(&settings);
    tracing::debug!(?settings, "settings");
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let running = layan::start(&settings, listener, demo).await?;
    let url = format!("http://{}", running.addr);
    // Tests and scripts read this line to find the port.
    println!("Layan listening on {url}");
    if demo {
        println!("Demo shop:   {url}/demo");
        println!("Agent inbox: {url}/app");
        for (name, email, role) in demo::DEMO_AGENTS {
            println!(
                "  {:<6} {name:<15} {email}  password: {}",
                role.as_str(),
                demo::DEMO_PASSWORD
            );
        }
    } else {
        let agents = running.engine.store().agent_count().await?;
        if agents == 0 {
            println!("First run: open {url}/setup to create the administrator account.");
        }
    }
    let shutdown = running.shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        shutdown.cancel();
    });
    running.wait().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

fn bot_eval(
    data: &Path,
    threshold: Option<f32>,
    method: &str,
    language: &str,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let method = layan_bot::Method::parse(method)
        .with_context(|| format!("--method {method:?}: mixed, nearest or centroid"))?;
    let fallback = layan_core::Locale::from_tag(language)
        .with_context(|| format!("--language {language:?}: en, id, th or nl"))?;
    let threshold = threshold.unwrap_or(layan_bot::settings::DEFAULT_THRESHOLD);
    anyhow::ensure!((0.0..=1.0).contains(&threshold), "--threshold: 0 to 1");
    let text =
        std::fs::read_to_string(data).with_context(|| format!("reading {}", data.display()))?;
    let rows = layan_bot::eval::read_csv(&text).with_context(|| format!("{}", data.display()))?;
    let classifier = layan_bot::Classifier::train(&layan_bot::data::builtin_phrases(), method);
    let report = layan_bot::eval::evaluate(&classifier, &rows, threshold, fallback);
    println!("{}", report.render());
    Ok(())
}
