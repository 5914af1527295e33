//! Settings, layered: built-in defaults → a TOML file → `LAYAN_*` environment variables → command
//! line flags. One typed struct, passed explicitly; secrets print as `[redacted]`.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use layan_store::{DatabaseConfig, PostgresOptions, SqliteOptions};
use serde::{Deserialize, Serialize};

/// A string that never shows up in logs or `Debug` output.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address and port to listen on (also `--listen`).
    pub listen: SocketAddr,
    /// The data directory; the SQLite database is `layan.db` in it (also `--data`).
    pub data: PathBuf,
    /// Empty: SQLite in the data directory. `sqlite://PATH` for another SQLite file;
    /// `postgres://user:password@host:5432/db` for PostgreSQL, which several nodes may share
    /// (`?options=-c%20search_path%3DNAME` for another schema). Redacted when printed (also
    /// `--database-url`).
    pub database_url: Option<Secret>,
    /// PostgreSQL connections per node.
    pub database_pool_size: u32,
    /// fsync the SQLite database on every commit, so an acknowledged message survives a power cut,
    /// not only a crash.
    pub sqlite_fsync: bool,
    /// Mark session cookies `Secure`: turn on when serving over HTTPS.
    pub cookie_secure: bool,
    /// Behind a reverse proxy: take the caller's address (for login rate limits and the audit
    /// log) from the last `X-Forwarded-For` entry. Only when every request comes through the proxy.
    pub trust_forwarded_for: bool,
    /// Seconds a client has to send a request's headers, and the longest pause while it sends
    /// a body; an idle kept-alive connection closes after it too. Slow or stalled clients
    /// cannot hold connections open.
    pub http_timeout_seconds: u64,
    /// Open connections one IP address may hold at once (further ones are closed at once);
    /// 0 for no limit. Not applied with `trust_forwarded_for` (every connection then comes
    /// from the proxy, which limits them).
    pub max_connections_per_ip: u32,
    /// New chat sessions (visitors) one IP address may start per hour, per node; 0: no limit.
    /// Many shoppers behind one carrier's address share it: keep it generous.
    pub widget_sessions_per_hour: u32,
    /// Chat messages one visitor may send per minute (one address: twenty times as many), per
    /// node; 0: no limit. The widget keeps a message over the limit and sends it later.
    pub widget_messages_per_minute: u32,
    /// "Leave a message" forms one IP address may send per hour, per node; 0: no limit.
    pub widget_offline_per_hour: u32,
    /// Help-center votes one IP address may give per hour, per node; 0: no limit.
    pub help_votes_per_hour: u32,
    /// Chat connections one visitor may hold open at once (tabs); 0: no limit.
    pub widget_sockets_per_visitor: u32,
    /// Seconds an agent may be disconnected before counting as offline (a page reload is not going
    /// offline); then inboxes that reassign on offline put their open conversations back in the
    /// queue.
    pub offline_grace_seconds: u64,
    /// The Shopify webhook signing secret (the app's client secret, or the one shown under
    /// Settings → Notifications → Webhooks). Set it to receive orders at `POST
    /// /api/v1/webhooks/shopify`; unset, that endpoint answers 404. Redacted when printed.
    pub shopify_webhook_secret: Option<Secret>,
    /// The WooCommerce webhook secret (WooCommerce → Settings → Advanced → Webhooks). Set it to
    /// receive orders at `POST /api/v1/webhooks/woocommerce`; unset, that endpoint answers 404.
    /// Redacted when printed.
    pub woocommerce_webhook_secret: Option<Secret>,
    /// The secret the shop signs its signed-in shoppers' widget identities with (a JWT, HS256:
    /// `{"email", "name", "exp"}`, given to the widget as `data-identity`). Unset, identities are
    /// refused and every visitor is anonymous. Redacted when printed.
    pub widget_identity_secret: Option<Secret>,
    /// The shop's country as an ISO code (`ID`, `TH`, `NL`, `BE`, `DE`, `GB`, `MY`, `PH`, `VN`,
    /// `AU`, `SG`, `US`): phone numbers written without a country code (`0812…`) are read as
    /// this country's. Unset, such numbers are refused with a clear error.
    pub phone_country: Option<String>,
    /// The shop's Shopify address (`https://your-shop.myshopify.com`) for order actions —
    /// refund, cancel, resend from the conversation — through the Admin API. Needs
    /// `shopify_admin_token`.
    pub shopify_admin_url: Option<String>,
    /// A Shopify Admin API access token with the `write_orders` scope. Redacted when printed.
    pub shopify_admin_token: Option<Secret>,
    /// Seconds a request to the store's API may take (1–120). An order action the store has
    /// not answered by then is recorded as in doubt: trying it again first asks the store
    /// whether it was done, and counts it as not done only eight times as long after it was
    /// sent (the store has finished anything it received by then).
    pub shopify_admin_timeout_seconds: u64,
    /// The shop's Shopify domain (`your-shop.myshopify.com`); defaults to the host of
    /// `shopify_admin_url`. Privacy webhooks (`customers/redact`) are carried out only for this
    /// shop, and products link to it. Without it, `customers/redact` answers 409 and erases
    /// nothing.
    pub shopify_shop_domain: Option<String>,
    /// How often (seconds) each node looks for orders a proactive-message rule applies to
    /// (a late shipment, an order unfulfilled too long, a delivery to follow up).
    pub proactive_sweep_seconds: u64,
    /// How often (seconds) each node checks the email inboxes' IMAP mailboxes for new mail.
    pub email_poll_seconds: u64,
    /// A PEM file of certificate authorities to trust for mail servers besides the public ones
    /// (a shop's own mail server with a private CA).
    pub email_ca_file: Option<PathBuf>,
    /// Non-public hosts Layan may connect to for the addresses admins type (mail servers, the
    /// language model, the store's API): host names, addresses or networks, e.g.
    /// `["127.0.0.1", "mail.internal", "10.0.0.0/8"]`, or `["*"]` for any. Loopback, private,
    /// link-local (cloud metadata) and other non-public addresses are refused otherwise; set it
    /// when the shop's mail server runs on the same machine or network. In a variable, a
    /// comma-separated list: `LAYAN_OUTBOUND_ALLOW=127.0.0.1,mail.internal`.
    #[serde(deserialize_with = "list_or_commas")]
    pub outbound_allow: Vec<String>,
    /// The key file the secrets stored in the database (mail passwords, the language model's
    /// key, reply-token secrets) are sealed with; created with a new key when missing. Default:
    /// `secret.key` in the data directory. Nodes sharing one PostgreSQL database need the same
    /// file. Back it up with the database; rotate it with `layan secrets rotate`.
    pub secret_key_file: Option<PathBuf>,
    /// Log filter in `tracing` syntax, e.g. `info` or `layan_web=debug,info`.
    pub log: String,
    /// `text` or `json`.
    pub log_format: LogFormat,
}

