//! tidysniff core: packet captures in, typed events out.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod source;
pub mod time;
pub mod decode;
pub mod flow;
pub mod tcp;
pub mod engine;
pub mod event;
pub mod report;
