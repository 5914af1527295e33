//! The public help center: server-rendered pages per locale (home, category, article, search),
//! no script at all, `<html lang>` set, translations linked to each other, the shop's name and
//! colour. Article HTML comes from `layan_search::markdown::to_html` (sanitised); everything else
//! is escaped here.
//!
//! Also the widget's JSON view of the same content (search as the shopper types, one article).

use axum::{
    Json,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};
use layan_core::{Article, Category, Locale};
use layan_search::{ArticleHit, LOCALES, markdown};
use serde::{Deserialize, Serialize};

use crate::{AppState, error::ApiError, ui::escape};

const HELP_CSS: &str = include_str!("../assets/help.css");
const VOTER_COOKIE: &str = "layan_help_voter";

/// The UI words of the help center, per locale.
pub(crate) struct Words {
    help_center: &'static str,
    search: &'static str,
    search_placeholder: &'static str,
    results_for: &'static str,
    no_results: &'static str,
    helpful: &'static str,
    yes: &'static str,
    no: &'static str,
    thanks: &'static str,
    updated: &'static str,
    languages: &'static str,
    not_found: &'static str,
    not_in_language: &'static str,
    home: &'static str,
    other: &'static str,
}

pub(crate) fn words(locale: Locale) -> &'static Words {
    match locale {
        Locale::En => &Words {
            help_center: "Help center",
            search: "Search",
            search_placeholder: "Search for answers…",
            results_for: "Results for",
            no_results: "No articles found. Try other words, or chat with us.",
            helpful: "Was this article helpful?",
            yes: "Yes",
            no: "No",
            thanks: "Thank you for your feedback!",
            updated: "Last updated",
            languages: "This page in other languages",
            not_found: "Page not found",
            not_in_language: "This article is not available in English yet. It is available in:",
            home: "All topics",
            other: "Other articles",
        },
        Locale::Id => &Words {
            help_center: "Pusat bantuan",
            search: "Cari",
            search_placeholder: "Cari jawaban…",
            results_for: "Hasil untuk",
            no_results: "Tidak ada artikel. Coba kata lain, atau chat dengan kami.",
            helpful: "Apakah artikel ini membantu?",
            yes: "Ya",
            no: "Tidak",
            thanks: "Terima kasih atas masukan Anda!",
            updated: "Terakhir diperbarui",
            languages: "Halaman ini dalam bahasa lain",
            not_found: "Halaman tidak ditemukan",
            not_in_language: "Artikel ini belum tersedia dalam bahasa Indonesia. Tersedia dalam:",
            home: "Semua topik",
            other: "Artikel lainnya",
        },
        Locale::Th => &Words {
            help_center: "ศูนย์ช่วยเหลือ",
            search: "ค้นหา",
            search_placeholder: "ค้นหาคำตอบ…",
            results_for: "ผลการค้นหาสำหรับ",
            no_results: "ไม่พบบทความ ลองใช้คำอื่น หรือแชทกับเรา",
            helpful: "บทความนี้มีประโยชน์หรือไม่",
            yes: "ใช่",
            no: "ไม่",
            thanks: "ขอบคุณสำหรับความคิดเห็น!",
            updated: "อัปเดตล่าสุด",
            languages: "หน้านี้ในภาษาอื่น",
            not_found: "ไม่พบหน้านี้",
            not_in_language: "บทความนี้ยังไม่มีภาษาไทย มีในภาษา:",
            home: "หัวข้อทั้งหมด",
            other: "บทความอื่น",
        },
        Locale::Nl => &Words {
            help_center: "Klantenservice",
            search: "Zoeken",
            search_placeholder: "Zoek een antwoord…",
            results_for: "Resultaten voor",
            no_results: "Geen artikelen gevonden. Probeer andere woorden, of chat met ons.",
            helpful: "Was dit artikel nuttig?",
            yes: "Ja",
            no: "Nee",
            thanks: "Bedankt voor je feedback!",
            updated: "Laatst bijgewerkt",
            languages: "Deze pagina in andere talen",
            not_found: "Pagina niet gevonden",
            not_in_language: "Dit artikel is nog niet in het Nederlands beschikbaar. Wel in:",
            home: "Alle onderwerpen",
            other: "Andere artikelen",
        },
    }
}

