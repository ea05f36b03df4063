//! Command-line parsing only; the work is in `osconf::commands`.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::ExitCode;

use osconf::check::clouds::Cloud;
use osconf::commands::{self, Options, SourceChoice};
use osconf::sources::{alibaba_drop, tencent_cdrom, SOURCES};
use osconf::Error;

const USAGE: &str = "\
osconf - applies the settings a cloud dropped for this instance

Usage:
  osconf plan   [--from SOURCE[=WHERE] | --drop PATH | --metadata [URL]] [--root DIR] [--keep-drop]
  osconf apply  [--from SOURCE[=WHERE] | --drop PATH | --metadata [URL]] [--root DIR] [--live|--no-live] [--keep-drop]
  osconf status [--root DIR] [--json]
  osconf check  [--root DIR | --image FILE] [--cloud alibaba|tencent|huawei|ctyun|all] [--json]
  osconf user-data [--from SOURCE[=WHERE]] [--root DIR]
  osconf --help | --version

Commands:
  plan    print every change the drop would make; change nothing
  apply   apply the drop once, delete it, record what was done
  status  show what was applied last, when, from which drop, and the files osconf owns
  check   image-readiness report for image builders (exit 1 when something FAILED): of
          the booted system, of a tree (--root) or of a disk image file (--image: raw,
          qcow2, VHD or VMDK, read without booting or mounting it), with each cloud's
          import rules (--cloud; --image checks all of them by default)
  user-data  run the instance's user data once per instance: #! scripts, #cloud-config
          (hostname, fqdn, ssh_authorized_keys, chpasswd, write_files, runcmd), gzip and
          MIME multipart; output in /var/log/osconf-user-data.log; a failing script is a
          warning (exit 0); under --root DIR scripts run chrooted into DIR

Options:
  --from SOURCE[=WHERE]  ask this source only (at WHERE), instead of the sources of
                  [source] order in /etc/osconf/osconf.conf; the sources:
{sources}  --drop PATH     --from alibaba-drop=PATH (--from tencent-cdrom=PATH with --format
                  tencent, or when PATH is under qcloud_action/)
  --format F      alibaba: Base64 password (default); tencent: crypt-hashed password
  --metadata [URL]  when no drop is found, also read the Alibaba metadata endpoint
                  (default URL from osconf.conf, http://100.100.100.200)
  --root DIR      treat DIR as / for every file (tests, preparing an image offline)
  --live          set the host name and network in the running kernel (default when --root is /)
  --no-live       do not touch the running kernel (default when --root is not /)
  --keep-drop     do not delete the drop after applying it
  --image FILE    check: the disk image file to read (never changed)
  --cloud LIST    check: the clouds whose rules apply, comma-separated, or all
  --json          machine-readable output (status, check)

Exit codes: 0 applied or nothing to do, 1 apply failed (drop kept), 2 invalid drop or usage.
            check: 0 ready, 1 not ready, 2 usage or an unreadable image.
Logging: OSCONF_LOG=debug|info|warn|error (default info), to standard error.
";

/// The usage text, with every registered source and what its WHERE is.
fn usage() -> String {
    let sources: String = SOURCES
        .iter()
        .map(|source| format!("                    {:<17} {}\n", source.name(), source.takes()))
        .collect();
    USAGE.replace("{sources}", &sources)
}

enum Command {
    Plan,
    Apply,
    Status,
    Check,
    UserData,
}

/// Paths (`--root`, `--drop`) may be any bytes, as Linux allows; every other
/// argument must be UTF-8 text, else it is a usage error naming its position.
fn parse(args: &[OsString]) -> Result<Option<(Command, Options)>, Error> {
    let mut options = Options {
        root: PathBuf::from("/"),
        from: None,
        live: None,
        keep_drop: false,
        json: false,
        metadata: None,
        image: None,
        clouds: None,
    };
    let mut command = None;
    let (mut drop, mut tencent_format) = (None::<PathBuf>, None);
    // Numbered from 1 after the program name, as the user counts them.
    let mut args = args.iter().zip(1..).peekable();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| Error::Usage(format!("{name} needs a value")));
        match text(arg)? {
            "-h" | "--help" | "help" => {
                osconf::output::write(format_args!("{}", usage()))?;
                return Ok(None);
            }
            "-V" | "--version" => {
                osconf::output::write(format_args!("osconf {}\n", env!("CARGO_PKG_VERSION")))?;
                return Ok(None);
            }
            "--root" => options.root = PathBuf::from(value("--root")?.0),
            "--from" => options.from = Some(source_choice(value("--from")?)?),
            "--drop" => drop = Some(PathBuf::from(value("--drop")?.0)),
            "--format" => {
                tencent_format = Some(match text(value("--format")?)? {
                    "alibaba" => false,
                    "tencent" => true,
                    other => return Err(Error::Usage(format!("--format {other:?}: expected alibaba or tencent"))),
                })
            }
            "--live" => options.live = Some(true),
            "--no-live" => options.live = Some(false),
            "--keep-drop" => options.keep_drop = true,
            "--metadata" => {
                let url = args.next_if(|(next, _)| next.as_bytes().starts_with(b"http://"));
                options.metadata = Some(url.map(text).transpose()?.map(str::to_owned));
            }
            "--json" => options.json = true,
            "--image" => options.image = Some(PathBuf::from(value("--image")?.0)),
            "--cloud" => options.clouds = Some(Cloud::parse_list(text(value("--cloud")?)?).map_err(Error::Usage)?),
            word @ ("plan" | "apply" | "status" | "check" | "user-data") if command.is_none() => {
                command = Some(match word {
                    "plan" => Command::Plan,
                    "apply" => Command::Apply,
                    "status" => Command::Status,
                    "user-data" => Command::UserData,
                    _ => Command::Check,
                })
            }
            other => return Err(Error::Usage(format!("unexpected argument {other:?} (see osconf --help)"))),
        }
    }
    let command = command.ok_or_else(|| Error::Usage("no command given (see osconf --help)".into()))?;
    if !matches!(command, Command::Check) && (options.image.is_some() || options.clouds.is_some()) {
        return Err(Error::Usage("--image and --cloud are options of check".into()));
    }
    if options.image.is_some() && options.root != std::path::Path::new("/") {
        return Err(Error::Usage("--image and --root: give one of them".into()));
    }
    if let Some(path) = drop {
        if options.from.is_some() {
            return Err(Error::Usage("--drop and --from: give one of them".into()));
        }
        // Tencent's drop lives under qcloud_action/.
        let tencent = tencent_format.unwrap_or_else(|| path.components().any(|c| c.as_os_str() == "qcloud_action"));
        let name = if tencent { tencent_cdrom::KIND.source } else { alibaba_drop::KIND.source };
        options.from = Some(SourceChoice { name: name.to_owned(), place: Some(path.into_os_string()) });
    }
    Ok(Some((command, options)))
}

