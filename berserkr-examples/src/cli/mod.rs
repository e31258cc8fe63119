//! The `berserkr` subcommands, one module each.

pub(crate) mod clean;
pub(crate) mod generate;
pub(crate) mod lzo;
pub(crate) mod pipeline;
