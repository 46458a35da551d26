//! Detectors: events in, findings out.