fn language_name(locale: Locale) -> &'static str {
    match locale {
        Locale::En => "English",
        Locale::Id => "Bahasa Indonesia",
        Locale::Th => "ไทย",
        Locale::Nl => "Nederlands",
    }
}

/// A locale named exactly in a URL (`th`, not `th-TH` or `fr`).
pub fn exact_locale(tag: &str) -> Option<Locale> {
    Locale::from_tag(tag).filter(|l| l.as_str() == tag)
}

/// The shopper's best language from `Accept-Language`, else English.
fn negotiate(headers: &HeaderMap) -> Locale {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .into_iter()
        .flat_map(|v| v.split(','))
        .filter_map(|part| Locale::from_tag(part.split(';').next().unwrap_or("").trim()))
        .next()
        .unwrap_or(Locale::En)
}

fn date(millis: i64) -> String {
    // Days since the epoch → civil date (Howard Hinnant's algorithm), UTC.
    let days = millis.div_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

pub(crate) struct Branding {
    name: String,
    color: String,
}

pub(crate) async fn branding(state: &AppState) -> Branding {
    let inboxes = state
        .engine
        .store()
        .list_inboxes()
        .await
        .unwrap_or_default();
    match inboxes.first() {
        Some(inbox) => Branding {
            name: inbox.name.clone(),
            color: inbox.color.clone(),
        },
        None => Branding {
            name: "Layan".into(),
            color: "#2563eb".into(),
        },
    }
}

/// Only `#rgb` / `#rrggbb` reaches a style attribute.
fn safe_color(color: &str) -> &str {
    let ok = color.starts_with('#')
        && matches!(color.len(), 4 | 7)
        && color[1..].chars().all(|c| c.is_ascii_hexdigit());
    if ok { color } else { "#2563eb" }
}

/// One page of the help center. `alternates`: the same page in other languages.
pub(crate) fn layout(
    brand: &Branding,
    locale: Locale,
    title: &str,
    alternates: &[(Locale, String)],
    query: &str,
    main: &str,
) -> String {
    let w = words(locale);
    let l = locale.as_str();
    let mut head_links = String::new();
    let mut switcher = String::new();
    for (other, href) in alternates {
        head_links.push_str(&format!(
            "<link rel=\"alternate\" hreflang=\"{}\" href=\"{}\">",
            other.as_str(),
            escape(href)
        ));
        let current = if *other == locale {
            " aria-current=\"true\""
        } else {
            ""
        };
        switcher.push_str(&format!(
            "<li><a href=\"{}\" hreflang=\"{}\" lang=\"{}\"{current}>{}</a></li>",
            escape(href),
            other.as_str(),
            other.as_str(),
            language_name(*other)
        ));
    }
    format!(
        "<!doctype html><html lang=\"{l}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · {shop}</title><link rel=\"stylesheet\" href=\"/assets/help.css\">{head_links}</head>\
         <body style=\"--brand:{color}\"><a class=\"skip\" href=\"#main\">{skip}</a>\
         <header><div class=\"bar\"><a class=\"brand\" href=\"/help/{l}\">{shop} · {hc}</a>\
         <nav aria-label=\"{languages}\"><ul class=\"langs\">{switcher}</ul></nav></div>\
         <form class=\"search\" role=\"search\" action=\"/help/{l}/search\" method=\"get\">\
         <label for=\"q\" class=\"visually-hidden\">{search}</label>\
         <input id=\"q\" name=\"q\" type=\"search\" value=\"{query}\" placeholder=\"{placeholder}\" maxlength=\"500\">\
         <button type=\"submit\">{search}</button></form></header>\
         <main id=\"main\">{main}</main><footer>{shop}</footer></body></html>",
        title = escape(title),
        shop = escape(&brand.name),
        color = safe_color(&brand.color),
        skip = escape(w.home),
        hc = escape(w.help_center),
        languages = escape(w.languages),
        search = escape(w.search),
        placeholder = escape(w.search_placeholder),
        query = escape(query),
    )
}

pub(crate) fn all_locales(path: impl Fn(Locale) -> String) -> Vec<(Locale, String)> {
    LOCALES.iter().map(|l| (*l, path(*l))).collect()
}

pub(crate) fn html(status: StatusCode, body: String) -> Response {
    (status, Html(body)).into_response()
}

pub(crate) async fn not_found_page(
    state: &AppState,
    locale: Locale,
    message: &str,
    links: &str,
) -> Response {
    let brand = branding(state).await;
    let w = words(locale);
    let main = format!(
        "<h1>{}</h1><p>{}</p>{links}<p><a href=\"/help/{}\">{}</a></p>",
        escape(w.not_found),
        escape(message),
        locale.as_str(),
        escape(w.home)
    );
    html(
        StatusCode::NOT_FOUND,
        layout(
            &brand,
            locale,
            w.not_found,
            &all_locales(|l| format!("/help/{}", l.as_str())),
            "",
            &main,
        ),
    )
}

pub(crate) async fn unknown_locale(state: &AppState, tag: &str) -> Response {
    let links: String = LOCALES
        .iter()
        .map(|l| {
            format!(
                "<li><a href=\"/help/{}\" lang=\"{}\">{}</a></li>",
                l.as_str(),
                l.as_str(),
                language_name(*l)
            )
        })
        .collect();
    not_found_page(
        state,
        Locale::En,
        &format!("The help center is not available in \"{tag}\". Choose a language:"),
        &format!("<ul>{links}</ul>"),
    )
    .await
}

/// `GET /help`: the shopper's language.
pub async fn help_root(headers: HeaderMap) -> Redirect {
    Redirect::to(&format!("/help/{}", negotiate(&headers).as_str()))
}

pub async fn help_css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        HELP_CSS,
    )
}

