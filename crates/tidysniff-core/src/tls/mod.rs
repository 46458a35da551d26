//! tls (being written).
