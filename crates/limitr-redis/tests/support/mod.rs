//! What the Redis tests share.
#![allow(dead_code, reason = "each test uses part of it")]

pub mod hammer;
pub mod server;
