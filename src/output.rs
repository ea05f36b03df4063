//! Standard output of the commands that print (plan, status, check, help).
//! A reader that stops early (`osconf status | head -n1`) closes the pipe:
//! that ends the command quietly with exit 0, never with a panic or abort.

use std::fmt;
use std::io::{self, Write};

use crate::error::Error;

/// Writes to standard output. `Err(Error::OutputClosed)` when nobody reads it any more.
pub fn write(args: fmt::Arguments<'_>) -> Result<(), Error> {
    let mut out = io::stdout().lock();
    match out.write_fmt(args).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(Error::OutputClosed),
        Err(e) => Err(Error::Failed(format!("writing to standard output: {e}"))),
    }
}

/// `print!` for the commands: a closed output returns `Error::OutputClosed` through `?`.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::write(format_args!($($arg)*))? };
}

/// `println!` for the commands, likewise.
#[macro_export]
macro_rules! outln {
    () => { $crate::output::write(format_args!("\n"))? };
    ($($arg:tt)*) => { $crate::output::write(format_args!("{}\n", format_args!($($arg)*)))? };
}
