//! One customer across channels: the profile agents see (identities, every conversation and
//! order on a timeline, order count and lifetime value), identities added by hand in their one
//! normal form, suggested duplicates and the merge, and privacy (export and erasure).
//!
//! Visibility follows conversations: admins and supervisors see every contact; an agent sees a
//! contact that has a conversation in one of their inboxes, and only those conversations. The
//! merge and erasure are for admins and supervisors.

use std::sync::Arc;

use layan_core::{
    Contact, ContactId, DuplicateReason, Event, Identity, IdentityKind, InvalidValue, MergeOutcome,
    Order, PhoneCountry, Spend, TimelineEntry,
    contact::{check_attributes, lifetime_value},
};
use layan_store::{ProfileChanges, StoreError};
use serde::Serialize;

use crate::{Access, Engine, EngineError, EngineResult, Topic, relay::Relayed};

/// What the conversation sidebar shows about a customer.
#[derive(Debug, Clone, Serialize)]
pub struct ContactProfile {
    pub contact: Contact,
    pub identities: Vec<Identity>,
    pub order_count: usize,
    pub lifetime_value: Vec<Spend>,
    /// The newest orders (at most 20).
    pub orders: Vec<Order>,
    /// Conversations (in the asking agent's inboxes) and orders, newest first.
    pub timeline: Vec<TimelineEntry>,
}

/// A contact that may be the same person, and why.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateContact {
    pub contact: Contact,
    pub reason: DuplicateReason,
}

/// Changes to a profile as an agent sends them (`None` keeps, `""` clears).
#[derive(Debug, Default)]
pub struct ProfileEdit<'a> {
    pub name: Option<&'a str>,
    pub locale: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub notes: Option<&'a str>,
    pub attributes: Option<&'a serde_json::Value>,
}

/// The text that replaces every message of an erased customer.
pub const REDACTED: &str = "[removed at the customer's request]";

/// How many of a contact's orders count towards the profile's figures.
const PROFILE_ORDERS: u32 = 1_000;

impl Engine {
    /// The contact, if the agent may see it.
    pub async fn contact_for(&self, access: &Access, id: ContactId) -> EngineResult<Contact> {
        let contact = self.store.contact(id).await?.ok_or(EngineError::NotFound)?;
        if access.inboxes.is_none() {
            return Ok(contact);
        }
        let seen = self
            .store
            .contact_conversations(id, access.inboxes.as_deref(), 1)
            .await?;
        if seen.is_empty() {
            return Err(EngineError::NotFound);
        }
        Ok(contact)
    }

    /// The profile with identities, orders, figures and the timeline.
    pub async fn contact_profile(
        &self,
        access: &Access,
        id: ContactId,
    ) -> EngineResult<ContactProfile> {
        let contact = self.contact_for(access, id).await?;
        let identities = self.store.contact_identities(id).await?;
        let conversations = self
            .store
            .contact_conversations(id, access.inboxes.as_deref(), 200)
            .await?;
        let mut orders = self.store.orders_of_contact(id, PROFILE_ORDERS).await?;
        let order_count = orders.len();
        let lifetime_value = lifetime_value(&orders);
        let mut timeline: Vec<TimelineEntry> = conversations
            .into_iter()
            .map(|c| TimelineEntry::Conversation {
                id: c.id,
                number: c.number,
                inbox: c.inbox,
                channel: c.channel,
                status: c.status,
                at: c.last_message_at,
                preview: c.last_body.map(|b| preview(&b)),
            })
            .collect();
        timeline.extend(orders.iter().map(|o| TimelineEntry::Order {
            id: o.id,
            number: o.number.clone(),
            total: o.total.clone(),
            currency: o.currency.clone(),
            status: o.status().to_string(),
            at: o.placed_at,
        }));
        timeline.sort_by_key(|e| std::cmp::Reverse(e.at()));
        orders.truncate(20);
        Ok(ContactProfile {
            contact,
            identities,
            order_count,
            lifetime_value,
            orders,
            timeline,
        })
    }

