//! The three ways a run can fail, each with its exit code (see docs/command-line.md, "Exit codes").

use std::fmt;

#[derive(Debug)]
pub enum Error {
    /// Bad command line (exit 2).
    Usage(String),
    /// The drop is invalid: nothing was changed (exit 2).
    Invalid(String),
    /// Applying failed: the drop is kept for the next boot (exit 1).
    Failed(String),
    /// Standard output was closed by its reader (`osconf status | head -n1`):
    /// the command ends quietly (exit 0).
    OutputClosed,
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::OutputClosed => 0,
            Error::Failed(_) => 1,
            Error::Usage(_) | Error::Invalid(_) => 2,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => write!(f, "usage: {m}"),
            Error::Invalid(m) => write!(f, "invalid settings: {m}"),
            Error::Failed(m) => write!(f, "{m}"),
            Error::OutputClosed => f.write_str("standard output was closed"),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Failed(e.to_string())
    }
}
