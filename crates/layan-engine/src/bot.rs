//! The answer bot in the conversation pipeline. A shopper's message in a widget inbox the bot
//! answers in runs here from the `message.followup` job (committed with the message, so a crash
//! loses no answer; the answer's client message id is derived from the message, so a second run
//! stores nothing twice). The bot stays quiet once a person has the conversation.
//!
//! What it answers from: the shopper's own orders (a signed-in shopper's, or an order whose
//! number *and* email they gave), the shop's shipping and returns policy, the help center's
//! published articles in the shopper's language, and the product finder. Nothing else, and never
//! another customer's data. With a language model configured, knowledge answers may be written
//! by it from those sources only (see `llm.rs`); anything wrong with it falls back to retrieval.

use std::sync::Arc;

use layan_bot::texts::{self, Text, fill, text};
use layan_bot::{
    AnswerKind, BotSettings, BusinessHours, Classifier, Intent, Method, Prediction, extract, mood,
};
use layan_core::{
    Author, BotTrace, ClientMessageId, Contact, Conversation, Direction, IdentityKind, Inbox,
    Locale, Message, MessageBody, MessageExtras, MessageLink, NewMessage, Order, Target,
    now_millis,
};
use layan_store::BotSession;
use serde::{Deserialize, Serialize};

use crate::{Engine, EngineError, EngineResult};

pub const BOT_SETTINGS: &str = "bot_settings";
pub const BUSINESS_HOURS: &str = "business_hours";

/// Wrong order number and email pairs before the bot hands over.
const MAX_WRONG_PROOFS: u8 = 3;
/// Wrong number-and-email pairs for one order number, across all conversations, within
/// [`PROOF_WINDOW_MS`] before proofs for it pause for [`PROOF_COOLDOWN_MS`].
const MAX_WRONG_PROOFS_PER_ORDER: i64 = 5;
const PROOF_WINDOW_MS: i64 = 60 * 60 * 1000;
const PROOF_COOLDOWN_MS: i64 = 60 * 60 * 1000;

/// Only the start of a very long message is classified (the rest rarely changes the intent).
pub const MAX_CLASSIFIED_CHARS: usize = 1_000;

/// The classifier for the current training phrases, rebuilt when the shop's phrases change.
#[derive(Default)]
pub(crate) struct BotCache {
    phrases: Option<String>,
    classifier: Option<Arc<Classifier>>,
}

/// What the bot waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Awaiting {
    OrderNumber { intent: Intent },
    OrderEmail { intent: Intent, number: String },
    AnythingElse,
    Rating,
}

/// The bot's memory of one conversation (`bot_sessions.state`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    /// The last customer message answered (a second run of the same job does nothing).
    #[serde(default)]
    last_message: i64,
    #[serde(default)]
    greeted: bool,
    /// Answers in a row that found nothing.
    #[serde(default)]
    failures: u8,
    #[serde(default)]
    awaiting: Option<Awaiting>,
    /// Orders the shopper proved are theirs (number and email) in this conversation.
    #[serde(default)]
    orders: Vec<i64>,
    #[serde(default)]
    handed_over: bool,
    #[serde(default)]
    ended: bool,
    #[serde(default)]
    rating: Option<u8>,
    /// Order number and email pairs that matched nothing (guessing is cut off).
    #[serde(default)]
    wrong_proofs: u8,
    #[serde(default)]
    locale: Option<Locale>,
}

/// One message the bot is about to send.
struct Reply {
    body: String,
    buttons: Vec<String>,
    links: Vec<MessageLink>,
    generated: bool,
}

impl Reply {
    fn text(body: String) -> Self {
        Self {
            body,
            buttons: Vec::new(),
            links: Vec::new(),
            generated: false,
        }
    }
}

/// What a turn came to.
enum Outcome {
    /// Answered; keep going.
    Answered(Vec<Reply>),
    /// Hand over to a person, after these words.
    Handoff(Vec<Reply>, String),
    /// Nothing useful found.
    Failed,
}

/// Whether the followup should still acknowledge and route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BotTurn {
    /// The bot does not answer here (off, or a person has the conversation).
    NotMine,
    /// The bot answered; no routing yet.
    Answered,
    /// The bot handed over: route now.
    HandedOver,
}

/// The field the language model's API key is sealed for.
const LLM_API_KEY: &str = "bot.llm.api_key";

fn bad_settings(e: impl std::fmt::Display) -> EngineError {
    EngineError::Internal(format!("stored bot settings unreadable: {e}"))
}

impl Engine {
    /// The bot's settings (defaults when never saved: the bot answers nowhere).
    pub async fn bot_settings(&self) -> EngineResult<BotSettings> {
        Ok(self.bot_settings_opened().await?.0)
    }

    /// The bot's settings with the language model's key opened; with `true` when the stored
    /// key does not open (the key file was lost or not copied to this node): the model is then
    /// off until an admin enters the key again, and the bot keeps answering.
    async fn bot_settings_opened(&self) -> EngineResult<(BotSettings, bool)> {
        let mut settings: BotSettings = self.document_or_default(BOT_SETTINGS).await?;
        let mut unreadable = false;
        if let Some(llm) = &mut settings.llm
            && let Some(key) = &llm.api_key
        {
            llm.api_key = match self.secrets.open(LLM_API_KEY, key) {
                Ok(k) => Some(k),
                Err(e) => {
                    tracing::error!(error = %e, "the language model's stored key does not open; enter it again in the bot settings");
                    unreadable = true;
                    None
                }
            };
        }
        Ok((settings, unreadable))
    }