    /// Edits the profile: name, language, phone (read as E.164 with the shop's country), notes,
    /// custom attributes.
    pub async fn edit_contact(
        &self,
        access: &Access,
        id: ContactId,
        edit: &ProfileEdit<'_>,
        country: Option<PhoneCountry>,
    ) -> EngineResult<Contact> {
        self.contact_for(access, id).await?;
        let name = edit.name.map(str::trim);
        if let Some(n) = name {
            if n.chars().count() > 200 {
                return Err(
                    InvalidValue::new("invalid_name", "a name has at most 200 characters").into(),
                );
            }
            // A name reaches mail headers: CR/LF there would add headers (`Bcc:`).
            layan_core::check_one_line(n, "invalid_name", "a name")?;
        }
        let locale = match edit.locale.map(str::trim) {
            Some("") => Some(String::new()),
            Some(l) => Some(
                layan_core::Locale::from_tag(l)
                    .ok_or_else(|| {
                        InvalidValue::new("invalid_locale", "language is en, id, th or nl")
                    })?
                    .as_str()
                    .to_string(),
            ),
            None => None,
        };
        let phone = match edit.phone.map(str::trim) {
            Some("") => Some(String::new()),
            Some(p) => Some(
                layan_core::PhoneNumber::parse(p, country)?
                    .as_str()
                    .to_string(),
            ),
            None => None,
        };
        if let Some(n) = edit.notes
            && n.chars().count() > 5_000
        {
            return Err(
                InvalidValue::new("invalid_notes", "notes have at most 5,000 characters").into(),
            );
        }
        let attributes = match edit.attributes {
            Some(a) => {
                check_attributes(a)?;
                Some(a.to_string())
            }
            None => None,
        };
        Ok(self
            .store
            .update_profile(
                id,
                &ProfileChanges {
                    name,
                    locale: locale.as_deref(),
                    phone: phone.as_deref(),
                    notes: edit.notes,
                    attributes: attributes.as_deref(),
                },
            )
            .await?)
    }

    /// Adds an identity in its normal form. One that belongs to another contact is a conflict
    /// (`identity_taken`): that is a duplicate to merge, never something to move silently.
    pub async fn add_identity(
        &self,
        access: &Access,
        id: ContactId,
        kind: &str,
        value: &str,
        country: Option<PhoneCountry>,
    ) -> EngineResult<Identity> {
        self.contact_for(access, id).await?;
        let kind = IdentityKind::parse(kind).ok_or_else(|| {
            InvalidValue::new(
                "invalid_identity",
                "kind is one of email, phone, whatsapp, telegram, line, messenger, store_customer",
            )
        })?;
        let value = kind.normalize(value, country)?;
        if let Some(owner) = self
            .store
            .contact_by_identity(kind.as_str(), &value)
            .await?
        {
            return Err(if owner.id == id {
                EngineError::Conflict("identity_exists")
            } else {
                EngineError::Conflict("identity_taken")
            });
        }
        match self
            .store
            .add_contact_identity(id, kind.as_str(), &value)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(EngineError::Conflict("identity_taken")),
            Err(e) => return Err(e.into()),
        }
        self.audit(
            Some(&access.agent),
            "identity_added",
            Some(&format!("contact {}", id.0)),
            Some(kind.as_str()),
            None,
        )
        .await;
        Ok(Identity {
            kind,
            value: Some(value),
            created_at: layan_core::now_millis(),
        })
    }

    /// Removes an identity agents can see (widget sessions are not theirs to remove).
    pub async fn remove_identity(
        &self,
        access: &Access,
        id: ContactId,
        kind: &str,
        value: &str,
    ) -> EngineResult<()> {
        self.contact_for(access, id).await?;
        let kind = IdentityKind::parse(kind)
            .filter(|k| !k.is_session())
            .ok_or(EngineError::NotFound)?;
        if !self.store.remove_identity(id, kind.as_str(), value).await? {
            return Err(EngineError::NotFound);
        }
        self.audit(
            Some(&access.agent),
            "identity_removed",
            Some(&format!("contact {}", id.0)),
            Some(kind.as_str()),
            None,
        )
        .await;
        Ok(())
    }

    /// Contacts that may be the same person (only ones the agent may see).
    pub async fn duplicates(
        &self,
        access: &Access,
        id: ContactId,
    ) -> EngineResult<Vec<DuplicateContact>> {
        self.contact_for(access, id).await?;
        let mut out = Vec::new();
        for (contact, reason) in self.store.duplicate_contacts(id).await? {
            if access.inboxes.is_some() && self.contact_for(access, contact.id).await.is_err() {
                continue;
            }
            out.push(DuplicateContact { contact, reason });
        }
        Ok(out)
    }

    /// Merges `from` into `into`: every conversation, identity and order moves, `from` is
    /// deleted. Admins and supervisors only; audited with what `from` was, so it can be undone
    /// by hand. Live widget connections of `from` reconnect and find themselves on `into`.
    pub async fn merge_contacts(
        &self,
        access: &Access,
        into: ContactId,
        from: ContactId,
        ip: Option<std::net::IpAddr>,
    ) -> EngineResult<MergeOutcome> {
        if into == from {
            return Err(
                InvalidValue::new("merge_self", "a contact cannot be merged with itself").into(),
            );
        }
        self.contact_for(access, into).await?;
        let old = self.contact_for(access, from).await?;
        if !access.supervises() {
            return Err(EngineError::Forbidden(
                "only admins and supervisors merge contacts",
            ));
        }
        let identities = self.store.contact_identities(from).await?;
        let outcome = self.store.merge_contacts(into, from).await?;
        let detail = serde_json::json!({
            "merged": old,
            "identities": identities,
            "conversations": outcome.conversations,
            "orders": outcome.orders,
        });
        self.audit(
            Some(&access.agent),
            "contacts_merged",
            Some(&format!("contact {} -> {}", from.0, into.0)),
            Some(&detail.to_string()),
            ip,
        )
        .await;
        self.contact_moved(from, into);
        self.relay(Relayed::ContactMerged {
            node: self.node,
            from: from.0,
            into: into.0,
        });
        Ok(outcome)
    }

    /// Tells this node's connections of `from` that it is now `into`.
    pub(crate) fn contact_moved(&self, from: ContactId, into: ContactId) {
        self.hub.publish(
            Topic::Contact(from),
            Arc::new(Event::ContactMerged { from, into }),
        );
    }
}

