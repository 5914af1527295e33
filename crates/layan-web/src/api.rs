//! The JSON API under `/api/v1/`: what the widget and the agent inbox do, described in the
//! OpenAPI document at `/api/openapi.json`.

use axum::{
    Json,
    extract::{Path, Query, State},
    http::StatusCode,
};
use layan_core::{
    AgentId, CannedId, CannedResponse, ChannelKind, Contact, ConversationId, ConversationStatus,
    ConversationSummary, InboxId, Message, Notification, Priority, TeamId, ViewCounts,
};
use layan_engine::EngineError;
use layan_store::{ConversationFilter, ConversationSort};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    AppState,
    auth::{CurrentVisitor, Work},
    dto::*,
    error::{ApiError, ApiResult, ErrorBody, JsonBody, not_found_as},
};

// ---- widget ------------------------------------------------------------------------------------

/// Starts or resumes a widget session: recognises the visitor by token, or creates a new one.
#[utoipa::path(post, path = "/api/v1/widget/session", tag = "widget",
    request_body = WidgetSessionRequest,
    responses((status = 200, body = WidgetSession), (status = 404, description = "unknown inbox key", body = ErrorBody)))]
pub async fn widget_session(
    State(state): State<AppState>,
    crate::auth::ClientIp(ip): crate::auth::ClientIp,
    JsonBody(req): JsonBody<WidgetSessionRequest>,
) -> ApiResult<Json<WidgetSession>> {
    // A request that starts a new visitor (no token, or one that is nobody's) is limited per
    // address; a returning visitor is not. With a token, whether it is somebody's is only
    // looked up once the address has used its allowance (the usual visit reads it once, below).
    let token = req
        .token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let counted = match token {
        None => {
            state.limits.new_session(ip)?;
            true
        }
        Some(t) if state.limits.session_room(ip).is_err() => {
            if state.engine.visitor_by_token(&req.key, t).await.is_err() {
                state.limits.new_session(ip)?;
            }
            true
        }
        Some(_) => false,
    };
    let identity = match req
        .identity
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        None => None,
        Some(token) => {
            let refused = |message: &str| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_identity",
                    message.to_owned(),
                )
            };
            let secret = state
                .config
                .widget_identity_secret
                .as_deref()
                .ok_or_else(|| {
                    refused("signed identities are not enabled: set widget_identity_secret")
                })?;
            Some(
                layan_engine::identity::verify_identity(
                    secret,
                    token,
                    layan_core::now_millis() / 1000,
                )
                .map_err(|e| refused(e.message()))?,
            )
        }
    };
    let visitor = state
        .engine
        .widget_visitor(
            &req.key,
            req.token.as_deref(),
            req.locale.as_deref(),
            identity.as_ref(),
        )
        .await
        .map_err(|e| match e {
            EngineError::NotFound => ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_inbox",
                "no inbox has this widget key",
            ),
            other => other.into(),
        })?;
    // A token that turned out to be nobody's made a new visitor: it counts.
    if !counted && visitor.new_token.is_some() {
        let _ = state.limits.new_session(ip);
    }
    let token = visitor.new_token.or(req.token).unwrap_or_default();
    let bot = state.engine.bot_answers_in(&visitor.inbox).await?;
    Ok(Json(WidgetSession {
        token,
        inbox: WidgetInbox {
            name: visitor.inbox.name,
            greeting: visitor.inbox.greeting,
            color: visitor.inbox.color,
            bot,
        },
        agents_online: state.engine.agents_online(),
        conversation: visitor.conversation.as_ref().map(WidgetConversation::from),
        renewed: visitor.renewed,
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct AfterSeq {
    /// Only messages with a larger sequence number.
    #[serde(default)]
    pub after_seq: i64,
    /// At most this many (1–500, default 200).
    #[serde(default)]
    pub limit: Option<u32>,
}

fn page_limit(limit: Option<u32>) -> u32 {
    limit.unwrap_or(200).clamp(1, 500)
}

/// The visitor's messages in one of their conversations (404 for anyone else's).
#[utoipa::path(get, path = "/api/v1/widget/conversations/{id}/messages", tag = "widget",
    params(("id" = i64, Path), AfterSeq),
    responses((status = 200, body = [WidgetMessage]), (status = 404, body = ErrorBody)))]
pub async fn widget_messages(
    State(state): State<AppState>,
    visitor: CurrentVisitor,
    Path(id): Path<i64>,
    Query(q): Query<AfterSeq>,
) -> ApiResult<Json<Vec<WidgetMessage>>> {
    let conversation = state
        .engine
        .visitor_conversation(visitor.contact.id, ConversationId(id))
        .await
        .map_err(|_| ApiError::not_found("conversation"))?;
    let messages = state
        .engine
        .store()
        .messages_after(conversation.id, q.after_seq, page_limit(q.limit), false)
        .await?;
    Ok(Json(
        messages
            .iter()
            .filter_map(WidgetMessage::from_message)
            .collect(),
    ))
}

/// The visitor sends a message (also possible over the widget WebSocket).
#[utoipa::path(post, path = "/api/v1/widget/messages", tag = "widget",
    request_body = SendMessage,
    responses((status = 201, body = WidgetSent), (status = 200, description = "a retry of a stored message", body = WidgetSent),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn widget_send(
    State(state): State<AppState>,
    crate::auth::ClientIp(ip): crate::auth::ClientIp,
    visitor: CurrentVisitor,
    JsonBody(req): JsonBody<SendMessage>,
) -> ApiResult<(StatusCode, Json<WidgetSent>)> {
    state.limits.message(ip, visitor.contact.id.0)?;
    let appended = state
        .engine
        .visitor_message(
            &visitor.inbox,
            &visitor.contact,
            &req.body,
            req.client_message_id.as_deref(),
        )
        .await?;
    widget_sent(appended)
}

/// "Leave a message" when nobody is online: name, email and the message.
#[utoipa::path(post, path = "/api/v1/widget/offline-messages", tag = "widget",
    request_body = OfflineMessage,
    responses((status = 201, body = WidgetSent), (status = 422, body = ErrorBody)))]