/// A list of strings, or one string of comma-separated items (as an environment variable gives).
fn list_or_commas<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        List(Vec<String>),
        One(String),
    }
    Ok(match Either::deserialize(d)? {
        Either::List(l) => l,
        Either::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data: PathBuf::from("./layan-data"),
            database_url: None,
            database_pool_size: 16,
            sqlite_fsync: true,
            cookie_secure: false,
            trust_forwarded_for: false,
            offline_grace_seconds: 60,
            widget_sessions_per_hour: 600,
            widget_messages_per_minute: 30,
            widget_offline_per_hour: 20,
            help_votes_per_hour: 60,
            widget_sockets_per_visitor: 10,
            http_timeout_seconds: 15,
            max_connections_per_ip: 256,
            shopify_webhook_secret: None,
            woocommerce_webhook_secret: None,
            widget_identity_secret: None,
            phone_country: None,
            shopify_admin_url: None,
            shopify_admin_token: None,
            shopify_admin_timeout_seconds: 15,
            shopify_shop_domain: None,
            proactive_sweep_seconds: 60,
            email_poll_seconds: 60,
            email_ca_file: None,
            outbound_allow: Vec::new(),
            secret_key_file: None,
            log: "info".into(),
            log_format: LogFormat::Text,
        }
    }
}

/// Values given on the command line; they override everything else.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<Secret>,
}

