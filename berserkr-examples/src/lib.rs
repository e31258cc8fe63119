#![doc = include_str!("../README.md")]
//!
//! # The library
//!
//! What the command and the examples share:
//!
//! - [`data`]: clean transactions from a bucket of daily exports, or from
//!   the synthetic default;
//! - [`synthetic`]: the seeded generator of Online-Retail-shaped data that
//!   every example runs on by default, and that `berserkr generate` writes.
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod data;
pub mod error;
pub mod pipeline;
pub mod synthetic;

pub use error::{Error, Result};