pub async fn widget_offline(
    State(state): State<AppState>,
    crate::auth::ClientIp(ip): crate::auth::ClientIp,
    visitor: CurrentVisitor,
    JsonBody(req): JsonBody<OfflineMessage>,
) -> ApiResult<(StatusCode, Json<WidgetSent>)> {
    state.limits.offline(ip)?;
    let appended = state
        .engine
        .offline_message(
            &visitor.inbox,
            &visitor.contact,
            &req.name,
            &req.email,
            &req.body,
            req.client_message_id.as_deref(),
        )
        .await?;
    widget_sent(appended)
}

fn widget_sent(appended: layan_store::Appended) -> ApiResult<(StatusCode, Json<WidgetSent>)> {
    let message = WidgetMessage::from_message(&appended.message)
        .ok_or_else(|| ApiError::internal(&"an incoming message was not visible"))?;
    let status = if appended.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(WidgetSent {
            message,
            conversation: WidgetConversation::from(&appended.conversation),
            duplicate: appended.duplicate,
        }),
    ))
}

// ---- conversations -----------------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// `mine`, `unassigned`, `team` (the agent's teams) or `all` (default; everything the agent may see).
    pub view: Option<String>,
    /// `open` (default), `pending`, `snoozed`, `resolved`, `closed` or `all`.
    pub status: Option<String>,
    /// Older form of `view`: `me`, `unassigned` or `all`.
    pub assignee: Option<String>,
    pub inbox_id: Option<i64>,
    pub team_id: Option<i64>,
    pub label: Option<String>,
    /// `none`, `low`, `medium`, `high` or `urgent`.
    pub priority: Option<String>,
    /// `web_widget` (more channels come).
    pub channel: Option<String>,
    /// Search: words in the contact's name or email, a ticket number, or any message.
    pub q: Option<String>,
    /// `recent` (default: newest activity first) or `waiting` (longest-waiting customer first).
    pub sort: Option<String>,
    /// Paging cursor for `recent`: `<last_message_at>:<id>` of the previous page's last conversation.
    pub before: Option<String>,
    pub limit: Option<u32>,
}