/// The settings' keys. Only these are read from `LAYAN_*` variables: other variables with that
/// prefix (`LAYAN_CONFIG`, `LAYAN_NEW_PASSWORD`, a test harness's own) are not settings. A file, in
/// contrast, may hold only settings, so a typo there is an error.
const KEYS: &[&str] = &[
    "listen",
    "data",
    "database_url",
    "database_pool_size",
    "sqlite_fsync",
    "cookie_secure",
    "trust_forwarded_for",
    "http_timeout_seconds",
    "max_connections_per_ip",
    "widget_sessions_per_hour",
    "widget_messages_per_minute",
    "widget_offline_per_hour",
    "help_votes_per_hour",
    "widget_sockets_per_visitor",
    "offline_grace_seconds",
    "shopify_webhook_secret",
    "woocommerce_webhook_secret",
    "widget_identity_secret",
    "phone_country",
    "shopify_admin_url",
    "shopify_admin_token",
    "shopify_admin_timeout_seconds",
    "shopify_shop_domain",
    "proactive_sweep_seconds",
    "email_poll_seconds",
    "email_ca_file",
    "outbound_allow",
    "secret_key_file",
    "log",
    "log_format",
];

impl Settings {
    /// Loads the layers. `file` is the TOML file to read (`--config` or `LAYAN_CONFIG`); when it is
    /// `None`, `./layan.toml` is read if it exists.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, Box<figment::Error>> {
        Self::load_from(file, overrides, Env::prefixed("LAYAN_"))
    }

    fn load_from(
        file: Option<&Path>,
        overrides: &Overrides,
        env: Env,
    ) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match file {
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None => figment = figment.merge(Toml::file("layan.toml")),
        }
        let env = env.only(KEYS);
        figment
            .merge(env)
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(Box::new)
    }

    /// The key file stored secrets are sealed with.
    pub fn secret_key_path(&self) -> PathBuf {
        self.secret_key_file
            .clone()
            .unwrap_or_else(|| self.data.join("secret.key"))
    }

    /// The keys for stored secrets (the file is created, with the data directory, when
    /// missing; a directory made here is the server's alone).
    pub fn secret_box(&self) -> anyhow::Result<layan_engine::secrets::SecretBox> {
        let path = self.secret_key_path();
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
            && !dir.exists()
        {
            std::fs::create_dir_all(dir)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
            }
        }
        Ok(layan_engine::secrets::SecretBox::open_or_create(&path)?)
    }

    /// The database to open.
    pub fn database(&self) -> Result<DatabaseConfig, String> {
        let url = self.database_url.as_ref().map(Secret::expose).unwrap_or("");
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut opts = PostgresOptions::new(url);
            opts.max_connections = self.database_pool_size;
            return Ok(DatabaseConfig::Postgres(opts));
        }
        let path = match url {
            "" => self.data.join("layan.db"),
            url => match url.strip_prefix("sqlite://") {
                Some(path) => PathBuf::from(path),
                None => {
                    return Err("database_url must start with sqlite:// or postgres://".into());
                }
            },
        };
        let mut opts = SqliteOptions::new(path);
        opts.fsync_every_commit = self.sqlite_fsync;
        Ok(DatabaseConfig::Sqlite(opts))
    }
}

/// The settings table for the README, generated from the doc comments on [`Settings`]' fields
/// and the built-in defaults (`layan settings --markdown` prints it; a test keeps README.md equal).
pub fn markdown_table() -> String {
    const SOURCE: &str = include_str!("settings.rs");
    let defaults = serde_json::to_value(Settings::default()).unwrap_or_default();
    let body = SOURCE
        .split("pub struct Settings {")
        .nth(1)
        .and_then(|rest| rest.split("\n}").next())
        .unwrap_or_default();
    let mut out = String::from("| key | env | default | meaning |\n| --- | --- | --- | --- |\n");
    let mut doc: Vec<&str> = Vec::new();
    for line in body.lines().map(str::trim) {
        if let Some(text) = line.strip_prefix("///") {
            doc.push(text.trim());
        } else if let Some(field) = line.strip_prefix("pub ") {
            let key = field.split(':').next().unwrap_or_default().trim();
            let default = match &defaults[key] {
                serde_json::Value::Null => "(none)".to_owned(),
                serde_json::Value::String(v) => format!("`{v}`"),
                other => format!("`{other}`"),
            };
            out.push_str(&format!(
                "| `{key}` | `LAYAN_{}` | {default} | {} |\n",
                key.to_uppercase(),
                doc.join(" ")
            ));
            doc.clear();
        }
    }
    out
}

