//! The email channel. Inbound: every mail is stored raw first (with the job that reads it, in
//! one transaction) and only then marked read on the IMAP server, so a crash or a database
//! outage between the two fetches it again and the dedupe key recognises it; the job parses it,
//! finds its conversation (our signed reply token, then a Message-ID we stored when the sender
//! took part in that conversation, then the ticket number in the subject for the same customer;
//! otherwise a new conversation), matches the sender to a contact, records CC'd people, stores
//! attachments, and suppresses the acknowledgement for automatic mail. A bounce is recorded on
//! the message it bounced. Outbound: replies in an email inbox get an `email.send` job committed
//! with the message (the store does that); the job sends by SMTP with threading headers and
//! records the delivery.

use std::time::Duration;

use futures_util::TryStreamExt;
use layan_channels::email as mail;
use layan_core::email::{KEEP_PASSWORD, MAX_ATTACHMENT_BYTES, reply_subject, safe_filename};
use layan_core::{
    Agent, Author, ChannelKind, Conversation, ConversationId, ConversationStatus, Delivery,
    Direction, EmailInbox, EmailMeta, EmailSettings, InboundEmailInfo, InboundStatus, Inbox,
    InboxId, MailServer, MessageBody, MessageId, NewMessage, Security, Target, now_millis,
};
use layan_store::{NewAttachment, NewEmailMeta, StoreError};
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio_util::either::Either;

use crate::jobs::JobError;
use crate::outbound::{NetError, OutboundPolicy};

mod smtp;
use crate::{Access, Engine, EngineError, EngineResult};

/// How long one IMAP or SMTP conversation may take before it is given up (and retried).
const MAIL_TIMEOUT: Duration = Duration::from_secs(20);
/// The largest file an agent may attach to a reply (mail servers commonly refuse more than
/// about 25 MB once encoded).
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// At most this many mails are fetched per mailbox and pass (the rest on the next pass).
const FETCH_BATCH: usize = 50;

type MailStream = Either<tokio_rustls::client::TlsStream<TcpStream>, TcpStream>;

/// An email inbox's settings as stored, with its signing secret.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    pub inbox_id: InboxId,
    pub settings: EmailSettings,
    pub secret: String,
}

/// The fields stored secrets of an email inbox are sealed for.
const IMAP_PASSWORD: &str = "email.imap.password";
const SMTP_PASSWORD: &str = "email.smtp.password";
const REPLY_SECRET: &str = "email.reply_secret";

/// What a pass of [`Engine::reseal_secrets`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Resealed {
    /// Records sealed again with the current key.
    pub changed: usize,
    /// Records whose secrets do not open with any key held (left untouched).
    pub unreadable: usize,
    /// Records changed meanwhile (by an admin's save): to look at again.
    pub raced: usize,
}

/// Whether settings sent back ask to keep a stored password (shown as `********`).
fn keeps_a_hidden_password(settings: &EmailSettings) -> bool {
    settings
        .imap
        .iter()
        .chain(settings.smtp.iter())
        .any(|s| s.password == KEEP_PASSWORD)
}

/// Settings as stored: the passwords sealed.
fn sealed_settings(
    secrets: &crate::secrets::SecretBox,
    settings: &EmailSettings,
) -> EngineResult<String> {
    let mut sealed = settings.clone();
    for (field, server) in [
        (IMAP_PASSWORD, &mut sealed.imap),
        (SMTP_PASSWORD, &mut sealed.smtp),
    ] {
        if let Some(s) = server {
            s.password = secrets.seal(field, &s.password);
        }
    }
    serde_json::to_string(&sealed).map_err(|e| EngineError::Internal(e.to_string()))
}

fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

/// The dedupe key of a received mail: the sender and Message-ID when it has one (the same mail
/// fetched or delivered again), else its bytes.
fn dedupe_key(sender: Option<&str>, message_id: Option<&str>, raw: &[u8]) -> String {
    match message_id {
        Some(id) => {
            let key = format!("mid:{}:{id}", sender.unwrap_or(""));
            if key.len() <= 500 {
                return key;
            }
            format!("midh:{:x}", Sha256::digest(key.as_bytes()))
        }
        None => format!("sha256:{:x}", Sha256::digest(raw)),
    }
}

impl Engine {
    /// An inbox's settings and secret as stored, opened.
    fn config_from(&self, row: layan_store::EmailInboxRow) -> EngineResult<EmailConfig> {
        let mut settings: EmailSettings = serde_json::from_str(&row.settings)
            .map_err(|e| EngineError::Internal(format!("stored email settings: {e}")))?;
        for (field, server) in [
            (IMAP_PASSWORD, &mut settings.imap),
            (SMTP_PASSWORD, &mut settings.smtp),
        ] {
            if let Some(s) = server {
                s.password = self.secrets.open(field, &s.password)?;
            }
        }
        Ok(EmailConfig {
            inbox_id: row.inbox_id,
            settings,
            secret: self.secrets.open(REPLY_SECRET, &row.secret)?,
        })
    }