fn bad(code: &'static str, message: String) -> ApiError {
    ApiError::bad_request(code, message)
}

/// Conversations the agent may see, filtered and sorted.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations", params(ListQuery),
    responses((status = 200, body = [ConversationSummary]), (status = 400, body = ErrorBody)))]
pub async fn conversations(
    State(state): State<AppState>,
    work: Work,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Vec<ConversationSummary>>> {
    let statuses = match q.status.as_deref().unwrap_or("open") {
        "all" => vec![],
        other => vec![
            ConversationStatus::parse(other)
                .ok_or_else(|| bad("invalid_status", format!("unknown status {other:?}")))?,
        ],
    };
    let view = q.view.as_deref().or(match q.assignee.as_deref() {
        Some("me") => Some("mine"),
        other => other,
    });
    let me = work.agent().id;
    let mut filter = ConversationFilter {
        statuses,
        inbox_ids: work.access.inboxes.clone(),
        reader: Some(me),
        limit: q.limit.unwrap_or(50).clamp(1, 200),
        ..ConversationFilter::default()
    };
    match view.unwrap_or("all") {
        "all" => {}
        "mine" => filter.assignee = Some(Some(me)),
        "unassigned" => filter.assignee = Some(None),
        "team" => filter.team_ids = Some(work.access.teams.clone()),
        other => {
            return Err(bad(
                "invalid_view",
                format!("view must be mine, unassigned, team or all, not {other:?}"),
            ));
        }
    }
    if let Some(i) = q.inbox_id {
        // Only within what the agent may see: another inbox simply has nothing.
        let wanted = InboxId(i);
        filter.inbox_ids = Some(if work.access.can_see(wanted) {
            vec![wanted]
        } else {
            vec![]
        });
    }
    if let Some(t) = q.team_id {
        filter.team_ids = Some(vec![TeamId(t)]);
    }
    if let Some(p) = q.priority.as_deref() {
        filter.priority = Some(
            Priority::parse(p)
                .ok_or_else(|| bad("invalid_priority", format!("unknown priority {p:?}")))?,
        );
    }
    if let Some(l) = q.label.as_deref() {
        filter.label = Some(layan_core::parse_label(l)?);
    }
    if let Some(c) = q.channel.as_deref() {
        filter.channel = Some(
            ChannelKind::parse(c)
                .ok_or_else(|| bad("invalid_channel", format!("unknown channel {c:?}")))?,
        );
    }
    if let Some(text) = q.q.as_deref() {
        if text.chars().count() > 200 {
            return Err(bad(
                "query_too_long",
                "search for at most 200 characters".into(),
            ));
        }
        filter.search = Some(text.to_owned());
        if !text.trim().is_empty() {
            filter.message_hits = Some(
                state
                    .engine
                    .search_conversations(text, filter.inbox_ids.as_deref())
                    .await?,
            );
        }
    }
    filter.sort = match q.sort.as_deref().unwrap_or("recent") {
        "recent" => ConversationSort::Recent,
        "waiting" => ConversationSort::Waiting,
        other => {
            return Err(bad(
                "invalid_sort",
                format!("sort must be recent or waiting, not {other:?}"),
            ));
        }
    };
    filter.before = q
        .before
        .as_deref()
        .map(|b| {
            b.split_once(':')
                .and_then(|(t, i)| Some((t.parse().ok()?, ConversationId(i.parse().ok()?))))
                .ok_or_else(|| {
                    ApiError::bad_request("invalid_cursor", "before must be <millis>:<id>")
                })
        })
        .transpose()?;
    Ok(Json(
        state.engine.store().list_conversations(&filter).await?,
    ))
}

/// Open-conversation counts for the agent's views, and how many have unread customer messages.
#[utoipa::path(get, path = "/api/v1/conversations/counts", tag = "conversations",
    responses((status = 200, body = ViewCounts)))]
