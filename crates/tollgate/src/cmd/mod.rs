pub mod detect;
pub mod gate;
pub mod init;
pub mod mobsf;
pub mod parse;
pub mod pull;
pub mod upload;