#[cfg(test)]
// figment::Jail's closures return its (large) error type; that is its API, not ours.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    /// README.md's settings table is the one generated from the doc comments: edit the comments,
    /// then paste `layan settings --markdown`.
    #[test]
    fn the_readme_table_is_generated_from_the_doc_comments() {
        let table = markdown_table();
        assert!(
            table.contains("| `offline_grace_seconds` | `LAYAN_OFFLINE_GRACE_SECONDS` | `60` |")
        );
        assert_eq!(table.lines().count(), KEYS.len() + 2, "a row per setting");
        let readme = include_str!("../../../README.md");
        assert!(
            readme.contains(&table),
            "README.md's settings table is out of date; replace it with `layan settings --markdown`:\n{table}"
        );
    }

    #[test]
    fn defaults_file_env_and_flags_layer_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "custom.toml",
                "listen = \"127.0.0.1:9000\"\ndata = \"/from-file\"\nlog = \"debug\"\n",
            )?;
            jail.set_env("LAYAN_DATA", "/from-env");
            jail.set_env("LAYAN_DATABASE_URL", "sqlite:///tmp/x.db");
            jail.set_env("LAYAN_CONFIG", "custom.toml");
            let s = Settings::load(Some(Path::new("custom.toml")), &Overrides::default())
                .map_err(|e| e.to_string())?;
            assert_eq!(s.listen.port(), 9000, "file beats default");
            assert_eq!(s.data, PathBuf::from("/from-env"), "env beats file");
            assert_eq!(s.log, "debug");
            assert!(!format!("{s:?}").contains("/tmp/x.db"), "secret redacted");

            let flags = Overrides {
                data: Some("/from-flag".into()),
                ..Overrides::default()
            };
            let s = Settings::load(Some(Path::new("custom.toml")), &flags)
                .map_err(|e| e.to_string())?;
            assert_eq!(s.data, PathBuf::from("/from-flag"), "flags beat env");
            Ok(())
        });
    }

    #[test]
    fn every_setting_is_read_from_the_environment() {
        let value = serde_json::to_value(Settings::default()).unwrap_or_default();
        let mut keys: Vec<_> = value
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        let mut known: Vec<_> = KEYS.iter().map(|k| k.to_string()).collect();
        known.sort();
        assert_eq!(keys, known);
    }

    #[test]
    fn outbound_allow_is_a_list_in_a_file_and_commas_in_a_variable() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "l.toml",
                "outbound_allow = [\"10.0.0.0/8\", \"mail.internal\"]\n",
            )?;
            let s = Settings::load(Some(Path::new("l.toml")), &Overrides::default())
                .map_err(|e| e.to_string())?;
            assert_eq!(s.outbound_allow, ["10.0.0.0/8", "mail.internal"]);
            jail.set_env("LAYAN_OUTBOUND_ALLOW", "127.0.0.1, ::1");
            let s = Settings::load(Some(Path::new("l.toml")), &Overrides::default())
                .map_err(|e| e.to_string())?;
            assert_eq!(s.outbound_allow, ["127.0.0.1", "::1"]);
            Ok(())
        });
    }

    #[test]
    fn other_layan_variables_are_not_settings() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("LAYAN_BIN", "/somewhere/layan");
            jail.set_env("LAYAN_SQLITE_FSYNC", "false");
            let s = Settings::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert!(!s.sqlite_fsync);
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_bad_urls_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "lisen = \"x\"\n")?;
            assert!(Settings::load(Some(Path::new("bad.toml")), &Overrides::default()).is_err());
            let s = Settings {
                database_url: Some(Secret("mysql://u:p@h/db".into())),
                ..Settings::default()
            };
            assert!(s.database().is_err());
            let s = Settings {
                database_url: Some(Secret("postgres://u:p@h/db".into())),
                ..Settings::default()
            };
            assert!(matches!(s.database(), Ok(DatabaseConfig::Postgres(_))));
            assert!(
                !format!("{s:?} {:?}", s.database()).contains("u:p"),
                "redacted"
            );
            Ok(())
        });
    }
}