    /// Seals again, with the current key, every stored secret that is not (values stored
    /// before sealing existed, or sealed with a key being rotated out): the mail servers'
    /// passwords and reply secrets, the language model's key. Returns how many records
    /// changed; one changed meanwhile by an admin is left as they saved it (sealed already).
    pub async fn reseal_secrets(&self) -> EngineResult<Resealed> {
        let mut done = Resealed::default();
        for row in self.store.email_inboxes().await? {
            let stored: EmailSettings = serde_json::from_str(&row.settings)
                .map_err(|e| EngineError::Internal(format!("stored email settings: {e}")))?;
            let current = stored
                .imap
                .iter()
                .chain(stored.smtp.iter())
                .all(|s| s.password.is_empty() || self.secrets.is_current(&s.password))
                && self.secrets.is_current(&row.secret);
            if current {
                continue;
            }
            let (old_settings, old_secret) = (row.settings.clone(), row.secret.clone());
            let inbox = row.inbox_id;
            // One that does not open (another key) is left as it is, for its key to be found.
            let config = match self.config_from(row) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(inbox = %inbox, error = %e, "an email inbox's stored secrets do not open");
                    done.unreadable += 1;
                    continue;
                }
            };
            let settings = sealed_settings(&self.secrets, &config.settings)?;
            let secret = self.secrets.seal(REPLY_SECRET, &config.secret);
            if self
                .store
                .reseal_email_inbox(inbox, (&old_settings, &old_secret), (&settings, &secret))
                .await?
            {
                done.changed += 1;
            } else {
                // Changed meanwhile: looked at again by the next pass.
                done.raced += 1;
            }
        }
        let bot = self.reseal_bot_settings().await?;
        done.changed += bot.changed;
        done.unreadable += bot.unreadable;
        done.raced += bot.raced;
        Ok(done)
    }

    /// Trusts these certificate authorities (PEM) for mail servers too, e.g. a shop's own mail
    /// server with a private CA. Refuses a file without a certificate.
    pub fn with_mail_ca(mut self, pem: Vec<u8>) -> EngineResult<Self> {
        use tokio_rustls::rustls::pki_types::{CertificateDer, pem::PemObject};
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| EngineError::Internal(format!("the mail CA file: {e}")))?;
        if certs.is_empty() {
            return Err(EngineError::Internal(
                "the mail CA file holds no certificate".into(),
            ));
        }
        self.mail_ca = Some(std::sync::Arc::new(pem));
        Ok(self)
    }

    // ---- settings (admins) ----------------------------------------------------------------

    /// An admin connects a mailbox: a new inbox of channel `email`.
    pub async fn create_email_inbox(
        &self,
        admin: &Agent,
        name: &str,
        mut settings: EmailSettings,
        ip: Option<std::net::IpAddr>,
    ) -> EngineResult<Inbox> {
        Self::require_admin(admin)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(
                layan_core::InvalidValue::new("invalid_name", "name: 1 to 80 characters").into(),
            );
        }
        settings.check()?;
        if keeps_a_hidden_password(&settings) {
            return Err(layan_core::InvalidValue::new(
                "invalid_email_settings",
                "password: give the password",
            )
            .into());
        }
        let json = sealed_settings(&self.secrets, &settings)?;
        let inbox = match self
            .store
            .create_email_inbox(
                name,
                &settings.address,
                &json,
                &self.secrets.seal(REPLY_SECRET, &random_hex(32)),
                &format!("mail_{}", random_hex(16)),
            )
            .await
        {
            Err(StoreError::Conflict(_)) => return Err(EngineError::Conflict("address_taken")),
            other => other?,
        };
        self.audit(
            Some(admin),
            "email_inbox.create",
            Some(&format!("inbox:{}", inbox.id)),
            Some(&settings.address),
            ip,
        )
        .await;
        Ok(inbox)
    }

    pub(crate) async fn email_config(&self, inbox: InboxId) -> EngineResult<EmailConfig> {
        self.config_from(
            self.store
                .email_inbox(inbox)
                .await?
                .ok_or(EngineError::NotFound)?,
        )
    }

    /// An email inbox's settings (passwords hidden) and how fetching goes. Admins.
    pub async fn email_inbox(&self, admin: &Agent, inbox: InboxId) -> EngineResult<EmailInbox> {
        Self::require_admin(admin)?;
        let row = self
            .store
            .email_inbox(inbox)
            .await?
            .ok_or(EngineError::NotFound)?;
        let (fetch_error, fetched_at) = (row.fetch_error.clone(), row.fetched_at);
        // Shown redacted: nothing needs opening (so an inbox whose secrets do not open any
        // more can still be seen and repaired).
        let settings: EmailSettings = serde_json::from_str(&row.settings)
            .map_err(|e| EngineError::Internal(format!("stored email settings: {e}")))?;
        Ok(EmailInbox {
            inbox_id: inbox,
            settings: settings.redacted(),
            fetch_error,
            fetched_at,
        })
    }

    /// Changes an email inbox's settings; a password sent back as shown keeps the stored one.
    pub async fn update_email_inbox(
        &self,
        admin: &Agent,
        inbox: InboxId,
        mut settings: EmailSettings,
        ip: Option<std::net::IpAddr>,
    ) -> EngineResult<EmailInbox> {
        Self::require_admin(admin)?;
        let stored = self
            .store
            .email_inbox(inbox)
            .await?
            .ok_or(EngineError::NotFound)?;
        let mut new_secret = None;
        match self.config_from(stored) {
            Ok(old) => settings.keep_passwords_from(&old.settings)?,
            // Stored secrets that do not open (the key file was lost): new passwords must be
            // given, and the reply secret is made anew (older replies' tokens no longer match;
            // their threads still join by Message-ID).
            Err(e) => {
                new_secret = Some(self.secrets.seal(REPLY_SECRET, &random_hex(32)));
                tracing::warn!(inbox = %inbox, error = %e, "the stored mail passwords do not open");
                if keeps_a_hidden_password(&settings) {
                    return Err(layan_core::InvalidValue::new(
                        "invalid_email_settings",
                        "password: the stored password cannot be read any more; give it again",
                    )
                    .into());
                }
            }
        }
        settings.check()?;
        let json = sealed_settings(&self.secrets, &settings)?;
        match self
            .store
            .update_email_settings(inbox, &settings.address, &json)
            .await
        {
            Err(StoreError::Conflict(_)) => return Err(EngineError::Conflict("address_taken")),
            other => other?,
        }
        if let Some(secret) = new_secret {
            self.store.set_email_secret(inbox, &secret).await?;
        }
        self.audit(
            Some(admin),
            "email_inbox.update",
            Some(&format!("inbox:{inbox}")),
            Some(&settings.address),
            ip,
        )
        .await;
        self.email_inbox(admin, inbox).await
    }

    // ---- inbound ----------------------------------------------------------------------------

    /// Stores a received mail raw, with the job that reads it (one transaction). Returns its id
    /// and whether it was new; the same mail again stores nothing. Only after this returns may
    /// the mail be marked read at its source.
    pub async fn receive_email(&self, inbox: InboxId, raw: &[u8]) -> EngineResult<(i64, bool)> {
        // Only the headers: the body is decoded once, by the ingest job.
        let (sender, message_id) = mail::sender_and_id(raw);
        let key = dedupe_key(sender.as_deref(), message_id.as_deref(), raw);
        let (id, new) = self
            .store
            .store_inbound_email(inbox, &key, sender.as_deref(), raw)
            .await?;
        if new {
            self.wake_jobs();
        }
        Ok((id, new))
    }

    /// The `email.ingest` job: one stored mail becomes a message (or a bounce on one). Running
    /// it again changes nothing.
    /// `again`: an admin asked to read it again (the hourly limit does not hold it back).
    pub(crate) async fn email_ingest(&self, inbound: i64, again: bool) -> Result<(), JobError> {
        let row = self
            .store
            .inbound_email(inbound)
            .await?
            .ok_or_else(|| JobError::Permanent("no such mail".into()))?;
        if row.info.status == InboundStatus::Processed {
            return Ok(());
        }
        let config = self.email_config(row.info.inbox_id).await?;
        let parsed = match mail::parse(&row.raw) {
            Ok(p) => p,
            Err(e) => {
                self.store
                    .set_inbound_status(inbound, InboundStatus::Failed, Some(&e.to_string()))
                    .await?;
                return Ok(());
            }
        };
        let Some(from) = parsed.from.clone() else {
            self.store
                .set_inbound_status(
                    inbound,
                    InboundStatus::Failed,
                    Some("the mail has no sender"),
                )
                .await?;
            return Ok(());
        };
        // Our own addresses: a loop (or a mail we sent coming back); kept, not answered.
        let ours: Vec<String> = self
            .store
            .email_inboxes()
            .await?
            .into_iter()
            .filter_map(|r| serde_json::from_str::<EmailSettings>(&r.settings).ok())
            .map(|s| s.address)
            .collect();
        if ours.contains(&from.address) {
            self.store
                .set_inbound_status(
                    inbound,
                    InboundStatus::Ignored,
                    Some("sent from one of our own addresses"),
                )
                .await?;
            return Ok(());
        }
        // A bounce of one of our mails: recorded on that message.
        if is_bounce(&from.address, &row.raw) {
            let secret = config.secret.as_bytes();
            let mut bounced = false;
            for id in mail::signed_ids_in(secret, &row.raw) {
                if let Some((message, conversation)) = self.store.message_by_rfc_id(&id).await? {
                    let detail: String = parsed.visible.chars().take(500).collect();
                    self.store
                        .set_delivery(message, Delivery::Bounced, Some(detail.trim()))
                        .await?;
                    self.delivery_changed(conversation).await;
                    bounced = true;
                }
            }
            if bounced {
                self.store
                    .set_inbound_status(
                        inbound,
                        InboundStatus::Processed,
                        Some("a bounce, recorded on the message"),
                    )
                    .await?;
                return Ok(());
            }
        }
        // Floods and loops: over the sender's hourly limit the mail waits for an admin.
        let recent = self
            .store
            .inbound_count_from(
                row.info.inbox_id,
                &from.address,
                now_millis() - 3_600_000,
                inbound,
            )
            .await?;
        if !again && recent > i64::from(config.settings.max_per_sender_per_hour) {
            self.store
                .set_inbound_status(
                    inbound,
                    InboundStatus::Held,
                    Some(&format!(
                        "more than {} mails from this sender in an hour",
                        config.settings.max_per_sender_per_hour
                    )),
                )
                .await?;
            return Ok(());
        }

        let contact = self
            .contact_for_email(&from.address, from.name.as_deref())
            .await?;
        let (conversation, answers) = self.thread_of(&config, &parsed, contact).await?;
        let target = match conversation {
            Some(c) => Target::Conversation(c.id),
            None => Target::New {
                inbox_id: config.inbox_id,
                contact_id: contact,
            },
        };
        let body = message_text(&parsed);
        // Files over the limit are not kept, but named with their size on the message.
        let files_not_kept: Vec<layan_core::FileNotKept> = parsed
            .attachments
            .iter()
            .filter(|a| a.data.len() > MAX_ATTACHMENT_BYTES)
            .map(|a| layan_core::FileNotKept {
                name: safe_filename(&a.name),
                size: a.data.len() as u64,
            })
            .collect();
        let appended = self
            .ingest(NewMessage {
                target,
                direction: Direction::Incoming,
                author: Author::Contact(contact),
                author_name: from.name.clone(),
                body: MessageBody::parse(&body)?,
                client_message_id: Some(layan_core::ClientMessageId::parse(&format!(
                    "email-{inbound}"
                ))?),
                // No acknowledgement (or routing noise) for automatic mail.
                automations: parsed.automatic.is_none(),
                attachments: Vec::new(),
                extras: (!files_not_kept.is_empty()).then(|| layan_core::MessageExtras {
                    files_not_kept,
                    ..Default::default()
                }),
            })
            .await?;
        // A reply to a ticket from someone who is not part of it opened this conversation:
        // the agents see which ticket it answers (and may bring the two together).
        if let Some(original) = answers {
            self.note_answer_from_outside(
                &appended.message.conversation_id,
                &original,
                &from.address,
            )
            .await?;
        }
        let rfc = parsed
            .message_id
            .clone()
            .unwrap_or_else(|| format!("layan-in-{inbound}@{}", config.settings.domain()));
        let to: Vec<String> = parsed.to.iter().map(|m| m.address.clone()).collect();
        let cc: Vec<String> = parsed
            .cc
            .iter()
            .map(|m| m.address.clone())
            .filter(|a| !ours.contains(a))
            .collect();
        let attachments: Vec<NewAttachment> = parsed
            .attachments
            .iter()
            .filter(|a| a.data.len() <= MAX_ATTACHMENT_BYTES)
            .map(|a| NewAttachment {
                filename: safe_filename(&a.name),
                content_type: a.content_type.clone(),
                content_id: a.content_id.clone(),
                data: a.data.clone(),
            })
            .collect();
        self.store
            .record_inbound_message(
                inbound,
                &NewEmailMeta {
                    message_id: appended.message.id,
                    conversation_id: appended.message.conversation_id,
                    rfc_message_id: &rfc,
                    subject: &parsed.subject,
                    from: &from.address,
                    to: &to,
                    cc: &cc,
                    html: parsed.html.as_deref(),
                    full_text: Some(&parsed.text),
                    delivery: Delivery::Received,
                },
                &attachments,
            )
            .await?;
        Ok(())
    }

    /// Reads a stored mail now instead of waiting for its job (the demo's seed; the job then
    /// finds it done).
    pub async fn read_inbound_email_now(&self, inbound: i64) -> EngineResult<()> {
        self.email_ingest(inbound, false)
            .await
            .map_err(|e| EngineError::Internal(format!("{e:?}")))
    }

    /// The conversation a mail continues, if any (see the module's doc). A closed one is not
    /// continued: the mail opens a new conversation, as a chat message would. A mail that
    /// threads by a Message-ID (ours or one we stored) but comes from someone who is not a
    /// participant continues nothing: the second value is the conversation it answers, for a
    /// note in the new one — otherwise a forwarded reply would let anyone join a customer's
    /// ticket, and the people they copy would receive the agents' next replies.
    async fn thread_of(
        &self,
        config: &EmailConfig,
        parsed: &mail::InboundEmail,
        contact: layan_core::ContactId,
    ) -> EngineResult<(Option<Conversation>, Option<Conversation>)> {
        let mut answers = None;
        let usable = |c: Conversation| {
            (c.inbox_id == config.inbox_id && c.status != ConversationStatus::Closed).then_some(c)
        };
        let sender = parsed
            .from
            .as_ref()
            .map(|f| f.address.as_str())
            .unwrap_or("");
        // 1. Our signed token (only we can make one), from a participant.
        if let Some(id) = mail::conversation_from_references(config.secret.as_bytes(), parsed)
            && let Some(c) = self.store.conversation(ConversationId(id)).await?
            && let Some(c) = usable(c)
        {
            if self.takes_part(&c, contact, sender).await? {
                return Ok((Some(c), None));
            }
            answers = Some(c);
        }
        // 2. A Message-ID we stored, when the sender is the customer or took part by mail.
        let ids: Vec<String> = parsed
            .in_reply_to
            .iter()
            .chain(parsed.references.iter().rev())
            .cloned()
            .collect();
        for id in self
            .store
            .conversations_by_rfc_ids(config.inbox_id, &ids)
            .await?
        {
            let Some(c) = self.store.conversation(id).await? else {
                continue;
            };
            let Some(c) = usable(c) else { continue };
            if self.takes_part(&c, contact, sender).await? {
                return Ok((Some(c), None));
            }
            answers.get_or_insert(c);
        }
        // 3. The ticket number in the subject, for the same customer.
        if let Some(number) = mail::ticket_number_in_subject(&parsed.subject)
            && let Some(c) = self
                .store
                .conversation_by_number(config.inbox_id, number)
                .await?
            && c.contact_id == contact
            && let Some(c) = usable(c)
        {
            return Ok((Some(c), None));
        }
        Ok((None, answers))
    }

    /// Whether the sender of a mail takes part in a conversation: the customer, or someone
    /// the customer (or an agent's reply) copied — see [`mail_participants`].
    async fn takes_part(
        &self,
        c: &Conversation,
        contact: layan_core::ContactId,
        sender: &str,
    ) -> EngineResult<bool> {
        if c.contact_id == contact {
            return Ok(true);
        }
        let customer = self
            .store
            .contact(c.contact_id)
            .await?
            .and_then(|c| c.email);
        let thread = self.store.conversation_emails(c.id).await?;
        Ok(mail_participants(customer.as_deref(), &thread).contains(&sender.to_string()))
    }

    /// A private note in a conversation opened by a reply to another ticket from someone who
    /// is not part of it. Its text is English; agents' screens show it in their language
    /// from the event it carries.
    async fn note_answer_from_outside(
        &self,
        conversation: &ConversationId,
        original: &Conversation,
        sender: &str,
    ) -> EngineResult<()> {
        let text = format!(
            "This mail answers {} but comes from {sender}, who is not part of that ticket, so it \
             opened this conversation; nobody it copies gets replies unless an agent adds them.",
            original.number
        );
        self.ingest(NewMessage {
            target: Target::Conversation(*conversation),
            direction: Direction::Note,
            author: Author::System,
            author_name: None,
            body: MessageBody::parse(&text)?,
            client_message_id: None,
            automations: false,
            attachments: Vec::new(),
            extras: Some(layan_core::MessageExtras {
                event: Some(Box::new(layan_core::EventNote {
                    kind: "mail_answers_other_ticket".into(),
                    ticket: Some(original.number.0),
                    conversation: Some(original.id),
                    address: Some(sender.to_string()),
                })),
                ..Default::default()
            }),
        })
        .await?;
        Ok(())
    }

    /// Tells agents' screens that a message's delivery changed (the conversation is re-read).
    async fn delivery_changed(&self, conversation: ConversationId) {
        if let Err(e) = self.publish_conversation(conversation).await {
            tracing::debug!(error = %e, "could not publish a delivery change");
        }
    }

    /// Fetches new mail from one inbox's IMAP mailbox: each mail is read without marking it
    /// (`BODY.PEEK[]`), stored, and only then flagged `\Seen`. Returns how many were new.
    pub async fn fetch_mailbox(&self, inbox: InboxId) -> EngineResult<usize> {
        let config = self.email_config(inbox).await?;
        let Some(server) = config.settings.imap.clone() else {
            return Ok(0);
        };
        let result = tokio::time::timeout(
            MAIL_TIMEOUT * 3,
            self.fetch_with(&server, &config.settings.imap_folder, inbox),
        )
        .await
        .unwrap_or(Err(FetchError::Net(NetError::TimedOut)));
        match result {
            Ok((n, notice)) => {
                let _ = self.store.set_fetch_status(inbox, notice.as_deref()).await;
                Ok(n)
            }
            Err(FetchError::Net(e)) => {
                tracing::warn!(inbox = %inbox, error = %e, "fetching mail failed");
                let _ = self.store.set_fetch_status(inbox, Some(e.code())).await;
                Err(EngineError::Net(e))
            }
            Err(FetchError::Engine(e)) => Err(e),
        }
    }

    async fn fetch_with(
        &self,
        server: &MailServer,
        folder: &str,
        inbox: InboxId,
    ) -> Result<(usize, Option<String>), FetchError> {
        let stream = connect_imap(
            server,
            &self.outbound,
            self.mail_ca.as_deref().map(Vec::as_slice),
        )
        .await?;
        let mut client = async_imap::Client::new(stream);
        if server.security != Security::Starttls {
            client
                .read_response()
                .await
                .map_err(|e| net(NetError::Protocol, "greeting", e))?;
        }
        let mut session = client
            .login(&server.username, &server.password)
            .await
            .map_err(|(e, _)| imap_error(NetError::Auth, "login", e))?;
        let imap = |e: async_imap::error::Error| imap_error(NetError::Protocol, "command", e);
        session.select(folder).await.map_err(imap)?;
        let mut uids: Vec<u32> = session
            .uid_search("UNSEEN")
            .await
            .map_err(imap)?
            .into_iter()
            .collect();
        uids.sort_unstable();
        // Sizes first: a mail over the limit is never read into memory. It stays unread on the
        // server (nothing is lost) and the inbox's status says so, for an admin to deal with
        // in the mailbox; it does not take the place of other mail in a batch.
        let mut too_large = Vec::new();
        // In pieces: thousands of unread mails in one command line would pass what servers
        // accept (Dovecot: 64 KiB).
        for chunk in uids.chunks(500) {
            let set = chunk
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let mut sizes = session.uid_fetch(set, "RFC822.SIZE").await.map_err(imap)?;
            while let Some(f) = sizes.try_next().await.map_err(imap)? {
                if let (Some(uid), Some(size)) = (f.uid, f.size)
                    && usize::try_from(size).unwrap_or(usize::MAX) > mail::MAX_EMAIL_BYTES
                {
                    too_large.push((uid, size));
                }
            }
        }
        uids.retain(|u| !too_large.iter().any(|(t, _)| t == u));
        uids.truncate(FETCH_BATCH);
        let notice = (!too_large.is_empty()).then(|| {
            let list = too_large
                .iter()
                .map(|(uid, size)| format!("UID {uid} ({} MB)", size / (1024 * 1024)))
                .collect::<Vec<_>>()
                .join(", ");
            tracing::warn!(inbox = %inbox, mails = %list, "mails over the size limit left unread on the server");
            format!(
                "{} mail(s) larger than {} MB left unread on the server, not downloaded: {list}",
                too_large.len(),
                mail::MAX_EMAIL_BYTES / (1024 * 1024)
            )
        });
        let mut new = 0;
        for uid in uids {
            let raw = {
                let mut fetches = session
                    .uid_fetch(uid.to_string(), "BODY.PEEK[]")
                    .await
                    .map_err(imap)?;
                let mut raw = None;
                while let Some(f) = fetches.try_next().await.map_err(imap)? {
                    if let Some(b) = f.body() {
                        raw = Some(b.to_vec());
                    }
                }
                raw
            };
            let Some(raw) = raw else { continue };
            // Committed before the server hears anything: a failure here leaves it unread.
            let (_, fresh) = self
                .receive_email(inbox, &raw)
                .await
                .map_err(FetchError::Engine)?;
            if fresh {
                new += 1;
            }
            let _: Vec<_> = session
                .uid_store(uid.to_string(), "+FLAGS.SILENT (\\Seen)")
                .await
                .map_err(imap)?
                .try_collect()
                .await
                .map_err(imap)?;
        }
        let _ = session.logout().await;
        Ok((new, notice))
    }

    /// Fetches every email inbox's mailbox now and then, on every node (a mail fetched by two
    /// nodes at once is stored once).
    pub fn start_email_fetch(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            loop {
                match engine.store.email_inboxes().await {
                    Ok(rows) => {
                        for row in rows {
                            let _ = engine.fetch_mailbox(row.inbox_id).await;
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "listing email inboxes failed"),
                }
                tokio::time::sleep(every).await;
            }
        })
    }

    /// Received mails for the admin page (newest first). Admins.
    pub async fn inbound_emails(
        &self,
        admin: &Agent,
        status: Option<InboundStatus>,
    ) -> EngineResult<Vec<InboundEmailInfo>> {
        Self::require_admin(admin)?;
        Ok(self.store.inbound_emails(status, 200).await?)
    }

    /// A received mail's bytes, as received. Admins.
    pub async fn inbound_email_raw(&self, admin: &Agent, id: i64) -> EngineResult<Vec<u8>> {
        Self::require_admin(admin)?;
        Ok(self
            .store
            .inbound_email(id)
            .await?
            .ok_or(EngineError::NotFound)?
            .raw)
    }

    /// Reads a failed, held or ignored mail again (past the hourly limit). Admins; audited.
    pub async fn reprocess_inbound_email(
        &self,
        admin: &Agent,
        id: i64,
        ip: Option<std::net::IpAddr>,
    ) -> EngineResult<()> {
        Self::require_admin(admin)?;
        match self.store.requeue_inbound_email(id).await {
            Err(StoreError::NotFound) => {
                return Err(match self.store.inbound_email(id).await? {
                    Some(_) => EngineError::Conflict("already_processed"),
                    None => EngineError::NotFound,
                });
            }
            other => other?,
        }
        self.wake_jobs();
        self.audit(
            Some(admin),
            "email.reprocess",
            Some(&format!("inbound_email:{id}")),
            None,
            ip,
        )
        .await;
        Ok(())
    }

    /// The email side of a conversation's messages (subject, addresses, safe HTML,
    /// attachments, delivery), under the conversation's visibility rule.
    pub async fn conversation_emails(
        &self,
        access: &Access,
        conversation: ConversationId,
    ) -> EngineResult<Vec<EmailMeta>> {
        self.conversation_for(access, conversation).await?;
        Ok(self.store.conversation_emails(conversation).await?)
    }

    /// An attachment and its bytes, when the agent sees its conversation (404 otherwise).
    pub async fn attachment_for(
        &self,
        access: &Access,
        id: i64,
    ) -> EngineResult<(layan_core::AttachmentMeta, Vec<u8>)> {
        let (meta, conversation, data) = self
            .store
            .attachment(id)
            .await?
            .ok_or(EngineError::NotFound)?;
        self.conversation_for(access, conversation).await?;
        Ok((meta, data))
    }

    /// An agent uploads a file for a reply in a conversation they see (at most
    /// [`MAX_UPLOAD_BYTES`]); the reply then names it in `attachment_ids`.
    pub async fn upload_attachment(
        &self,
        access: &Access,
        conversation: ConversationId,
        filename: &str,
        content_type: &str,
        data: Vec<u8>,
    ) -> EngineResult<layan_core::AttachmentMeta> {
        self.conversation_for(access, conversation).await?;
        if data.is_empty() {
            return Err(layan_core::InvalidValue::new("empty_file", "the file is empty").into());
        }
        if data.len() > MAX_UPLOAD_BYTES {
            return Err(layan_core::InvalidValue::new(
                "file_too_large",
                format!(
                    "a file may be at most {} MB",
                    MAX_UPLOAD_BYTES / (1024 * 1024)
                ),
            )
            .into());
        }
        let content_type = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let well_formed = content_type.split_once('/').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && content_type.len() <= 100
                && content_type
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '+' | '-'))
        });
        let file = NewAttachment {
            filename: safe_filename(filename),
            content_type: if well_formed {
                content_type
            } else {
                "application/octet-stream".to_string()
            },
            content_id: None,
            data,
        };
        Ok(self
            .store
            .upload_attachment(conversation, access.agent.id, &file)
            .await?)
    }

    // ---- outbound ---------------------------------------------------------------------------

    /// The `email.send` job: one outgoing message by SMTP. Its Message-ID is fixed by the message,
    /// so a retry after an unclear failure is recognisable as the same mail; a mail recorded as
    /// sent is not sent again.
    pub(crate) async fn email_send(&self, message: MessageId) -> Result<(), JobError> {
        let m = self
            .store
            .message_by_id(message)
            .await?
            .ok_or_else(|| JobError::Permanent("no such message".into()))?;
        if !m.direction.visible_to_customer() {
            return Ok(());
        }
        let conversation = self
            .store
            .conversation(m.conversation_id)
            .await?
            .ok_or_else(|| JobError::Permanent("no such conversation".into()))?;
        let config = self.email_config(conversation.inbox_id).await?;
        let thread = self.store.conversation_emails(conversation.id).await?;
        if let Some(existing) = thread.iter().find(|e| e.message_id == message)
            && matches!(existing.delivery, Delivery::Sent | Delivery::Bounced)
        {
            return Ok(());
        }
        let contact = self.store.contact(conversation.contact_id).await?;
        let Some(to) = contact.as_ref().and_then(|c| c.email.clone()) else {
            self.record_failure(
                message,
                &conversation,
                &config,
                "the customer has no email address",
            )
            .await?;
            return Err(JobError::Permanent(
                "the customer has no email address".into(),
            ));
        };
        let rfc = format!(
            "{}@{}",
            mail::reply_token(
                config.secret.as_bytes(),
                conversation.id.0,
                &format!("m{}", message.0)
            ),
            config.settings.domain()
        );
        let first_subject = thread
            .iter()
            .find(|e| !e.subject.is_empty())
            .map(|e| e.subject.clone())
            .unwrap_or_default();
        let subject = reply_subject(&first_subject, conversation.number);
        let last_in = thread
            .iter()
            .rev()
            .find(|e| e.delivery == Delivery::Received);
        // The people the customer copied get the agents' replies; automatic mail (the
        // acknowledgement, the bot's and proactive messages) goes to the customer alone.
        // Only participants: the people the customer copied, never ones a copied person
        // added (nobody outside gets replies unless an agent adds them).
        // Automatic: the bot's, the acknowledgement, and what Layan writes by itself (proactive
        // order messages, authored by the system).
        let automatic = m.direction == Direction::Bot || matches!(m.author, Author::System);
        let cc: Vec<String> = if automatic {
            Vec::new()
        } else {
            // Reply-all to the last mail: its sender (a person the customer copied may write)
            // and its Cc's, as far as they take part.
            let participants = mail_participants(Some(&to), &thread);
            let mut cc: Vec<String> = Vec::new();
            for a in last_in
                .into_iter()
                .flat_map(|e| std::iter::once(&e.from).chain(e.cc.iter()))
            {
                if *a != to && participants.contains(a) && !cc.contains(a) {
                    cc.push(a.clone());
                }
            }
            cc
        };
        let references: Vec<String> = thread
            .iter()
            .filter(|e| e.message_id != message)
            .map(|e| e.rfc_message_id.clone())
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let to_list = vec![to.clone()];
        self.store
            .queue_outbound_email(&NewEmailMeta {
                message_id: message,
                conversation_id: conversation.id,
                rfc_message_id: &rfc,
                subject: &subject,
                from: &config.settings.address,
                to: &to_list,
                cc: &cc,
                html: None,
                full_text: None,
                delivery: Delivery::Queued,
            })
            .await?;
        let Some(smtp) = config.settings.smtp.clone() else {
            self.record_failure(
                message,
                &conversation,
                &config,
                "no SMTP server is set for this inbox",
            )
            .await?;
            return Err(JobError::Permanent(
                "no SMTP server is set for this inbox".into(),
            ));
        };
        let display = match (&m.author, m.author_name.as_deref()) {
            (Author::Agent(_), Some(name)) => format!("{name} ({})", config.settings.from_name),
            _ => config.settings.from_name.clone(),
        };
        let built = build_mail(&OutgoingMail {
            from_name: &display,
            from: &config.settings.address,
            to: &to,
            to_name: contact.as_ref().and_then(|c| c.name.as_deref()),
            cc: &cc,
            subject: &subject,
            message_id: &rfc,
            in_reply_to: last_in.map(|e| e.rfc_message_id.as_str()),
            references: &references,
            text: &m.body,
            automatic,
            files: &self.store.message_files(message).await?,
        })
        .map_err(|e| JobError::Permanent(format!("the mail could not be built: {e}")))?;
        let recipients: Vec<String> = std::iter::once(to.clone())
            .chain(cc.iter().filter(|c| **c != to).cloned())
            .collect();
        match smtp::send(
            &smtp,
            &self.outbound,
            &config.settings.address,
            &recipients,
            &built.formatted(),
            self.mail_ca.as_deref().map(Vec::as_slice),
        )
        .await
        {
            Ok(handed) => {
                // Sent; the Cc's the server refused are named on the message.
                let refused = (!handed.refused.is_empty()).then(|| {
                    handed
                        .refused
                        .iter()
                        .map(|(a, why)| format!("{a} ({why})"))
                        .collect::<Vec<_>>()
                        .join("; ")
                });
                if let Some(r) = &refused {
                    tracing::info!(message = message.0, refused = %r, "mail sent; some Cc's were refused");
                }
                self.store
                    .set_delivery(message, Delivery::Sent, refused.as_deref())
                    .await?;
                self.delivery_changed(conversation.id).await;
                Ok(())
            }
            Err(smtp::SendError::Permanent(e)) => {
                self.record_failure(message, &conversation, &config, &e)
                    .await?;
                Err(JobError::Permanent(e))
            }
            Err(smtp::SendError::Transient(e)) => {
                // Shown while retries go on; the last attempt's failure stays.
                self.store
                    .set_delivery(message, Delivery::Failed, Some(&format!("retrying: {e}")))
                    .await?;
                self.delivery_changed(conversation.id).await;
                Err(JobError::Retry(e))
            }
        }
    }

    async fn record_failure(
        &self,
        message: MessageId,
        conversation: &Conversation,
        config: &EmailConfig,
        why: &str,
    ) -> EngineResult<()> {
        let rfc = format!("layan-failed-{}@{}", message.0, config.settings.domain());
        self.store
            .queue_outbound_email(&NewEmailMeta {
                message_id: message,
                conversation_id: conversation.id,
                rfc_message_id: &rfc,
                subject: "",
                from: &config.settings.address,
                to: &[],
                cc: &[],
                html: None,
                full_text: None,
                delivery: Delivery::Failed,
            })
            .await?;
        self.store
            .set_delivery(message, Delivery::Failed, Some(why))
            .await?;
        self.delivery_changed(conversation.id).await;
        Ok(())
    }

    /// Whether an inbox takes widget visitors (email inboxes do not).
    pub(crate) fn is_widget_inbox(inbox: &Inbox) -> bool {
        inbox.channel == ChannelKind::WebWidget
    }
}

