//! `KEY=value` lines in the shell-variable files of the RHEL and SUSE
//! families (/etc/sysconfig/network, /etc/sysconfig/network/config): one key
//! changed, every other line kept as it was.

/// Every line but `KEY=...`.
pub fn without(text: &str, key: &str) -> String {
    text.lines().filter(|l| !is_assignment(l, key)).map(|l| format!("{l}\n")).collect()
}

/// Replaces `KEY=...` where it is (or appends it); `value` is written as
/// given (quoted by the caller).
pub fn set(text: &str, key: &str, value: &str) -> String {
    set_line(text, key, &format!("{key}={value}"))
}

/// `KEY`'s line as `original` has it put back into `text`, or removed when
/// `original` has none.
pub fn restore(text: &str, original: &str, key: &str) -> String {
    match original.lines().rev().find(|l| is_assignment(l, key)) {
        Some(line) => set_line(text, key, line),
        None => without(text, key),
    }
}

/// `line` in place of the first `KEY=` line (later ones dropped: the shell
/// would take the last), or appended.
fn set_line(text: &str, key: &str, line: &str) -> String {
    let mut out = String::with_capacity(text.len() + line.len() + 1);
    let mut placed = false;
    for l in text.lines() {
        if !is_assignment(l, key) {
            out += l;
        } else if !placed {
            out += line;
            placed = true;
        } else {
            continue;
        }
        out.push('\n');
    }
    if !placed {
        out += line;
        out.push('\n');
    }
    out
}

fn is_assignment(line: &str, key: &str) -> bool {
    line.trim_start().strip_prefix(key).is_some_and(|rest| rest.starts_with('='))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_key_changes_the_rest_stays() {
        assert_eq!(set("NETWORKING=yes\nHOSTNAME=old\n", "HOSTNAME", "new"), "NETWORKING=yes\nHOSTNAME=new\n");
        assert_eq!(set("HOSTNAME=old\nA=1\nHOSTNAME=older\n", "HOSTNAME", "new"), "HOSTNAME=new\nA=1\n");
        assert_eq!(set("HOSTNAMEX=1\n", "HOSTNAME", "n"), "HOSTNAMEX=1\nHOSTNAME=n\n");
        assert_eq!(restore("K=\"x\"\nA=1\n", "K=\"orig\"\nA=0\n", "K"), "K=\"orig\"\nA=1\n");
        assert_eq!(restore("A=1\nK=\"x\"\n", "A=0\n", "K"), "A=1\n");
    }
}
