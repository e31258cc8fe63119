#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod baselines;
pub mod calibration;
pub mod error;
pub mod gbdt;
pub mod metrics;
mod order_key;
pub mod problem;
pub mod score;
pub mod train;

pub use error::{Error, Result};