    /// The bot's settings as stored: the language model's key sealed.
    fn sealed_bot_settings(&self, settings: &BotSettings) -> EngineResult<String> {
        let mut sealed = settings.clone();
        if let Some(llm) = &mut sealed.llm
            && let Some(key) = &mut llm.api_key
        {
            *key = self.secrets.seal(LLM_API_KEY, key);
        }
        serde_json::to_string(&sealed).map_err(bad_settings)
    }

    /// Seals the stored language-model key again with the current key if it is not. A key that
    /// does not open is left as it is (never replaced by nothing).
    pub(crate) async fn reseal_bot_settings(&self) -> EngineResult<crate::email::Resealed> {
        let mut done = crate::email::Resealed::default();
        let Some(stored) = self.store.document_uncached(BOT_SETTINGS).await? else {
            return Ok(done);
        };
        let raw: BotSettings = serde_json::from_str(&stored).map_err(bad_settings)?;
        let Some(key) = raw.llm.as_ref().and_then(|l| l.api_key.as_deref()) else {
            return Ok(done);
        };
        if key.is_empty() || self.secrets.is_current(key) {
            return Ok(done);
        }
        let Ok(opened) = self.secrets.open(LLM_API_KEY, key) else {
            tracing::error!("the language model's stored key does not open");
            done.unreadable += 1;
            return Ok(done);
        };
        let mut settings = raw.clone();
        if let Some(llm) = &mut settings.llm {
            llm.api_key = Some(opened);
        }
        let json = self.sealed_bot_settings(&settings)?;
        if self
            .store
            .replace_document(BOT_SETTINGS, &stored, &json)
            .await?
        {
            done.changed += 1;
        } else {
            done.raced += 1;
        }
        Ok(done)
    }

    /// A shop document read as `T`, or `T`'s default when none was saved.
    async fn document_or_default<T: serde::de::DeserializeOwned + Default>(
        &self,
        key: &str,
    ) -> EngineResult<T> {
        match self.store.document(key).await? {
            None => Ok(T::default()),
            Some(json) => serde_json::from_str(&json).map_err(bad_settings),
        }
    }

    /// Saves the bot's settings (admins; checked; a hidden API key keeps the stored one).
    pub async fn set_bot_settings(
        &self,
        who: &layan_core::Agent,
        mut settings: BotSettings,
        ip: Option<std::net::IpAddr>,
    ) -> EngineResult<BotSettings> {
        Self::require_admin(who)?;
        settings.check()?;
        let (stored, unreadable) = self.bot_settings_opened().await?;
        if unreadable
            && settings
                .llm
                .as_ref()
                .is_some_and(|l| l.api_key.as_deref() == Some(layan_bot::settings::HIDDEN))
        {
            return Err(layan_core::InvalidValue::new(
                "api_key_required",
                "llm: the stored API key cannot be read any more, give it again",
            )
            .into());
        }
        settings.keep_secrets_from(&stored)?;
        for id in &settings.inboxes {
            let inbox = self
                .store
                .inbox(layan_core::InboxId(*id))
                .await?
                .ok_or_else(|| {
                    layan_core::InvalidValue::new(
                        "invalid_bot_settings",
                        format!("inboxes: no inbox {id}"),
                    )
                })?;
            if !Self::is_widget_inbox(&inbox) {
                return Err(layan_core::InvalidValue::new(
                    "invalid_bot_settings",
                    format!("inboxes: inbox {id} is not a website chat"),
                )
                .into());
            }
        }
        let json = self.sealed_bot_settings(&settings)?;
        self.store.put_document(BOT_SETTINGS, &json).await?;
        self.audit(Some(who), "bot_settings_updated", None, None, ip)
            .await;
        Ok(settings.redacted())
    }

    /// The shop's business hours (none set: always open).
    pub async fn business_hours(&self) -> EngineResult<BusinessHours> {
        self.document_or_default(BUSINESS_HOURS).await
    }

    pub async fn set_business_hours(
        &self,
        who: &layan_core::Agent,
        hours: BusinessHours,
        ip: Option<std::net::IpAddr>,
    ) -> EngineResult<()> {
        Self::require_admin(who)?;
        hours.check()?;
        let json = serde_json::to_string(&hours).map_err(bad_settings)?;
        self.store.put_document(BUSINESS_HOURS, &json).await?;
        self.audit(Some(who), "business_hours_updated", None, None, ip)
            .await;
        Ok(())
    }

    /// The classifier for these settings' phrases (built once per set of phrases).
    pub fn bot_classifier(&self, settings: &BotSettings) -> Arc<Classifier> {
        let key = serde_json::to_string(&settings.phrases).unwrap_or_default();
        {
            let cache = crate::lock(&self.bot_cache);
            if cache.phrases.as_deref() == Some(key.as_str())
                && let Some(c) = &cache.classifier
            {
                return c.clone();
            }
        }
        // Trained outside the lock: other turns keep reading the cache meanwhile.
        let mut phrases = layan_bot::data::builtin_phrases();
        phrases.extend(settings.training());
        let classifier = Arc::new(Classifier::train(&phrases, Method::Mixed));
        let mut cache = crate::lock(&self.bot_cache);
        cache.phrases = Some(key);
        cache.classifier = Some(classifier.clone());
        classifier
    }

    /// What the bot makes of `text` with the shop's phrases: the prediction (from the first
    /// [`MAX_CLASSIFIED_CHARS`] characters) and every intent's score, best first.
    pub async fn bot_classify(
        &self,
        text: &str,
        fallback: Locale,
    ) -> EngineResult<(Prediction, Vec<(Intent, f32)>)> {
        let settings = self.bot_settings().await?;
        let classifier = self.bot_classifier(&settings);
        let cut = classified_part(text);
        let p = classifier.classify(cut, fallback, settings.handoff_threshold);
        let scores = classifier.scores(cut, p.locale);
        Ok((p, scores))
    }