/// Who takes part in a conversation by mail: the customer, the people the customer's own mails
/// copied, and those the shop's mails went to. Someone a copied person adds is not one of them.
fn mail_participants(customer: Option<&str>, thread: &[EmailMeta]) -> Vec<String> {
    let mut people: Vec<String> = customer.map(str::to_string).into_iter().collect();
    for e in thread {
        let from_customer = e.delivery == Delivery::Received && Some(e.from.as_str()) == customer;
        let ours = e.delivery != Delivery::Received;
        if from_customer || ours {
            for a in e.to.iter().chain(e.cc.iter()) {
                if !people.contains(a) {
                    people.push(a.clone());
                }
            }
        }
    }
    people
}

/// A delivery report: from a mailer daemon or postmaster, or a `multipart/report` of delivery
/// status (RFC 3464).
fn is_bounce(sender: &str, raw: &[u8]) -> bool {
    let local = sender.split('@').next().unwrap_or("");
    if matches!(local, "mailer-daemon" | "postmaster" | "mail-daemon") {
        return true;
    }
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len().min(64 * 1024));
    String::from_utf8_lossy(&raw[..head_end])
        .to_ascii_lowercase()
        .contains("report-type=delivery-status")
}

/// The text a mail's message shows: what the customer wrote (quotes trimmed), else the whole
/// text, else the attachments' names; cut to the message limit (the full text is kept).
fn message_text(parsed: &mail::InboundEmail) -> String {
    let mut text = parsed.visible.trim().to_string();
    if text.is_empty() {
        text = parsed.text.trim().to_string();
    }
    if text.is_empty() && !parsed.subject.trim().is_empty() {
        text = parsed.subject.trim().to_string();
    }
    if text.is_empty() {
        let names: Vec<&str> = parsed.attachments.iter().map(|a| a.name.as_str()).collect();
        text = if names.is_empty() {
            "(empty email)".to_string()
        } else {
            format!("({})", names.join(", "))
        };
    }
    let text: String = text.chars().filter(|c| *c != '\0').collect();
    if text.chars().count() > layan_core::MAX_MESSAGE_CHARS {
        let mut cut: String = text
            .chars()
            .take(layan_core::MAX_MESSAGE_CHARS - 2)
            .collect();
        cut.push_str(" …");
        cut
    } else {
        text
    }
}