pub async fn counts(State(state): State<AppState>, work: Work) -> ApiResult<Json<ViewCounts>> {
    Ok(Json(state.engine.view_counts(&work.access).await?))
}

async fn summary_for(state: &AppState, work: &Work, id: i64) -> ApiResult<ConversationSummary> {
    let c = state
        .engine
        .conversation_for(&work.access, ConversationId(id))
        .await
        .map_err(not_found_as("conversation"))?;
    state
        .engine
        .store()
        .conversation_summary(c.id)
        .await?
        .ok_or_else(|| ApiError::not_found("conversation"))
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations", params(("id" = i64, Path)),
    responses((status = 200, body = ConversationDetail), (status = 404, body = ErrorBody)))]
pub async fn conversation(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
) -> ApiResult<Json<ConversationDetail>> {
    let summary = summary_for(&state, &work, id).await?;
    let store = state.engine.store();
    let merged_from = store
        .merged_into(summary.conversation.id)
        .await?
        .into_iter()
        .map(|c| MergedRef {
            id: c.id.0,
            number: c.number.0,
        })
        .collect();
    let merged_into_number = match summary.conversation.merged_into_id {
        Some(t) => store.conversation(t).await?.map(|c| c.number.0),
        None => None,
    };
    Ok(Json(ConversationDetail {
        summary,
        merged_from,
        merged_into_number,
    }))
}

/// A conversation's messages (notes included), oldest first.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages", tag = "conversations",
    params(("id" = i64, Path), AfterSeq),
    responses((status = 200, body = [Message]), (status = 404, body = ErrorBody)))]
pub async fn conversation_messages(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    Query(q): Query<AfterSeq>,
) -> ApiResult<Json<Vec<Message>>> {
    let c = state
        .engine
        .conversation_for(&work.access, ConversationId(id))
        .await
        .map_err(not_found_as("conversation"))?;
    Ok(Json(
        state
            .engine
            .store()
            .messages_after(c.id, q.after_seq, page_limit(q.limit), true)
            .await?,
    ))
}

/// Replies to the customer, or adds a private note (`@name` mentions notify colleagues).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "conversations",
    params(("id" = i64, Path)), request_body = AgentReply,
    responses((status = 201, body = AgentSent), (status = 200, description = "a retry", body = AgentSent),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reply(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<AgentReply>,
) -> ApiResult<(StatusCode, Json<AgentSent>)> {
    let appended = state
        .engine
        .agent_message_with(
            &work.access,
            ConversationId(id),
            &req.body,
            req.client_message_id.as_deref(),
            req.private,
            &req.attachment_ids,
        )
        .await
        .map_err(|e| match e {
            EngineError::Conflict("attachment_unavailable") => ApiError::new(
                StatusCode::CONFLICT,
                "attachment_unavailable",
                "a file is not one you uploaded to this conversation, or it was sent already",
            ),
            e => not_found_as("conversation")(e),
        })?;
    let status = if appended.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(AgentSent {
            message: appended.message,
            duplicate: appended.duplicate,
        }),
    ))
}

fn parse_status(s: &str) -> ApiResult<ConversationStatus> {
    ConversationStatus::parse(s).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_status",
            "status must be open, pending, snoozed, resolved or closed",
        )
    })
}

