//! Orders: the store's webhooks in (Shopify format: signature checked over the raw body, each
//! event applied once) and a conversation's customer's orders out, for the agent's sidebar.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
};
use layan_core::{ConversationId, Order};
use layan_engine::orders::{BadPayload, WebhookOutcome, webhook_signature_ok};
use serde::{Deserialize, Serialize};

use crate::{
    AppState,
    auth::Work,
    error::{ApiError, ApiResult, ErrorBody, not_found_as},
};

#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookReply {
    /// applied, stale (older than what is stored), duplicate (delivered before) or ignored.
    pub status: &'static str,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Checks that a store webhook may be taken: the endpoint is on (a secret is set) and
/// `signature_header` holds the body's signature.
fn verified(
    headers: &HeaderMap,
    body: &[u8],
    secret: Option<&str>,
    signature_header: &str,
    setting: &str,
) -> Result<(), ApiError> {
    let Some(secret) = secret else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_configured",
            format!("this webhook is off: set {setting}"),
        ));
    };
    let Some(signature) = header(headers, signature_header) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing_signature",
            format!("{signature_header} is required"),
        ));
    };
    if !webhook_signature_ok(secret, body, signature) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            "the signature does not match the body",
        ));
    }
    Ok(())
}

/// The answer to a store: 200 with what happened, 400 for an unreadable payload, 409 for a
/// shipment of an order not received yet (the store delivers it again later).
fn reply(outcome: Result<WebhookOutcome, BadPayload>) -> ApiResult<Json<WebhookReply>> {
    match outcome {
        Err(bad) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_payload",
            bad.0,
        )),
        Ok(WebhookOutcome::UnknownOrder) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "order_not_yet_known",
            "a shipment for an order not received yet; deliver it again later",
        )),
        Ok(outcome) => Ok(Json(WebhookReply {
            status: match outcome {
                WebhookOutcome::Applied => "applied",
                WebhookOutcome::Stale => "stale",
                WebhookOutcome::Duplicate => "duplicate",
                WebhookOutcome::Ignored | WebhookOutcome::UnknownOrder => "ignored",
            },
        })),
    }
}

/// Shopify webhooks (orders/create, orders/updated, orders/cancelled, orders/paid,
/// fulfillments/create, fulfillments/update, fulfillment_events/create, products/*,
/// customers/redact, customers/data_request; other topics are acknowledged and ignored).
/// 401 without a valid `X-Shopify-Hmac-Sha256`; 400 for a payload that is not its topic's shape,
/// or for another shop (nothing written); 409 for a shipment of an order not received yet
/// (Shopify delivers it again later), or a privacy webhook while `shopify_shop_domain` is unset.
#[utoipa::path(post, path = "/api/v1/webhooks/shopify", tag = "orders",
    responses((status = 200, body = WebhookReply), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn shopify_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<WebhookReply>> {
    verified(
        &headers,
        &body,
        state.config.shopify_webhook_secret.as_deref(),
        "x-shopify-hmac-sha256",
        "shopify_webhook_secret",
    )?;
    let Some(topic) = header(&headers, "x-shopify-topic") else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "missing_topic",
            "X-Shopify-Topic is required",
        ));
    };
    // The event id is the same on every delivery of one event; older deliveries carry only the
    // webhook id, which is the same on retries.
    let event =
        header(&headers, "x-shopify-event-id").or_else(|| header(&headers, "x-shopify-webhook-id"));
    // Headers are outside the signature: nothing is taken from them but the topic and event id
    // (and every topic's body is checked to be that topic's shape). A delivery naming another
    // shop is refused all the same, so a misrouted webhook writes nothing.
    let shop = state.config.shopify_shop_domain.as_deref();
    if let (Some(ours), Some(named)) = (shop, header(&headers, "x-shopify-shop-domain"))
        && !named.eq_ignore_ascii_case(ours)
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "wrong_shop",
            format!("this webhook is for {named}, not this shop"),
        ));
    }
    if topic.starts_with("products/") {
        return reply(
            state
                .engine
                .shopify_product_webhook(topic, event, shop, &body)
                .await?,
        );
    }
    if matches!(topic, "customers/redact" | "customers/data_request") && shop.is_none() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "shop_not_configured",
            "privacy webhooks are carried out only for a known shop: set shopify_shop_domain",
        ));
    }
    reply(
        state
            .engine
            .shopify_webhook(topic, event, shop, &body)
            .await?,
    )
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ProductSearch {
    /// Words that must all be in the title or keywords.
    #[serde(default)]
    pub q: String,
    /// Decimal amounts.
    pub min_price: Option<String>,
    pub max_price: Option<String>,
}