    /// Is the bot answering in this inbox? (For the widget: shows "Talk to a person".)
    pub async fn bot_answers_in(&self, inbox: &Inbox) -> EngineResult<Option<String>> {
        let settings = self.bot_settings().await?;
        Ok(
            (Self::is_widget_inbox(inbox) && settings.answers_in(inbox.id.0))
                .then_some(settings.name),
        )
    }

    /// Runs the bot for a customer message (from the followup job).
    pub(crate) async fn bot_turn(
        &self,
        message: &Message,
        conversation: &Conversation,
        inbox: &Inbox,
    ) -> EngineResult<BotTurn> {
        if message.direction != Direction::Incoming
            || !Self::is_widget_inbox(inbox)
            || conversation.assignee_id.is_some()
        {
            return Ok(BotTurn::NotMine);
        }
        let settings = self.bot_settings().await?;
        if !settings.answers_in(inbox.id.0) {
            return Ok(BotTurn::NotMine);
        }
        // Two messages of one shopper in quick succession: the second turn waits for the first
        // (it reads the state the first one leaves).
        let turn = crate::lock(&self.bot_turns)
            .entry(conversation.id)
            .or_default()
            .clone();
        let held = turn.lock().await;
        let result = self
            .bot_turn_locked(message, conversation, inbox, settings)
            .await;
        drop(held);
        {
            let mut turns = crate::lock(&self.bot_turns);
            if turns
                .get(&conversation.id)
                .is_some_and(|t| Arc::strong_count(t) <= 2)
            {
                turns.remove(&conversation.id);
            }
        }
        drop(turn);
        result
    }

