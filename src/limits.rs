//! Limits that sources and the pipeline must agree on, kept in one place so that a value a
//! source accepts is never dropped later for the same reason (or the other way round).

/// Longest label value exported, in bytes: a longer one drops its series (counted). The
/// batch-file source applies it to the labels it makes from records, so it can name the
/// record instead.
pub const MAX_LABEL_VALUE_BYTES: usize = 4096;
