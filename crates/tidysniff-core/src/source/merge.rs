//! Merge of several sources (being written).
/// Placeholder.
pub struct MergedSource;