/// Opens, resolves, closes, sets pending, or snoozes (until a time) a conversation.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/status", tag = "conversations",
    params(("id" = i64, Path)), request_body = StatusChangeRequest,
    responses((status = 200, body = ConversationSummary), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_status(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<StatusChangeRequest>,
) -> ApiResult<Json<ConversationSummary>> {
    let status = parse_status(&req.status)?;
    state
        .engine
        .set_status(&work.access, ConversationId(id), status, req.until)
        .await
        .map_err(not_found_as("conversation"))?;
    Ok(Json(summary_for(&state, &work, id).await?))
}

/// Assigns the conversation to an agent who works its inbox, or unassigns it.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/assignee", tag = "conversations",
    params(("id" = i64, Path)), request_body = AssigneeChange,
    responses((status = 200, body = ConversationSummary), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn set_assignee(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<AssigneeChange>,
) -> ApiResult<Json<ConversationSummary>> {
    state
        .engine
        .assign(&work.access, ConversationId(id), req.agent_id.map(AgentId))
        .await
        .map_err(not_found_as("conversation or agent"))?;
    Ok(Json(summary_for(&state, &work, id).await?))
}

/// Gives the conversation to a team, or none.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/team", tag = "conversations",
    params(("id" = i64, Path)), request_body = TeamChange,
    responses((status = 200, body = ConversationSummary), (status = 404, body = ErrorBody)))]
pub async fn set_team(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<TeamChange>,
) -> ApiResult<Json<ConversationSummary>> {
    state
        .engine
        .set_team(&work.access, ConversationId(id), req.team_id.map(TeamId))
        .await
        .map_err(not_found_as("conversation or team"))?;
    Ok(Json(summary_for(&state, &work, id).await?))
}

