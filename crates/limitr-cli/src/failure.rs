//! The CLI's one error: a message for a person, already naming what and where.

use std::fmt;

/// Why a command could not do its job. The message names the file (and line) or argument first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub String);

impl Failure {
    /// A failure with this message.
    pub fn new(message: impl Into<String>) -> Failure {
        Failure(message.into())
    }

    /// An I/O failure on `path` while doing `what` (`read`, `write`, …).
    pub fn io(what: &str, path: &std::path::Path, e: &std::io::Error) -> Failure {
        Failure(format!("`{}`: cannot {what}: {e}", path.display()))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

/// `Result` with [`Failure`].
pub type Result<T, E = Failure> = std::result::Result<T, E>;

/// Writes to standard output. A closed pipe (`limitr … | head`) ends the process quietly, as
/// other command-line tools do, instead of a panic.
pub fn print(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// `println!` through [`print`].
macro_rules! outln {
    ($($t:tt)*) => {
        $crate::failure::print(&format!("{}\n", format_args!($($t)*)))
    };
}

/// `print!` through [`print`].
macro_rules! out {
    ($($t:tt)*) => {
        $crate::failure::print(&format!($($t)*))
    };
}

pub(crate) use {out, outln};
