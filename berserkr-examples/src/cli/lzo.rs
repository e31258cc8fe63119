//! `berserkr lzo compress|decompress|test`: the lzop container from the
//! command line, interchangeable with the `lzop` tool's files.

use std::time::Instant;

use berserkr_io::Result;
use berserkr_io::lzo::{self, Checksum, Decompressor, WriterBuilder};
use berserkr_io::store::Location;
use bytes::Bytes;
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub(crate) enum LzoCommand {
    /// Compress INPUT into an lzop file (OUTPUT defaults to INPUT.lzo).
    Compress(CompressArgs),
    /// Decompress an lzop file, all blocks in parallel (OUTPUT defaults to
    /// INPUT without `.lzo`).
    Decompress(DecompressArgs),
    /// Check every checksum of lzop files without writing anything.
    Test(TestArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CompressArgs {
    /// The file or object to compress.
    input: String,
    /// Where to write (a path or URL).
    #[arg(short, long)]
    output: Option<String>,
    /// Compression level, 1 (fastest) to 9 (smallest), as lzop's -1..-9.
    #[arg(short, long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(1..=9))]
    level: u8,
    /// Uncompressed bytes per block.
    #[arg(long, default_value_t = 256 * 1024)]
    block_size: usize,
    /// CRC-32 checksums instead of Adler-32.
    #[arg(long)]
    crc32: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DecompressArgs {
    /// The lzop file or object.
    input: String,
    /// Where to write (a path or URL).
    #[arg(short, long)]
    output: Option<String>,
    /// Decode block after block on one thread.
    #[arg(long)]
    sequential: bool,
}

#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// lzop files or objects.
    #[arg(required = true)]
    inputs: Vec<String>,
}

pub(crate) async fn run(command: LzoCommand) -> Result<()> {
    match command {
        LzoCommand::Compress(args) => compress(args).await,
        LzoCommand::Decompress(args) => decompress(args).await,
        LzoCommand::Test(args) => test(args).await,
    }
}

fn file_name(location: &str) -> Option<String> {
    location
        .rsplit('/')
        .next()
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
}

async fn compress(args: CompressArgs) -> Result<()> {
    let started = Instant::now();
    let input = Location::parse(&args.input)?;
    let output = Location::parse(&args.output.unwrap_or_else(|| format!("{}.lzo", args.input)))?;
    let data = input.get().await?;
    let mut builder = WriterBuilder::new()
        .with_level(args.level)
        .with_block_size(args.block_size)
        .with_checksum(if args.crc32 {
            Checksum::Crc32
        } else {
            Checksum::Adler32
        });
    if let Some(name) = file_name(&args.input) {
        builder = builder.with_name(name);
    }
    let compressed = tokio::task::spawn_blocking(move || -> Result<Vec<u8>> {
        let mut writer = builder.build(Vec::new())?;
        std::io::Write::write_all(&mut writer, &data).map_err(|source| berserkr_io::Error::Io {
            path: "<memory>".into(),
            source,
        })?;
        writer.finish()
    })
    .await
    .map_err(join_error)??;
    let written = compressed.len();
    output.put(Bytes::from(compressed)).await?;
    eprintln!(
        "{input} -> {output}: {written} bytes in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn decompress(args: DecompressArgs) -> Result<()> {
    let started = Instant::now();
    let default_output = args
        .input
        .strip_suffix(".lzo")
        .map(str::to_owned)
        .ok_or_else(|| berserkr_io::Error::InvalidOption {
            option: "output",
            reason: format!("{} does not end in .lzo; give --output", args.input),
        });
    let output = Location::parse(&match args.output {
        Some(output) => output,
        None => default_output?,
    })?;
    let input = Location::parse(&args.input)?;
    let compressed = input.get().await?;
    let parallel = !args.sequential;
    let data = tokio::task::spawn_blocking(move || {
        Decompressor::new()
            .with_parallel(parallel)
            .decompress(&compressed)
    })
    .await
    .map_err(join_error)?
    .map_err(in_object(&input))?;
    let written = data.len();
    output.put(Bytes::from(data)).await?;
    eprintln!(
        "{input} -> {output}: {written} bytes in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn test(args: TestArgs) -> Result<()> {
    for name in &args.inputs {
        let input = Location::parse(name)?;
        let compressed = input.get().await?;
        let bytes = tokio::task::spawn_blocking(move || lzo::decompress_parallel(&compressed))
            .await
            .map_err(join_error)?
            .map_err(in_object(&input))?
            .len();
        println!("{input}: OK ({bytes} bytes)");
    }
    Ok(())
}

/// Names the object in errors (lzop's name only byte offsets).
fn in_object(location: &Location) -> impl Fn(berserkr_io::Error) -> berserkr_io::Error + '_ {
    move |error| berserkr_io::Error::InObject {
        object: location.to_string(),
        source: Box::new(error),
    }
}

pub(crate) fn join_error(error: tokio::task::JoinError) -> berserkr_io::Error {
    berserkr_io::Error::Io {
        path: "<worker>".into(),
        source: std::io::Error::other(error),
    }
}
