//! The knowledge base: categories and articles, each with a translation per locale. A
//! translation is a draft or published on its own, so a shop can publish English first and Thai
//! when it is ready.

use serde::{Deserialize, Serialize};

use crate::{ArticleId, CategoryId, InvalidValue, Locale, Millis};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ArticleStatus {
    Draft,
    Published,
}

impl ArticleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(Self::Draft),
            "published" => Some(Self::Published),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryText {
    pub locale: Locale,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Category {
    pub id: CategoryId,
    pub slug: String,
    pub position: i64,
    pub texts: Vec<CategoryText>,
}

impl Category {
    /// The text in `locale`, else English, else any.
    pub fn text(&self, locale: Locale) -> Option<&CategoryText> {
        pick(&self.texts, locale, |t| t.locale)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArticleTranslation {
    pub locale: Locale,
    pub title: String,
    /// Markdown.
    pub body: String,
    pub status: ArticleStatus,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Article {
    pub id: ArticleId,
    pub category_id: Option<CategoryId>,
    pub slug: String,
    pub position: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// "Was this helpful?" answers.
    pub helpful: i64,
    pub unhelpful: i64,
    pub translations: Vec<ArticleTranslation>,
}

impl Article {
    /// The published translation in `locale`, if there is one.
    pub fn published(&self, locale: Locale) -> Option<&ArticleTranslation> {
        self.translations
            .iter()
            .find(|t| t.locale == locale && t.status == ArticleStatus::Published)
    }

    /// Every published translation.
    pub fn published_all(&self) -> impl Iterator<Item = &ArticleTranslation> {
        self.translations
            .iter()
            .filter(|t| t.status == ArticleStatus::Published)
    }
}

fn pick<T>(items: &[T], locale: Locale, key: impl Fn(&T) -> Locale) -> Option<&T> {
    items
        .iter()
        .find(|t| key(t) == locale)
        .or_else(|| items.iter().find(|t| key(t) == Locale::En))
        .or_else(|| items.first())
}

/// A slug: 1–80 characters of lower-case a–z, digits and single hyphens (it appears in public
/// URLs, so it stays ASCII whatever the article's language).
pub fn check_slug(raw: &str) -> Result<String, InvalidValue> {
    let slug = raw.trim();
    let ok = !slug.is_empty()
        && slug.len() <= 80
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--");
    if ok {
        Ok(slug.to_string())
    } else {
        Err(InvalidValue::new(
            "invalid_slug",
            "a slug is 1–80 characters: a–z, 0–9 and single hyphens inside",
        ))
    }
}

/// An article title: not blank, at most 200 characters, one line.
pub fn check_title(raw: &str) -> Result<String, InvalidValue> {
    let title = raw.trim();
    if title.is_empty() || title.chars().count() > 200 || title.contains(['\n', '\r', '\0']) {
        return Err(InvalidValue::new(
            "invalid_title",
            "a title is one line of 1–200 characters",
        ));
    }
    Ok(title.to_string())
}

/// Article markdown: at most 100,000 characters, no NUL bytes.
pub fn check_article_body(raw: &str) -> Result<String, InvalidValue> {
    if raw.chars().count() > 100_000 || raw.contains('\0') {
        return Err(InvalidValue::new(
            "invalid_body",
            "an article body is at most 100,000 characters",
        ));
    }
    Ok(raw.replace("\r\n", "\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(
            check_slug(" returns-and-refunds ").unwrap(),
            "returns-and-refunds"
        );
        for bad in [
            "",
            "Returns",
            "a--b",
            "-a",
            "a-",
            "kembali uang",
            "ส่ง",
            &"a".repeat(81),
        ] {
            assert_eq!(check_slug(bad).unwrap_err().code, "invalid_slug", "{bad}");
        }
    }

    #[test]
    fn titles_and_bodies() {
        assert_eq!(check_title("  Retour  ").unwrap(), "Retour");
        assert!(check_title(" ").is_err());
        assert!(check_title("a\nb").is_err());
        assert!(check_article_body("x\0").is_err());
        assert_eq!(check_article_body("a\r\nb").unwrap(), "a\nb");
    }
}
