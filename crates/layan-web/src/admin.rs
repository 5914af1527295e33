//! People and settings: the agent's own account (language, away, password, API tokens), and
//! for admins: accounts and roles, inbox membership, teams, inbox routing and acknowledgement,
//! the audit log.

use axum::{
    Json,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use layan_core::{
    AgentId, ApiTokenInfo, AuditEntry, AutoAssign, Inbox, InboxId, Job, JobStatus, Locale, Role,
    Team, TeamId,
};
use layan_engine::{EngineError, SESSION_LIFETIME_MS};
use layan_store::{AgentChanges, InboxChanges};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    AppState,
    auth::{SESSION_COOKIE, Work},
    dto::*,
    error::{ApiError, ApiResult, ErrorBody, JsonBody, not_found_as},
};

fn invalid(code: &'static str, msg: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, msg.to_owned())
}

fn require_admin(work: &Work) -> ApiResult<()> {
    if work.agent().role.is_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden("only admins can do this"))
    }
}

async fn agent_view(state: &AppState, agent: layan_core::Agent) -> ApiResult<AgentView> {
    let store = state.engine.store();
    Ok(AgentView {
        presence: state.engine.presence_of(&agent),
        inbox_ids: store
            .agent_inbox_ids(agent.id)
            .await?
            .into_iter()
            .map(|i| i.0)
            .collect(),
        team_ids: store
            .agent_team_ids(agent.id)
            .await?
            .into_iter()
            .map(|t| t.0)
            .collect(),
        agent,
    })
}

/// The logged-in agent.
#[utoipa::path(get, path = "/api/v1/me", tag = "agents", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(State(state): State<AppState>, work: Work) -> Json<Me> {
    Json(Me {
        agent: work.session.agent,
        agents_online: state.engine.agents_online(),
    })
}

/// Changes the agent's own name, language, capacity or away flag (not their role).
#[utoipa::path(patch, path = "/api/v1/me", tag = "agents", request_body = AgentUpdate,
    responses((status = 200, body = AgentView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_me(
    State(state): State<AppState>,
    work: Work,
    JsonBody(req): JsonBody<AgentUpdate>,
) -> ApiResult<Json<AgentView>> {
    let id = work.agent().id;
    update_agent_inner(&state, &work, id, req).await
}

async fn update_agent_inner(
    state: &AppState,
    work: &Work,
    id: AgentId,
    req: AgentUpdate,
) -> ApiResult<Json<AgentView>> {
    let role = req
        .role
        .as_deref()
        .map(|r| {
            Role::parse(r)
                .ok_or_else(|| invalid("invalid_role", "role must be admin, supervisor or agent"))
        })
        .transpose()?;
    let locale = req
        .locale
        .as_deref()
        .map(|l| {
            Locale::from_tag(l)
                .ok_or_else(|| invalid("invalid_locale", "language must be en, id, th or nl"))
        })
        .transpose()?;
    let name = req.name.as_deref().map(str::trim);
    let agent = state
        .engine
        .update_agent(
            work.agent(),
            id,
            AgentChanges {
                name,
                role,
                locale,
                capacity: req.capacity,
                away: req.away,
            },
            work.ip,
        )
        .await
        .map_err(not_found_as("agent"))?;
    Ok(Json(agent_view(state, agent).await?))
}

/// A wrong current password is 422 (the session itself is fine: 401 would send the browser
/// to the login page).
fn wrong_current_password(e: EngineError) -> ApiError {
    match e {
        EngineError::InvalidCredentials => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_current_password",
            "the current password is not right",
        ),
        other => other.into(),
    }
}

/// Changes the agent's own password: every session of the account ends (other browsers, live
/// connections); this browser gets a new session cookie.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "agents", request_body = PasswordChange,
    responses((status = 204), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    work: Work,
    JsonBody(req): JsonBody<PasswordChange>,
) -> ApiResult<Response> {
    let login = state
        .engine
        .change_password(
            work.agent(),
            &req.current_password,
            &req.new_password,
            work.ip,
        )
        .await
        .map_err(wrong_current_password)?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        crate::ui::cookie_header(
            &state,
            SESSION_COOKIE,
            &login.token,
            SESSION_LIFETIME_MS / 1000,
            "Lax",
        ),
    );
    Ok(res)
}