fn article_list(articles: &[&Article], locale: Locale) -> String {
    let mut out = String::from("<ul class=\"articles\">");
    for a in articles {
        if let Some(t) = a.published(locale) {
            out.push_str(&format!(
                "<li><a href=\"/help/{}/a/{}\">{}</a></li>",
                locale.as_str(),
                escape(&a.slug),
                escape(&t.title)
            ));
        }
    }
    out.push_str("</ul>");
    out
}

fn category_name(category: &Category, locale: Locale) -> (String, String) {
    category
        .text(locale)
        .map(|t| (t.name.clone(), t.description.clone()))
        .unwrap_or_else(|| (category.slug.clone(), String::new()))
}

/// `GET /help/{locale}`: every category with its articles.
pub async fn help_home(State(state): State<AppState>, Path(tag): Path<String>) -> Response {
    let Some(locale) = exact_locale(&tag) else {
        return unknown_locale(&state, &tag).await;
    };
    let (categories, articles) = match load(&state).await {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let w = words(locale);
    let mut main = format!("<h1>{}</h1>", escape(w.help_center));
    if matches!(state.engine.shipping_policy().await, Ok(Some(_))) {
        main.push_str(&crate::policy::home_link(locale));
    }
    for category in &categories {
        let in_category: Vec<&Article> = articles
            .iter()
            .filter(|a| a.category_id == Some(category.id) && a.published(locale).is_some())
            .collect();
        if in_category.is_empty() {
            continue;
        }
        let (name, description) = category_name(category, locale);
        main.push_str(&format!(
            "<section><h2><a href=\"/help/{}/c/{}\">{}</a></h2><p>{}</p>{}</section>",
            locale.as_str(),
            escape(&category.slug),
            escape(&name),
            escape(&description),
            article_list(&in_category, locale)
        ));
    }
    let loose: Vec<&Article> = articles
        .iter()
        .filter(|a| a.category_id.is_none() && a.published(locale).is_some())
        .collect();
    if !loose.is_empty() {
        main.push_str(&format!(
            "<section><h2>{}</h2>{}</section>",
            escape(w.other),
            article_list(&loose, locale)
        ));
    }
    let brand = branding(&state).await;
    html(
        StatusCode::OK,
        layout(
            &brand,
            locale,
            w.help_center,
            &all_locales(|l| format!("/help/{}", l.as_str())),
            "",
            &main,
        ),
    )
}

async fn load(state: &AppState) -> Result<(Vec<Category>, Vec<Article>), ApiError> {
    let categories = state.engine.kb_categories().await?;
    let articles = state.engine.kb_articles().await?;
    Ok((categories, articles))
}

/// `GET /help/{locale}/c/{slug}`.
pub async fn help_category(
    State(state): State<AppState>,
    Path((tag, slug)): Path<(String, String)>,
) -> Response {
    let Some(locale) = exact_locale(&tag) else {
        return unknown_locale(&state, &tag).await;
    };
    let (categories, articles) = match load(&state).await {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let w = words(locale);
    let Some(category) = categories.iter().find(|c| c.slug == slug) else {
        return not_found_page(&state, locale, w.not_found, "").await;
    };
    let (name, description) = category_name(category, locale);
    let in_category: Vec<&Article> = articles
        .iter()
        .filter(|a| a.category_id == Some(category.id))
        .collect();
    let main = format!(
        "<nav class=\"crumbs\"><a href=\"/help/{l}\">{home}</a></nav><h1>{}</h1><p>{}</p>{}",
        escape(&name),
        escape(&description),
        article_list(&in_category, locale),
        l = locale.as_str(),
        home = escape(w.home),
    );
    let brand = branding(&state).await;
    let slug = category.slug.clone();
    html(
        StatusCode::OK,
        layout(
            &brand,
            locale,
            &name,
            &all_locales(|l| format!("/help/{}/c/{slug}", l.as_str())),
            "",
            &main,
        ),
    )
}

#[derive(Deserialize)]
pub struct ArticleQuery {
    #[serde(default)]
    voted: Option<String>,
}

/// `GET /help/{locale}/a/{slug}`: the article, or a 404 that offers its other languages.
pub async fn help_article(
    State(state): State<AppState>,
    Path((tag, slug)): Path<(String, String)>,
    Query(q): Query<ArticleQuery>,
) -> Response {
    let Some(locale) = exact_locale(&tag) else {
        return unknown_locale(&state, &tag).await;
    };
    let w = words(locale);
    let article = match state.engine.kb_article_by_slug(&slug).await {
        Ok(a) => a,
        Err(layan_engine::EngineError::NotFound) => {
            return not_found_page(&state, locale, w.not_found, "").await;
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    let published: Vec<Locale> = article.published_all().map(|t| t.locale).collect();
    let Some(translation) = article.published(locale) else {
        if published.is_empty() {
            return not_found_page(&state, locale, w.not_found, "").await;
        }
        let links: String = published
            .iter()
            .map(|l| {
                format!(
                    "<li><a href=\"/help/{}/a/{}\" lang=\"{}\">{}</a></li>",
                    l.as_str(),
                    escape(&article.slug),
                    l.as_str(),
                    language_name(*l)
                )
            })
            .collect();
        return not_found_page(
            &state,
            locale,
            w.not_in_language,
            &format!("<ul>{links}</ul>"),
        )
        .await;
    };
    let categories = state.engine.kb_categories().await.unwrap_or_default();
    let crumb = article
        .category_id
        .and_then(|id| categories.iter().find(|c| c.id == id))
        .map(|c| {
            format!(
                " › <a href=\"/help/{}/c/{}\">{}</a>",
                locale.as_str(),
                escape(&c.slug),
                escape(&category_name(c, locale).0)
            )
        })
        .unwrap_or_default();
    let feedback = if q.voted.is_some() {
        format!(
            "<p class=\"thanks\" role=\"status\">{}</p>",
            escape(w.thanks)
        )
    } else {
        format!(
            "<form class=\"vote\" method=\"post\" action=\"/help/{l}/a/{slug}/vote\">\
             <span>{q}</span> <button name=\"helpful\" value=\"yes\">{yes}</button> \
             <button name=\"helpful\" value=\"no\">{no}</button></form>",
            l = locale.as_str(),
            slug = escape(&article.slug),
            q = escape(w.helpful),
            yes = escape(w.yes),
            no = escape(w.no),
        )
    };
    let main = format!(
        "<nav class=\"crumbs\"><a href=\"/help/{l}\">{home}</a>{crumb}</nav>\
         <article><h1>{title}</h1><p class=\"meta\">{updated}: <time datetime=\"{date}\">{date}</time></p>\
         <div class=\"body\">{body}</div></article>{feedback}",
        l = locale.as_str(),
        home = escape(w.home),
        title = escape(&translation.title),
        updated = escape(w.updated),
        date = date(translation.updated_at),
        body = markdown::to_html(&translation.body),
    );
    let alternates: Vec<(Locale, String)> = published
        .iter()
        .map(|l| (*l, format!("/help/{}/a/{}", l.as_str(), article.slug)))
        .collect();
    let brand = branding(&state).await;
    html(
        StatusCode::OK,
        layout(&brand, locale, &translation.title, &alternates, "", &main),
    )
}

#[derive(Deserialize)]
pub struct VoteForm {
    helpful: String,
}

/// `POST /help/{locale}/a/{slug}/vote`: one answer per browser (a random cookie), changeable.
pub async fn help_vote(
    State(state): State<AppState>,
    crate::auth::ClientIp(ip): crate::auth::ClientIp,
    Path((tag, slug)): Path<(String, String)>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<VoteForm>,
) -> Response {
    let Some(locale) = exact_locale(&tag) else {
        return unknown_locale(&state, &tag).await;
    };
    // A vote comes from the article's own page: another site's form posting here (to stuff
    // votes with its visitors' browsers) is refused.
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site");
    if cross_site || !crate::auth::same_origin(&headers) {
        return ApiError::forbidden("votes come from the help center's own pages").into_response();
    }
    if let Err(limited) = state.limits.vote(ip) {
        return limited.into_response();
    }
    let helpful = match form.helpful.as_str() {
        "yes" => true,
        "no" => false,
        _ => {
            return ApiError::bad_request("invalid_vote", "helpful is yes or no").into_response();
        }
    };
    let existing = crate::auth::cookie(&headers, VOTER_COOKIE)
        .filter(|v| v.len() == 32 && v.chars().all(|c| c.is_ascii_hexdigit()))
        .map(str::to_string);
    let voter = existing
        .clone()
        .unwrap_or_else(|| format!("{:032x}", rand::random::<u128>()));
    let article = match state.engine.kb_article_by_slug(&slug).await {
        Ok(a) => a,
        Err(e) => return ApiError::from(e).into_response(),
    };
    if let Err(e) = state.engine.kb_vote(article.id, &voter, helpful).await {
        return ApiError::from(e).into_response();
    }
    let mut response = Redirect::to(&format!(
        "/help/{}/a/{}?voted=1",
        locale.as_str(),
        article.slug
    ))
    .into_response();
    if existing.is_none() {
        let secure = if state.config.cookie_secure {
            "; Secure"
        } else {
            ""
        };
        let value = format!(
            "{VOTER_COOKIE}={voter}; Path=/help; Max-Age=31536000; HttpOnly; SameSite=Lax{secure}"
        );
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    locale: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

/// The most characters of a query that are looked at.
const MAX_QUERY_CHARS: usize = 500;

fn trim_query(q: &str) -> String {
    q.chars().take(MAX_QUERY_CHARS).collect()
}

/// `GET /help/{locale}/search?q=…`.
pub async fn help_search(
    State(state): State<AppState>,
    Path(tag): Path<String>,
    Query(q): Query<SearchQuery>,
) -> Response {
    let Some(locale) = exact_locale(&tag) else {
        return unknown_locale(&state, &tag).await;
    };
    let w = words(locale);
    let query = trim_query(&q.q);
    let hits = match state.engine.kb_search(locale, &query, 20).await {
        Ok(h) => h,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut main = format!(
        "<h1>{} “{}”</h1>",
        escape(w.results_for),
        escape(query.trim())
    );
    if hits.is_empty() {
        main.push_str(&format!("<p>{}</p>", escape(w.no_results)));
    } else {
        main.push_str("<ol class=\"results\">");
        for hit in &hits {
            main.push_str(&format!(
                "<li><a href=\"/help/{}/a/{}\">{}</a><p>{}</p></li>",
                locale.as_str(),
                escape(&hit.slug),
                escape(&hit.title),
                escape(&hit.excerpt)
            ));
        }
        main.push_str("</ol>");
    }
    let brand = branding(&state).await;
    let encoded = url_encode(&query);
    html(
        StatusCode::OK,
        layout(
            &brand,
            locale,
            w.search,
            &all_locales(|l| format!("/help/{}/search?q={encoded}", l.as_str())),
            &query,
            &main,
        ),
    )
}

fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---- the widget's JSON -------------------------------------------------------------------

#[derive(Serialize, utoipa::ToSchema)]
pub struct ArticleResult {
    pub slug: String,
    pub title: String,
    pub excerpt: String,
    /// The article in the public help center.
    pub url: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SearchResults {
    pub locale: String,
    pub results: Vec<ArticleResult>,
}

fn result(locale: Locale, hit: ArticleHit) -> ArticleResult {
    ArticleResult {
        url: format!("/help/{}/a/{}", locale.as_str(), hit.slug),
        slug: hit.slug,
        title: hit.title,
        excerpt: hit.excerpt,
    }
}

fn widget_locale(tag: Option<&str>) -> Result<Locale, ApiError> {
    match tag {
        None => Ok(Locale::En),
        Some(tag) => Locale::from_tag(tag).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_locale",
                "the help center has en, id, th and nl",
            )
        }),
    }
}

/// Published help-center articles for what the shopper is typing, in their language.
#[utoipa::path(get, path = "/api/v1/widget/help/search", tag = "widget",
    params(("q" = String, Query), ("locale" = Option<String>, Query), ("limit" = Option<usize>, Query)),
    responses((status = 200, body = SearchResults), (status = 404, body = crate::error::ErrorBody)))]
pub async fn widget_search(
    State(state): State<AppState>,
    Query(q): Query<SearchQuery>,
) -> Result<Json<SearchResults>, ApiError> {
    let locale = widget_locale(q.locale.as_deref())?;
    let hits = state
        .engine
        .kb_search(locale, &trim_query(&q.q), q.limit.unwrap_or(5))
        .await?;
    Ok(Json(SearchResults {
        locale: locale.as_str().into(),
        results: hits.into_iter().map(|h| result(locale, h)).collect(),
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ArticleView {
    pub slug: String,
    pub locale: String,
    pub title: String,
    /// Sanitised HTML (no script, no event handlers, safe links only).
    pub html: String,
    pub url: String,
    pub updated_at: i64,
}

#[derive(Deserialize)]
pub struct LocaleQuery {
    #[serde(default)]
    locale: Option<String>,
}

/// One published article in the shopper's language, for reading inside the widget.
#[utoipa::path(get, path = "/api/v1/widget/help/articles/{slug}", tag = "widget",
    params(("slug" = String, Path), ("locale" = Option<String>, Query)),
    responses((status = 200, body = ArticleView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn widget_article(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<LocaleQuery>,
) -> Result<Json<ArticleView>, ApiError> {
    let locale = widget_locale(q.locale.as_deref())?;
    let article = state
        .engine
        .kb_article_by_slug(&slug)
        .await
        .map_err(crate::error::not_found_as("article"))?;
    let t = article
        .published(locale)
        .ok_or_else(|| ApiError::not_found("article"))?;
    Ok(Json(ArticleView {
        slug: article.slug.clone(),
        locale: locale.as_str().into(),
        title: t.title.clone(),
        html: markdown::to_html(&t.body),
        url: format!("/help/{}/a/{}", locale.as_str(), article.slug),
        updated_at: t.updated_at,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_locales() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(1_795_392_000_000), "2026-11-23");
        assert_eq!(date(1_709_251_140_000), "2024-02-29", "a leap day");
        assert_eq!(exact_locale("th"), Some(Locale::Th));
        assert_eq!(exact_locale("th-TH"), None);
        assert_eq!(exact_locale("fr"), None);
    }

    #[test]
    fn colors_and_urls_are_safe() {
        assert_eq!(safe_color("#aabbcc"), "#aabbcc");
        assert_eq!(safe_color("red;background:url(x)"), "#2563eb");
        assert_eq!(url_encode("a b&c/ไ"), "a%20b%26c%2F%E0%B9%84");
    }
}
