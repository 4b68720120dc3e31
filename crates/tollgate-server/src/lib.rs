//! Tollgate's findings hub over HTTP: the DefectDojo-compatible import/reimport and list API, the
//! Results API shaped like Data Theorem's, gate baselines and records, health, metrics and a small
//! web UI. Thin over `tollgate-store`; it never holds state a second replica could miss.

pub mod views;
