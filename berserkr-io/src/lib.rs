#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod clean;
pub mod error;
pub mod lzo;
pub mod parquet;
pub mod retail;
pub mod store;

pub use error::{Error, Result};