fn parse_priority(p: &str) -> ApiResult<Priority> {
    Priority::parse(p).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_priority",
            "priority must be none, low, medium, high or urgent",
        )
    })
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/priority", tag = "conversations",
    params(("id" = i64, Path)), request_body = PriorityChange,
    responses((status = 200, body = ConversationSummary), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_priority(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<PriorityChange>,
) -> ApiResult<Json<ConversationSummary>> {
    let priority = parse_priority(&req.priority)?;
    state
        .engine
        .set_priority(&work.access, ConversationId(id), priority)
        .await
        .map_err(not_found_as("conversation"))?;
    Ok(Json(summary_for(&state, &work, id).await?))
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/labels", tag = "conversations",
    params(("id" = i64, Path)), request_body = LabelRequest,
    responses((status = 200, body = ConversationSummary), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_label(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<LabelRequest>,
) -> ApiResult<Json<ConversationSummary>> {
    state
        .engine
        .add_label(&work.access, ConversationId(id), &req.label)
        .await
        .map_err(not_found_as("conversation"))?;
    Ok(Json(summary_for(&state, &work, id).await?))
}

#[utoipa::path(delete, path = "/api/v1/conversations/{id}/labels/{label}", tag = "conversations",
    params(("id" = i64, Path), ("label" = String, Path)),
    responses((status = 200, body = ConversationSummary), (status = 404, body = ErrorBody)))]
pub async fn remove_label(
    State(state): State<AppState>,
    work: Work,
    Path((id, label)): Path<(i64, String)>,
) -> ApiResult<Json<ConversationSummary>> {
    state
        .engine
        .remove_label(&work.access, ConversationId(id), &label)
        .await
        .map_err(not_found_as("conversation"))?;
    Ok(Json(summary_for(&state, &work, id).await?))
}

/// Merges this conversation into another of the same customer (`409 different_customers`
/// otherwise). This one is closed and points to the survivor; history stays.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/merge", tag = "conversations",
    params(("id" = i64, Path)), request_body = MergeRequest,
    responses((status = 200, body = ConversationSummary), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn merge(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<MergeRequest>,
) -> ApiResult<Json<ConversationSummary>> {
    state
        .engine
        .merge(&work.access, ConversationId(id), ConversationId(req.into))
        .await
        .map_err(not_found_as("conversation"))?;
    Ok(Json(summary_for(&state, &work, req.into).await?))
}

/// Marks the conversation read up to a sequence number (for unread marks and counts).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/read", tag = "conversations",
    params(("id" = i64, Path)), request_body = ReadRequest,
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn mark_read(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<ReadRequest>,
) -> ApiResult<StatusCode> {
    state
        .engine
        .mark_read(&work.access, ConversationId(id), req.seq)
        .await
        .map_err(not_found_as("conversation"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// One action on many conversations. Each is done or fails on its own (a conversation the agent
/// may not see fails as `not_found`).
#[utoipa::path(post, path = "/api/v1/conversations/bulk", tag = "conversations",
    request_body = BulkRequest,
    responses((status = 200, body = BulkResult), (status = 422, body = ErrorBody)))]
pub async fn bulk(
    State(state): State<AppState>,
    work: Work,
    JsonBody(req): JsonBody<BulkRequest>,
) -> ApiResult<Json<BulkResult>> {
    let invalid =
        |code, msg: &str| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, msg.to_owned());
    if req.ids.is_empty() || req.ids.len() > 100 {
        return Err(invalid("invalid_ids", "send 1-100 conversation ids"));
    }
    enum Action {
        Assign(Option<AgentId>),
        Label(String),
        Status(ConversationStatus),
        Priority(Priority),
    }
    let action = match req.action.as_str() {
        "assign" => Action::Assign(req.agent_id.map(AgentId)),
        "label" => Action::Label(layan_core::parse_label(req.label.as_deref().unwrap_or(""))?),
        "resolve" => Action::Status(ConversationStatus::Resolved),
        "status" => {
            let s = parse_status(req.status.as_deref().unwrap_or(""))?;
            if s == ConversationStatus::Snoozed {
                return Err(invalid(
                    "invalid_status",
                    "snooze conversations one by one, with a time",
                ));
            }
            Action::Status(s)
        }
        "priority" => Action::Priority(parse_priority(req.priority.as_deref().unwrap_or(""))?),
        _ => {
            return Err(invalid(
                "invalid_action",
                "action must be assign, label, resolve, status or priority",
            ));
        }
    };
    let mut result = BulkResult {
        done: vec![],
        failed: vec![],
    };
    let engine = &state.engine;
    for id in req.ids {
        let cid = ConversationId(id);
        let outcome = match &action {
            Action::Assign(a) => engine.assign(&work.access, cid, *a).await.map(|_| ()),
            Action::Label(l) => engine.add_label(&work.access, cid, l).await,
            Action::Status(s) => engine
                .set_status(&work.access, cid, *s, None)
                .await
                .map(|_| ()),
            Action::Priority(p) => engine.set_priority(&work.access, cid, *p).await.map(|_| ()),
        };
        match outcome {
            Ok(()) => result.done.push(id),
            Err(EngineError::Unavailable) => return Err(EngineError::Unavailable.into()),
            Err(e) => result.failed.push(BulkFailure {
                id,
                code: ApiError::from(e).code.to_owned(),
            }),
        }
    }
    Ok(Json(result))
}

/// Labels in use in the inboxes the agent may see, with counts.
#[utoipa::path(get, path = "/api/v1/labels", tag = "conversations", responses((status = 200, body = [LabelCount])))]
pub async fn labels(State(state): State<AppState>, work: Work) -> ApiResult<Json<Vec<LabelCount>>> {
    Ok(Json(
        state
            .engine
            .store()
            .list_labels(work.access.inboxes.as_deref())
            .await?
            .into_iter()
            .map(|(label, count)| LabelCount { label, count })
            .collect(),
    ))
}

#[derive(Deserialize, IntoParams)]
pub struct ContactQuery {
    /// Words in the name or email (1–200 characters).
    pub q: String,
}

/// Contacts with a conversation in an inbox the agent may see.
#[utoipa::path(get, path = "/api/v1/contacts", tag = "conversations", params(ContactQuery),
    responses((status = 200, body = [Contact]), (status = 400, body = ErrorBody)))]
