//! `berserkr`: the purchase-likelihood pipeline from the command line.
//!
//! Every input and output is a path or a URL (`file://`, `memory://`, and
//! `s3://` when built with the `aws` feature); outputs appear under their
//! final name only when complete.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

#[derive(Debug, Parser)]
#[command(name = "berserkr", version, about, long_about = None)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compress, decompress or test lzop (`.lzo`) files, as `lzop` does.
    #[command(subcommand)]
    Lzo(cli::lzo::LzoCommand),
    /// Read Online Retail CSV (plain or lzop, one object or a glob), clean
    /// it and write it as Parquet, with a report of every row dropped.
    Clean(cli::clean::CleanArgs),
    /// Write a seeded synthetic Online Retail bucket: one CSV (lzop or
    /// plain) per trading day, with repeat buyers, seasonal items, a
    /// Christmas peak, returns, guests and the real data's dirt.
    Generate(cli::generate::GenerateArgs),
    /// The whole pipeline: read and clean, features at each cutoff, train
    /// boosted trees, evaluate against the baselines, score each
    /// customer's top items. Without --input, on the synthetic default.
    Pipeline(cli::pipeline::PipelineArgs),
    /// The deep features of every customer or product as of a cutoff, from
    /// the clean Parquet table, as Parquet.
    Features(cli::features::FeaturesArgs),
    /// Fit boosted trees on the clean Parquet tables, report them against
    /// the baselines, and save a model file for `score`.
    Train(cli::train::TrainArgs),
    /// Each customer's most likely items as of a cutoff, from a model file
    /// and the clean Parquet tables, as Parquet.
    Score(cli::score::ScoreArgs),
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match args.command {
            Command::Lzo(command) => cli::lzo::run(command).await,
            Command::Clean(args) => cli::clean::run(args).await,
            Command::Generate(args) => cli::generate::run(args).await,
            Command::Pipeline(args) => cli::pipeline::run(args).await,
            Command::Features(args) => cli::features::run(args).await,
            Command::Train(args) => cli::train::run(args).await,
            Command::Score(args) => cli::score::run(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let mut shown = error.to_string();
            eprintln!("error: {shown}");
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                // Many errors already print their cause in their message.
                let text = cause.to_string();
                if !shown.contains(&text) {
                    eprintln!("  caused by: {text}");
                    shown = text;
                }
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}