/// The product finder: the shop's active products matching every word, within the price range,
/// in stock first, cheapest first (at most 20).
#[utoipa::path(get, path = "/api/v1/products", tag = "orders", params(ProductSearch),
    responses((status = 200, body = [layan_core::Product]), (status = 422, body = ErrorBody)))]
pub async fn products(
    State(state): State<AppState>,
    _work: Work,
    axum::extract::Query(q): axum::extract::Query<ProductSearch>,
) -> ApiResult<Json<Vec<layan_core::Product>>> {
    if q.q.chars().count() > 200 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "query_too_long",
            "search for at most 200 characters",
        ));
    }
    Ok(Json(
        state
            .engine
            .find_products(&q.q, q.min_price.as_deref(), q.max_price.as_deref(), 20)
            .await?,
    ))
}

/// WooCommerce webhooks (order.created, order.updated, order.restored; the unsigned ping sent
/// when a webhook is saved and other topics are acknowledged and ignored). 401 without a valid
/// `X-WC-Webhook-Signature`; 400 for a payload that cannot be read; a redelivery (same
/// `X-WC-Webhook-Delivery-ID`) changes nothing.
#[utoipa::path(post, path = "/api/v1/webhooks/woocommerce", tag = "orders",
    responses((status = 200, body = WebhookReply), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn woocommerce_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<WebhookReply>> {
    let secret = state.config.woocommerce_webhook_secret.as_deref();
    // The ping WooCommerce sends when a webhook is saved is unsigned (`webhook_id=N`, no topic)
    // and a refusal gets the webhook disabled: acknowledge it; it writes nothing.
    let ping = header(&headers, "x-wc-webhook-topic").is_none()
        && body
            .strip_prefix(b"webhook_id=")
            .is_some_and(|id| !id.is_empty() && id.iter().all(u8::is_ascii_digit));
    if ping && secret.is_some() {
        return Ok(Json(WebhookReply { status: "ignored" }));
    }
    verified(
        &headers,
        &body,
        secret,
        "x-wc-webhook-signature",
        "woocommerce_webhook_secret",
    )?;
    let Some(topic) = header(&headers, "x-wc-webhook-topic") else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "missing_topic",
            "X-WC-Webhook-Topic is required",
        ));
    };
    let delivery = header(&headers, "x-wc-webhook-delivery-id");
    reply(
        state
            .engine
            .woocommerce_webhook(topic, delivery, &body)
            .await?,
    )
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OrderView {
    #[serde(flatten)]
    pub order: Order,
    /// One word: cancelled, delivered, shipped, partially shipped, paid, pending, …
    pub status: String,
    pub tracking_url: Option<String>,
    /// Whether this agent can refund, cancel or resend it from here (a Shopify order, the store
    /// connected, an admin or supervisor).
    pub actions: bool,
    /// Actions sent to the store that it did not answer (`refund`, `cancel`, `resend`): it may
    /// have done them; trying again first asks the store.
    pub in_doubt: Vec<String>,
}

