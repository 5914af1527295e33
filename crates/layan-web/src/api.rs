//! The JSON API under `/api/v1/`: what the widget and the agent inbox do, described in the
//! OpenAPI document at `/api/openapi.json`.

use axum::{
    Json,
    extract::{Path, Query, State},
    http::StatusCode,
};
use layan_core::{
    Agent, AgentId, ConversationId, ConversationStatus, ConversationSummary, Inbox, InboxId,
    Message,
};
use layan_engine::EngineError;
use layan_store::{ConversationFilter, InboxChanges};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    AppState,
    auth::{CurrentAgent, CurrentVisitor},
    dto::*,
    error::{ApiError, ApiResult, ErrorBody, JsonBody},
};

// ---- widget ------------------------------------------------------------------------------------

/// Starts or resumes a widget session: recognises the visitor by token, or creates a new one.
#[utoipa::path(post, path = "/api/v1/widget/session", tag = "widget",
    request_body = WidgetSessionRequest,
    responses((status = 200, body = WidgetSession), (status = 404, description = "unknown inbox key", body = ErrorBody)))]
pub async fn widget_session(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<WidgetSessionRequest>,
) -> ApiResult<Json<WidgetSession>> {
    let visitor = state
        .engine
        .widget_visitor(&req.key, req.token.as_deref(), req.locale.as_deref())
        .await
        .map_err(|e| match e {
            EngineError::NotFound => ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_inbox",
                "no inbox has this widget key",
            ),
            other => other.into(),
        })?;
    let token = visitor.new_token.or(req.token).unwrap_or_default();
    Ok(Json(WidgetSession {
        token,
        inbox: WidgetInbox {
            name: visitor.inbox.name,
            greeting: visitor.inbox.greeting,
            color: visitor.inbox.color,
        },
        agents_online: state.engine.agents_online(),
        conversation: visitor.conversation.as_ref().map(WidgetConversation::from),
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
    visitor: CurrentVisitor,
    JsonBody(req): JsonBody<SendMessage>,
) -> ApiResult<(StatusCode, Json<WidgetSent>)> {
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
    visitor: CurrentVisitor,
    JsonBody(req): JsonBody<OfflineMessage>,
) -> ApiResult<(StatusCode, Json<WidgetSent>)> {
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

// ---- agents ------------------------------------------------------------------------------------

/// The logged-in agent.
#[utoipa::path(get, path = "/api/v1/me", tag = "agents", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(State(state): State<AppState>, CurrentAgent(s): CurrentAgent) -> Json<Me> {
    Json(Me {
        agent: s.agent,
        agents_online: state.engine.agents_online(),
    })
}

#[utoipa::path(get, path = "/api/v1/agents", tag = "agents", responses((status = 200, body = [Agent])))]
pub async fn agents(
    State(state): State<AppState>,
    _agent: CurrentAgent,
) -> ApiResult<Json<Vec<Agent>>> {
    Ok(Json(state.engine.store().list_agents().await?))
}

#[utoipa::path(get, path = "/api/v1/inboxes", tag = "inboxes", responses((status = 200, body = [Inbox])))]
pub async fn inboxes(
    State(state): State<AppState>,
    _agent: CurrentAgent,
) -> ApiResult<Json<Vec<Inbox>>> {
    Ok(Json(state.engine.store().list_inboxes().await?))
}

/// Changes an inbox's name, widget greeting or colour (admins only).
#[utoipa::path(patch, path = "/api/v1/inboxes/{id}", tag = "inboxes", params(("id" = i64, Path)),
    request_body = InboxUpdate,
    responses((status = 200, body = Inbox), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_inbox(
    State(state): State<AppState>,
    CurrentAgent(s): CurrentAgent,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<InboxUpdate>,
) -> ApiResult<Json<Inbox>> {
    if s.agent.role != layan_core::Role::Admin {
        return Err(ApiError::forbidden("only admins can change inboxes"));
    }
    let invalid =
        |code, msg: &str| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, msg.to_owned());
    if let Some(name) = &req.name {
        layan_core::PersonName::parse(name)
            .map_err(|_| invalid("invalid_name", "an inbox name must be 1-120 characters"))?;
    }
    if let Some(greeting) = &req.greeting
        && greeting.chars().count() > 500
    {
        return Err(invalid(
            "greeting_too_long",
            "the greeting is limited to 500 characters",
        ));
    }
    if let Some(color) = &req.color {
        let ok = color.len() == 7
            && color.starts_with('#')
            && color[1..].bytes().all(|b| b.is_ascii_hexdigit());
        if !ok {
            return Err(invalid("invalid_color", "colour must look like #1f6feb"));
        }
    }
    let inbox = state
        .engine
        .store()
        .update_inbox(
            InboxId(id),
            InboxChanges {
                name: req.name.as_deref().map(str::trim),
                greeting: req.greeting.as_deref(),
                color: req.color.as_deref(),
            },
        )
        .await
        .map_err(|_| ApiError::not_found("inbox"))?;
    Ok(Json(inbox))
}

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// `open` (default), `pending`, `snoozed`, `resolved`, `closed` or `all`.
    pub status: Option<String>,
    /// `me`, `unassigned` or `all` (default).
    pub assignee: Option<String>,
    pub inbox_id: Option<i64>,
    /// Paging cursor: `<last_message_at>:<id>` of the previous page's last conversation.
    pub before: Option<String>,
    pub limit: Option<u32>,
}

/// Conversations, newest activity first.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations", params(ListQuery),
    responses((status = 200, body = [ConversationSummary]), (status = 400, body = ErrorBody)))]
