//! tidysniff core: packet captures in, typed events out.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod source;
pub mod time;
