//! The `berserkr` subcommands, one module each.

pub(crate) mod clean;
pub(crate) mod features;
pub(crate) mod generate;
pub(crate) mod lzo;
pub(crate) mod pipeline;
pub(crate) mod score;
pub(crate) mod train;
