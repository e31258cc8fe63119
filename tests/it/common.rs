//! What the integration tests share: where the real data and the outside
//! tools are, and a skip that says why.

use std::path::PathBuf;
use std::process::Command;

/// `../shared/data/<relative>` beside the checkout, or `None` after
/// printing why the caller skips.
pub(crate) fn shared_data(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(relative);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "skipped: {} not found (the real data lives in ../shared beside the checkout)",
            path.display()
        );
        None
    }
}

/// Whether the real `lzop` tool is on the PATH; prints why not.
pub(crate) fn have_lzop() -> bool {
    let found = Command::new("lzop")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: the lzop tool is not installed (apt-get install lzop; .ci/run does)");
    }
    found
}

/// The Python with pyarrow that `.ci/run` sets up (`BERSERKR_PYTHON`), or
/// `None` after printing why the caller skips.
pub(crate) fn python() -> Option<String> {
    let python = std::env::var("BERSERKR_PYTHON").ok().or_else(|| {
        let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
        venv.exists().then(|| venv.display().to_string())
    });
    let usable = python.filter(|python| {
        Command::new(python)
            .args(["-c", "import pyarrow"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if usable.is_none() {
        eprintln!(
            "skipped: no Python with pyarrow (set BERSERKR_PYTHON or run scripts/python-env.sh)"
        );
    }
    usable
}

/// A fresh empty directory under the system's temporary directory.
pub(crate) fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("berserkr-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temporary directory");
    dir
}

/// Runs a command and returns its stdout, failing the test with its stderr.
pub(crate) fn run(command: &mut Command) -> Vec<u8> {
    let output = command.output().expect("the command starts");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}
