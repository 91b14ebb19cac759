//! Languages: Simplified Chinese first, English second. The choice is kept
//! in the `lang` cookie; texts live in `locales/{zh-CN,en}/main.ftl`.

use axum::http::request::Parts;
use fluent_templates::{langid, LanguageIdentifier};
use fluent_templates::{static_loader, Loader};
use serde::{Deserialize, Serialize};

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "zh-CN",
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

const ZH: LanguageIdentifier = langid!("zh-CN");
const EN: LanguageIdentifier = langid!("en");

/// The user's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

/// The cookie that keeps the language choice.
pub const LANG_COOKIE: &str = "lang";

impl Lang {
    /// From the `lang` cookie; Chinese unless it says `en`.
    pub fn from_parts(parts: &Parts) -> Lang {
        let cookies = parts
            .headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .map(str::trim);
        for c in cookies {
            if let Some(v) = c.strip_prefix("lang=") {
                return if v == "en" { Lang::En } else { Lang::Zh };
            }
        }
        Lang::Zh
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn is_en(self) -> bool {
        self == Lang::En
    }

    /// The same language for the rules module's messages.
    pub fn rules(self) -> crate::rules::Lang {
        match self {
            Lang::Zh => crate::rules::Lang::Zh,
            Lang::En => crate::rules::Lang::En,
        }
    }

    /// The text for `key` in this language.
    pub fn t(self, key: &str) -> String {
        let id = match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        };
        LOCALES.lookup(id, key)
    }

    /// Picks one of two literal texts.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang::from_parts(parts))
    }
}