/// `NAME` or `NAME=WHERE`: the name is text, WHERE may be any bytes (a path).
fn source_choice((arg, position): (&OsString, usize)) -> Result<SourceChoice, Error> {
    let bytes = arg.as_bytes();
    let (name, place) = match bytes.iter().position(|&b| b == b'=') {
        Some(at) => (&bytes[..at], Some(OsString::from(std::ffi::OsStr::from_bytes(&bytes[at + 1..])))),
        None => (bytes, None),
    };
    let name = std::str::from_utf8(name)
        .map_err(|_| Error::Usage(format!("argument {position}: the source name is not valid UTF-8 text")))?;
    Ok(SourceChoice { name: name.to_owned(), place })
}

/// An argument that must be text (a command, an option, a `--format` or URL value).
fn text((arg, position): (&OsString, usize)) -> Result<&str, Error> {
    arg.to_str().ok_or_else(|| {
        Error::Usage(format!("argument {position} ({:?}) is not valid UTF-8 text", arg.to_string_lossy()))
    })
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::new().filter_or("OSCONF_LOG", "info"))
        .format(|out, record| {
            use std::io::Write;
            writeln!(out, "osconf: {}: {}", record.level().as_str().to_lowercase(), record.args())
        })
        .init();
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let result = parse(&args).and_then(|parsed| match parsed {
        None => Ok(0),
        Some((Command::Plan, options)) => commands::plan(&options),
        Some((Command::Apply, options)) => commands::apply(&options),
        Some((Command::Status, options)) => commands::status(&options),
        Some((Command::Check, options)) => commands::check(&options),
        Some((Command::UserData, options)) => commands::user_data(&options),
    });
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(Error::OutputClosed) => ExitCode::SUCCESS,
        Err(error) => {
            log::error!("{error}");
            ExitCode::from(error.exit_code() as u8)
        }
    }
}
