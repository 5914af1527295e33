//! The answer bot's pure part: no I/O. `layan-engine::bot` runs it inside the conversation
//! pipeline and fetches what it needs (orders, help-center passages, the policy, products).

pub mod classifier;
pub mod data;
pub mod eval;
pub mod extract;
pub mod intents;
pub mod mood;
pub mod settings;
pub mod texts;

pub use classifier::{Classifier, Method, Phrase, Prediction};
pub use intents::{AnswerKind, Intent};
pub use settings::{BotSettings, BusinessHours};
