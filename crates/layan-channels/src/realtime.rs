//! The realtime protocol: JSON text frames, one object each, tagged by `"type"`.
//!
//! Widget → server: `hello` (first frame: inbox key, visitor token, last sequence seen), `send`,
//! `typing`, `ping`. Agent → server: `follow` (a conversation, from a sequence number), `unfollow`,
//! `typing`, `ping`. Server → client frames are written by the web layer.
//!
//! A frame that is not JSON, not an object, or of an unknown type is an error for that frame only:
//! the connection answers with an `error` frame and carries on.

use serde::Deserialize;

/// The largest frame we read, in bytes. A message body is at most
/// [`layan_core::MAX_MESSAGE_CHARS`] characters (≤ 40 KB of UTF-8) plus a little JSON.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum WidgetFrame {
    /// Must be the first frame. `after_seq` is the last sequence number the widget has shown for
    /// its current conversation (0 or absent: none).
    Hello {
        key: String,
        token: String,
        #[serde(default)]
        conversation_id: Option<i64>,
        #[serde(default)]
        after_seq: i64,
    },
    Send {
        client_message_id: String,
        body: String,
    },
    Typing {
        on: bool,
    },
    Ping,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AgentFrame {
    /// Send me this conversation's messages after `after_seq`, then live.
    Follow {
        conversation_id: i64,
        #[serde(default)]
        after_seq: i64,
    },
    Unfollow {
        conversation_id: i64,
    },
    Typing {
        conversation_id: i64,
        on: bool,
    },
    Ping,
}

/// Why a frame was refused; `code` is stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FrameError {
    pub code: &'static str,
    pub message: String,
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, FrameError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| FrameError {
        code: "invalid_frame",
        message: format!("frames must be JSON objects: {e}"),
    })?;
    if !value.is_object() {
        return Err(FrameError {
            code: "invalid_frame",
            message: "frames must be JSON objects".into(),
        });
    }
    serde_json::from_value(value).map_err(|e| FrameError {
        code: "invalid_frame",
        message: format!("unrecognised frame: {e}"),
    })
}

pub fn parse_widget_frame(text: &str) -> Result<WidgetFrame, FrameError> {
    parse(text)
}

pub fn parse_agent_frame(text: &str) -> Result<AgentFrame, FrameError> {
    parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widget_frames() {
        assert_eq!(
            parse_widget_frame(r#"{"type":"hello","key":"k","token":"t"}"#),
            Ok(WidgetFrame::Hello {
                key: "k".into(),
                token: "t".into(),
                conversation_id: None,
                after_seq: 0
            })
        );
        assert_eq!(
            parse_widget_frame(r#"{"type":"send","client_message_id":"a","body":"สวัสดี"}"#),
            Ok(WidgetFrame::Send {
                client_message_id: "a".into(),
                body: "สวัสดี".into()
            })
        );
        assert_eq!(
            parse_widget_frame(r#"{"type":"ping"}"#),
            Ok(WidgetFrame::Ping)
        );
    }

    #[test]
    fn bad_frames_are_errors_not_panics() {
        for bad in [
            "",
            "hello",
            "[1,2]",
            "null",
            "{",
            r#"{"type":"nope"}"#,
            r#"{"type":"send"}"#,
            r#"{"type":"send","client_message_id":1,"body":"x"}"#,
            r#"{"type":"typing","on":true,"extra":1}"#,
        ] {
            let err = parse_widget_frame(bad).unwrap_err();
            assert_eq!(err.code, "invalid_frame", "{bad}");
        }
        assert!(parse_agent_frame(r#"{"type":"follow"}"#).is_err());
        assert_eq!(
            parse_agent_frame(r#"{"type":"follow","conversation_id":3,"after_seq":9}"#),
            Ok(AgentFrame::Follow {
                conversation_id: 3,
                after_seq: 9
            })
        );
    }
}
