//! Integration tests of the `tollgate` binary and of the parsers against the real-scanner corpus.

mod cli;
mod corpus;
mod gate;
mod http;
#[cfg(feature = "hub")]
mod hub;
mod hub_client;
#[cfg(feature = "hub")]
mod hub_hostile;
mod mobsf;
mod parse_parallel;
mod pull;
mod upload;
mod util;
