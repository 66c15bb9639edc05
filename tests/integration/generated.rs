//! The man page is generated from the clap definitions in `src/cli.rs`, and the shell
//! completions' loaders written here; both are committed under `packaging/`. This test fails when they drift from the
//! code; regenerate them with:
//!
//! ```sh
//! UPDATE_GENERATED=1 cargo test --test integration generated
//! ```

use std::path::{Path, PathBuf};

use clap::CommandFactory;

fn packaging() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging")
}

fn generated() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let cmd = quota::Cli::command();
    let mut man = Vec::new();
    // The page is assembled from its parts: clap_mangen's SUBCOMMANDS section would point at
    // quota-sync(1) and friends, which do not exist; each command gets a section here instead.
    let page = clap_mangen::Man::new(cmd.clone());
    page.render_title(&mut man).unwrap();
    page.render_name_section(&mut man).unwrap();
    page.render_synopsis_section(&mut man).unwrap();
    page.render_description_section(&mut man).unwrap();
    page.render_options_section(&mut man).unwrap();
    // Each (leaf) subcommand gets a section with what it does and its options.
    let mut leaves: Vec<(String, clap::Command)> = Vec::new();
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let nested: Vec<_> = sub
            .get_subcommands()
            .filter(|s| s.get_name() != "help")
            .collect();
        if nested.is_empty() {
            leaves.push((sub.get_name().to_string(), sub.clone()));
        }
        for n in nested {
            leaves.push((format!("{} {}", sub.get_name(), n.get_name()), n.clone()));
        }
    }
    for (path, sub) in leaves {
        let full: &'static str = Box::leak(format!("quota {path}").into_boxed_str());
        man.extend(format!(".SH \"QUOTA {}\"\n", path.to_uppercase()).into_bytes());
        let mut synopsis = Vec::new();
        clap_mangen::Man::new(sub.clone().name(full))
            .render_synopsis_section(&mut synopsis)
            .unwrap();
        man.extend(body_of(&synopsis));
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            man.extend(format!(".PP\n{about}\n").into_bytes());
        }
        let mut options = Vec::new();
        clap_mangen::Man::new(sub.name(full))
            .render_options_section(&mut options)
            .unwrap();
        man.extend(body_of(&options));
    }
    man.extend(EXIT_STATUS.as_bytes());
    page.render_version_section(&mut man).unwrap();
    files.push((packaging().join("man/man1/quota.1"), man));
    for (name, shim) in [("quota.bash", BASH), ("_quota", ZSH), ("quota.fish", FISH)] {
        files.push((
            packaging().join("completions").join(name),
            shim.as_bytes().to_vec(),
        ));
    }
    files
}

// The completions come from quota itself, asked while completing (`COMPLETE=<shell> quota`,
// clap_complete's dynamic completion): they offer account names and open alert ids, and
// always match the installed quota. The packaged files only load them.
const BASH: &str = "# quota's completions come from quota itself (COMPLETE=bash quota): account names and\n# alert ids included, always matching the installed quota.\nsource <(COMPLETE=bash quota 2>/dev/null)\n";
const ZSH: &str = "#compdef quota\n# quota's completions come from quota itself (COMPLETE=zsh quota): account names and\n# alert ids included, always matching the installed quota.\nsource <(COMPLETE=zsh quota 2>/dev/null)\n_clap_dynamic_completer_quota \"$@\"\n";
const FISH: &str = "# quota's completions come from quota itself (COMPLETE=fish quota): account names and\n# alert ids included, always matching the installed quota.\nCOMPLETE=fish quota 2>/dev/null | source\n";

/// A rendered section as a subsection: clap_mangen's `.ie`/`.el` preamble (already in the
/// page once) dropped and its `.SH` heading demoted to `.SS`.
fn body_of(section: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(section);
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with(".ie ") && !l.starts_with(".el "))
        .map(|l| {
            l.strip_prefix(".SH ")
                .map_or_else(|| l.to_string(), |h| format!(".SS {h}"))
        })
        .collect();
    format!("{}\n", lines.join("\n")).into_bytes()
}