/// The first line of a message, short enough for a timeline.
fn preview(body: &str) -> String {
    let line = body
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let mut out: String = line.chars().take(120).collect();
    if line.chars().count() > 120 {
        out.push('…');
    }
    out
}

/// How many message ids are re-read into the search index at a time after an erasure.
const PURGE_BATCH: usize = 500;

impl Engine {
    /// Everything stored about a customer, for a data request: the profile, identities (session
    /// kinds without their hashes), every conversation with its messages (private notes left
    /// out: they are the shop's), and orders. Admins and supervisors; audited.
    pub async fn export_contact(
        &self,
        access: &Access,
        id: ContactId,
        ip: Option<std::net::IpAddr>,
    ) -> EngineResult<serde_json::Value> {
        let contact = self.contact_for(access, id).await?;
        if !access.supervises() {
            return Err(EngineError::Forbidden(
                "only admins and supervisors export customer data",
            ));
        }
        let export = self.contact_export(&contact).await?;
        self.audit(
            Some(&access.agent),
            "contact_exported",
            Some(&format!("contact {}", id.0)),
            None,
            ip,
        )
        .await;
        Ok(export)
    }

    pub(crate) async fn contact_export(
        &self,
        contact: &Contact,
    ) -> EngineResult<serde_json::Value> {
        let id = contact.id;
        let identities = self.store.contact_identities(id).await?;
        let conversations = self.store.contact_conversations(id, None, 500).await?;
        let messages = self.store.contact_messages(id).await?;
        let orders = self.store.orders_of_contact(id, PROFILE_ORDERS).await?;
        // The email side of their mails (subject, addresses, the full text, file names).
        let mut emails = std::collections::HashMap::new();
        for c in &conversations {
            for e in self.store.conversation_emails(c.id).await? {
                emails.insert(e.message_id, e);
            }
        }
        let conversations: Vec<serde_json::Value> = conversations
            .iter()
            .map(|c| {
                let msgs: Vec<serde_json::Value> = messages
                    .iter()
                    .filter(|m| {
                        m.conversation_id == c.id && m.direction != layan_core::Direction::Note
                    })
                    .map(|m| {
                        let mut v = serde_json::json!({
                            "at": m.created_at,
                            "direction": m.direction,
                            "author": m.author_name,
                            "body": m.body,
                        });
                        if let Some(e) = emails.get(&m.id) {
                            v["email"] = serde_json::json!({
                                "subject": e.subject,
                                "from": e.from,
                                "to": e.to,
                                "cc": e.cc,
                                "full_text": e.full_text,
                                "attachments": e.attachments.iter().map(|a| &a.filename).collect::<Vec<_>>(),
                            });
                        }
                        v
                    })
                    .collect();
                serde_json::json!({
                    "number": c.number,
                    "inbox": c.inbox,
                    "channel": c.channel,
                    "status": c.status,
                    "messages": msgs,
                })
            })
            .collect();
        Ok(serde_json::json!({
            "exported_at": layan_core::now_millis(),
            "contact": contact,
            "identities": identities,
            "conversations": conversations,
            "orders": orders,
        }))
    }