enum FetchError {
    /// The server could not be reached or used (shown to admins as this code).
    Net(NetError),
    Engine(EngineError),
}

fn tls_config(
    extra_ca: Option<&[u8]>,
) -> Result<std::sync::Arc<tokio_rustls::rustls::ClientConfig>, FetchError> {
    use tokio_rustls::rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = tokio_rustls::rustls::RootCertStore::from_iter(
        webpki_roots::TLS_SERVER_ROOTS.iter().cloned(),
    );
    if let Some(pem) = extra_ca {
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| net(NetError::Tls, "the mail CA file", e))?;
            roots
                .add(cert)
                .map_err(|e| net(NetError::Tls, "the mail CA file", e))?;
        }
    }
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| net(NetError::Tls, "TLS", e))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(std::sync::Arc::new(config))
}

async fn tls_wrap(
    tcp: TcpStream,
    host: &str,
    extra_ca: Option<&[u8]>,
) -> Result<MailStream, FetchError> {
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| net(NetError::Tls, host, e))?;
    let tls = tokio_rustls::TlsConnector::from(tls_config(extra_ca)?)
        .connect(name, tcp)
        .await
        .map_err(|e| net(NetError::Tls, host, e))?;
    Ok(Either::Left(tls))
}

/// A classified IMAP failure; the server's own words go to the log only.
fn net(kind: NetError, what: &str, e: impl std::fmt::Display) -> FetchError {
    tracing::warn!(error = %e, "IMAP {what}: {kind}");
    FetchError::Net(kind)
}

