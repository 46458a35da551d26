//! tidysniff core: packet captures in, typed events out.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod decode;
pub mod engine;
pub mod event;
pub mod flow;
pub mod report;
pub mod runtime;
pub mod source;
pub mod tcp;
pub mod time;
