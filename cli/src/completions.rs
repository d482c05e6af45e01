//! `--completions SHELL`: completion scripts for bash, zsh and fish, written from the table of
//! flags that `--help` is written from ([`crate::flags`]).

use crate::flags::{Takes, FLAGS};

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
    let all: Vec<String> = FLAGS.iter().map(|f| forms(f.short, f.long)).collect();
    let with = |takes: Takes| {
        FLAGS
            .iter()
            .filter(|f| f.takes == takes)
            .map(|f| forms(f.short, f.long).replace(' ', "|"))
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
        {dirs}) COMPREPLY=($(compgen -d -- "$cur")); return ;;
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
        files = with(Takes::File),
        dirs = with(Takes::Dir),
        text = with(Takes::Text),
        all = all.join(" "),
    )
}

fn zsh() -> String {
    let mut out = String::from(
        "#compdef kie-upload\n# zsh completion for kie-upload: put it in a folder of $fpath as _kie-upload\n_arguments -s -S \\\n",
    );
    for f in FLAGS {
        let (short, long) = (f.short, f.long);
        let name = f.value.unwrap_or("");
        let value = match f.takes {
            Takes::Nothing => String::new(),
            Takes::File => format!(":{name}:_files"),
            Takes::Dir => format!(":{name}:_files -/"),
            Takes::Shell => format!(":{name}:(bash zsh fish)"),
            Takes::Text => format!(":{name}: "),
        };
        let help = zsh_description(f.brief);
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
    for f in FLAGS {
        out.push_str("complete -c kie-upload");
        if let Some(c) = f.short {
            out.push_str(&format!(" -s {c}"));
        }
        out.push_str(&format!(" -l {}", f.long));
        match f.takes {
            Takes::Nothing => {}
            Takes::File => out.push_str(" -r -F"),
            Takes::Dir => out.push_str(" -x -a '(__fish_complete_directories)'"),
            Takes::Shell => out.push_str(" -x -a 'bash zsh fish'"),
            Takes::Text => out.push_str(" -x"),
        }
        out.push_str(&format!(
            " -d '{}'\n",
            f.brief.replace('\\', "\\\\").replace('\'', "\\'")
        ));
    }
    out
}

/// A description inside `_arguments`' single-quoted `'--flag[description]'`: brackets and
/// colons escaped for `_arguments`, a single quote closed, escaped and reopened for the shell.
fn zsh_description(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '[' | ']' | ':' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\'' => out.push_str("'\\''"),
            c => out.push(c),
        }
    }
    out
}