    async fn bot_turn_locked(
        &self,
        message: &Message,
        conversation: &Conversation,
        inbox: &Inbox,
        settings: BotSettings,
    ) -> EngineResult<BotTurn> {
        let session = self.store.bot_session(conversation.id).await?;
        let mut state: State = match &session {
            Some(s) => serde_json::from_str(&s.state).unwrap_or_default(),
            None => State::default(),
        };
        if state.handed_over {
            return Ok(BotTurn::NotMine);
        }
        if state.last_message >= message.id.0 {
            return Ok(BotTurn::Answered);
        }
        let contact = self
            .store
            .contact(conversation.contact_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let classifier = self.bot_classifier(&settings);
        let known = state
            .locale
            .or_else(|| contact.locale.as_deref().and_then(Locale::from_tag))
            .unwrap_or(Locale::En);
        let cut = classified_part(&message.body);
        let has_letters = cut.chars().any(char::is_alphanumeric);
        let prediction = if has_letters {
            classifier.classify(cut, known, settings.handoff_threshold)
        } else {
            Prediction {
                intent: Intent::OutOfScope,
                best: Intent::OutOfScope,
                confidence: 0.0,
                locale: known,
            }
        };
        let locale = prediction.locale;
        state.locale = Some(locale);
        if state.ended {
            // The shopper writes again after saying goodbye: a new round.
            state.ended = false;
            state.awaiting = None;
        }
        let ctx = Turn {
            engine: self,
            settings: &settings,
            inbox,
            contact: &contact,
            locale,
            text: cut,
        };

        let mut replies = Vec::new();
        let greeting_now = !state.greeted;
        if greeting_now {
            state.greeted = true;
            replies.push(ctx.greeting());
        }
        let outcome = if !has_letters {
            Outcome::Answered(vec![Reply::text(ctx.say(Text::NoLetters).to_string())])
        } else {
            ctx.decide(&mut state, &prediction, greeting_now).await?
        };
        let mut handoff = None;
        match outcome {
            Outcome::Answered(r) => {
                if !r.is_empty() {
                    state.failures = 0;
                }
                replies.extend(r);
            }
            Outcome::Handoff(r, reason) => {
                replies.extend(r);
                replies.push(ctx.handoff_words().await?);
                handoff = Some(reason);
            }
            Outcome::Failed => {
                state.failures = state.failures.saturating_add(1);
                if state.failures >= 2 {
                    replies.push(ctx.handoff_words().await?);
                    handoff = Some("two answers in a row found nothing".to_string());
                } else {
                    let mut r = Reply::text(ctx.say(Text::NotUnderstood).to_string());
                    r.buttons = ctx.menu();
                    replies.push(r);
                }
            }
        }
        let trace = |handoff: Option<String>, generated: bool| BotTrace {
            intent: prediction.intent.as_str().to_string(),
            confidence: (prediction.confidence * 1000.0).round() / 1000.0,
            language: locale,
            handoff,
            generated,
        };
        let count = replies.len();
        for (i, reply) in replies.into_iter().enumerate() {
            let last = i + 1 == count;
            let extras = MessageExtras {
                buttons: reply.buttons,
                links: reply.links,
                bot: Some(trace(
                    if last { handoff.clone() } else { None },
                    reply.generated,
                )),
                ..MessageExtras::default()
            };
            self.ingest(NewMessage {
                target: Target::Conversation(conversation.id),
                direction: Direction::Bot,
                author: Author::Bot,
                author_name: Some(settings.name.clone()),
                body: MessageBody::parse(&reply.body)?,
                client_message_id: Some(ClientMessageId::parse(&format!(
                    "bot-{}-{i}",
                    message.id.0
                ))?),
                automations: false,
                attachments: Vec::new(),
                extras: Some(extras),
            })
            .await?;
        }
        if let Some(reason) = &handoff {
            self.ingest(NewMessage {
                target: Target::Conversation(conversation.id),
                direction: Direction::Note,
                author: Author::Bot,
                author_name: Some(settings.name.clone()),
                body: MessageBody::parse(&handoff_note(reason, &prediction, &state, cut))?,
                client_message_id: Some(ClientMessageId::parse(&format!(
                    "bot-{}-note",
                    message.id.0
                ))?),
                automations: false,
                attachments: Vec::new(),
                extras: None,
            })
            .await?;
            state.handed_over = true;
            state.awaiting = None;
        }
        state.last_message = message.id.0;
        let outcome = if state.handed_over {
            "handed_over"
        } else if state.ended {
            "ended"
        } else {
            "answering"
        };
        self.store
            .save_bot_session(
                conversation.id,
                &BotSession {
                    state: serde_json::to_string(&state).map_err(bad_settings)?,
                    outcome: Some(outcome.to_string()),
                    rating: state.rating.map(i64::from),
                },
            )
            .await?;
        Ok(if state.handed_over {
            BotTurn::HandedOver
        } else {
            BotTurn::Answered
        })
    }

    /// The bot's figures for the last `days` days.
    pub async fn bot_stats(&self, days: u32) -> EngineResult<layan_store::BotStats> {
        let since = now_millis() - i64::from(days.clamp(1, 366)) * 86_400_000;
        Ok(self.store.bot_stats(since).await?)
    }
}

/// The start of a message that is classified (at most [`MAX_CLASSIFIED_CHARS`] characters).
pub fn classified_part(text: &str) -> &str {
    match text.char_indices().nth(MAX_CLASSIFIED_CHARS) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// What the agent reads when the bot hands over.
fn handoff_note(reason: &str, p: &Prediction, state: &State, text: &str) -> String {
    let quoted: String = text.chars().take(300).collect();
    let mut note = format!(
        "Bot handed over: {reason}.\nLast message: “{quoted}”\nRecognised: {} ({:.0}%), language {}.",
        p.best,
        p.confidence * 100.0,
        p.locale.as_str()
    );
    if !state.orders.is_empty() {
        note.push_str(&format!(
            "\nThe shopper proved these orders are theirs (number and email): {} order(s); see the customer's orders.",
            state.orders.len()
        ));
    }
    note
}

/// Everything one turn needs.
struct Turn<'a> {
    engine: &'a Engine,
    settings: &'a BotSettings,
    inbox: &'a Inbox,
    contact: &'a Contact,
    locale: Locale,
    text: &'a str,
}

impl Turn<'_> {
    fn say(&self, t: Text) -> &'static str {
        text(t, self.locale, self.settings.tone)
    }

    fn first_name(&self) -> Option<String> {
        let name = self.contact.name.as_deref()?.trim();
        let first = name.split_whitespace().next()?;
        Some(first.chars().take(40).collect())
    }

    fn greeting(&self) -> Reply {
        let name = self.first_name();
        let template = match self.settings.greeting.get(self.locale.as_str()) {
            Some(own) => own.clone(),
            None => self
                .say(if name.is_some() {
                    Text::GreetingNamed
                } else {
                    Text::Greeting
                })
                .to_string(),
        };
        let body = fill(
            &template,
            &[
                ("name", name.as_deref().unwrap_or("")),
                ("bot", &self.settings.name),
                ("shop", &self.inbox.name),
            ],
        );
        let mut r = Reply::text(body);
        r.buttons = self.menu();
        r
    }

    /// What the bot can do, as quick replies.
    fn menu(&self) -> Vec<String> {
        [
            Text::ButtonTrack,
            Text::ButtonShipping,
            Text::ButtonReturns,
            Text::ButtonPerson,
        ]
        .into_iter()
        .map(|t| self.say(t).to_string())
        .collect()
    }

    fn anything_else(&self) -> Reply {
        let mut r = Reply::text(self.say(Text::AnythingElse).to_string());
        r.buttons = vec![
            self.say(Text::ButtonYes).into(),
            self.say(Text::ButtonNoThanks).into(),
            self.say(Text::ButtonPerson).into(),
        ];
        r
    }

    async fn handoff_words(&self) -> EngineResult<Reply> {
        let hours = self.engine.business_hours().await?;
        let now = now_millis();
        let body = if hours.is_open(now) {
            fill(
                self.say(Text::HandoffOpen),
                &[("minutes", &self.inbox.response_minutes.to_string())],
            )
        } else {
            let when = match hours.next_opening(now) {
                Some(at) => {
                    let (day, time) = hours.local_time(at);
                    format!(
                        "{} {time} ({})",
                        texts::weekday(day, self.locale),
                        hours.zone()
                    )
                }
                None => "—".to_string(),
            };
            fill(self.say(Text::HandoffClosed), &[("when", &when)])
        };
        Ok(Reply::text(body))
    }

    /// The answer to one message, given what the bot waits for.
    async fn decide(
        &self,
        state: &mut State,
        p: &Prediction,
        greeting_now: bool,
    ) -> EngineResult<Outcome> {
        let text = self.text;
        // A person, when asked, when the shopper is angry or complains: before anything else,
        // whatever the bot was waiting for.
        let reason = if texts::is_person_button(text) {
            Some("the shopper asked for a person")
        } else if mood::is_angry(text) {
            Some("the shopper sounds upset")
        } else if p.intent == Intent::Complaint {
            Some("a complaint")
        } else if p.intent.kind() == AnswerKind::Handoff {
            Some("the shopper asked for a person")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Ok(Outcome::Handoff(Vec::new(), reason.into()));
        }
        match state.awaiting.take() {
            Some(Awaiting::Rating) => {
                if let Some(stars) = extract::rating(text) {
                    state.rating = Some(stars);
                    state.ended = true;
                    return Ok(Outcome::Answered(vec![Reply::text(
                        self.say(Text::ThanksForRating).into(),
                    )]));
                }
            }
            Some(Awaiting::AnythingElse) => {
                if texts::is_no_more_button(text) || p.intent == Intent::Goodbye {
                    return Ok(self.ask_rating(state));
                }
                if texts::is_yes_button(text) {
                    return Ok(Outcome::Answered(vec![Reply::text(
                        self.say(Text::NoLetters).into(),
                    )]));
                }
            }
            Some(Awaiting::OrderNumber { intent }) => {
                if let Some(number) = extract::order_number(text) {
                    return self.order_answer(state, intent, Some(number), None).await;
                }
            }
            Some(Awaiting::OrderEmail { intent, number }) => {
                if let Some(email) = extract::email(text) {
                    return self
                        .order_answer(state, intent, Some(number), Some(email))
                        .await;
                }
                // Another order number instead: start again with it.
                if let Some(other) = extract::order_number(text) {
                    return self.order_answer(state, intent, Some(other), None).await;
                }
            }
            None => {}
        }
        match p.intent.kind() {
            AnswerKind::Social => match p.intent {
                Intent::Goodbye => Ok(self.ask_rating(state)),
                // "Hi" first: the greeting just sent is the answer.
                _ if greeting_now => Ok(Outcome::Answered(Vec::new())),
                _ => Ok(Outcome::Answered(vec![Reply::text(
                    self.say(Text::NoLetters).into(),
                )])),
            },
            AnswerKind::Order => {
                let number = extract::order_number(text);
                self.order_answer(state, p.intent, number, None).await
            }
            AnswerKind::Policy => match self.policy_answer(p.intent).await? {
                Some(reply) => Ok(self.answered(state, reply)),
                None => self.knowledge_or_fail(state, p).await,
            },
            AnswerKind::Products => Ok(self.answered(state, self.products_answer().await?)),
            // Handoff intents returned above.
            AnswerKind::Knowledge | AnswerKind::OutOfScope | AnswerKind::Handoff => {
                self.knowledge_or_fail(state, p).await
            }
        }
    }

    fn answered(&self, state: &mut State, reply: Reply) -> Outcome {
        state.awaiting = Some(Awaiting::AnythingElse);
        Outcome::Answered(vec![reply, self.anything_else()])
    }

    fn ask_rating(&self, state: &mut State) -> Outcome {
        state.awaiting = Some(Awaiting::Rating);
        let mut r = Reply::text(self.say(Text::AskRating).into());
        r.buttons = (1..=5).map(|n| n.to_string()).collect();
        Outcome::Answered(vec![r])
    }

    /// The help center's best passage, else nothing found.
    async fn knowledge_or_fail(&self, state: &mut State, p: &Prediction) -> EngineResult<Outcome> {
        match self.knowledge_answer(p.intent).await? {
            Some(reply) => Ok(self.answered(state, reply)),
            None if matches!(p.intent.kind(), AnswerKind::Policy | AnswerKind::Knowledge) => {
                // A question we recognised but cannot answer from the shop's own words.
                Ok(Outcome::Handoff(
                    vec![Reply::text(self.say(Text::PolicyMissing).into())],
                    format!("no answer in the help center for {}", p.intent),
                ))
            }
            None => Ok(Outcome::Failed),
        }
    }

    async fn knowledge_answer(&self, intent: Intent) -> EngineResult<Option<Reply>> {
        // The shopper's words, then with the intent's topic words: a question about "payment
        // methods" finds the article "Ways to pay".
        let mut hits = self.engine.kb_search(self.locale, self.text, 3).await?;
        let topic = texts::topic(intent, self.locale);
        if hits.is_empty() && !topic.is_empty() {
            let query = format!("{} {topic}", self.text);
            hits = self.engine.kb_search(self.locale, &query, 3).await?;
        }
        // The model may use the three best; without one only the best is read.
        let wanted = if self.settings.llm.is_some() { 3 } else { 1 };
        let mut sources = Vec::new();
        for hit in hits.iter().take(wanted) {
            let article = self
                .engine
                .store
                .article(layan_core::ArticleId(hit.article_id))
                .await?;
            let Some(t) = article
                .as_ref()
                .and_then(|a| a.translations.iter().find(|t| t.locale == hit.locale))
            else {
                continue;
            };
            let plain = layan_search::markdown::to_plain(&t.body);
            sources.push(crate::llm::Source {
                title: t.title.clone(),
                url: format!("/help/{}/a/{}", hit.locale.as_str(), hit.slug),
                text: best_passage(&plain, &format!("{} {topic}", self.text), self.locale),
            });
        }
        let Some(first) = sources.first() else {
            return Ok(None);
        };
        if let Some(llm) = &self.settings.llm
            && let Some(answer) = crate::llm::answer(
                &self.engine.http,
                &self.engine.outbound,
                llm,
                self.locale,
                self.text,
                &sources,
            )
            .await
        {
            let links = answer
                .cited
                .iter()
                .filter_map(|i| sources.get(*i))
                .map(|s| MessageLink {
                    title: s.title.clone(),
                    url: s.url.clone(),
                })
                .collect();
            return Ok(Some(Reply {
                body: answer.text,
                buttons: Vec::new(),
                links,
                generated: true,
            }));
        }
        let body = format!(
            "{}\n\n{}",
            first.text,
            fill(self.say(Text::KnowledgeMore), &[("title", &first.title)])
        );
        Ok(Some(Reply {
            body,
            buttons: Vec::new(),
            links: vec![MessageLink {
                title: first.title.clone(),
                url: first.url.clone(),
            }],
            generated: false,
        }))
    }

    async fn policy_answer(&self, intent: Intent) -> EngineResult<Option<Reply>> {
        let Some(policy) = self.engine.shipping_policy().await? else {
            return Ok(None);
        };
        let l = self.locale;
        let money = |a: &str| layan_core::policy::format_amount(a, &policy.currency, l);
        let mut lines = Vec::new();
        match intent {
            Intent::DeliveryOptions | Intent::DeliveryPeriod => {
                if intent == Intent::DeliveryPeriod {
                    lines.push(fill(
                        self.say(Text::ProcessingDays),
                        &[
                            ("min", &policy.processing_days.min.to_string()),
                            ("max", &policy.processing_days.max.to_string()),
                        ],
                    ));
                } else {
                    lines.push(self.say(Text::DeliveryOptionsIntro).to_string());
                }
                for o in &policy.delivery_options {
                    let name = layan_core::policy::text_in(&o.name, l);
                    let carrier = o
                        .carrier
                        .as_deref()
                        .map(|c| format!(" ({c})"))
                        .unwrap_or_default();
                    let days = if o.days.min == o.days.max {
                        format!("{}", o.days.min)
                    } else {
                        format!("{}–{}", o.days.min, o.days.max)
                    };
                    let region = o
                        .regions
                        .as_ref()
                        .map(|r| format!(" — {}", layan_core::policy::text_in(r, l)))
                        .unwrap_or_default();
                    lines.push(format!(
                        "• {name}{carrier}: {days} · {}{region}",
                        money(&o.cost)
                    ));
                }
                if let Some(over) = &policy.free_shipping_over {
                    lines.push(fill(
                        self.say(Text::FreeShippingOver),
                        &[("amount", &money(over))],
                    ));
                }
            }
            Intent::CheckRefundPolicy | Intent::GetRefund => {
                let r = &policy.returns;
                if r.window_days == 0 {
                    lines.push(self.say(Text::NoReturns).to_string());
                } else {
                    lines.push(fill(
                        self.say(Text::ReturnsWindow),
                        &[("days", &r.window_days.to_string())],
                    ));
                }
                if let Some(c) = &r.condition {
                    lines.push(layan_core::policy::text_in(c, l).to_string());
                }
                for (i, step) in r.steps.iter().enumerate() {
                    lines.push(format!(
                        "{}. {}",
                        i + 1,
                        layan_core::policy::text_in(step, l)
                    ));
                }
                lines.push(
                    self.say(match r.return_shipping {
                        layan_core::policy::ReturnShipping::Free => Text::ReturnShippingFree,
                        layan_core::policy::ReturnShipping::CustomerPays => {
                            Text::ReturnShippingCustomer
                        }
                        layan_core::policy::ReturnShipping::FreeIfFaulty => {
                            Text::ReturnShippingFaulty
                        }
                    })
                    .to_string(),
                );
                lines.push(fill(
                    self.say(Text::RefundDays),
                    &[
                        ("min", &r.refund_days.min.to_string()),
                        ("max", &r.refund_days.max.to_string()),
                    ],
                ));
                if let Some(e) = &r.exceptions {
                    let label = match l {
                        Locale::En => "Exceptions",
                        Locale::Id => "Pengecualian",
                        Locale::Th => "ข้อยกเว้น",
                        Locale::Nl => "Uitzonderingen",
                    };
                    lines.push(format!("{label}: {}", layan_core::policy::text_in(e, l)));
                }
            }
            _ => return Ok(None),
        }
        let title = match l {
            Locale::En => "Shipping and returns",
            Locale::Id => "Pengiriman dan retur",
            Locale::Th => "การจัดส่งและการคืนสินค้า",
            Locale::Nl => "Verzending en retouren",
        };
        Ok(Some(Reply {
            body: lines.join("\n"),
            buttons: Vec::new(),
            links: vec![MessageLink {
                title: title.into(),
                url: format!("/help/{}/shipping-returns", l.as_str()),
            }],
            generated: false,
        }))
    }

    async fn products_answer(&self) -> EngineResult<Reply> {
        let max = extract::max_price(self.text).map(|n| n.to_string());
        // The product finder wants the words that name the thing, not the question around it.
        let words: Vec<String> = layan_search::analysis::analyze(
            self.text,
            layan_search::analysis::Lang::Known(self.locale),
        )
        .into_iter()
        .map(|t| t.text)
        .filter(|w| !w.chars().all(|c| c.is_ascii_digit()) && !PRODUCT_NOISE.contains(&w.as_str()))
        .collect();
        let mut found = Vec::new();
        // Every word first; then each word alone, so "batik shirts" still finds "Batik shirt".
        for attempt in std::iter::once(words.join(" ")).chain(words.iter().cloned()) {
            if attempt.is_empty() {
                continue;
            }
            found = self
                .engine
                .find_products(&attempt, None, max.as_deref(), 3)
                .await?;
            if !found.is_empty() {
                break;
            }
        }
        if found.is_empty() {
            return Ok(Reply::text(self.say(Text::NoProducts).into()));
        }
        let mut lines = vec![self.say(Text::ProductsFound).to_string()];
        let mut links = Vec::new();
        for p in &found {
            let price = layan_core::policy::format_amount(
                &p.price,
                p.currency.as_deref().unwrap_or(""),
                self.locale,
            );
            lines.push(format!("• {} — {}", p.title, price.trim()));
            if let Some(url) = &p.url {
                links.push(MessageLink {
                    title: p.title.clone(),
                    url: url.clone(),
                });
            }
        }
        Ok(Reply {
            body: lines.join("\n"),
            buttons: Vec::new(),
            links,
            generated: false,
        })
    }

    /// The orders this shopper may see: a signed-in shopper's own, and those proven in this
    /// conversation.
    async fn own_orders(&self, state: &State) -> EngineResult<(bool, Vec<Order>)> {
        let identities = self
            .engine
            .store
            .contact_identities(self.contact.id)
            .await?;
        let identified = identities
            .iter()
            .any(|i| matches!(i.kind, IdentityKind::Email | IdentityKind::WidgetIdentified));
        let mut orders = if identified {
            self.engine.orders_of(self.contact.id).await?
        } else {
            Vec::new()
        };
        for id in &state.orders {
            if !orders.iter().any(|o| o.id.0 == *id)
                && let Some(o) = self.engine.store.order(layan_core::OrderId(*id)).await?
            {
                orders.push(o);
            }
        }
        Ok((identified, orders))
    }

    /// The order the shopper means and may see — or, as `Err`, what to say instead.
    async fn choose_order(
        &self,
        state: &mut State,
        intent: Intent,
        number: Option<String>,
        email: Option<String>,
    ) -> EngineResult<Result<Order, Outcome>> {
        let (identified, mut orders) = self.own_orders(state).await?;
        let Some(n) = number else {
            // No number: the most recent of the shopper's own orders.
            orders.sort_by_key(|o| std::cmp::Reverse(o.placed_at));
            if let Some(o) = orders.into_iter().next() {
                return Ok(Ok(o));
            }
            state.awaiting = Some(Awaiting::OrderNumber { intent });
            let t = if identified {
                Text::NoOrders
            } else {
                Text::AskOrderNumber
            };
            return Ok(Err(Outcome::Answered(vec![Reply::text(
                self.say(t).into(),
            )])));
        };
        let digits = extract::order_digits(&n);
        if let Some(i) = orders
            .iter()
            .position(|o| extract::order_digits(&o.number) == digits)
        {
            return Ok(Ok(orders.swap_remove(i)));
        }
        let Some(email) = email else {
            let ask = fill(self.say(Text::AskOrderEmail), &[("number", &n)]);
            state.awaiting = Some(Awaiting::OrderEmail { intent, number: n });
            return Ok(Err(Outcome::Answered(vec![Reply::text(ask)])));
        };
        // Wrong pairs for one order number are counted across every conversation (a new
        // session starts a new conversation, so the per-conversation limit alone does not stop
        // guessing): past the limit the number is closed to proofs for a while — even the
        // right pair then goes to a person — and the attempt is logged.
        let throttle_key = format!("bot-order:{digits}");
        // And per email: one known address tried against order number after order number.
        let email_key = format!("bot-email:{}", email.trim().to_lowercase());
        let now = layan_core::now_millis();
        let mut locked = false;
        for key in [&throttle_key, &email_key] {
            locked |= self
                .engine
                .store
                .login_locked_until(key, now)
                .await?
                .is_some();
        }
        if locked {
            tracing::warn!(order = %digits, "order proof refused: the number is cooling down after repeated wrong pairs");
            return Ok(Err(Outcome::Handoff(
                vec![Reply::text(self.say(Text::OrderNotFound).into())],
                format!(
                    "order {n}: too many wrong order number and email pairs lately; check who is asking"
                ),
            )));
        }
        // Number and email must both match; the same words either way, so nobody learns
        // whether a number exists.
        let candidates = vec![n.clone(), format!("#{digits}"), digits.clone()];
        let proven = self
            .engine
            .store
            .orders_by_number(&candidates)
            .await?
            .into_iter()
            .find(|o| {
                o.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(&email))
            });
        if let Some(o) = proven {
            if !state.orders.contains(&o.id.0) {
                state.orders.push(o.id.0);
            }
            return Ok(Ok(o));
        }
        state.wrong_proofs = state.wrong_proofs.saturating_add(1);
        let reply = Reply::text(self.say(Text::OrderNotFound).into());
        let t = self
            .engine
            .store
            .record_login_failure(
                &throttle_key,
                now,
                MAX_WRONG_PROOFS_PER_ORDER,
                PROOF_WINDOW_MS,
                PROOF_COOLDOWN_MS,
            )
            .await?;
        let by_email = self
            .engine
            .store
            .record_login_failure(
                &email_key,
                now,
                MAX_WRONG_PROOFS_PER_ORDER,
                PROOF_WINDOW_MS,
                PROOF_COOLDOWN_MS,
            )
            .await?;
        let t = if by_email.locked_until.is_some() {
            by_email
        } else {
            t
        };
        if t.locked_until.is_some() {
            tracing::warn!(order = %digits, failures = t.failures, "order proofs closed for a while: repeated wrong order number and email pairs");
            self.engine
                .audit(
                    None,
                    "bot_order_proof_locked",
                    Some(&format!("order {n}")),
                    Some(&format!(
                        "{} wrong email pairs across conversations",
                        t.failures
                    )),
                    None,
                )
                .await;
            return Ok(Err(Outcome::Handoff(
                vec![reply],
                format!(
                    "order {n}: too many wrong order number and email pairs lately; check who is asking"
                ),
            )));
        }
        // Three wrong pairs: a person looks at it, so nobody can try email after email
        // against an order number.
        if state.wrong_proofs >= MAX_WRONG_PROOFS {
            return Ok(Err(Outcome::Handoff(
                vec![reply],
                "three order number and email pairs matched no order".into(),
            )));
        }
        state.awaiting = Some(Awaiting::OrderNumber { intent });
        Ok(Err(Outcome::Answered(vec![reply])))
    }

    async fn order_answer(
        &self,
        state: &mut State,
        intent: Intent,
        number: Option<String>,
        email: Option<String>,
    ) -> EngineResult<Outcome> {
        let order = match self.choose_order(state, intent, number, email).await? {
            Ok(order) => order,
            Err(say) => return Ok(say),
        };
        let status = self.order_status_reply(&order);
        match intent {
            Intent::CancelOrder | Intent::ChangeOrder | Intent::ChangeShippingAddress => {
                let mut r = status;
                r.body.push_str("\n\n");
                r.body.push_str(self.say(Text::OrderNeedsPerson));
                Ok(Outcome::Handoff(
                    vec![r],
                    format!("{intent} for order {}", order.number),
                ))
            }
            Intent::TrackRefund => {
                let refunded = order.financial_status.contains("refunded");
                let t = if refunded {
                    Text::RefundIssued
                } else {
                    Text::RefundNotYet
                };
                Ok(self.answered(
                    state,
                    Reply::text(fill(self.say(t), &[("number", &order.number)])),
                ))
            }
            Intent::CheckInvoice | Intent::GetInvoice => {
                let items: Vec<String> = order
                    .lines
                    .iter()
                    .take(5)
                    .map(|l| format!("{} × {}", l.quantity, l.title))
                    .collect();
                let r = Reply::text(fill(
                    self.say(Text::InvoiceSummary),
                    &[
                        ("number", &order.number),
                        ("items", &items.join(", ")),
                        (
                            "total",
                            &layan_core::policy::format_amount(
                                &order.total,
                                &order.currency,
                                self.locale,
                            ),
                        ),
                    ],
                ));
                Ok(Outcome::Handoff(
                    vec![r],
                    format!("an invoice for order {}", order.number),
                ))
            }
            _ => Ok(self.answered(state, status)),
        }
    }

    fn order_status_reply(&self, order: &Order) -> Reply {
        let l = self.locale;
        let date = |ms: i64| {
            time::OffsetDateTime::from_unix_timestamp(ms / 1000)
                .map(|t| format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()))
                .unwrap_or_default()
        };
        let mut lines = vec![fill(
            self.say(Text::OrderStatus),
            &[
                ("number", &order.number),
                ("date", &date(order.placed_at)),
                (
                    "total",
                    &layan_core::policy::format_amount(&order.total, &order.currency, l),
                ),
                ("status", &texts::order_status(order.status(), l)),
            ],
        )];
        let mut links = Vec::new();
        for s in &order.shipments {
            if let (Some(tracking), Some(url)) = (&s.tracking_number, &s.tracking_url) {
                lines.push(fill(
                    self.say(Text::OrderShipment),
                    &[
                        ("carrier", s.carrier.as_deref().unwrap_or("—")),
                        ("tracking", tracking),
                        ("url", url),
                    ],
                ));
                links.push(MessageLink {
                    title: format!("{} {tracking}", s.carrier.as_deref().unwrap_or(""))
                        .trim()
                        .to_string(),
                    url: url.clone(),
                });
            }
            if s.delivered_at.is_none()
                && let Some(at) = s.expected_delivery_at
            {
                lines.push(fill(self.say(Text::OrderExpected), &[("date", &date(at))]));
            }
        }
        Reply {
            body: lines.join("\n"),
            buttons: Vec::new(),
            links,
            generated: false,
        }
    }
}

