//! Channel protocols, parsed into Layan's types. Parsing only: no storage, no network.
//!
//! For now: the realtime protocol spoken over WebSocket by the chat widget and by the agent inbox.
//! Email (RFC 5322/MIME), messaging-app webhooks and CTI events get their own modules here.

pub mod email;
pub mod realtime;
