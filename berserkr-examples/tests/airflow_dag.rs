//! The Airflow DAG of `airflow/`: its task graph, checked without Airflow
//! (`check_dag.py` checks it with Airflow, when installed), and the
//! `berserkr` commands its tasks run, checked against the built binary.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn airflow_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("airflow")
}

fn dag_file() -> PathBuf {
    airflow_dir().join("berserkr_daily.py")
}

fn static_check() -> PathBuf {
    airflow_dir().join("check_dag_static.py")
}

/// `python3` when it is there and new enough for the checker (3.9, for
/// `ast.unparse`); else says why not.
fn python3() -> Option<&'static str> {
    let found = Command::new("python3")
        .args(["-c", "import sys; sys.exit(sys.version_info < (3, 9))"])
        .output();
    match found {
        Ok(output) if output.status.success() => Some("python3"),
        Ok(_) => {
            eprintln!("skipped: python3 is older than 3.9 (the static check needs ast.unparse)");
            None
        }
        Err(error) => {
            eprintln!("skipped: python3 not found ({error})");
            None
        }
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn berserkr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berserkr"))
        .args(args)
        .output()
        .expect("the berserkr binary runs")
}

/// The subcommands a `--help` lists under `Commands:`.
fn subcommands(help: &str) -> BTreeSet<String> {
    help.lines()
        .skip_while(|line| line.trim() != "Commands:")
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// Every `"$BERSERKR" <subcommand>` of the DAG file.
fn dag_commands(source: &str) -> BTreeSet<String> {
    source
        .split("\"$BERSERKR\" ")
        .skip(1)
        .filter_map(|rest| {
            let word: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
                .collect();
            (!word.is_empty()).then_some(word)
        })
        .collect()
}

#[test]
fn dag_parses_and_has_the_task_graph() {
    let Some(python) = python3() else { return };
    let output = Command::new(python)
        .arg(static_check())
        .output()
        .expect("python3 runs");
    let shown = text(&output);
    println!("{shown}");
    assert!(output.status.success(), "the static check failed:\n{shown}");
    assert!(shown.contains("all checks passed"), "{shown}");
    for line in [
        "wait_for_export     BashOperator          berserkr lzo",
        "is_training_day     ShortCircuitOperator",
        "trigger_rule=none_failed_min_one_success",
        "berserkr subcommands: clean features lzo score train",
    ] {
        assert!(shown.contains(line), "no {line:?} in:\n{shown}");
    }

    // The check bites: the same DAG with `train` no longer behind the
    // Monday gate, nor before `score`, fails it.
    let source = std::fs::read_to_string(dag_file()).unwrap();
    let broken = source
        .replace(
            "clean >> is_training_day >> train",
            "clean >> is_training_day\n    clean >> train",
        )
        .replace(
            "[features_customers, features_products, train] >> score",
            "[features_customers, features_products] >> score",
        );
    assert_ne!(
        broken, source,
        "the DAG's dependency lines changed: update this test"
    );
    let dir = std::env::temp_dir().join(format!("berserkr-airflow-dag-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let broken_file = dir.join("berserkr_daily.py");
    std::fs::write(&broken_file, broken).unwrap();
    let output = Command::new(python)
        .arg(static_check())
        .arg(&broken_file)
        .output()
        .expect("python3 runs");
    let shown = text(&output);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!output.status.success(), "a broken graph passed:\n{shown}");
    assert!(
        shown.contains("missing [('is_training_day', 'train'), ('train', 'score')], unexpected [('clean', 'train')]"),
        "{shown}"
    );
}

#[test]
fn dag_commands_exist() {
    let source = std::fs::read_to_string(dag_file()).unwrap();
    let used = dag_commands(&source);
    assert!(
        used.contains("clean"),
        "no berserkr commands found in the DAG: {used:?}"
    );

    let help = berserkr(&["--help"]);
    assert!(help.status.success(), "berserkr --help: {}", text(&help));
    let known = subcommands(&String::from_utf8_lossy(&help.stdout));
    let mut problems: Vec<String> = used
        .iter()
        .filter(|command| !known.contains(*command))
        .map(|command| format!("`berserkr {command}` is not a subcommand (berserkr has {known:?})"))
        .collect();

    // Each command line's nested subcommands (`lzo test`) and flags, as
    // the static checker renders them (this part needs python3).
    match python3() {
        None => eprintln!("flags not checked: python3 is needed to render the command lines"),
        Some(python) => {
            let output = Command::new(python)
                .arg(static_check())
                .arg("--command-lines")
                .output()
                .expect("python3 runs");
            assert!(output.status.success(), "{}", text(&output));
            for line in String::from_utf8_lossy(&output.stdout).lines() {
                let words: Vec<&str> = line.split_whitespace().skip(1).collect();
                let path: Vec<&str> = words
                    .iter()
                    .copied()
                    .take_while(|w| {
                        w.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                            && !w.starts_with('-')
                    })
                    .collect();
                if path.is_empty() || !known.contains(path[0]) {
                    continue; // reported above
                }
                for (depth, name) in path.iter().enumerate().skip(1) {
                    let help = berserkr(&[&path[..depth], &["--help"]].concat());
                    let nested = subcommands(&String::from_utf8_lossy(&help.stdout));
                    if !nested.contains(*name) {
                        problems.push(format!(
                            "`berserkr {}` is not a subcommand (in {line})",
                            path[..=depth].join(" ")
                        ));
                    }
                }
                let help = berserkr(&[&path[..], &["--help"]].concat());
                let help = String::from_utf8_lossy(&help.stdout);
                for flag in words.iter().filter(|w| w.starts_with("--")) {
                    let known_flag = help
                        .split(|c: char| c.is_whitespace() || c == ',' || c == '=')
                        .any(|word| word == *flag);
                    if !known_flag {
                        problems.push(format!(
                            "`berserkr {}` has no {flag} (in {line})",
                            path.join(" ")
                        ));
                    }
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the DAG runs berserkr commands the binary does not have:\n{}",
        problems.join("\n")
    );
}

/// wait_for_export tells a missing export (retry, then skip the day) from a
/// broken one (fail) by `not found` in what `berserkr lzo test` prints.
#[test]
fn lzo_test_says_not_found_for_a_missing_export() {
    let missing = std::env::temp_dir()
        .join(format!("berserkr-airflow-missing-{}", std::process::id()))
        .join("2011-12-24.csv.lzo");
    let output = berserkr(&["lzo", "test", missing.to_str().unwrap()]);
    assert!(!output.status.success());
    let shown = text(&output);
    assert!(shown.contains("not found"), "{shown}");
    let source = std::fs::read_to_string(dag_file()).unwrap();
    assert!(
        source.contains("*'not found'*)"),
        "wait_for_export no longer matches `not found`"
    );
}
