//! Cross-crate integration tests.
//!
//! Tests that need something outside the repository (the real data in
//! `../shared/data`, the `lzop` tool, Python with pyarrow, an S3-compatible
//! server) print why they skip when it is missing; `.ci/run` provides all
//! of them.

mod common;
mod lzop_interop;
mod parquet_readback;
mod real_data;
#[cfg(feature = "aws")]
mod s3;