/// The orders of the conversation's customer, newest first (the agent's sidebar).
#[utoipa::path(get, path = "/api/v1/conversations/{id}/orders", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, body = [OrderView]), (status = 404, body = ErrorBody)))]
pub async fn conversation_orders(
    State(state): State<AppState>,
    work: Work,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<OrderView>>> {
    let c = state
        .engine
        .conversation_for(&work.access, ConversationId(id))
        .await
        .map_err(not_found_as("conversation"))?;
    let orders = state.engine.orders_of(c.contact_id).await?;
    let can_act = state.engine.order_actions_enabled() && work.access.supervises();
    let mut views = Vec::with_capacity(orders.len());
    for o in orders {
        let in_doubt = if can_act {
            state
                .engine
                .store()
                .order_actions(o.id)
                .await?
                .into_iter()
                .filter(|a| a.state == "unknown" || a.state == "checking")
                .map(|a| a.kind)
                .collect()
        } else {
            Vec::new()
        };
        views.push(OrderView {
            status: o.status().to_owned(),
            tracking_url: o.tracking_url().map(str::to_owned),
            actions: can_act && o.source == "shopify",
            in_doubt,
            order: o,
        });
    }
    Ok(Json(views))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderActionRequest {
    /// refund, cancel or resend (a replacement order with the same items at no charge).
    pub action: String,
    /// For a partial refund: a decimal amount up to the order's total; the whole order without.
    pub amount: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderActionReply {
    /// What was done, as noted in the conversation.
    pub done: String,
}

/// Refunds (fully or partly), cancels or resends one of the conversation's customer's orders
/// through the store's API, and notes it in the conversation (in the agent's language). Admins
/// and supervisors. 502 `store_error` with the store's words when it refuses (nothing done);
/// 504 `store_no_answer` when it did not answer (it may have done it: the order lists it
/// `in_doubt`); trying the same action again first asks the store, and 409 `already_done` says
/// it had been done — never twice.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/orders/{order_id}/actions", tag = "orders",
    params(("id" = i64, Path), ("order_id" = i64, Path)), request_body = OrderActionRequest,
    responses((status = 200, body = OrderActionReply), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 502, body = ErrorBody),
        (status = 504, body = ErrorBody)))]
pub async fn order_action(
    State(state): State<AppState>,
    work: Work,
    Path((id, order_id)): Path<(i64, i64)>,
    crate::error::JsonBody(req): crate::error::JsonBody<OrderActionRequest>,
) -> ApiResult<Json<OrderActionReply>> {
    use layan_engine::store_api::OrderAction;
    let action = match (req.action.as_str(), req.amount) {
        ("refund", amount) => OrderAction::Refund { amount },
        ("cancel", None) => OrderAction::Cancel,
        ("resend", None) => OrderAction::Resend,
        ("cancel" | "resend", Some(_)) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_amount",
                "only a refund takes an amount",
            ));
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_action",
                "action is refund, cancel or resend",
            ));
        }
    };
    let done = state
        .engine
        .order_action(
            &work.access,
            ConversationId(id),
            layan_core::OrderId(order_id),
            &action,
            work.ip,
        )
        .await
        .map_err(|e| match e {
            layan_engine::EngineError::Conflict("store_not_connected") => ApiError::new(
                StatusCode::CONFLICT,
                "store_not_connected",
                "order actions need the store's API: set shopify_admin_url and shopify_admin_token",
            ),
            layan_engine::EngineError::Conflict("already_cancelled") => ApiError::new(
                StatusCode::CONFLICT,
                "already_cancelled",
                "the order is already cancelled",
            ),
            layan_engine::EngineError::Conflict("store_no_answer") => ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "store_no_answer",
                "the store did not answer in time: it may have done this. Check the order in the store; trying again here first asks the store, so nothing is done twice",
            ),
            layan_engine::EngineError::Conflict("already_done") => ApiError::new(
                StatusCode::CONFLICT,
                "already_done",
                "the store had already done this (an earlier request that went unanswered); it was not sent again",
            ),
            layan_engine::EngineError::Conflict("still_in_doubt") => ApiError::new(
                StatusCode::CONFLICT,
                "still_in_doubt",
                "the store has not answered the earlier request yet and it may still be carried out: nothing was sent; try again in a few minutes",
            ).retry_after(60),
            layan_engine::EngineError::Conflict("action_in_progress") => ApiError::new(
                StatusCode::CONFLICT,
                "action_in_progress",
                "this action on this order is already under way; wait for its answer",
            ).retry_after(5),
            other => not_found_as("order")(other),
        })?;
    Ok(Json(OrderActionReply { done }))
}