const EXIT_STATUS: &str = ".SH \"EXIT STATUS\"
.TP
\\fB0\\fR
Success (also when standard output is closed early).
.TP
\\fB1\\fR
The command failed, fully or partly: the Admin API unreachable after retries, the admin key refused, a database error, an unknown or ambiguous alert id, a notification test that failed.
.TP
\\fB2\\fR
Bad command line, configuration or environment.
.SH EXAMPLES
.TP
\\fBquota sync\\fR
What the quota-sync timer runs every minute: read usage, evaluate, alert, deliver, export.
.TP
\\fBquota status \\-\\-account 'prod-*'\\fR
The production accounts' quotas, at the terminal's width.
.TP
\\fBquota alerts list \\-\\-all \\-\\-wide\\fR
Every alert, open and resolved, with full ids and who resolved them.
.TP
\\fBquota alerts silence \\-\\-account production \\-\\-for 2h \\-\\-comment 'batch rerun'\\fR
Hold production's notifications back for two hours; still open then, they are sent.
.TP
\\fBquota health || page-someone\\fR
Exit 1 when a read is failing or the data is old.
.TP
\\fBsudo \\-u quota quota config check \\-\\-strict\\fR
Check the configuration as the service sees it; a warning fails.
.TP
\\fBsudo \\-u quota quota db copy \\-\\-to /var/lib/quota/backup.db\\fR
A checked copy of the database while the timer runs; restore it by putting it in the database's place with the timer stopped.
.SH FILES
.TP
\\fI/etc/quota/config.toml\\fR
The configuration (also \\fI$XDG_CONFIG_HOME/quota/config.toml\\fR).
.TP
\\fI/var/lib/quota/quota.db\\fR
The database, under systemd's StateDirectory.
.SH ENVIRONMENT
QUOTA_CONFIG, QUOTA_DB, QUOTA_API_URL, QUOTA_NOW (RFC 3339, replaces the clock), ANTHROPIC_ADMIN_API_KEY, CREDENTIALS_DIRECTORY, RUST_LOG.
.SH \"SEE ALSO\"
\\fBquota.toml\\fR(5) for the configuration.
";

#[test]
fn generated_files_match_the_command_line() {
    let update = std::env::var_os("UPDATE_GENERATED").is_some();
    let mut stale = Vec::new();
    for (path, content) in generated() {
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &content).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(content.as_slice()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "out of date: {stale:?}; regenerate with UPDATE_GENERATED=1 cargo test --test integration generated"
    );
}

/// quota.toml(5), written by hand, names every key the README's configuration reference
/// sets: the page cannot fall behind the configuration the README documents.
#[test]
fn the_configuration_man_page_names_every_key() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let page = std::fs::read_to_string(root.join("packaging/man/man5/quota.toml.5")).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme.find("```toml\n[api]").unwrap();
    let block = &readme[start..start + readme[start..].find("\n```\n").unwrap()];
    let mut keys: Vec<&str> = block
        .lines()
        .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim()))
        .filter(|k| !k.starts_with('#') && !k.is_empty())
        .collect();
    keys.extend([
        "input_token_limit",
        "claude_code_user",
        "claude_code_api_key",
        "accounts",
    ]);
    for key in keys {
        assert!(
            page.contains(&format!("\\fB{key}\\fR")),
            "quota.toml(5) does not describe {key}"
        );
    }
}

/// The completions offer what the shell cannot know: account names, and the ids of open
/// alerts with what each is about (asked of quota itself, as the packaged loaders do).
#[test]
fn completions_offer_account_names_and_alert_ids() {
    let env = crate::env::TestEnv::with_config(
        "[[accounts]]\nname = \"prod-eu\"\napi_key_id = \"apikey_eu\"\ntoken_limit = 100\n\n[[accounts]]\nname = \"staging\"\napi_key_id = \"apikey_st\"\n",
    );
    env.seed(Some("apikey_eu"), None, "2026-11-02", 90, 0);
    env.run(&["check"]).ok();
    let id = env.open_alerts()[0]["id"].as_str().unwrap()[..8].to_string();
    let complete = |words: &[&str]| -> String {
        let mut c = env.command(&[]);
        c.env("COMPLETE", "fish").arg("--").arg("quota").args(words);
        String::from_utf8(c.output().unwrap().stdout).unwrap()
    };
    assert_eq!(complete(&["status", "--account", ""]), "prod-eu\nstaging\n");
    assert!(
        complete(&["alerts", "resolve", ""])
            .starts_with(&format!("{id}\tprod-eu tokens approaching_limit\n")),
        "{}",
        complete(&["alerts", "resolve", ""])
    );
}