    /// Erases a customer: every message of their conversations redacted, identities and orders
    /// deleted, the profile emptied; the search index re-reads the redacted messages here and on
    /// every other node. Admins only; audited (without the erased data).
    pub async fn erase_contact(
        &self,
        actor: Option<&Access>,
        id: ContactId,
        ip: Option<std::net::IpAddr>,
    ) -> EngineResult<layan_store::Erased> {
        if let Some(access) = actor {
            self.contact_for(access, id).await?;
            if access.agent.role != layan_core::Role::Admin {
                return Err(EngineError::Forbidden("only admins erase customers"));
            }
        }
        let erased = self.store.erase_contact(id, REDACTED).await?;
        self.audit(
            actor.map(|a| &a.agent),
            "contact_erased",
            Some(&format!("contact {}", id.0)),
            Some(&format!(
                "{} conversations, {} messages redacted; {} identities, {} orders removed",
                erased.conversations.len(),
                erased.messages,
                erased.identities,
                erased.orders
            )),
            ip,
        )
        .await;
        self.purge_from_index(&erased.conversations).await?;
        self.relay(Relayed::Erased {
            node: self.node,
            contact: id.0,
        });
        Ok(erased)
    }

    /// Re-reads these conversations' messages into the search index, so words that were
    /// erased cannot be found any more.
    pub(crate) async fn purge_from_index(
        &self,
        conversations: &[layan_core::ConversationId],
    ) -> EngineResult<()> {
        let ids = self.store.message_ids_of(conversations).await?;
        let _one_at_a_time = self.indexer.lock().await;
        for chunk in ids.chunks(PURGE_BATCH) {
            let docs: Vec<_> = self
                .store
                .indexable_messages_by_ids(chunk)
                .await?
                .into_iter()
                .map(crate::search::indexed)
                .collect();
            let index = self.messages.clone();
            crate::blocking(move || {
                let watermark = index.watermark();
                // Only messages the index already has: newer ones come with the indexer.
                let docs: Vec<_> = docs.into_iter().filter(|d| d.id <= watermark).collect();
                index.add(&docs)?;
                index.commit(watermark)
            })
            .await?;
        }
        // The replaced documents are only marked deleted until their segments are merged: do
        // it now, so the erased words leave the index's files. The erasure stands whatever
        // happens here (a background merge may hold a segment): logged, and the index's own
        // merges remove them later.
        let index = self.messages.clone();
        if let Err(e) = crate::blocking(move || index.purge_deleted()).await {
            tracing::warn!(error = %e, "could not merge erased messages out of the search index yet");
        }
        Ok(())
    }

    /// On another node's erasure: purge this node's index too.
    pub(crate) async fn erased_elsewhere(&self, contact: ContactId) -> EngineResult<()> {
        let conversations: Vec<_> = self
            .store
            .contact_conversations(contact, None, 500)
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect();
        self.purge_from_index(&conversations).await
    }
}

/// The customer in Shopify's privacy webhooks.
#[derive(serde::Deserialize)]
struct ShopifyPrivacyCustomer {
    id: serde_json::Number,
    #[serde(default)]
    email: Option<String>,
}

