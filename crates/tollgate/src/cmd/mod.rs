pub mod detect;
pub mod parse;