/// Every agent, with presence (online / away / offline), inboxes and teams.
#[utoipa::path(get, path = "/api/v1/agents", tag = "agents", responses((status = 200, body = [AgentView])))]
pub async fn agents(State(state): State<AppState>, _work: Work) -> ApiResult<Json<Vec<AgentView>>> {
    // Three queries for the whole list (every agent's inbox page loads it on connect).
    let store = state.engine.store();
    let memberships = store.inbox_memberships().await?;
    let teams = store.list_teams().await?;
    let online = state.engine.online_agents();
    let views = store
        .list_agents()
        .await?
        .into_iter()
        .map(|agent| AgentView {
            presence: layan_engine::Presence::of(&agent, &online),
            inbox_ids: memberships
                .iter()
                .filter(|(a, _)| *a == agent.id)
                .map(|(_, i)| i.0)
                .collect(),
            team_ids: teams
                .iter()
                .filter(|t| t.members.contains(&agent.id))
                .map(|t| t.id.0)
                .collect(),
            agent,
        })
        .collect();
    Ok(Json(views))
}

/// Creates an account (admins only).
#[utoipa::path(post, path = "/api/v1/agents", tag = "agents", request_body = NewAgentRequest,
    responses((status = 201, body = AgentView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_agent(
    State(state): State<AppState>,
    work: Work,
    JsonBody(req): JsonBody<NewAgentRequest>,
) -> ApiResult<(StatusCode, Json<AgentView>)> {
    require_admin(&work)?;
    let role = Role::parse(&req.role)
        .ok_or_else(|| invalid("invalid_role", "role must be admin, supervisor or agent"))?;
    let inboxes: Vec<InboxId> = req.inbox_ids.iter().copied().map(InboxId).collect();
    for i in &inboxes {
        state
            .engine
            .store()
            .inbox(*i)
            .await?
            .ok_or_else(|| ApiError::not_found("inbox"))?;
    }
    let agent = state
        .engine
        .admin_create_agent(
            work.agent(),
            layan_engine::NewAccount {
                email: &req.email,
                name: &req.name,
                role,
                password: &req.password,
                inboxes: &inboxes,
            },
            work.ip,
        )
        .await
        .map_err(|e| match e {
            EngineError::Conflict("email_taken") => ApiError::new(
                StatusCode::CONFLICT,
                "email_taken",
                "an agent with this email exists",
            ),
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(agent_view(&state, agent).await?)))
}

/// Changes an account (admins; everyone may change their own through `PATCH /api/v1/me`).
#[utoipa::path(patch, path = "/api/v1/agents/{id}", tag = "agents", params(("id" = i64, Path)), request_body = AgentUpdate,
    responses((status = 200, body = AgentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_agent(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<AgentUpdate>,
) -> ApiResult<Json<AgentView>> {
    update_agent_inner(&state, &work, AgentId(id), req).await
}

/// Sets someone's password (admins only); their sessions end.
#[utoipa::path(post, path = "/api/v1/agents/{id}/password", tag = "agents", params(("id" = i64, Path)), request_body = PasswordReset,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reset_password(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<PasswordReset>,
) -> ApiResult<StatusCode> {
    state
        .engine
        .reset_password(work.agent(), AgentId(id), &req.new_password, work.ip)
        .await
        .map_err(not_found_as("agent"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deactivates an account (staff who left: it cannot sign in, its sessions, sockets and API
/// tokens end, its open conversations go back to the queue) or activates it again (admins only).
#[utoipa::path(put, path = "/api/v1/agents/{id}/active", tag = "agents", params(("id" = i64, Path)), request_body = ActiveRequest,
    responses((status = 200, body = layan_core::Agent), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_active(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<ActiveRequest>,
) -> ApiResult<Json<layan_core::Agent>> {
    Ok(Json(
        state
            .engine
            .set_agent_active(work.agent(), AgentId(id), req.active, work.ip)
            .await
            .map_err(not_found_as("agent"))?,
    ))
}

// ---- inboxes -----------------------------------------------------------------------------------

/// The inboxes the agent may see.
#[utoipa::path(get, path = "/api/v1/inboxes", tag = "inboxes", responses((status = 200, body = [Inbox])))]
pub async fn inboxes(State(state): State<AppState>, work: Work) -> ApiResult<Json<Vec<Inbox>>> {
    Ok(Json(state.engine.visible_inboxes(&work.access).await?))
}

/// Changes an inbox's name, widget look, routing and acknowledgement (admins only).
#[utoipa::path(patch, path = "/api/v1/inboxes/{id}", tag = "inboxes", params(("id" = i64, Path)),
    request_body = InboxUpdate,
    responses((status = 200, body = Inbox), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_inbox(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<InboxUpdate>,
) -> ApiResult<Json<Inbox>> {
    require_admin(&work)?;
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
    let auto_assign = req
        .auto_assign
        .as_deref()
        .map(|a| {
            AutoAssign::parse(a).ok_or_else(|| {
                invalid(
                    "invalid_auto_assign",
                    "auto_assign must be none, round_robin or least_loaded",
                )
            })
        })
        .transpose()?;
    if let Some(m) = req.response_minutes
        && !(1..=10_080).contains(&m)
    {
        return Err(invalid(
            "invalid_response_minutes",
            "response time is 1-10080 minutes",
        ));
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
                auto_assign,
                reassign_on_offline: req.reassign_on_offline,
                auto_ack: req.auto_ack,
                response_minutes: req.response_minutes,
            },
        )
        .await
        .map_err(|_| ApiError::not_found("inbox"))?;
    state
        .engine
        .audit(
            Some(work.agent()),
            "inbox_updated",
            Some(&format!("inbox {id}")),
            None,
            work.ip,
        )
        .await;
    Ok(Json(inbox))
}

/// Who works this inbox.
#[utoipa::path(get, path = "/api/v1/inboxes/{id}/members", tag = "inboxes", params(("id" = i64, Path)),
    responses((status = 200, body = [i64]), (status = 404, body = ErrorBody)))]
pub async fn inbox_members(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<i64>>> {
    if !work.access.can_see(InboxId(id)) {
        return Err(ApiError::not_found("inbox"));
    }
    Ok(Json(
        state
            .engine
            .store()
            .inbox_member_ids(InboxId(id))
            .await?
            .into_iter()
            .map(|a| a.0)
            .collect(),
    ))
}

/// Replaces who works this inbox (admins only). Their live inboxes update at once.
#[utoipa::path(put, path = "/api/v1/inboxes/{id}/members", tag = "inboxes", params(("id" = i64, Path)), request_body = MembersRequest,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_inbox_members(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<MembersRequest>,
) -> ApiResult<StatusCode> {
    require_admin(&work)?;
    let agents: Vec<AgentId> = req.agent_ids.into_iter().map(AgentId).collect();
    state
        .engine
        .set_inbox_members(work.agent(), InboxId(id), &agents, work.ip)
        .await
        .map_err(not_found_as("inbox or agent"))?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- teams -------------------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/v1/teams", tag = "agents", responses((status = 200, body = [Team])))]
pub async fn teams(State(state): State<AppState>, _work: Work) -> ApiResult<Json<Vec<Team>>> {
    Ok(Json(state.engine.store().list_teams().await?))
}

#[utoipa::path(post, path = "/api/v1/teams", tag = "agents", request_body = NewTeamRequest,
    responses((status = 201, body = Team), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_team(
    State(state): State<AppState>,
    work: Work,
    JsonBody(req): JsonBody<NewTeamRequest>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    let members: Vec<AgentId> = req.agent_ids.into_iter().map(AgentId).collect();
    let team = state
        .engine
        .create_team(work.agent(), &req.name, &members, work.ip)
        .await
        .map_err(not_found_as("agent"))?;
    Ok((StatusCode::CREATED, Json(team)))
}

#[utoipa::path(put, path = "/api/v1/teams/{id}/members", tag = "agents", params(("id" = i64, Path)), request_body = MembersRequest,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_team_members(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<MembersRequest>,
) -> ApiResult<StatusCode> {
    let members: Vec<AgentId> = req.agent_ids.into_iter().map(AgentId).collect();
    state
        .engine
        .set_team_members(work.agent(), TeamId(id), &members, work.ip)
        .await
        .map_err(not_found_as("team or agent"))?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- API tokens --------------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/v1/tokens", tag = "agents", responses((status = 200, body = [ApiTokenInfo])))]
pub async fn tokens(
    State(state): State<AppState>,
    work: Work,
) -> ApiResult<Json<Vec<ApiTokenInfo>>> {
    Ok(Json(
        state
            .engine
            .store()
            .list_api_tokens(work.agent().id)
            .await?,
    ))
}

/// Creates a personal API token for the HTTP API; the secret is shown only in this response.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "agents", request_body = NewTokenRequest,
    responses((status = 201, body = NewToken), (status = 422, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    work: Work,
    JsonBody(req): JsonBody<NewTokenRequest>,
) -> ApiResult<(StatusCode, Json<NewToken>)> {
    let current = match (
        req.survives_password_change,
        req.current_password.as_deref(),
    ) {
        (false, _) => None,
        (true, Some(p)) => Some(p),
        (true, None) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "current_password_required",
                "a token that survives a password change needs your current password",
            ));
        }
    };
    let (token, info) = state
        .engine
        .create_api_token(work.agent(), &req.name, current, work.ip)
        .await
        .map_err(wrong_current_password)?;
    Ok((StatusCode::CREATED, Json(NewToken { token, info })))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "agents", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    state
        .engine
        .revoke_api_token(work.agent(), id, work.ip)
        .await
        .map_err(not_found_as("token"))?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- audit log ---------------------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
pub struct AuditQuery {
    /// The last id of the previous page.
    pub before: Option<i64>,
    pub limit: Option<u32>,
}

/// Security-relevant and admin actions, newest first (admins only).
#[utoipa::path(get, path = "/api/v1/audit", tag = "agents", params(AuditQuery),
    responses((status = 200, body = [AuditEntry]), (status = 403, body = ErrorBody)))]
pub async fn audit(
    State(state): State<AppState>,
    work: Work,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    require_admin(&work)?;
    Ok(Json(
        state
            .engine
            .store()
            .list_audit(q.before, q.limit.unwrap_or(100))
            .await?,
    ))
}

// ---- jobs --------------------------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
pub struct JobQuery {
    /// `queued`, `running`, `done` or `failed`; all when absent.
    pub status: Option<String>,
    pub limit: Option<u32>,
}

/// The background job queue, newest first (admins only).
#[utoipa::path(get, path = "/api/v1/jobs", tag = "operations", params(JobQuery),
    responses((status = 200, body = [Job]), (status = 403, body = ErrorBody)))]
pub async fn jobs(
    State(state): State<AppState>,
    work: Work,
    Query(q): Query<JobQuery>,
) -> ApiResult<Json<Vec<Job>>> {
    require_admin(&work)?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            JobStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_status",
                    "status must be queued, running, done or failed",
                )
            })
        })
        .transpose()?;
    Ok(Json(
        state
            .engine
            .store()
            .list_jobs(status, q.limit.unwrap_or(100))
            .await?,
    ))
}

/// Runs a failed job again (admins only).
#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", tag = "operations", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, description = "no failed job with this id", body = ErrorBody)))]
pub async fn retry_job(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    require_admin(&work)?;
    state
        .engine
        .store()
        .retry_job(id)
        .await
        .map_err(|_| ApiError::not_found("failed job"))?;
    state
        .engine
        .audit(
            Some(work.agent()),
            "job_retried",
            Some(&id.to_string()),
            None,
            work.ip,
        )
        .await;
    state.engine.wake_jobs();
    Ok(StatusCode::NO_CONTENT)
}