/// `customers/redact` as Shopify documents it; every field is required, so a signed body of
/// another topic (an order also has a `customer`) replayed under this topic is refused.
#[derive(serde::Deserialize)]
struct ShopifyRedact {
    #[allow(dead_code)]
    shop_id: serde_json::Number,
    shop_domain: String,
    customer: ShopifyPrivacyCustomer,
    orders_to_redact: Vec<serde_json::Number>,
}

/// `customers/data_request` as Shopify documents it.
#[derive(serde::Deserialize)]
struct ShopifyDataRequest {
    #[allow(dead_code)]
    shop_id: serde_json::Number,
    shop_domain: String,
    customer: ShopifyPrivacyCustomer,
    #[allow(dead_code)]
    orders_requested: Vec<serde_json::Number>,
    data_request: serde_json::Value,
}

impl Engine {
    /// Shopify's mandatory privacy webhooks, for `shop` only (the body's `shop_domain` must
    /// name it). `customers/redact`: the customer (found by their verified email) is erased, and
    /// the listed orders deleted even when no contact matches; once per event id.
    /// `customers/data_request`: recorded in the audit log for an admin to answer with the
    /// export (Shopify expects the shop to send the data itself).
    pub async fn shopify_privacy(
        &self,
        topic: &str,
        event: Option<&str>,
        shop: Option<&str>,
        body: &[u8],
    ) -> EngineResult<Result<crate::orders::WebhookOutcome, crate::orders::BadPayload>> {
        use crate::orders::{BadPayload, WebhookOutcome};
        let bad = |e: serde_json::Error| BadPayload(format!("not a Shopify {topic} payload: {e}"));
        let (shop_domain, customer, orders, request) = if topic == "customers/data_request" {
            match serde_json::from_slice::<ShopifyDataRequest>(body) {
                Ok(p) => (p.shop_domain, p.customer, Vec::new(), Some(p.data_request)),
                Err(e) => return Ok(Err(bad(e))),
            }
        } else {
            match serde_json::from_slice::<ShopifyRedact>(body) {
                Ok(p) => (p.shop_domain, p.customer, p.orders_to_redact, None),
                Err(e) => return Ok(Err(bad(e))),
            }
        };
        if shop.is_none_or(|s| !s.eq_ignore_ascii_case(shop_domain.trim())) {
            return Ok(Err(BadPayload(format!(
                "this request is for the shop {shop_domain:?}, not this one"
            ))));
        }
        let key = event.map(|e| format!("{topic}:{e}"));
        let event = key.as_deref().map(|key| layan_store::StoreEvent {
            source: "shopify",
            key,
        });
        if let Some(e) = &event
            && self.store.store_event_seen(e).await?
        {
            return Ok(Ok(WebhookOutcome::Duplicate));
        }
        let contact = match customer.email.as_deref() {
            Some(e) => self.store.contact_by_email(e).await?,
            None => None,
        };
        let who = match &contact {
            Some(c) => format!("contact {}", c.id.0),
            None => format!("shopify customer {} (no contact)", customer.id),
        };
        if let Some(request) = request {
            let request = request
                .get("id")
                .map(ToString::to_string)
                .unwrap_or_default();
            self.audit(
                None,
                "data_request_received",
                Some(&who),
                Some(&format!(
                    "Shopify data request {request}: export the customer from their profile"
                )),
                None,
            )
            .await;
        } else {
            let external: Vec<String> = orders.iter().map(ToString::to_string).collect();
            let removed = self.store.delete_orders("shopify", &external).await?;
            if let Some(c) = contact {
                self.erase_contact(None, c.id, None).await?;
            }
            self.audit(
                None,
                "customer_redacted",
                Some(&who),
                Some(&format!(
                    "Shopify customers/redact; {removed} listed orders removed"
                )),
                None,
            )
            .await;
        }
        // Recorded once done (erasing again is harmless): a delivery that failed half-way is
        // carried out again when Shopify retries.
        if let Some(e) = &event {
            self.store.record_store_event(e).await?;
        }
        Ok(Ok(WebhookOutcome::Applied))
    }
}
