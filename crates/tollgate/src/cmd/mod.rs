pub mod detect;
pub mod gate;
pub mod init;
pub mod parse;
