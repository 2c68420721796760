//! Wire formats of wysiwys: everything another tool must be able to check.
//!
//! This crate does no I/O. Every type that crosses a process boundary lives
//! here, so the server and the confirmation app can never disagree on a byte.

#![forbid(unsafe_code)]

pub mod admin;
pub mod api;
pub mod b64;
pub mod batch;
pub mod challenge;
pub mod csc;
pub mod device_auth;
pub mod display;
pub mod error;
pub mod hashes;
pub mod jcs;
pub mod jws;
pub mod merkle;
pub mod pairing;
pub mod pairing_approval;
pub mod payment;
pub mod readiness;
pub mod rp;
pub mod sad;
pub mod signature_level;
pub mod stamp;
pub mod summary;
pub mod time;
pub mod vc;

pub use error::{ErrorBody, ErrorCode};
pub use jws::Jwk;
pub use summary::Summary;

/// Render version of the summary format defined in `summary`.
pub const RENDER_VERSION: &str = "summary/1";
