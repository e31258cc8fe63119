#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod calculate;
pub mod definitions;
pub mod dfs;
pub mod entityset;
pub mod error;
pub mod feature;
pub mod primitives;
pub mod retail;
pub mod schema;

pub use calculate::FeatureMatrixBuilder;
pub use dfs::{Dfs, FeatureSet};
pub use entityset::{Composite, DataframeBuilder, EntitySet};
pub use error::{Error, Result};
pub use feature::{FeatureGraph, FeatureId, Window};
