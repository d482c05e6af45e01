//! `--completions SHELL`: completion scripts for bash, zsh and fish, written from one table of the
//! flags (a test checks it against `--help`, the man page and the README).

/// What a flag takes.
#[derive(Clone, Copy, PartialEq)]
enum Takes {
    Nothing,
    /// A local file: completed with file names.
    File,
    /// A shell's name.
    Shell,
    /// Free text: a folder on the service, a name, a URL, a number.
    Text(&'static str),
}

/// Every flag: its short form, long form, value and a few words for the completion menu.
const FLAGS: &[(Option<char>, &str, Takes, &str)] = &[
    (
        Some('p'),
        "upload-path",
        Takes::Text("DIR"),
        "destination folder on the service",
    ),
    (
        Some('n'),
        "name",
        Takes::Text("NAME"),
        "file name on the service",
    ),
    (
        Some('r'),
        "recursive",
        Takes::Nothing,
        "upload every file under each folder",
    ),
    (
        Some('L'),
        "follow",
        Takes::Nothing,
        "with -r, follow symbolic links",
    ),
    (
        None,
        "dry-run",
        Takes::Nothing,
        "print each upload, send nothing",
    ),
    (
        None,
        "base64",
        Takes::Nothing,
        "use the base64 endpoint (at most 10 MB)",
    ),
    (
        None,
        "from-url",
        Takes::Text("URL"),
        "ask the service to fetch a URL",
    ),
    (
        None,
        "spool",
        Takes::Nothing,
        "copy standard input to a temporary file first",
    ),
    (
        None,
        "reuse",
        Takes::Nothing,
        "reuse a live upload of the same bytes",
    ),
    (
        None,
        "cache-dir",
        Takes::Text("DIR"),
        "where --reuse keeps what was uploaded",
    ),
    (None, "base-url", Takes::Text("URL"), "service root"),
    (
        None,
        "allow-insecure-http",
        Takes::Nothing,
        "allow a plain http base URL",
    ),
    (
        None,
        "api-key-file",
        Takes::File,
        "read the key from a file",
    ),
    (
        None,
        "cacert",
        Takes::File,
        "trust the CAs in this PEM file",
    ),
    (
        None,
        "proxy",
        Takes::Text("URL"),
        "send requests through this proxy",
    ),
    (None, "no-proxy", Takes::Nothing, "connect directly"),
    (
        None,
        "no-expect",
        Takes::Nothing,
        "never ask Expect: 100-continue",
    ),
    (
        None,
        "timeout",
        Takes::Text("SECS"),
        "stall bound in seconds",
    ),
    (
        None,
        "retries",
        Takes::Text("N"),
        "retries for regular files",
    ),
    (Some('j'), "jobs", Takes::Text("N"), "parallel uploads"),
    (None, "json", Takes::Nothing, "one JSON object per line"),
    (
        None,
        "verify",
        Takes::Nothing,
        "download each file back and compare",
    ),
    (
        Some('v'),
        "verbose",
        Takes::Nothing,
        "log attempts, retries and checks",
    ),
    (
        Some('q'),
        "quiet",
        Takes::Nothing,
        "no progress display, no summary",
    ),
    (
        None,
        "completions",
        Takes::Shell,
        "print a completion script",
    ),
    (Some('h'), "help", Takes::Nothing, "print the help"),
    (Some('V'), "version", Takes::Nothing, "print the version"),
];

/// The completion script for `shell`, or `None` for a shell it does not know.
pub(crate) fn script(shell: &str) -> Option<String> {
    match shell {
        "bash" => Some(bash()),
        "zsh" => Some(zsh()),
        "fish" => Some(fish()),
        _ => None,
    }
}

/// The flag's forms, as `-p --upload-path`.
fn forms(short: Option<char>, long: &str) -> String {
    match short {
        Some(c) => format!("-{c} --{long}"),
        None => format!("--{long}"),
    }
}

fn bash() -> String {
    let all: Vec<String> = FLAGS.iter().map(|f| forms(f.0, f.1)).collect();
    let with = |takes: fn(Takes) -> bool| {
        FLAGS
            .iter()
            .filter(|f| takes(f.2))
            .map(|f| forms(f.0, f.1).replace(' ', "|"))
            .collect::<Vec<_>>()
            .join("|")
    };
    format!(
        r#"# bash completion for kie-upload: source it, or put it in
# ~/.local/share/bash-completion/completions/kie-upload
_kie_upload() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    case "$prev" in
        --completions) COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur")); return ;;
        {files}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        {text}) return ;;
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "{all}" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}}
complete -o filenames -F _kie_upload kie-upload
"#,
        files = with(|t| t == Takes::File),
        text = with(|t| matches!(t, Takes::Text(_))),
        all = all.join(" "),
    )
}

fn zsh() -> String {
    let mut out = String::from(
        "#compdef kie-upload\n# zsh completion for kie-upload: put it in a folder of $fpath as _kie-upload\n_arguments -s -S \\\n",
    );
    for &(short, long, takes, help) in FLAGS {
        let value = match takes {
            Takes::Nothing => String::new(),
            Takes::File => ":FILE:_files".to_owned(),
            Takes::Shell => ":SHELL:(bash zsh fish)".to_owned(),
            Takes::Text(name) => format!(":{name}: "),
        };
        let help = help.replace(['[', ']', ':', '\''], " ");
        match short {
            Some(c) => out.push_str(&format!(
                "  '(-{c} --{long})'{{-{c},--{long}}}'[{help}]{value}' \\\n"
            )),
            None => out.push_str(&format!("  '--{long}[{help}]{value}' \\\n")),
        }
    }
    out.push_str("  '*:SRC:_files'\n");
    out
}

fn fish() -> String {
    let mut out =
        String::from("# fish completion for kie-upload: put it in ~/.config/fish/completions/\n");
    for &(short, long, takes, help) in FLAGS {
        out.push_str("complete -c kie-upload");
        if let Some(c) = short {
            out.push_str(&format!(" -s {c}"));
        }
        out.push_str(&format!(" -l {long}"));
        match takes {
            Takes::Nothing => {}
            Takes::File => out.push_str(" -r -F"),
            Takes::Shell => out.push_str(" -x -a 'bash zsh fish'"),
            Takes::Text(_) => out.push_str(" -x"),
        }
        out.push_str(&format!(" -d '{}'\n", help.replace('\'', "\\'")));
    }
    out
}
