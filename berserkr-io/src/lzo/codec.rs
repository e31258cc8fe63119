//! The LZO1X block codec, behind one small trait so that the implementation
//! can be chosen (and measured) without touching the container code.
//!
//! The default, [`BlockCodec::Builtin`], decodes with berserkr's own safe
//! decoder ([`super::lzo1x`]) and encodes with the pure-Rust `lzokay` 2.x.
//! `lzokay` alone is kept selectable: its decoder accepts exactly the same
//! blocks but copies matches a byte at a time, about 1.6 times slower on
//! text. `lzokay-native` is kept behind the `lzokay-native` cargo feature
//! only so that the codecs can be compared on the same data; it panics on
//! some corrupt blocks, so it is never the default.

/// Which LZO1X implementation decodes and encodes blocks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlockCodec {
    /// berserkr's decoder, `lzokay`'s encoder (the default).
    #[default]
    Builtin,
    /// The pure-Rust `lzokay` crate for both directions.
    Lzokay,
    /// The `lzokay-native` crate. It can panic on corrupt input: use it only
    /// to compare codecs.
    #[cfg(feature = "lzokay-native")]
    LzokayNative,
}

impl BlockCodec {
    /// The codec's crate name, for reports.
    pub fn name(self) -> &'static str {
        self.implementation().name()
    }

    pub(crate) fn implementation(self) -> &'static dyn Lzo1xCodec {
        match self {
            Self::Builtin => &Builtin,
            Self::Lzokay => &Lzokay,
            #[cfg(feature = "lzokay-native")]
            Self::LzokayNative => &LzokayNative,
        }
    }
}

/// What a block codec must do.
pub(crate) trait Lzo1xCodec: Send + Sync {
    /// The implementation's name.
    fn name(&self) -> &'static str;

    /// Decodes `src` into exactly `dst.len()` bytes. Any other outcome,
    /// including output that ends early or input left over, is an error.
    fn decompress(&self, src: &[u8], dst: &mut [u8]) -> Result<(), String>;

    /// Encodes `src`, replacing the contents of `dst`.
    fn compress(&self, src: &[u8], dst: &mut Vec<u8>) -> Result<(), String>;
}

struct Builtin;

impl Lzo1xCodec for Builtin {
    fn name(&self) -> &'static str {
        "berserkr"
    }

    fn decompress(&self, src: &[u8], dst: &mut [u8]) -> Result<(), String> {
        let written = super::lzo1x::decompress(src, dst).map_err(|e| e.to_string())?;
        exact_size(written, dst.len())
    }

    fn compress(&self, src: &[u8], dst: &mut Vec<u8>) -> Result<(), String> {
        Lzokay.compress(src, dst)
    }
}

fn exact_size(written: usize, expected: usize) -> Result<(), String> {
    if written == expected {
        Ok(())
    } else {
        Err(format!(
            "decoded {written} bytes where the block header says {expected}"
        ))
    }
}

struct Lzokay;

impl Lzo1xCodec for Lzokay {
    fn name(&self) -> &'static str {
        "lzokay"
    }

    fn decompress(&self, src: &[u8], dst: &mut [u8]) -> Result<(), String> {
        let written = lzokay::decompress::decompress(src, dst).map_err(|e| e.to_string())?;
        exact_size(written, dst.len())
    }

    fn compress(&self, src: &[u8], dst: &mut Vec<u8>) -> Result<(), String> {
        dst.clear();
        dst.resize(lzokay::compress::compress_worst_size(src.len()), 0);
        // The dictionary is 100s of KiB; one per thread avoids allocating it per block.
        thread_local! {
            static DICT: std::cell::RefCell<Box<lzokay::compress::Dict>> =
                std::cell::RefCell::new(lzokay::compress::Dict::new());
        }
        let written = DICT.with(|dict| {
            lzokay::compress::compress_no_alloc(src, dst, &mut dict.borrow_mut())
                .map_err(|e| e.to_string())
        })?;
        dst.truncate(written);
        Ok(())
    }
}

#[cfg(feature = "lzokay-native")]
struct LzokayNative;

#[cfg(feature = "lzokay-native")]
impl Lzo1xCodec for LzokayNative {
    fn name(&self) -> &'static str {
        "lzokay-native"
    }

    fn decompress(&self, src: &[u8], dst: &mut [u8]) -> Result<(), String> {
        let out = lzokay_native::decompress_all(src, Some(dst.len())).map_err(|e| e.to_string())?;
        if out.len() != dst.len() {
            return Err(format!(
                "decoded {} bytes where the block header says {}",
                out.len(),
                dst.len()
            ));
        }
        dst.copy_from_slice(&out);
        Ok(())
    }

    fn compress(&self, src: &[u8], dst: &mut Vec<u8>) -> Result<(), String> {
        *dst = lzokay_native::compress(src).map_err(|e| e.to_string())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut text = Vec::new();
        for i in 0..20_000u32 {
            text.extend_from_slice(format!("{},{},WHITE HANGING HEART\n", i % 97, i).as_bytes());
        }
        text
    }

    #[test]
    fn round_trips() {
        let data = sample();
        let codec = BlockCodec::default().implementation();
        let mut packed = Vec::new();
        codec.compress(&data, &mut packed).unwrap();
        assert!(packed.len() < data.len() / 2);
        let mut out = vec![0; data.len()];
        codec.decompress(&packed, &mut out).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn wrong_size_is_an_error() {
        let data = sample();
        let codec = BlockCodec::default().implementation();
        let mut packed = Vec::new();
        codec.compress(&data, &mut packed).unwrap();
        let mut short = vec![0; data.len() - 1];
        assert!(codec.decompress(&packed, &mut short).is_err());
        let mut long = vec![0; data.len() + 1];
        assert!(codec.decompress(&packed, &mut long).is_err());
    }
}