pub async fn contacts(
    State(state): State<AppState>,
    work: Work,
    Query(q): Query<ContactQuery>,
) -> ApiResult<Json<Vec<Contact>>> {
    if q.q.chars().count() > 200 {
        return Err(bad(
            "query_too_long",
            "search for at most 200 characters".into(),
        ));
    }
    Ok(Json(
        state
            .engine
            .store()
            .search_contacts(&q.q, work.access.inboxes.as_deref(), 50)
            .await?,
    ))
}

// ---- canned responses --------------------------------------------------------------------------

/// The shared canned responses and the agent's own (every language variant).
#[utoipa::path(get, path = "/api/v1/canned", tag = "canned", responses((status = 200, body = [CannedResponse])))]
pub async fn canned_list(
    State(state): State<AppState>,
    work: Work,
) -> ApiResult<Json<Vec<CannedResponse>>> {
    Ok(Json(
        state.engine.store().list_canned(work.agent().id).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/canned", tag = "canned", request_body = CannedRequest,
    responses((status = 201, body = CannedResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn canned_create(
    State(state): State<AppState>,
    work: Work,
    JsonBody(req): JsonBody<CannedRequest>,
) -> ApiResult<(StatusCode, Json<CannedResponse>)> {
    let c = state
        .engine
        .create_canned(
            &work.access,
            req.shared,
            &req.shortcut,
            req.locale.as_deref(),
            &req.title,
            &req.body,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(c)))
}

#[utoipa::path(put, path = "/api/v1/canned/{id}", tag = "canned", params(("id" = i64, Path)), request_body = CannedRequest,
    responses((status = 200, body = CannedResponse), (status = 404, body = ErrorBody)))]
pub async fn canned_update(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<CannedRequest>,
) -> ApiResult<Json<CannedResponse>> {
    Ok(Json(
        state
            .engine
            .update_canned(
                &work.access,
                CannedId(id),
                &req.shortcut,
                req.locale.as_deref(),
                &req.title,
                &req.body,
            )
            .await
            .map_err(not_found_as("canned response"))?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/canned/{id}", tag = "canned", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn canned_delete(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    state
        .engine
        .delete_canned(&work.access, CannedId(id))
        .await
        .map_err(not_found_as("canned response"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The canned response `shortcut` for this conversation: the customer's language variant with
/// its variables filled in (unknown variables are left as written).
#[utoipa::path(get, path = "/api/v1/conversations/{id}/canned/{shortcut}", tag = "canned",
    params(("id" = i64, Path), ("shortcut" = String, Path)),
    responses((status = 200, body = RenderedCanned), (status = 404, body = ErrorBody)))]
pub async fn canned_render(
    State(state): State<AppState>,
    work: Work,
    Path((id, shortcut)): Path<(i64, String)>,
) -> ApiResult<Json<RenderedCanned>> {
    let (canned, text) = state
        .engine
        .render_canned(&work.access, ConversationId(id), &shortcut)
        .await
        .map_err(not_found_as("conversation or canned response"))?;
    Ok(Json(RenderedCanned { canned, text }))
}

// ---- notifications -----------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/v1/notifications", tag = "agents", responses((status = 200, body = [Notification])))]
pub async fn notifications(
    State(state): State<AppState>,
    work: Work,
) -> ApiResult<Json<Vec<Notification>>> {
    Ok(Json(
        state
            .engine
            .store()
            .list_notifications(work.agent().id, 50)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "agents", request_body = NotificationRead,
    responses((status = 204)))]
pub async fn notifications_read(
    State(state): State<AppState>,
    work: Work,
    JsonBody(req): JsonBody<NotificationRead>,
) -> ApiResult<StatusCode> {
    state
        .engine
        .store()
        .read_notifications(work.agent().id, req.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
