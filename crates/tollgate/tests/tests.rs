//! Integration tests of the `tollgate` binary and of the parsers against the real-scanner corpus.

mod cli;
mod corpus;
mod gate;
mod github_sarif;
mod gitlab_readers;
mod http;
#[cfg(feature = "hub")]
mod hub;
#[cfg(feature = "hub")]
mod hub_authz;
mod hub_client;
#[cfg(feature = "hub")]
mod hub_finding_page;
#[cfg(feature = "hub")]
mod hub_history;
#[cfg(feature = "hub")]
mod hub_hostile;
#[cfg(feature = "hub")]
mod hub_lists;
#[cfg(feature = "hub")]
mod hub_metrics;
#[cfg(feature = "hub")]
mod hub_pages;
#[cfg(feature = "hub")]
mod hub_parity;
#[cfg(feature = "hub")]
mod hub_queue;
#[cfg(feature = "hub")]
mod hub_sequence;
#[cfg(feature = "hub")]
mod hub_users;
mod mobsf;
mod parse_parallel;
mod pull;
mod seams_cli;
mod upload;
mod util;
