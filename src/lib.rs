#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(inline)]
pub use berserkr_features as features;
#[doc(inline)]
pub use berserkr_io as io;
#[doc(inline)]
pub use berserkr_model as model;