/// Classifies an IMAP error: `No`/`Bad` answers are the server's protocol, I/O is the network.
fn imap_error(as_answer: NetError, what: &str, e: async_imap::error::Error) -> FetchError {
    use async_imap::error::Error as E;
    let kind = match &e {
        E::Io(io) => NetError::of_io(io),
        E::ConnectionLost => NetError::Refused,
        E::No(_) | E::Bad(_) => as_answer,
        _ => NetError::Protocol,
    };
    net(kind, what, e)
}

async fn connect_imap(
    server: &MailServer,
    outbound: &OutboundPolicy,
    extra_ca: Option<&[u8]>,
) -> Result<MailStream, FetchError> {
    let (tcp, _) = outbound
        .connect(&server.host, server.port, MAIL_TIMEOUT)
        .await
        .map_err(|kind| net(kind, &format!("{}:{}", server.host, server.port), kind))?;
    match server.security {
        Security::Tls => tls_wrap(tcp, &server.host, extra_ca).await,
        Security::None => Ok(Either::Right(tcp)),
        Security::Starttls => {
            let mut client = async_imap::Client::new(tcp);
            client
                .read_response()
                .await
                .map_err(|e| net(NetError::Protocol, "greeting", e))?;
            client
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|e| imap_error(NetError::Tls, "STARTTLS", e))?;
            tls_wrap(client.into_inner(), &server.host, extra_ca).await
        }
    }
}

