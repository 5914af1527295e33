//! Real mail servers for the email tests, started on 127.0.0.1 and stopped on drop: Debian's
//! dovecot (IMAP, the shop's mailbox `shop` / `secret`) and an aiosmtpd SMTP server that keeps
//! every mail it accepts (`smtp_sink.py`). Without them the tests fail under `CI=true` and are
//! skipped with a loud message otherwise.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::TryStreamExt;

pub const IMAP_USER: &str = "shop";
pub const IMAP_PASSWORD: &str = "secret";
const DOVECOT: &str = "/usr/sbin/dovecot";
const PYTHON: &str = "/usr/bin/python3";

pub struct MailServers {
    pub imap_port: u16,
    pub smtp_port: u16,
    /// With TLS: the IMAPS port and the test CA's certificate (PEM file).
    pub imaps_port: Option<u16>,
    pub ca_file: Option<PathBuf>,
    dovecot: Child,
    sink: Child,
    pub dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether the servers can run here; `false` (with a loud message) lets a test skip, except
/// under CI where they must.
pub fn available() -> bool {
    let ok = Path::new(DOVECOT).exists()
        && Command::new(PYTHON)
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the email tests need dovecot-imapd and python3-aiosmtpd (see .ci/run)"
        );
        eprintln!(
            "!!! SKIPPING an email test: install dovecot-imapd and python3-aiosmtpd (apt) to run it"
        );
    }
    ok
}

async fn wait_listening(port: u16, what: &str, log: &Path) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{what} did not start: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// A test CA and a certificate for `localhost` / 127.0.0.1 signed by it (openssl).
fn make_certificates(root: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Layan test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        root.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    let _ = Command::new("chmod")
        .args(["644", "server.key"])
        .current_dir(root)
        .status();
}

impl MailServers {
    pub async fn start() -> Self {
        Self::start_with(false).await
    }

