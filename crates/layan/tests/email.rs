//! The email channel against real servers on 127.0.0.1: dovecot holds the shop's mailbox, an
//! aiosmtpd server receives what Layan sends. Threading (a thread of replies stays one ticket, a
//! forged reference from a stranger joins nothing), Thai TIS-620 and Dutch ISO-8859-1 mail,
//! safe HTML, attachments as downloads, a mail fetched again stored once, no acknowledgement to
//! automatic mail, bounces and refused deliveries shown on the reply, the hourly sender limit
//! and unreadable mail kept for an admin. On SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "support/mail.rs"]
mod mail;

use std::time::Duration;

use common::*;
use layan_channels::email::parse;
use mail::MailServers;
use serde_json::{Value, json};

const SHOP: &str = "help@shop.test";

struct Setup {
    app: TestApp,
    servers: MailServers,
    ana: Agent,
    inbox: i64,
}

async fn setup() -> Option<Setup> {
    if !mail::available() {
        return None;
    }
    let servers = MailServers::start().await;
    let app = spawn_app_with(|s| {
        // The tests fetch on demand ("check now"), so polling does not race them.
        s.email_poll_seconds = 3600;
    })
    .await;
    let ana = app.login("ana@shop.test").await;
    let res = ana
        .post(
            "/api/v1/email-inboxes",
            json!({"name": "Email", "settings": servers.settings(SHOP)}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let inbox = created["inbox"]["id"].as_i64().unwrap();
    assert_eq!(created["inbox"]["channel"], "email");
    // Passwords never come back.
    assert_eq!(created["email"]["settings"]["imap"]["password"], "********");
    // An email inbox takes no widget visitors.
    let res = app
        .http
        .post(format!("{}/api/v1/widget/session", app.base))
        .json(&json!({"key": created["inbox"]["widget_key"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    Some(Setup {
        app,
        servers,
        ana,
        inbox,
    })
}

impl Setup {
    /// Turns on the acknowledgement of new conversations for the email inbox.
    async fn auto_ack(&self) {
        let res = self
            .ana
            .call(
                "PATCH",
                &format!("/api/v1/inboxes/{}", self.inbox),
                Some(json!({"auto_ack": true})),
            )
            .await;
        assert_eq!(res.status(), 200);
    }

    /// "Check now"; returns how many new mails were stored.
    async fn fetch(&self) -> i64 {
        let res = self
            .ana
            .post(
                &format!("/api/v1/inboxes/{}/email/fetch", self.inbox),
                json!({}),
            )
            .await;
        assert_eq!(res.status(), 200);
        res.json::<Value>().await.unwrap()["fetched"]
            .as_i64()
            .unwrap()
    }

    /// The conversations of a customer (by email), waiting until there are `n`.
    async fn conversations_of(&self, email: &str, n: usize) -> Vec<i64> {
        let mut found = Vec::new();
        for _ in 0..200 {
            let list = self.ana.json("/api/v1/conversations?view=all").await;
            found = list
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["contact_email"] == email)
                .map(|c| c["id"].as_i64().unwrap())
                .collect();
            if found.len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if found.len() != n {
            panic!(
                "conversations of {email}: {found:?}, not {n}\n{}",
                self.diagnose().await
            );
        }
        found
    }

    /// The messages of a conversation once it has `n`.
    async fn messages(&self, conversation: i64, n: usize) -> Vec<Value> {
        let mut msgs = Vec::new();
        for _ in 0..200 {
            msgs = self
                .ana
                .json(&format!("/api/v1/conversations/{conversation}/messages"))
                .await
                .as_array()
                .unwrap()
                .clone();
            if msgs.len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if msgs.len() != n {
            panic!(
                "{} messages, not {n}: {msgs:#?}\n{}",
                msgs.len(),
                self.diagnose().await
            );
        }
        msgs
    }

    /// The job queue and received mails, for a failing test's message.
    async fn diagnose(&self) -> String {
        format!(
            "jobs: {:#}\ninbound: {:#}",
            self.ana.json("/api/v1/jobs").await,
            self.ana.json("/api/v1/inbound-emails").await
        )
    }

    async fn emails(&self, conversation: i64) -> Vec<Value> {
        self.ana
            .json(&format!("/api/v1/conversations/{conversation}/emails"))
            .await
            .as_array()
            .unwrap()
            .clone()
    }

    /// Waits until the mail of `message` has this delivery status; returns its email side.
    async fn delivery(&self, conversation: i64, message: i64, status: &str) -> Value {
        let mut last = Value::Null;
        for _ in 0..300 {
            if let Some(e) = self
                .emails(conversation)
                .await
                .into_iter()
                .find(|e| e["message_id"] == message)
            {
                if e["delivery"] == status {
                    return e;
                }
                last = e;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "message {message} never became {status}: {last:#}\n{}",
            self.diagnose().await
        );
    }

    async fn reply(&self, conversation: i64, text: &str) -> i64 {
        let res = self
            .ana
            .post(
                &format!("/api/v1/conversations/{conversation}/messages"),
                json!({"body": text}),
            )
            .await;
        assert_eq!(res.status(), 201);
        res.json::<Value>().await.unwrap()["message"]["id"]
            .as_i64()
            .unwrap()
    }

    async fn inbound(&self, status: &str) -> Vec<Value> {
        self.ana
            .json(&format!("/api/v1/inbound-emails?status={status}"))
            .await
            .as_array()
            .unwrap()
            .clone()
    }
}

/// A plain UTF-8 mail.
fn mail(
    from: &str,
    subject: &str,
    id: &str,
    in_reply_to: Option<&str>,
    extra: &str,
    body: &str,
) -> Vec<u8> {
    let mut m = format!(
        "From: {from}\r\nTo: {SHOP}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         Date: Mon, 23 Nov 2026 10:00:00 +0700\r\nMIME-Version: 1.0\r\n"
    );
    if let Some(r) = in_reply_to {
        m.push_str(&format!("In-Reply-To: <{r}>\r\nReferences: <{r}>\r\n"));
    }
    m.push_str(extra);
    m.push_str(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
    );
    m.push_str(body);
    m.push_str("\r\n");
    m.into_bytes()
}

/// A thread of three replies stays one ticket; the agent's reply leaves with the threading
/// headers, the agent's name on the shop's address and the CC'd person; a Dutch ISO-8859-1 mail
/// reads correctly; every mail ends up read on the server, and fetched again is stored once.
#[tokio::test]
async fn a_thread_of_replies_stays_one_ticket() {
    let Some(t) = setup().await else { return };
    let mut first = b"From: Jeroen de Vries <Jeroen@Example.NL>\r\nTo: help@shop.test\r\n\
        Cc: Anouk <anouk@example.nl>\r\n\
        Subject: =?ISO-8859-1?Q?Bestelling_niet_ontvangen_=E9=E9n?=\r\n\
        Message-ID: <jeroen-1@example.nl>\r\nMIME-Version: 1.0\r\n\
        Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        .to_vec();
    first.extend_from_slice(b"Mijn pakket is niet aangekomen, co=F6rdinatie graag.\r\n");
    t.servers.deliver(&first).await;
    assert_eq!(t.fetch().await, 1);
    let conv = t.conversations_of("jeroen@example.nl", 1).await[0];
    let msgs = t.messages(conv, 1).await;
    assert_eq!(
        msgs[0]["body"],
        "Mijn pakket is niet aangekomen, coördinatie graag."
    );
    assert_eq!(msgs[0]["author_name"], "Jeroen de Vries");
    let emails = t.emails(conv).await;
    assert_eq!(emails[0]["subject"], "Bestelling niet ontvangen één");
    assert_eq!(emails[0]["cc"], json!(["anouk@example.nl"]));
    assert_eq!(emails[0]["delivery"], "received");
    assert_eq!(
        t.servers.unseen().await,
        0,
        "the mail is marked read after the commit"
    );

    // The agent answers by mail.
    let reply = t.reply(conv, "Hallo Jeroen, we zoeken het uit.").await;
    t.delivery(conv, reply, "sent").await;
    let sent = t.servers.wait_sent(1).await;
    let (raw, envelope) = &sent[0];
    let out = parse(raw).unwrap();
    let our_id = out.message_id.clone().unwrap();
    assert!(our_id.starts_with(&format!("layan.c{conv}.")), "{our_id}");
    assert!(our_id.ends_with("@shop.test"));
    assert_eq!(out.in_reply_to, vec!["jeroen-1@example.nl".to_string()]);
    assert!(out.references.contains(&"jeroen-1@example.nl".to_string()));
    let number = t.ana.json(&format!("/api/v1/conversations/{conv}")).await["number"]
        .as_i64()
        .unwrap();
    assert_eq!(
        out.subject,
        format!("Re: Bestelling niet ontvangen één [#{number}]")
    );
    let from = out.from.unwrap();
    assert_eq!(from.address, SHOP);
    assert_eq!(from.name.as_deref(), Some("Ana (Toko Batik)"));
    assert!(out.html.is_some(), "a plain and an HTML part");
    assert_eq!(out.text.trim(), "Hallo Jeroen, we zoeken het uit.");
    assert!(envelope.contains(&"jeroen@example.nl".to_string()));
    assert!(
        envelope.contains(&"anouk@example.nl".to_string()),
        "{envelope:?}"
    );

    // Reply 2 answers ours (another subject); reply 3 only refers to his own first mail.
    t.servers
        .deliver(&mail(
            "jeroen@example.nl",
            "Re: iets anders",
            "jeroen-2@example.nl",
            Some(&our_id),
            "",
            "Dank je!\r\n\r\nOp ma 23 nov 2026 om 10:00 schreef Toko Batik <help@shop.test>:\r\n> Hallo Jeroen, we zoeken het uit.",
        ))
        .await;
    t.servers
        .deliver(&mail(
            "jeroen@example.nl",
            "nog een vraag",
            "jeroen-3@example.nl",
            Some("jeroen-1@example.nl"),
            "",
            "Kan ik ook ruilen?",
        ))
        .await;
    assert_eq!(t.fetch().await, 2);
    let msgs = t.messages(conv, 4).await;
    // The quote is trimmed from what the agent reads; the full text is kept.
    assert_eq!(msgs[2]["body"], "Dank je!");
    assert_eq!(msgs[3]["body"], "Kan ik ook ruilen?");
    let emails = t.emails(conv).await;
    assert!(
        emails[2]["full_text"]
            .as_str()
            .unwrap()
            .contains("> Hallo Jeroen")
    );
    assert_eq!(t.conversations_of("jeroen@example.nl", 1).await, vec![conv]);

    // The next reply refers to the whole thread.
    t.reply(conv, "Ja, dat kan.").await;
    let sent = t.servers.wait_sent(2).await;
    let second = parse(&sent[1].0).unwrap();
    assert_eq!(second.in_reply_to, vec!["jeroen-3@example.nl".to_string()]);
    for id in [
        "jeroen-1@example.nl",
        &our_id,
        "jeroen-2@example.nl",
        "jeroen-3@example.nl",
    ] {
        assert!(
            second.references.iter().any(|r| r == id),
            "{id} in {:?}",
            second.references
        );
    }

    // As if Layan had crashed after storing the mails and before flagging them: fetched again,
    // stored once.
    t.servers.mark_all_unseen().await;
    assert_eq!(t.servers.unseen().await, 3);
    assert_eq!(t.fetch().await, 0);
    assert_eq!(t.servers.unseen().await, 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    t.messages(conv, 5).await;
}

/// A stranger who copies a customer's Message-ID into In-Reply-To, puts the ticket number in the
/// subject, or makes up one of our reply tokens, opens a conversation of their own.
#[tokio::test]
async fn a_forged_reference_from_a_stranger_joins_nothing() {
    let Some(t) = setup().await else { return };
    t.servers
        .deliver(&mail(
            "sari@example.test",
            "Pesanan saya",
            "sari-1@example.test",
            None,
            "",
            "Di mana pesanan saya?",
        ))
        .await;
    t.fetch().await;
    let conv = t.conversations_of("sari@example.test", 1).await[0];
    let number = t.ana.json(&format!("/api/v1/conversations/{conv}")).await["number"]
        .as_i64()
        .unwrap();
    t.reply(conv, "Sedang kami cek.").await;
    let ours = parse(&t.servers.wait_sent(1).await[0].0)
        .unwrap()
        .message_id
        .unwrap();
    // A token with our shape and a wrong signature.
    let (local, domain) = ours.split_once('@').unwrap();
    let flipped = if local.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{flipped}@{domain}", &local[..local.len() - 1]);

    t.servers
        .deliver(&mail(
            "mallory@evil.test",
            &format!("Re: Pesanan saya [#{number}]"),
            "m-1@evil.test",
            Some("sari-1@example.test"),
            "",
            "Kirim alamatnya ke saya",
        ))
        .await;
    t.servers
        .deliver(&mail(
            "mallory@evil.test",
            "Re: hi",
            "m-2@evil.test",
            Some(&forged),
            "",
            "dan ini",
        ))
        .await;
    assert_eq!(t.fetch().await, 2);
    // Sari's conversation has her mail and our reply only.
    t.messages(conv, 2).await;
    let mallory = t.conversations_of("mallory@evil.test", 2).await;
    assert!(!mallory.contains(&conv));

    // Sari herself with only the ticket number in the subject does join.
    t.servers
        .deliver(&mail(
            "sari@example.test",
            &format!("Tentang [#{number}]"),
            "sari-2@example.test",
            None,
            "",
            "Sudah sampai, terima kasih",
        ))
        .await;
    t.fetch().await;
    t.messages(conv, 3).await;
}

/// A Thai TIS-620 mail reads correctly; an HTML mail's script, handlers and remote images are
/// gone from what agents get; attachments are stored and served as downloads with a safe type,
/// only to agents who see the conversation.
#[tokio::test]
async fn thai_mail_html_and_attachments() {
    let Some(t) = setup().await else { return };
    let mut thai = b"From: =?TIS-620?B?ycHKtA==?= <somchai@example.test>\r\nTo: help@shop.test\r\n\
        Subject: =?UTF-8?B?4Liq4Lit4Lia4LiW4Liy4Lih?=\r\nMessage-ID: <th-1@example.test>\r\nMIME-Version: 1.0\r\n\
        Content-Type: text/plain; charset=TIS-620\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        .to_vec();
    thai.extend_from_slice(&[0xca, 0xc7, 0xd1, 0xca, 0xb4, 0xd5, 0xa4, 0xc3, 0xd1, 0xba]);
    thai.extend_from_slice(b"\r\n");
    t.servers.deliver(&thai).await;

    let html = "From: dewi@example.test\r\nTo: help@shop.test\r\nSubject: Foto\r\n\
        Message-ID: <dewi-1@example.test>\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
        --b1\r\nContent-Type: multipart/alternative; boundary=\"b2\"\r\n\r\n\
        --b2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBarangnya rusak, lihat foto.\r\n\
        --b2\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
        <p onclick=\"steal()\">Barangnya <b>rusak</b></p><script>alert(1)</script>\
        <img src=\"https://tracker.evil.test/p.gif\"><a href=\"javascript:alert(2)\">lihat</a>\r\n\
        --b2--\r\n\
        --b1\r\nContent-Type: application/pdf; name=\"../../faktur.pdf\"\r\n\
        Content-Disposition: attachment; filename=\"../../faktur.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
        JVBERi0xLjQKJcfsj6IK\r\n\
        --b1\r\nContent-Type: text/html; name=\"page.html\"\r\n\
        Content-Disposition: attachment; filename=\"page.html\"\r\n\r\n\
        <script>alert(3)</script>\r\n\
        --b1--\r\n";
    t.servers.deliver(html.as_bytes()).await;
    assert_eq!(t.fetch().await, 2);

    let th = t.conversations_of("somchai@example.test", 1).await[0];
    let msgs = t.messages(th, 1).await;
    assert_eq!(msgs[0]["body"], "สวัสดีครับ");
    assert_eq!(t.emails(th).await[0]["subject"], "สอบถาม");

    let dewi = t.conversations_of("dewi@example.test", 1).await[0];
    assert_eq!(
        t.messages(dewi, 1).await[0]["body"],
        "Barangnya rusak, lihat foto."
    );
    let email = &t.emails(dewi).await[0];
    let safe = email["html"].as_str().unwrap();
    assert!(safe.contains("<b>rusak</b>"), "{safe}");
    for bad in ["<script", "onclick", "tracker.evil.test", "javascript:"] {
        assert!(!safe.contains(bad), "{bad} in {safe}");
    }
    let files = email["attachments"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{files:#?}");
    let pdf = files
        .iter()
        .find(|f| f["content_type"] == "application/pdf")
        .unwrap();
    assert_eq!(pdf["filename"], "faktur.pdf");
    let res = t
        .ana
        .get(&format!("/api/v1/attachments/{}", pdf["id"]))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/octet-stream");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(res.bytes().await.unwrap().starts_with(b"%PDF-1.4"));
    let page = files.iter().find(|f| f["filename"] == "page.html").unwrap();
    let res = t
        .ana
        .get(&format!("/api/v1/attachments/{}", page["id"]))
        .await;
    assert_eq!(res.headers()["content-type"], "application/octet-stream");
    assert!(
        res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );

    // Budi works only the chat inbox: neither the conversation nor its files exist for him.
    let budi = t.app.login("budi@shop.test").await;
    assert_eq!(
        budi.get(&format!("/api/v1/attachments/{}", pdf["id"]))
            .await
            .status(),
        404
    );
    assert_eq!(
        budi.get(&format!("/api/v1/conversations/{dewi}/emails"))
            .await
            .status(),
        404
    );
    assert_eq!(budi.get("/api/v1/inbound-emails").await.status(), 403);

    // Her data: the export carries the mail's subject, addresses, full text and file names;
    // erasing her removes the raw mail, the files and the email side's words.
    let contact = t
        .ana
        .json(&format!("/api/v1/conversations/{dewi}/contact"))
        .await["contact"]["id"]
        .as_i64()
        .unwrap();
    let export = t
        .ana
        .json(&format!("/api/v1/contacts/{contact}/export"))
        .await;
    let mail = &export["conversations"][0]["messages"][0]["email"];
    assert_eq!(mail["subject"], "Foto", "{export:#}");
    assert_eq!(mail["from"], "dewi@example.test");
    assert!(
        mail["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "faktur.pdf")
    );
    let res = t
        .ana
        .post(
            &format!("/api/v1/contacts/{contact}/erase"),
            json!({"confirm": true}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        t.ana
            .get(&format!("/api/v1/attachments/{}", pdf["id"]))
            .await
            .status(),
        404
    );
    let email = &t.emails(dewi).await[0];
    assert_eq!(email["subject"], "");
    assert!(email["html"].is_null() && email["full_text"].is_null());
    let inbound = t.ana.json("/api/v1/inbound-emails").await;
    assert!(
        !inbound
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["sender"] == "dewi@example.test"),
        "{inbound:#}"
    );
}

/// An auto-reply, a mailing list and a mailer daemon get no acknowledgement; a person does.
/// A bounce of our reply is recorded on it; a refused recipient shows the server's words.
#[tokio::test]
async fn automatic_mail_gets_no_answer_and_failures_show() {
    let Some(t) = setup().await else { return };
    t.auto_ack().await;
    t.servers
        .deliver(&mail(
            "away@example.test",
            "Out of office",
            "away-1@example.test",
            None,
            "Auto-Submitted: auto-replied\r\n",
            "I am away until Monday.",
        ))
        .await;
    t.servers
        .deliver(&mail(
            "news@example.test",
            "Weekly deals",
            "news-1@example.test",
            None,
            "Precedence: bulk\r\nList-Id: <deals.example.test>\r\n",
            "Deals!",
        ))
        .await;
    t.servers
        .deliver(&mail(
            "rina@example.test",
            "Ukuran",
            "rina-1@example.test",
            None,
            "",
            "Ada ukuran XL?",
        ))
        .await;
    assert_eq!(t.fetch().await, 3);
    let away = t.conversations_of("away@example.test", 1).await[0];
    t.conversations_of("news@example.test", 1).await;
    let rina = t.conversations_of("rina@example.test", 1).await[0];
    // Rina gets the acknowledgement by mail, marked automatic.
    let sent = t.servers.wait_sent(1).await;
    let ack = parse(&sent[0].0).unwrap();
    assert_eq!(sent[0].1, vec!["rina@example.test".to_string()]);
    assert!(
        ack.automatic.is_some(),
        "our acknowledgement says Auto-Submitted"
    );
    t.messages(rina, 2).await;
    // Nothing else went out, and the auto-reply's conversation has just the one mail.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(t.servers.sent().len(), 1);
    t.messages(away, 1).await;

    // Our reply bounces: the mailer daemon's report carries our Message-ID in its body.
    let reply = t.reply(rina, "Ada, kak.").await;
    let out = parse(&t.servers.wait_sent(2).await[1].0).unwrap();
    let ours = out.message_id.unwrap();
    t.delivery(rina, reply, "sent").await;
    let bounce = format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\r\nTo: help@shop.test\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce-1@mx.example.test>\r\n\
         Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n\
         --r\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered: mailbox full.\r\n\
         --r\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{ours}>\r\nTo: rina@example.test\r\n\
         --r--\r\n"
    );
    t.servers.deliver(bounce.as_bytes()).await;
    t.fetch().await;
    let bounced = t.delivery(rina, reply, "bounced").await;
    assert!(
        bounced["delivery_detail"]
            .as_str()
            .unwrap()
            .contains("mailbox full")
    );
    // The bounce is not a conversation of its own.
    t.messages(rina, 3).await;

    // A recipient the server refuses: the reply shows why, and it is not retried.
    t.servers
        .deliver(&mail(
            "reject-me@example.test",
            "Halo",
            "rej-1@example.test",
            None,
            "",
            "Halo",
        ))
        .await;
    t.fetch().await;
    let rejected = t.conversations_of("reject-me@example.test", 1).await[0];
    let reply = t.reply(rejected, "Halo juga").await;
    let failed = t.delivery(rejected, reply, "failed").await;
    let why = failed["delivery_detail"].as_str().unwrap();
    assert!(why.contains("User unknown") || why.contains("550"), "{why}");
}

/// Over the sender's hourly limit mail is held for an admin, who can read it in after all;
/// unreadable mail is kept raw, listed, downloadable; a mail from our own address is ignored.
#[tokio::test]
async fn floods_unreadable_mail_and_loops_are_kept_for_an_admin() {
    let Some(t) = setup().await else { return };
    let mut settings = t.servers.settings(SHOP);
    settings["imap"]["password"] = json!("********");
    settings["max_per_sender_per_hour"] = json!(2);
    let res = t
        .ana
        .call(
            "PUT",
            &format!("/api/v1/inboxes/{}/email", t.inbox),
            Some(settings.clone()),
        )
        .await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    for i in 0..3 {
        t.servers
            .deliver(&mail(
                "loop@example.test",
                "Re: Re: Re:",
                &format!("loop-{i}@example.test"),
                None,
                "",
                &format!("mail {i}"),
            ))
            .await;
    }
    // Fetching still works: the kept password was not replaced by the stars.
    assert_eq!(t.fetch().await, 3);
    let mut held = Vec::new();
    for _ in 0..100 {
        held = t.inbound("held").await;
        if !held.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(held.len(), 1, "{held:#?}");
    assert!(held[0]["error"].as_str().unwrap().contains("more than 2"));
    // Each unthreaded mail is a conversation: two, and the third waits.
    t.conversations_of("loop@example.test", 2).await;
    let id = held[0]["id"].as_i64().unwrap();
    let res = t
        .ana
        .post(&format!("/api/v1/inbound-emails/{id}/reprocess"), json!({}))
        .await;
    assert_eq!(res.status(), 202);
    t.conversations_of("loop@example.test", 3).await;
    let res = t
        .ana
        .post(&format!("/api/v1/inbound-emails/{id}/reprocess"), json!({}))
        .await;
    assert_eq!(res.status(), 409);

    // Garbage, and a mail from ourselves.
    t.servers.deliver(b"\x00\x01\x02 not a mail at all").await;
    t.servers
        .deliver(&mail(
            SHOP,
            "Re: your question",
            "self-1@shop.test",
            None,
            "",
            "echo",
        ))
        .await;
    assert_eq!(t.fetch().await, 2);
    let mut failed = Vec::new();
    for _ in 0..100 {
        failed = t.inbound("failed").await;
        if !failed.is_empty() && !t.inbound("ignored").await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(failed.len(), 1);
    let raw = t
        .ana
        .get(&format!("/api/v1/inbound-emails/{}/raw", failed[0]["id"]))
        .await;
    assert_eq!(raw.status(), 200);
    assert!(raw.bytes().await.unwrap().ends_with(b"not a mail at all"));
    assert_eq!(t.inbound("ignored").await.len(), 1);
    assert_eq!(
        t.servers.unseen().await,
        0,
        "nothing left unread on the server"
    );

    // Bad settings are refused by field, and nothing changes.
    settings["smtp"]["host"] = json!("smtp.example.test");
    let res = t
        .ana
        .call(
            "PUT",
            &format!("/api/v1/inboxes/{}/email", t.inbox),
            Some(settings),
        )
        .await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("smtp.security"),
        "{body}"
    );
    let now = t
        .ana
        .json(&format!("/api/v1/inboxes/{}/email", t.inbox))
        .await;
    assert_eq!(now["settings"]["smtp"]["host"], "127.0.0.1");
    // Agents cannot connect mailboxes.
    let budi = t.app.login("budi@shop.test").await;
    let res = budi
        .post(
            "/api/v1/email-inboxes",
            json!({"name": "x", "settings": t.servers.settings("x@shop.test")}),
        )
        .await;
    assert_eq!(res.status(), 403);
    // A mail server that is not there: 502 with its words, recorded on the inbox.
    let mut gone = t.servers.settings(SHOP);
    gone["imap"]["port"] = json!(1);
    assert_eq!(
        t.ana
            .call(
                "PUT",
                &format!("/api/v1/inboxes/{}/email", t.inbox),
                Some(gone)
            )
            .await
            .status(),
        200
    );
    let res = t
        .ana
        .post(
            &format!("/api/v1/inboxes/{}/email/fetch", t.inbox),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), 502);
    let now = t
        .ana
        .json(&format!("/api/v1/inboxes/{}/email", t.inbox))
        .await;
    assert_eq!(now["fetch_error"], "net_refused", "{now}");
}

/// Mail servers an admin types are checked before Layan connects: a loopback address the
/// operator did not allow (`outbound_allow` names only 127.0.0.1 here) is refused for IMAP and
/// SMTP without a connection, a refused delivery is final (not retried), and whatever a server
/// that is not a mail server says never reaches the admin's screen.
#[tokio::test]
async fn mail_servers_on_addresses_not_allowed_are_refused_and_their_words_not_shown() {
    let Some(t) = setup().await else { return };
    t.auto_ack().await;
    t.servers
        .deliver(&mail(
            "siti@example.test",
            "Ukuran",
            "blocked-1@example.test",
            None,
            "",
            "Ada ukuran L?",
        ))
        .await;
    assert_eq!(t.fetch().await, 1);
    let conv = t.conversations_of("siti@example.test", 1).await[0];
    t.servers.wait_sent(1).await;
    // A service on this machine that is not a mail server: it answers with its own banner and
    // counts who connects.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = connections.clone();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut s, _)) = listener.accept().await {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = s
                .write_all(b"-ERR SECRET-BANNER internal cache v7.2 at 10.0.0.5\r\n")
                .await;
        }
    });
    let put = |settings: Value| {
        let ana = &t.ana;
        let inbox = t.inbox;
        async move {
            ana.call(
                "PUT",
                &format!("/api/v1/inboxes/{inbox}/email"),
                Some(settings),
            )
            .await
            .status()
        }
    };
    let check_now = || async {
        let res = t
            .ana
            .post(
                &format!("/api/v1/inboxes/{}/email/fetch", t.inbox),
                json!({}),
            )
            .await;
        let status = res.status();
        (status, res.json::<Value>().await.unwrap())
    };
    let fetch_error = || async {
        t.ana
            .json(&format!("/api/v1/inboxes/{}/email", t.inbox))
            .await["fetch_error"]
            .clone()
    };
    // IMAP on another loopback address: refused before connecting.
    let mut blocked = t.servers.settings(SHOP);
    blocked["imap"]["host"] = json!("127.0.0.2");
    blocked["imap"]["port"] = json!(port);
    assert_eq!(put(blocked).await, 200);
    let (status, body) = check_now().await;
    assert_eq!(status, 502);
    assert_eq!(body["error"]["code"], "net_blocked", "{body}");
    assert_eq!(fetch_error().await, "net_blocked");
    // The allowed address of a service that is not IMAP: its words stay in the log.
    let mut other = t.servers.settings(SHOP);
    other["imap"]["port"] = json!(port);
    assert_eq!(put(other).await, 200);
    let (status, body) = check_now().await;
    assert_eq!(status, 502);
    assert!(!body.to_string().contains("SECRET"), "{body}");
    let shown = fetch_error().await;
    assert!(shown.as_str().unwrap().starts_with("net_"), "{shown}");
    assert!(!shown.to_string().contains("SECRET"), "{shown}");
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
    // SMTP on a loopback address not allowed: the reply is refused at once, for good, and no
    // connection is made.
    let mut smtp_blocked = t.servers.settings(SHOP);
    smtp_blocked["smtp"]["host"] = json!("127.0.0.2");
    smtp_blocked["smtp"]["port"] = json!(port);
    assert_eq!(put(smtp_blocked).await, 200);
    let reply = t.reply(conv, "Ada, kak.").await;
    let failed = t.delivery(conv, reply, "failed").await;
    assert_eq!(failed["delivery_detail"], "net_blocked", "{failed}");
    // An SMTP "server" that is another service: classified, its banner not shown.
    let mut smtp_other = t.servers.settings(SHOP);
    smtp_other["smtp"]["port"] = json!(port);
    assert_eq!(put(smtp_other).await, 200);
    let reply = t.reply(conv, "Ukuran L ada.").await;
    let failed = t.delivery(conv, reply, "failed").await;
    let detail = failed["delivery_detail"].as_str().unwrap();
    assert!(detail.contains("net_"), "{detail}");
    assert!(!detail.contains("SECRET"), "{detail}");
    // (It may be tried again meanwhile: a server answering nonsense may be restarting.)
    assert!(connections.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    assert_eq!(
        t.servers.wait_sent(1).await.len(),
        1,
        "nothing else was sent"
    );
}

/// An agent attaches files to an email reply: uploaded first, then named in the reply; the
/// customer's mail carries them. Someone else's upload, a file sent already, an empty or too
/// large file, and a conversation the agent cannot see are refused, and nothing is sent.
#[tokio::test]
async fn a_reply_carries_the_agents_files() {
    let Some(t) = setup().await else { return };
    t.servers
        .deliver(&mail(
            "putri@example.test",
            "Faktur",
            "putri-1@example.test",
            None,
            "",
            "Minta fakturnya",
        ))
        .await;
    t.fetch().await;
    let conv = t.conversations_of("putri@example.test", 1).await[0];
    let upload = |name: &str, bytes: Vec<u8>, who: &Agent| {
        let req = who
            .http
            .post(format!(
                "{}/api/v1/conversations/{conv}/attachments?filename={name}",
                who.base
            ))
            .header("cookie", format!("layan_session={}", who.cookie))
            .header("x-csrf-token", &who.csrf)
            .header("content-type", "application/pdf")
            .body(bytes);
        async move { req.send().await.unwrap() }
    };
    let res = upload("faktur%201042.pdf", b"%PDF-1.4 faktur".to_vec(), &t.ana).await;
    assert_eq!(res.status(), 201);
    let file: Value = res.json().await.unwrap();
    assert_eq!(file["filename"], "faktur 1042.pdf");
    assert_eq!(file["content_type"], "application/pdf");
    assert_eq!(upload("kosong.pdf", Vec::new(), &t.ana).await.status(), 422);
    let res = upload("besar.bin", vec![0; 10 * 1024 * 1024 + 1], &t.ana).await;
    assert_eq!(res.status(), 413);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "file_too_large"
    );
    // Budi does not work the email inbox: the conversation does not exist for him.
    let budi = t.app.login("budi@shop.test").await;
    assert_eq!(upload("x.pdf", b"x".to_vec(), &budi).await.status(), 404);
    // Another admin's upload is not Ana's to send.
    t.app
        .running
        .engine
        .create_agent("rudi@shop.test", "Rudi", layan_core::Role::Admin, PASSWORD)
        .await
        .unwrap();
    let rudi = t.app.login("rudi@shop.test").await;
    let theirs: Value = upload("rudi.pdf", b"%PDF rudi".to_vec(), &rudi)
        .await
        .json()
        .await
        .unwrap();
    let res = t
        .ana
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            json!({"body": "Ini fakturnya", "attachment_ids": [file["id"], theirs["id"]]}),
        )
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "attachment_unavailable"
    );
    t.messages(conv, 1).await;

    let res = t
        .ana
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            json!({"body": "Ini fakturnya", "attachment_ids": [file["id"]]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let reply = res.json::<Value>().await.unwrap()["message"]["id"]
        .as_i64()
        .unwrap();
    t.delivery(conv, reply, "sent").await;
    let sent = t.servers.wait_sent(1).await;
    let out = parse(&sent[0].0).unwrap();
    assert_eq!(out.text.trim(), "Ini fakturnya");
    assert_eq!(out.attachments.len(), 1);
    assert_eq!(out.attachments[0].name, "faktur 1042.pdf");
    assert_eq!(out.attachments[0].data, b"%PDF-1.4 faktur");
    // Listed on the reply for agents; sent once, it cannot be sent again.
    let emails = t.emails(conv).await;
    let ours = emails.iter().find(|e| e["message_id"] == reply).unwrap();
    assert_eq!(ours["attachments"][0]["filename"], "faktur 1042.pdf");
    let res = t
        .ana
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            json!({"body": "lagi", "attachment_ids": [file["id"]]}),
        )
        .await;
    assert_eq!(res.status(), 409);
}

/// A customer who never wrote gets the shop's proactive message by mail when the shop has an
/// email inbox: an order unfulfilled for too long.
#[tokio::test]
async fn a_proactive_message_to_a_customer_who_never_wrote_goes_by_mail() {
    let Some(t) = setup().await else { return };
    let rules = json!({
        "late_shipment": {"enabled": false, "grace_hours": 0},
        "unfulfilled": {"enabled": true, "after_days": 5},
        "after_delivery": {"enabled": false, "days": 3, "survey": "csat"},
        "lookback_days": 30
    });
    assert_eq!(
        t.ana
            .call("PUT", "/api/v1/proactive", Some(rules))
            .await
            .status(),
        200
    );
    let placed = time::OffsetDateTime::now_utc() - time::Duration::days(8);
    let at = placed
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let order = json!({
        "id": 9301, "name": "#3001", "email": "joko@example.test", "currency": "IDR",
        "total_price": "150000.00", "financial_status": "paid", "fulfillment_status": null,
        "cancelled_at": null, "created_at": at, "updated_at": at,
        "customer": {"id": 77, "email": "joko@example.test", "first_name": "Joko", "last_name": "Susilo"},
        "line_items": [{"title": "Kemeja batik", "quantity": 1, "price": "150000.00"}],
        "fulfillments": [],
    });
    let (status, _) = deliver(&t.app, "orders/create", "e-9301", &order, None).await;
    assert_eq!(status, 200);
    let sent = t.servers.wait_sent(1).await;
    assert_eq!(sent[0].1, vec!["joko@example.test".to_string()]);
    let out = parse(&sent[0].0).unwrap();
    assert!(out.text.contains("#3001"), "{}", out.text);
    let conv = t.conversations_of("joko@example.test", 1).await[0];
    let c = t.ana.json(&format!("/api/v1/conversations/{conv}")).await;
    assert_eq!(c["inbox_id"], t.inbox);
}

/// TLS: IMAPS and STARTTLS to dovecot and STARTTLS to the SMTP server, with certificates from
/// the shop's own CA (`email_ca_file`); without that CA the certificate is refused and the
/// mail stays unread.
#[tokio::test]
async fn mail_servers_over_tls_with_the_shops_ca() {
    if !mail::available() {
        return;
    }
    let servers = MailServers::start_with(true).await;
    let ca = servers.ca_file.clone().unwrap();
    let smtp_port = servers.smtp_port;
    let settings = move |imap_security: &str, imap_port: u16| {
        json!({
            "address": SHOP,
            "from_name": "Toko Batik",
            "imap": {"host": "localhost", "port": imap_port, "security": imap_security,
                     "username": mail::IMAP_USER, "password": mail::IMAP_PASSWORD},
            "smtp": {"host": "localhost", "port": smtp_port, "security": "starttls"},
        })
    };
    let imaps = servers.imaps_port.unwrap();

    // Without the shop's CA: refused, and nothing is taken from the mailbox.
    let plain = spawn_app_with(|s| s.email_poll_seconds = 3600).await;
    let ana = plain.login("ana@shop.test").await;
    let res = ana
        .post(
            "/api/v1/email-inboxes",
            json!({"name": "Email", "settings": settings("tls", imaps)}),
        )
        .await;
    let inbox = res.json::<Value>().await.unwrap()["inbox"]["id"]
        .as_i64()
        .unwrap();
    servers
        .deliver(&mail(
            "tls@example.test",
            "Halo",
            "tls-1@example.test",
            None,
            "",
            "lewat TLS",
        ))
        .await;
    let res = ana
        .post(&format!("/api/v1/inboxes/{inbox}/email/fetch"), json!({}))
        .await;
    assert_eq!(res.status(), 502);
    let err: Value = res.json().await.unwrap();
    assert!(
        err["error"]["message"].as_str().unwrap().contains("TLS"),
        "{err}"
    );
    assert_eq!(servers.unseen().await, 1);

    // With it: IMAPS, then STARTTLS; the reply goes out over STARTTLS.
    let app = spawn_app_with(|s| {
        s.email_poll_seconds = 3600;
        s.email_ca_file = Some(ca.clone());
    })
    .await;
    let ana = app.login("ana@shop.test").await;
    let res = ana
        .post(
            "/api/v1/email-inboxes",
            json!({"name": "Email", "settings": settings("tls", imaps)}),
        )
        .await;
    let inbox = res.json::<Value>().await.unwrap()["inbox"]["id"]
        .as_i64()
        .unwrap();
    let t = Setup {
        app,
        servers,
        ana,
        inbox,
    };
    assert_eq!(t.fetch().await, 1);
    let conv = t.conversations_of("tls@example.test", 1).await[0];
    assert_eq!(t.messages(conv, 1).await[0]["body"], "lewat TLS");
    let res = t
        .ana
        .call(
            "PUT",
            &format!("/api/v1/inboxes/{}/email", t.inbox),
            Some(settings("starttls", t.servers.imap_port)),
        )
        .await;
    assert_eq!(res.status(), 200);
    t.servers
        .deliver(&mail(
            "tls@example.test",
            "Lagi",
            "tls-2@example.test",
            None,
            "",
            "lewat STARTTLS",
        ))
        .await;
    assert_eq!(t.fetch().await, 1);
    let reply = t.reply(conv, "Diterima dengan aman.").await;
    t.delivery(conv, reply, "sent").await;
    let sent = t.servers.wait_sent(1).await;
    assert_eq!(
        parse(&sent[0].0).unwrap().text.trim(),
        "Diterima dengan aman."
    );
    drop(plain);
}

/// A mail whose sender name decodes to `x\r\nBcc: victim@example.com`, in the middle of 50 good
/// ones: it once made building the acknowledgement panic, which stopped the job worker for good
/// (no more tickets, acknowledgements or replies, even after a restart). Now every mail becomes
/// a ticket and gets its acknowledgement, the poisoned name is one line, nobody is Bcc'd, and no
/// job fails. The same name typed through the API is refused; one stored by an older version is
/// still sent safely.
#[tokio::test]
async fn a_poisoned_sender_name_among_fifty_mails_stops_nothing() {
    let Some(t) = setup().await else { return };
    t.auto_ack().await;
    for i in 0..51 {
        let raw = if i == 25 {
            b"From: =?utf-8?q?x=0D=0ABcc:_victim@example.com?= <poison@example.test>\r\n\
              To: help@shop.test\r\nSubject: =?utf-8?q?Order=0D=0ABcc:_victim2@example.com?=\r\n\
              Message-ID: <poison-1@example.test>\r\nMIME-Version: 1.0\r\n\
              Content-Type: text/plain; charset=utf-8\r\n\r\nWhere is my order?\r\n"
                .to_vec()
        } else {
            mail(
                &format!("Shopper {i} <shopper{i}@example.test>"),
                &format!("Question {i}"),
                &format!("good-{i}@example.test"),
                None,
                "",
                "Halo, pesanan saya belum sampai.",
            )
        };
        t.servers.deliver(&raw).await;
    }
    let mut fetched = 0;
    while fetched < 51 {
        let n = t.fetch().await;
        assert!(n > 0, "fetched {fetched} of 51");
        fetched += n;
    }
    let sent = t.servers.wait_sent(51).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(t.servers.sent().len(), 51, "one acknowledgement each");
    for (raw, envelope) in &sent {
        assert!(
            !envelope.iter().any(|r| r.starts_with("victim")),
            "{envelope:?}"
        );
        let text = String::from_utf8_lossy(raw);
        let headers = text.split("\r\n\r\n").next().unwrap();
        assert!(!headers.contains("\nBcc:"), "{headers}");
    }
    let failed = t.ana.json("/api/v1/jobs?status=failed").await;
    assert_eq!(failed, json!([]), "no job failed");
    let conv = t.conversations_of("poison@example.test", 1).await[0];
    let c = t.ana.json(&format!("/api/v1/conversations/{conv}")).await;
    let contact = c["contact_id"].as_i64().unwrap();
    let profile = t.ana.json(&format!("/api/v1/contacts/{contact}")).await;
    assert_eq!(
        profile["contact"]["name"], "x Bcc: victim@example.com",
        "{profile}"
    );

    // Typed through the API, the same name is refused by field.
    let res = t
        .ana
        .call(
            "PATCH",
            &format!("/api/v1/contacts/{contact}"),
            Some(json!({"name": "x\r\nBcc: victim@example.com"})),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "invalid_name"
    );

    // A name stored raw (as an older version could have): the reply still goes, to the
    // customer alone.
    t.app
        .running
        .engine
        .store()
        .update_profile(
            layan_core::ContactId(contact),
            &layan_store::ProfileChanges {
                name: Some("x\r\nBcc: victim@example.com"),
                locale: None,
                phone: None,
                notes: None,
                attributes: None,
            },
        )
        .await
        .unwrap();
    let reply = t.reply(conv, "Your order left today.").await;
    t.delivery(conv, reply, "sent").await;
    let sent = t.servers.wait_sent(52).await;
    let (raw, envelope) = &sent[51];
    assert_eq!(envelope, &vec!["poison@example.test".to_string()]);
    let text = String::from_utf8_lossy(raw);
    assert!(!text.split("\r\n\r\n").next().unwrap().contains("\nBcc:"));
}

/// A customer copies two people, one of whom the shop's mail server refuses (550), and a third
/// it cannot take now (451). The acknowledgement goes to the customer alone (not to every Cc'd
/// address); the agent's reply goes to the customer and the Cc that is accepted, and shows the
/// refused ones by name instead of failing for everybody.
#[tokio::test]
async fn one_refused_cc_does_not_stop_a_reply_and_the_acknowledgement_goes_to_the_sender_only() {
    let Some(t) = setup().await else { return };
    t.auto_ack().await;
    t.servers
        .deliver(&mail(
            "Dewi <dewi@example.test>",
            "Retur",
            "dewi-1@example.test",
            None,
            "Cc: Anouk <anouk@example.test>, reject-cc@example.test, later-cc@example.test\r\n",
            "Saya mau retur.",
        ))
        .await;
    assert_eq!(t.fetch().await, 1);
    let conv = t.conversations_of("dewi@example.test", 1).await[0];
    let sent = t.servers.wait_sent(1).await;
    assert_eq!(
        sent[0].1,
        vec!["dewi@example.test".to_string()],
        "the acknowledgement goes to the sender only"
    );
    let ack = parse(&sent[0].0).unwrap();
    assert!(ack.cc.is_empty(), "{:?}", ack.cc);

    let reply = t.reply(conv, "Bisa, kak.").await;
    let e = t.delivery(conv, reply, "sent").await;
    let sent = t.servers.wait_sent(2).await;
    assert_eq!(
        sent[1].1,
        vec![
            "dewi@example.test".to_string(),
            "anouk@example.test".to_string()
        ]
    );
    let why = e["delivery_detail"].as_str().unwrap();
    assert!(why.contains("reject-cc@example.test"), "{why}");
    assert!(why.contains("later-cc@example.test"), "{why}");
    assert!(!why.contains("anouk"), "{why}");
    // Not sent again on a later look.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(t.servers.sent().len(), 2);
}

/// An attachment over the size limit is not kept, but named with its size on the message (it
/// used to disappear silently); the small one beside it is kept.
#[tokio::test]
async fn an_attachment_too_large_to_keep_is_named_on_the_message() {
    use base64::Engine as _;
    let Some(t) = setup().await else { return };
    let big = vec![b'v'; layan_core::email::MAX_ATTACHMENT_BYTES + 1];
    let b64 = |data: &[u8]| {
        base64::engine::general_purpose::STANDARD
            .encode(data)
            .as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("\r\n")
    };
    let raw = format!(
        "From: Budi <budi.k@example.test>\r\nTo: {SHOP}\r\nSubject: Video\r\n\
         Message-ID: <big-1@example.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nIni videonya.\r\n\
         --b\r\nContent-Type: video/mp4\r\nContent-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"unboxing.mp4\"\r\n\r\n{}\r\n\
         --b\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"resi.jpg\"\r\n\r\n{}\r\n--b--\r\n",
        b64(&big),
        b64(b"\xff\xd8\xff small jpeg")
    );
    t.servers.deliver(raw.as_bytes()).await;
    assert_eq!(t.fetch().await, 1);
    let conv = t.conversations_of("budi.k@example.test", 1).await[0];
    let msgs = t.messages(conv, 1).await;
    assert_eq!(msgs[0]["body"], "Ini videonya.");
    assert_eq!(
        msgs[0]["extras"]["files_not_kept"],
        json!([{"name": "unboxing.mp4", "size": layan_core::email::MAX_ATTACHMENT_BYTES + 1}]),
        "{:#}",
        msgs[0]
    );
    // The mail's side is recorded just after its message.
    let mut emails = t.emails(conv).await;
    for _ in 0..100 {
        if !emails.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        emails = t.emails(conv).await;
    }
    let kept: Vec<&str> = emails[0]["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["filename"].as_str().unwrap())
        .collect();
    assert_eq!(kept, vec!["resi.jpg"]);
}

/// Our real reply, forwarded to someone else who answers it (with a Cc of their own), does not
/// join the customer's ticket: it opens a conversation of its own with a note naming the ticket
/// it answers. A person the customer copied does join by answering — but someone *they* copy
/// gets no replies unless an agent adds them.
#[tokio::test]
async fn a_reply_from_outside_the_ticket_opens_its_own_and_strangers_get_no_replies() {
    let Some(t) = setup().await else { return };
    t.servers
        .deliver(&mail(
            "Dewi <dewi@example.test>",
            "Retur",
            "dewi-1@example.test",
            None,
            "Cc: Anouk <anouk@example.test>\r\n",
            "Saya mau retur.",
        ))
        .await;
    assert_eq!(t.fetch().await, 1);
    let conv = t.conversations_of("dewi@example.test", 1).await[0];
    let number = t.ana.json(&format!("/api/v1/conversations/{conv}")).await["number"]
        .as_i64()
        .unwrap();
    t.reply(conv, "Bisa, kak.").await;
    let sent = t.servers.wait_sent(1).await;
    let ours = parse(&sent[0].0).unwrap().message_id.unwrap();

    // Mallory got our reply forwarded and answers it, copying Eve.
    t.servers
        .deliver(&mail(
            "mallory@example.test",
            &format!("Re: Retur [#{number}]"),
            "mallory-1@example.test",
            Some(&ours),
            "Cc: eve@example.test\r\n",
            "Kirim ke alamat saya saja.",
        ))
        .await;
    assert_eq!(t.fetch().await, 1);
    let own = t.conversations_of("mallory@example.test", 1).await[0];
    assert_ne!(own, conv);
    let msgs = t.messages(own, 2).await;
    let note = &msgs[1];
    assert_eq!(note["direction"], "note");
    assert_eq!(note["extras"]["event"]["kind"], "mail_answers_other_ticket");
    assert_eq!(note["extras"]["event"]["ticket"], number);
    assert_eq!(note["extras"]["event"]["address"], "mallory@example.test");
    t.messages(conv, 2).await;

    // Anouk, whom Dewi copied, answers and copies Eve: her mail joins the ticket...
    t.servers
        .deliver(&mail(
            "anouk@example.test",
            "Re: Retur",
            "anouk-1@example.test",
            Some(&ours),
            "Cc: dewi@example.test, eve@example.test\r\n",
            "Ik help Dewi hiermee.",
        ))
        .await;
    assert_eq!(t.fetch().await, 1);
    t.messages(conv, 3).await;
    // ...but the next reply goes to Dewi and Anouk, not to Eve.
    t.reply(conv, "Baik, kami proses.").await;
    let sent = t.servers.wait_sent(2).await;
    let mut envelope = sent[1].1.clone();
    envelope.sort();
    assert_eq!(
        envelope,
        vec![
            "anouk@example.test".to_string(),
            "dewi@example.test".to_string()
        ]
    );
}

/// "Check now" while another process holds SQLite's write lock past the busy timeout (a backup,
/// a second server on the same file): 503 with `Retry-After` (was 500), the mail stays unread
/// on the server, and once the lock is gone the same request stores it. SQLite only.
#[tokio::test]
async fn a_fetch_while_the_database_is_locked_answers_503_and_loses_nothing() {
    if layan_store::testing::selected() != layan_store::testing::Backend::Sqlite {
        return;
    }
    let Some(t) = setup().await else { return };
    t.servers
        .deliver(&mail(
            "locked@example.test",
            "Halo",
            "locked-1@example.test",
            None,
            "",
            "Halo",
        ))
        .await;
    let path = t.app.dir.path().join("layan.db");
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        std::thread::sleep(Duration::from_secs(14));
        conn.execute_batch("ROLLBACK").unwrap();
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let res = t
        .ana
        .post(
            &format!("/api/v1/inboxes/{}/email/fetch", t.inbox),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), 503);
    assert!(res.headers().get("retry-after").is_some());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "database_unavailable");
    assert_eq!(t.servers.unseen().await, 1, "the mail stays unread");
    holder.join().unwrap();
    assert_eq!(t.fetch().await, 1);
    t.conversations_of("locked@example.test", 1).await;
}

/// The stored password never follows a changed server: sending the settings back with the
/// password still hidden but another IMAP host (or port) is refused, and nothing changes; with
/// the password given again it is taken.
#[tokio::test]
async fn a_hidden_password_does_not_follow_a_changed_mail_server() {
    let Some(t) = setup().await else { return };
    let put = |settings: Value| {
        let ana = &t.ana;
        let inbox = t.inbox;
        async move {
            ana.call(
                "PUT",
                &format!("/api/v1/inboxes/{inbox}/email"),
                Some(settings),
            )
            .await
        }
    };
    let mut moved = t.servers.settings(SHOP);
    moved["imap"]["password"] = json!("********");
    moved["imap"]["host"] = json!("mail.attacker.example.test");
    moved["imap"]["security"] = json!("tls");
    moved["imap"]["port"] = json!(993);
    let res = put(moved.clone()).await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "password_required"
    );
    let mut other_port = t.servers.settings(SHOP);
    other_port["imap"]["password"] = json!("********");
    other_port["imap"]["port"] = json!(t.servers.imap_port + 1);
    assert_eq!(put(other_port).await.status(), 422);
    let shown = t
        .ana
        .json(&format!("/api/v1/inboxes/{}/email", t.inbox))
        .await;
    assert_eq!(shown["settings"]["imap"]["host"], "127.0.0.1", "{shown}");
    // Still fetching from the right server with the right password.
    t.servers
        .deliver(&mail(
            "a@example.test",
            "Hi",
            "keep-1@example.test",
            None,
            "",
            "Hi",
        ))
        .await;
    assert_eq!(t.fetch().await, 1);
    // With the password given again, the new server is taken.
    moved["imap"]["password"] = json!("another-password");
    assert_eq!(put(moved).await.status(), 200);
}

/// A mail over the size limit is never downloaded: it stays unread on the server (nothing
/// lost), the inbox's status names it for an admin, and the mail beside it is read as usual.
#[tokio::test]
async fn a_mail_over_the_size_limit_stays_on_the_server_and_is_named() {
    let Some(t) = setup().await else { return };
    let mut huge = mail(
        "big@example.test",
        "Video",
        "huge-1@example.test",
        None,
        "",
        "",
    );
    huge.truncate(huge.len() - 2);
    let line = [b'x'; 998];
    while huge.len() <= layan_channels::email::MAX_EMAIL_BYTES + 1024 {
        huge.extend_from_slice(&line);
        huge.extend_from_slice(b"\r\n");
    }
    t.servers.deliver(&huge).await;
    t.servers
        .deliver(&mail(
            "small@example.test",
            "Hi",
            "small-1@example.test",
            None,
            "",
            "Halo",
        ))
        .await;
    assert_eq!(t.fetch().await, 1);
    t.conversations_of("small@example.test", 1).await;
    assert_eq!(t.servers.unseen().await, 1, "the big one is left unread");
    let status = t
        .ana
        .json(&format!("/api/v1/inboxes/{}/email", t.inbox))
        .await;
    let notice = status["fetch_error"].as_str().unwrap_or_default();
    assert!(notice.contains("larger than 30 MB"), "{status}");
    assert!(t.inbound("failed").await.is_empty(), "nothing half-stored");
}
