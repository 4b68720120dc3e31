//! JSON shapes the hub returns, built from store types (pure functions, no I/O).

pub mod defectdojo;
pub mod security_finding;