/// Words of a product question that are not the product ("do you have", "looking for").
const PRODUCT_NOISE: &[&str] = &[
    "have",
    "sell",
    "look",
    "looking",
    "want",
    "show",
    "find",
    "search",
    "under",
    "below",
    "less",
    "than",
    "stock",
    "ada",
    "jual",
    "cari",
    "mau",
    "lihat",
    "bawah",
    "ribu",
    "rb",
    "di",
    "hebben",
    "jullie",
    "verkopen",
    "zoek",
    "zoeken",
    "onder",
    "euro",
    "laat",
    "zien",
    "มี",
    "ไหม",
    "หา",
    "ขาย",
    "ขอ",
    "ดู",
    "ราคา",
    "ไม่",
    "เกิน",
    "บาท",
    "k",
];

/// The block of `plain` (one per line) that shares the most words with the question (the first
/// one when none does), with the next block when it is a heading (short, no closing
/// punctuation); at most 600 characters.
fn best_passage(plain: &str, question: &str, locale: Locale) -> String {
    use layan_search::analysis::{Lang, analyze};
    let q: std::collections::HashSet<String> = analyze(question, Lang::Known(locale))
        .into_iter()
        .map(|t| t.text)
        .collect();
    let blocks: Vec<&str> = plain
        .lines()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let mut best = (0usize, 0usize);
    for (i, block) in blocks.iter().enumerate() {
        let score = analyze(block, Lang::Known(locale))
            .into_iter()
            .filter(|t| q.contains(&t.text))
            .count();
        if score > best.0 {
            best = (score, i);
        }
    }
    let mut passage = blocks.get(best.1).copied().unwrap_or("").to_string();
    let heading = passage.chars().count() < 60 && !passage.ends_with(['.', '!', '?', ':', ')']);
    if heading && let Some(next) = blocks.get(best.1 + 1) {
        passage.push('\n');
        passage.push_str(next);
    }
    layan_search::markdown::excerpt(&passage, 600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_passage_that_answers() {
        let plain = "Welcome to our shop, the home of handmade batik from Java.\nReturns are free within 30 days of delivery.\nWe ship with JNE.";
        assert_eq!(
            best_passage(plain, "can I return it?", Locale::En),
            "Returns are free within 30 days of delivery."
        );
        assert_eq!(
            best_passage(plain, "zzz", Locale::En),
            "Welcome to our shop, the home of handmade batik from Java."
        );
        // A heading that matches brings its paragraph.
        assert_eq!(
            best_passage(
                "Returns\nSend it back within 30 days.",
                "returns",
                Locale::En
            ),
            "Returns Send it back within 30 days."
        );
    }
}