    /// With `tls`: dovecot offers IMAPS and STARTTLS, the SMTP server requires STARTTLS, both
    /// with a certificate from a test CA (`ca_file`).
    pub async fn start_with(tls: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        if tls {
            make_certificates(root);
        }
        for d in ["run", "state", "home", "sent"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(
            root.join("users"),
            format!("{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}::::::\n"),
        )
        .unwrap();
        let uid = String::from_utf8(Command::new("id").arg("-u").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string();
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string();
        // As root, mail is kept by Debian's `mail` user; otherwise by whoever runs the test.
        let (mail_user, extra) = if uid == "0" {
            let _ = Command::new("chown")
                .args(["-R", "mail:mail"])
                .arg(root.join("home"))
                .status();
            ("mail".to_string(), String::new())
        } else {
            (
                user.clone(),
                format!("default_login_user = {user}\ndefault_internal_user = {user}\n"),
            )
        };
        let imap_port = free_port();
        let imaps_port = tls.then(free_port);
        let r = root.display();
        let ssl = match imaps_port {
            Some(_) => format!(
                "ssl = yes\nssl_cert = <{r}/server.pem\nssl_key = <{r}/server.key\nssl_min_protocol = TLSv1.2\n"
            ),
            None => "ssl = no\n".to_string(),
        };
        let imaps = imaps_port.map_or(0, |p| p);
        let conf = format!(
            "base_dir = {r}/run\nstate_dir = {r}/state\nlog_path = {r}/dovecot.log\n\
             protocols = imap\nlisten = 127.0.0.1\n{ssl}disable_plaintext_auth = no\n\
             auth_mechanisms = plain login\nfirst_valid_uid = 1\n{extra}\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {r}/users\n}}\n\
             userdb {{\n  driver = static\n  args = uid={mail_user} gid={mail_user} home={r}/home/%u\n}}\n\
             mail_location = maildir:~/Maildir\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {imap_port}\n  }}\n  \
             inet_listener imaps {{\n    address = 127.0.0.1\n    port = {imaps}\n  }}\n}}\n"
        );
        std::fs::write(root.join("dovecot.conf"), conf).unwrap();
        let dovecot = Command::new(DOVECOT)
            .arg("-F")
            .arg("-c")
            .arg(root.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(root.join("dovecot.err")).unwrap())
            .spawn()
            .unwrap();
        let smtp_port = free_port();
        let mut sink = Command::new(PYTHON);
        sink.arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/smtp_sink.py"
        ))
        .arg(smtp_port.to_string())
        .arg(root.join("sent"));
        if tls {
            sink.arg(root.join("server.pem"))
                .arg(root.join("server.key"));
        }
        let sink = sink
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(root.join("sink.err")).unwrap())
            .spawn()
            .unwrap();
        let servers = Self {
            imap_port,
            smtp_port,
            imaps_port,
            ca_file: tls.then(|| root.join("ca.pem")),
            dovecot,
            sink,
            dir,
        };
        wait_listening(
            imap_port,
            "dovecot",
            &servers.dir.path().join("dovecot.err"),
        )
        .await;
        if let Some(p) = imaps_port {
            wait_listening(
                p,
                "dovecot (IMAPS)",
                &servers.dir.path().join("dovecot.err"),
            )
            .await;
        }
        wait_listening(
            smtp_port,
            "the SMTP sink",
            &servers.dir.path().join("sink.err"),
        )
        .await;
        servers
    }

    /// The settings of an email inbox using these servers.
    pub fn settings(&self, address: &str) -> serde_json::Value {
        serde_json::json!({
            "address": address,
            "from_name": "Toko Batik",
            "imap": {"host": "127.0.0.1", "port": self.imap_port, "security": "none",
                     "username": IMAP_USER, "password": IMAP_PASSWORD},
            "smtp": {"host": "127.0.0.1", "port": self.smtp_port, "security": "none"},
        })
    }

    async fn session(&self) -> async_imap::Session<tokio::net::TcpStream> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.imap_port))
            .await
            .unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap();
        client
            .login(IMAP_USER, IMAP_PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .unwrap()
    }

    /// A mail arrives in the shop's mailbox (IMAP APPEND, unread).
    pub async fn deliver(&self, raw: &[u8]) {
        let mut s = self.session().await;
        s.append("INBOX", None, None, raw).await.unwrap();
        s.logout().await.unwrap();
    }

    /// How many mails in the mailbox are unread.
    pub async fn unseen(&self) -> usize {
        let mut s = self.session().await;
        s.select("INBOX").await.unwrap();
        let n = s.uid_search("UNSEEN").await.unwrap().len();
        s.logout().await.unwrap();
        n
    }

    /// Marks every mail unread again, as if the flag had never been set (a crash after the
    /// commit and before the flag).
    pub async fn mark_all_unseen(&self) {
        let mut s = self.session().await;
        s.select("INBOX").await.unwrap();
        let _: Vec<_> = s
            .store("1:*", "-FLAGS.SILENT (\\Seen)")
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        s.logout().await.unwrap();
    }

    fn sent_dir(&self) -> PathBuf {
        self.dir.path().join("sent")
    }

    /// The mails the SMTP server accepted so far, in order, with their envelope recipients.
    pub fn sent(&self) -> Vec<(Vec<u8>, Vec<String>)> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.sent_dir())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|p| {
                let envelope: serde_json::Value = serde_json::from_str(
                    &std::fs::read_to_string(p.with_extension("json")).unwrap(),
                )
                .unwrap();
                let to = envelope["to"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_str().unwrap().to_string())
                    .collect();
                (std::fs::read(&p).unwrap(), to)
            })
            .collect()
    }

    /// Waits until at least `n` mails were accepted; returns them all.
    pub async fn wait_sent(&self, n: usize) -> Vec<(Vec<u8>, Vec<String>)> {
        for _ in 0..300 {
            let sent = self.sent();
            if sent.len() >= n {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the SMTP server got {} mails, not {n}", self.sent().len());
    }
}

impl Drop for MailServers {
    fn drop(&mut self) {
        // SIGTERM, so dovecot's master stops its login and auth processes too.
        let _ = Command::new("kill")
            .arg(self.dovecot.id().to_string())
            .status();
        let _ = self.sink.kill();
        let _ = self.dovecot.wait();
        let _ = self.sink.wait();
    }
}