pub async fn conversations(
    State(state): State<AppState>,
    CurrentAgent(s): CurrentAgent,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Vec<ConversationSummary>>> {
    let statuses = match q.status.as_deref().unwrap_or("open") {
        "all" => vec![],
        other => vec![ConversationStatus::parse(other).ok_or_else(|| {
            ApiError::bad_request("invalid_status", format!("unknown status {other:?}"))
        })?],
    };
    let assignee = match q.assignee.as_deref().unwrap_or("all") {
        "all" => None,
        "me" => Some(Some(s.agent.id)),
        "unassigned" => Some(None),
        other => {
            return Err(ApiError::bad_request(
                "invalid_assignee",
                format!("assignee must be me, unassigned or all, not {other:?}"),
            ));
        }
    };
    let before = q
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
    let filter = ConversationFilter {
        statuses,
        inbox_ids: q.inbox_id.map(|i| vec![InboxId(i)]),
        assignee,
        before,
        limit: q.limit.unwrap_or(50).clamp(1, 200),
    };
    Ok(Json(
        state.engine.store().list_conversations(&filter).await?,
    ))
}

async fn agent_conversation(state: &AppState, id: i64) -> ApiResult<ConversationSummary> {
    state
        .engine
        .store()
        .conversation_summary(ConversationId(id))
        .await?
        .ok_or_else(|| ApiError::not_found("conversation"))
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations", params(("id" = i64, Path)),
    responses((status = 200, body = ConversationSummary), (status = 404, body = ErrorBody)))]
pub async fn conversation(
    State(state): State<AppState>,
    _agent: CurrentAgent,
    Path(id): Path<i64>,
) -> ApiResult<Json<ConversationSummary>> {
    Ok(Json(agent_conversation(&state, id).await?))
}

/// A conversation's messages (notes included), oldest first.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages", tag = "conversations",
    params(("id" = i64, Path), AfterSeq),
    responses((status = 200, body = [Message]), (status = 404, body = ErrorBody)))]
pub async fn conversation_messages(
    State(state): State<AppState>,
    _agent: CurrentAgent,
    Path(id): Path<i64>,
    Query(q): Query<AfterSeq>,
) -> ApiResult<Json<Vec<Message>>> {
    let c = agent_conversation(&state, id).await?;
    Ok(Json(
        state
            .engine
            .store()
            .messages_after(c.conversation.id, q.after_seq, page_limit(q.limit), true)
            .await?,
    ))
}

/// Replies to the customer, or adds a private note.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "conversations",
    params(("id" = i64, Path)), request_body = AgentReply,
    responses((status = 201, body = AgentSent), (status = 200, description = "a retry", body = AgentSent),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reply(
    State(state): State<AppState>,
    CurrentAgent(s): CurrentAgent,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<AgentReply>,
) -> ApiResult<(StatusCode, Json<AgentSent>)> {
    let appended = state
        .engine
        .agent_message(
            &s.agent,
            ConversationId(id),
            &req.body,
            req.client_message_id.as_deref(),
            req.private,
        )
        .await
        .map_err(|e| match e {
            EngineError::NotFound => ApiError::not_found("conversation"),
            other => other.into(),
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

/// Opens, resolves (or sets another status on) a conversation.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/status", tag = "conversations",
    params(("id" = i64, Path)), request_body = StatusChange,
    responses((status = 200, body = ConversationSummary), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_status(
    State(state): State<AppState>,
    CurrentAgent(s): CurrentAgent,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<StatusChange>,
) -> ApiResult<Json<ConversationSummary>> {
    let status = ConversationStatus::parse(&req.status).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_status",
            "status must be open, pending, snoozed, resolved or closed",
        )
    })?;
    state
        .engine
        .set_status(&s.agent, ConversationId(id), status)
        .await
        .map_err(|e| match e {
            EngineError::NotFound => ApiError::not_found("conversation"),
            other => other.into(),
        })?;
    Ok(Json(agent_conversation(&state, id).await?))
}

/// Assigns the conversation to an agent, or unassigns it.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/assignee", tag = "conversations",
    params(("id" = i64, Path)), request_body = AssigneeChange,
    responses((status = 200, body = ConversationSummary), (status = 404, body = ErrorBody)))]
pub async fn set_assignee(
    State(state): State<AppState>,
    _agent: CurrentAgent,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<AssigneeChange>,
) -> ApiResult<Json<ConversationSummary>> {
    state
        .engine
        .assign(ConversationId(id), req.agent_id.map(AgentId))
        .await
        .map_err(|e| match e {
            EngineError::NotFound => ApiError::not_found("conversation or agent"),
            other => other.into(),
        })?;
    Ok(Json(agent_conversation(&state, id).await?))
}