struct OutgoingMail<'a> {
    from_name: &'a str,
    from: &'a str,
    to: &'a str,
    to_name: Option<&'a str>,
    cc: &'a [String],
    subject: &'a str,
    /// Without brackets.
    message_id: &'a str,
    in_reply_to: Option<&'a str>,
    references: &'a [String],
    text: &'a str,
    /// An acknowledgement or other automatic message: `Auto-Submitted: auto-replied`.
    automatic: bool,
    files: &'a [(layan_core::AttachmentMeta, Vec<u8>)],
}

/// `Auto-Submitted` (RFC 3834), so other systems do not answer our automatic mail.
#[derive(Clone)]
struct AutoSubmitted;

impl lettre::message::header::Header for AutoSubmitted {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), "auto-replied".to_string())
    }
}

fn html_of(text: &str) -> String {
    let mut out = String::from(
        "<!doctype html><html><body><div style=\"font-family:sans-serif;white-space:pre-wrap\">",
    );
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("<br>"),
            c => out.push(c),
        }
    }
    out.push_str("</div></body></html>");
    out
}

fn build_mail(m: &OutgoingMail<'_>) -> Result<lettre::Message, String> {
    use lettre::message::{Mailbox, MultiPart};
    let addr = |a: &str| {
        a.parse::<lettre::Address>()
            .map_err(|e| format!("{a}: {e}"))
    };
    // Every text that becomes a header is made one line here, whatever was stored: lettre
    // panics on a display name with CR or LF, and a subject or file name must not carry them
    // either. Entries clean or refuse such text already; this keeps a stored value from older
    // versions (or a path not yet known) from ever stopping the send.
    let from_name = layan_core::one_line(m.from_name);
    let to_name = m
        .to_name
        .map(layan_core::one_line)
        .filter(|n| !n.is_empty());
    let mut b = lettre::Message::builder()
        .from(Mailbox::new(Some(from_name.clone()), addr(m.from)?))
        .reply_to(Mailbox::new(Some(from_name), addr(m.from)?))
        .to(Mailbox::new(to_name, addr(m.to)?))
        .subject(layan_core::one_line(m.subject))
        .message_id(Some(format!("<{}>", m.message_id)));
    for c in m.cc {
        if let Ok(a) = addr(c) {
            b = b.cc(Mailbox::new(None, a));
        }
    }
    if let Some(r) = m.in_reply_to {
        b = b.in_reply_to(format!("<{r}>"));
    }
    if !m.references.is_empty() {
        b = b.references(
            m.references
                .iter()
                .map(|r| format!("<{r}>"))
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    if m.automatic {
        b = b.header(AutoSubmitted);
    }
    let body = MultiPart::alternative_plain_html(m.text.to_string(), html_of(m.text));
    if m.files.is_empty() {
        return b.multipart(body).map_err(|e| e.to_string());
    }
    let mut mixed = MultiPart::mixed().multipart(body);
    for (meta, data) in m.files {
        // Uploads are checked to `type/subtype`; anything lettre still refuses goes as bytes.
        let content_type = lettre::message::header::ContentType::parse(&meta.content_type)
            .or_else(|_| lettre::message::header::ContentType::parse("application/octet-stream"))
            .map_err(|e| e.to_string())?;
        mixed = mixed.singlepart(
            lettre::message::Attachment::new(layan_core::one_line(&meta.filename))
                .body(data.clone(), content_type),
        );
    }
    b.multipart(mixed).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outgoing_mail_threads_and_escapes() {
        let refs = vec!["a@x.test".to_string(), "b@x.test".to_string()];
        let m = build_mail(&OutgoingMail {
            from_name: "Rina (Toko Batik)",
            from: "help@shop.test",
            to: "sari@example.test",
            to_name: Some("Sari"),
            cc: &["budi@example.test".to_string()],
            subject: "Re: Pesanan [#1042]",
            message_id: "layan.c1.m2.abc@shop.test",
            in_reply_to: Some("b@x.test"),
            references: &refs,
            text: "Halo <b>Sari</b> & terima kasih",
            automatic: true,
            files: &[(
                layan_core::AttachmentMeta {
                    id: 1,
                    filename: "resi.pdf".into(),
                    content_type: "application/pdf".into(),
                    size: 4,
                    content_id: None,
                },
                b"%PDF".to_vec(),
            )],
        })
        .unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(
            raw.contains("Message-ID: <layan.c1.m2.abc@shop.test>"),
            "{raw}"
        );
        assert!(raw.contains("In-Reply-To: <b@x.test>"));
        assert!(raw.contains("References: <a@x.test> <b@x.test>"));
        assert!(raw.contains("Auto-Submitted: auto-replied"));
        assert!(raw.contains("Cc: budi@example.test"));
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("&lt;b&gt;Sari&lt;/b&gt; &amp; terima kasih"));
        let back = mail::parse(raw.as_bytes()).unwrap();
        assert_eq!(back.subject, "Re: Pesanan [#1042]");
        assert_eq!(back.attachments.len(), 1);
        assert_eq!(back.attachments[0].name, "resi.pdf");
        assert_eq!(back.attachments[0].data, b"%PDF");
        assert_eq!(back.text.trim(), "Halo <b>Sari</b> & terima kasih");
        assert_eq!(back.from.unwrap().address, "help@shop.test");
        assert_eq!(back.in_reply_to, vec!["b@x.test".to_string()]);
    }

    /// A display name decoded from a mail with CR/LF in it (`x\r\nBcc: victim@…`) made lettre
    /// panic while building the reply, which stopped the job worker for good.
    #[test]
    fn a_name_with_line_breaks_never_breaks_a_mail() {
        let m = build_mail(&OutgoingMail {
            from_name: "Rina\r\nX-Injected: 1",
            from: "help@shop.test",
            to: "sari@example.test",
            to_name: Some("x\r\nBcc: victim@example.com"),
            cc: &[],
            subject: "Re: hi\r\nBcc: victim@example.com",
            message_id: "layan.c1.m2.abc@shop.test",
            in_reply_to: None,
            references: &[],
            text: "hello",
            automatic: false,
            files: &[(
                layan_core::AttachmentMeta {
                    id: 1,
                    filename: "a\r\nb.pdf".into(),
                    content_type: "application/pdf".into(),
                    size: 4,
                    content_id: None,
                },
                b"%PDF".to_vec(),
            )],
        })
        .unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        let headers = raw.split("\r\n\r\n").next().unwrap();
        assert!(!headers.contains("\r\nBcc:"), "{headers}");
        assert!(!headers.contains("\r\nX-Injected"), "{headers}");
        let back = mail::parse(raw.as_bytes()).unwrap();
        assert_eq!(
            back.to[0].name.as_deref(),
            Some("x Bcc: victim@example.com")
        );
        assert_eq!(back.subject, "Re: hi Bcc: victim@example.com");
        assert_eq!(back.attachments[0].name, "a b.pdf");
    }

    #[test]
    fn the_message_text_is_never_empty_and_never_too_long() {
        let mut p = mail::parse(b"From: a@b.test\r\nSubject: \r\n\r\n").unwrap();
        assert_eq!(message_text(&p), "(empty email)");
        p.text = "x".repeat(20_000);
        let t = message_text(&p);
        assert_eq!(t.chars().count(), layan_core::MAX_MESSAGE_CHARS);
        assert!(MessageBody::parse(&t).is_ok());
    }

    #[test]
    fn the_same_mail_has_the_same_key() {
        let key = |raw: &[u8]| {
            let (sender, id) = mail::sender_and_id(raw);
            dedupe_key(sender.as_deref(), id.as_deref(), raw)
        };
        let raw = b"From: a@b.test\r\nMessage-ID: <1@b.test>\r\nSubject: x\r\n\r\nhi\r\n";
        assert_eq!(key(raw), "mid:a@b.test:1@b.test");
        let other = b"From: a@b.test\r\nSubject: x\r\n\r\nhi\r\n";
        assert!(key(other).starts_with("sha256:"));
        assert!(key(b"garbage").starts_with("sha256:"));
    }
}
