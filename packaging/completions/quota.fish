# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_quota_global_optspecs
    string join \n config= db= v/verbose q/quiet h/help V/version
end

function __fish_quota_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_quota_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_quota_using_subcommand
    set -l cmd (__fish_quota_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c quota -n "__fish_quota_needs_command" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/quota/config.toml, then /etc/quota/config.toml]' -r -F
complete -c quota -n "__fish_quota_needs_command" -l db -d 'SQLite database file (overrides [database] path)' -r -F
complete -c quota -n "__fish_quota_needs_command" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c quota -n "__fish_quota_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c quota -n "__fish_quota_needs_command" -s h -l help -d 'Print help'
complete -c quota -n "__fish_quota_needs_command" -s V -l version -d 'Print version'
complete -c quota -n "__fish_quota_needs_command" -f -a "sync" -d 'Pull usage from the Admin API, evaluate every account, raise and resolve alerts'
complete -c quota -n "__fish_quota_needs_command" -f -a "check" -d 'Evaluate stored usage only (no network): raise and resolve alerts'
complete -c quota -n "__fish_quota_needs_command" -f -a "status" -d 'One row per account and quota type: used, limit, period, status'
complete -c quota -n "__fish_quota_needs_command" -f -a "usage" -d 'What was used, day by day, from the database (no network)'
complete -c quota -n "__fish_quota_needs_command" -f -a "alerts" -d 'List or resolve alerts'
complete -c quota -n "__fish_quota_needs_command" -f -a "health" -d 'Whether quota can see: each read\'s state and the notification backlog; exit 1 when a read is failing or the data is old'
complete -c quota -n "__fish_quota_needs_command" -f -a "config" -d 'Inspect the configuration'
complete -c quota -n "__fish_quota_needs_command" -f -a "notify" -d 'Notification channels'
complete -c quota -n "__fish_quota_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c quota -n "__fish_quota_using_subcommand sync" -l account -d 'Only this account (repeatable); a glob such as \'prod-*\' selects every account it fits' -r
complete -c quota -n "__fish_quota_using_subcommand sync" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/quota/config.toml, then /etc/quota/config.toml]' -r -F
complete -c quota -n "__fish_quota_using_subcommand sync" -l db -d 'SQLite database file (overrides [database] path)' -r -F
complete -c quota -n "__fish_quota_using_subcommand sync" -l full -d 'Re-read every day of the current billing periods, not only the trailing window'
complete -c quota -n "__fish_quota_using_subcommand sync" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c quota -n "__fish_quota_using_subcommand sync" -s q -l quiet -d 'Only errors on stderr'
complete -c quota -n "__fish_quota_using_subcommand sync" -s h -l help -d 'Print help'
complete -c quota -n "__fish_quota_using_subcommand sync" -s V -l version -d 'Print version'
complete -c quota -n "__fish_quota_using_subcommand check" -l account -d 'Only this account (repeatable); a glob such as \'prod-*\' selects every account it fits' -r
complete -c quota -n "__fish_quota_using_subcommand check" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/quota/config.toml, then /etc/quota/config.toml]' -r -F
complete -c quota -n "__fish_quota_using_subcommand check" -l db -d 'SQLite database file (overrides [database] path)' -r -F
complete -c quota -n "__fish_quota_using_subcommand check" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c quota -n "__fish_quota_using_subcommand check" -s q -l quiet -d 'Only errors on stderr'
complete -c quota -n "__fish_quota_using_subcommand check" -s h -l help -d 'Print help'
complete -c quota -n "__fish_quota_using_subcommand check" -s V -l version -d 'Print version'
complete -c quota -n "__fish_quota_using_subcommand status" -l account -d 'Only this account (repeatable); a glob such as \'prod-*\' selects every account it fits' -r
complete -c quota -n "__fish_quota_using_subcommand status" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/quota/config.toml, then /etc/quota/config.toml]' -r -F
complete -c quota -n "__fish_quota_using_subcommand status" -l db -d 'SQLite database file (overrides [database] path)' -r -F
complete -c quota -n "__fish_quota_using_subcommand status" -l wide -d 'Add the exact numbers, the projection, the period and "data as of"; never shorten names'
complete -c quota -n "__fish_quota_using_subcommand status" -l json -d 'Print one JSON array instead of a table'
complete -c quota -n "__fish_quota_using_subcommand status" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c quota -n "__fish_quota_using_subcommand status" -s q -l quiet -d 'Only errors on stderr'
complete -c quota -n "__fish_quota_using_subcommand status" -s h -l help -d 'Print help'
complete -c quota -n "__fish_quota_using_subcommand status" -s V -l version -d 'Print version'
complete -c quota -n "__fish_quota_using_subcommand usage" -l account -d 'Only this account (repeatable); a glob such as \'prod-*\' selects every account it fits' -r
complete -c quota -n "__fish_quota_using_subcommand usage" -l since -d 'First day to show [default: the start of each account\'s current billing period]' -r
complete -c quota -n "__fish_quota_using_subcommand usage" -l until -d 'Last day to show [default: today, UTC]' -r
complete -c quota -n "__fish_quota_using_subcommand usage" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/quota/config.toml, then /etc/quota/config.toml]' -r -F
complete -c quota -n "__fish_quota_using_subcommand usage" -l db -d 'SQLite database file (overrides [database] path)' -r -F
complete -c quota -n "__fish_quota_using_subcommand usage" -l json -d 'Print one JSON array instead of a table'
complete -c quota -n "__fish_quota_using_subcommand usage" -l csv -d 'Print CSV (the JSON field names as the header) instead of a table'
complete -c quota -n "__fish_quota_using_subcommand usage" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c quota -n "__fish_quota_using_subcommand usage" -s q -l quiet -d 'Only errors on stderr'
complete -c quota -n "__fish_quota_using_subcommand usage" -s h -l help -d 'Print help'
complete -c quota -n "__fish_quota_using_subcommand usage" -s V -l version -d 'Print version'
complete -c quota -n "__fish_quota_using_subcommand alerts; and not __fish_seen_subcommand_from list resolve silence silences unsilence help" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/quota/config.toml, then /etc/quota/config.toml]' -r -F
complete -c quota -n "__fish_quota_using_subcommand alerts; and not __fish_seen_subcommand_from list resolve silence silences unsilence help" -l db -d 'SQLite database file (overrides [database] path)' -r -F
complete -c quota -n "__fish_quota_using_subcommand alerts; and not __fish_seen_subcommand_from list resolve silence silences unsilence help" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c quota -n "__fish_quota_using_subcommand alerts; and not __fish_seen_subcommand_from list resolve silence silences unsilence help" -s q -l quiet -d 'Only errors on stderr'
complete -c quota -n "__fish_quota_using_subcommand alerts; and not __fish_seen_subcommand_from list resolve silence silences unsilence help" -s h -l help -d 'Print help'
complete -c quota -n "__fish_quota_using_subcommand alerts; and not __fish_seen_subcommand_from list resolve silence silences unsilence help" -s V -l version -d 'Print version'
complete -c quota -n "__fish_quota_using_subcommand alerts; and not __fish_seen_subcommand_from list resolve silence silences unsilence help" -f -a "list" -d 'Open alerts, most severe and newest first'
complete -c quota -n "__fish_quota_using_subcommand alerts; and not __fish_seen_subcommand_from list resolve silence silences unsilence help" -f -a "resolve" -d 'Resolve alerts by id (full UUID or a unique prefix of at least 8 characters)'
complete -c quota -n "__fish_quota_using_subcommand alerts; and not __fish_seen_subcommand_from list resolve silence silences unsilence help" -f -a "silence" -d 'Hold back the notifications of alerts for a while (still recorded and listed)'
complete -c quota -n "__fish_quota_using_subcommand alerts; and not __fish_seen_subcommand_from list resolve silence silences unsilence help" -f -a "silences" -d 'The silences in force'
complete -c quota -n "__fish_quota_using_subcommand alerts; and not __fish_seen_subcommand_from list resolve silence silences unsilence help" -f -a "unsilence" -d 'End a silence now; what it held back is delivered by the next sync'
complete -c quota -n "__fish_quota_using_subcommand alerts; and not __fish_seen_subcommand_from list resolve silence silences unsilence help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from list" -l account -d 'Only this account (repeatable); a glob such as \'prod-*\' selects every account it fits' -r
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from list" -l severity -d 'Only alerts of this severity' -r -f -a "warning\t''
critical\t''"
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from list" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/quota/config.toml, then /etc/quota/config.toml]' -r -F
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from list" -l db -d 'SQLite database file (overrides [database] path)' -r -F
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from list" -l all -d 'Include resolved alerts'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from list" -l wide -d 'Add the full id, type, exact numbers and times; never shorten names or messages'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from list" -l json -d 'Print one JSON array instead of a table'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Only errors on stderr'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from resolve" -l comment -d 'Why it was resolved; kept with the alert and sent with the resolved notice' -r
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from resolve" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/quota/config.toml, then /etc/quota/config.toml]' -r -F
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from resolve" -l db -d 'SQLite database file (overrides [database] path)' -r -F
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from resolve" -l no-notify -d 'Do not send a resolved notice to the channels that heard the alert'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from resolve" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from resolve" -s q -l quiet -d 'Only errors on stderr'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from resolve" -s h -l help -d 'Print help'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from resolve" -s V -l version -d 'Print version'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from silence" -l account -d 'Every alert of these accounts (names or globs such as \'prod-*\'; never quota\'s own health alerts, which only their id silences)' -r
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from silence" -l for -d 'How long: 30m, 2h, 1h30m, 1d (at most 30 days)' -r
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from silence" -l comment -d 'Why; shown by `quota alerts silences`' -r
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from silence" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/quota/config.toml, then /etc/quota/config.toml]' -r -F
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from silence" -l db -d 'SQLite database file (overrides [database] path)' -r -F
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from silence" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from silence" -s q -l quiet -d 'Only errors on stderr'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from silence" -s h -l help -d 'Print help'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from silence" -s V -l version -d 'Print version'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from silences" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/quota/config.toml, then /etc/quota/config.toml]' -r -F
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from silences" -l db -d 'SQLite database file (overrides [database] path)' -r -F
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from silences" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from silences" -s q -l quiet -d 'Only errors on stderr'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from silences" -s h -l help -d 'Print help'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from silences" -s V -l version -d 'Print version'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from unsilence" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/quota/config.toml, then /etc/quota/config.toml]' -r -F
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from unsilence" -l db -d 'SQLite database file (overrides [database] path)' -r -F
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from unsilence" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from unsilence" -s q -l quiet -d 'Only errors on stderr'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from unsilence" -s h -l help -d 'Print help'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from unsilence" -s V -l version -d 'Print version'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from help" -f -a "list" -d 'Open alerts, most severe and newest first'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from help" -f -a "resolve" -d 'Resolve alerts by id (full UUID or a unique prefix of at least 8 characters)'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from help" -f -a "silence" -d 'Hold back the notifications of alerts for a while (still recorded and listed)'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from help" -f -a "silences" -d 'The silences in force'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from help" -f -a "unsilence" -d 'End a silence now; what it held back is delivered by the next sync'
complete -c quota -n "__fish_quota_using_subcommand alerts; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c quota -n "__fish_quota_using_subcommand health" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/quota/config.toml, then /etc/quota/config.toml]' -r -F
complete -c quota -n "__fish_quota_using_subcommand health" -l db -d 'SQLite database file (overrides [database] path)' -r -F
complete -c quota -n "__fish_quota_using_subcommand health" -l json -d 'Print one JSON object instead of a table'
complete -c quota -n "__fish_quota_using_subcommand health" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c quota -n "__fish_quota_using_subcommand health" -s q -l quiet -d 'Only errors on stderr'
complete -c quota -n "__fish_quota_using_subcommand health" -s h -l help -d 'Print help'
complete -c quota -n "__fish_quota_using_subcommand health" -s V -l version -d 'Print version'
complete -c quota -n "__fish_quota_using_subcommand config; and not __fish_seen_subcommand_from check help" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/quota/config.toml, then /etc/quota/config.toml]' -r -F
complete -c quota -n "__fish_quota_using_subcommand config; and not __fish_seen_subcommand_from check help" -l db -d 'SQLite database file (overrides [database] path)' -r -F
complete -c quota -n "__fish_quota_using_subcommand config; and not __fish_seen_subcommand_from check help" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c quota -n "__fish_quota_using_subcommand config; and not __fish_seen_subcommand_from check help" -s q -l quiet -d 'Only errors on stderr'
complete -c quota -n "__fish_quota_using_subcommand config; and not __fish_seen_subcommand_from check help" -s h -l help -d 'Print help'
complete -c quota -n "__fish_quota_using_subcommand config; and not __fish_seen_subcommand_from check help" -s V -l version -d 'Print version'
complete -c quota -n "__fish_quota_using_subcommand config; and not __fish_seen_subcommand_from check help" -f -a "check" -d 'Validate the configuration and show resolved paths and where each came from (no network)'
complete -c quota -n "__fish_quota_using_subcommand config; and not __fish_seen_subcommand_from check help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c quota -n "__fish_quota_using_subcommand config; and __fish_seen_subcommand_from check" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/quota/config.toml, then /etc/quota/config.toml]' -r -F
complete -c quota -n "__fish_quota_using_subcommand config; and __fish_seen_subcommand_from check" -l db -d 'SQLite database file (overrides [database] path)' -r -F
complete -c quota -n "__fish_quota_using_subcommand config; and __fish_seen_subcommand_from check" -l strict -d 'Exit 1 when there is any warning (for CI and deploy scripts)'
complete -c quota -n "__fish_quota_using_subcommand config; and __fish_seen_subcommand_from check" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c quota -n "__fish_quota_using_subcommand config; and __fish_seen_subcommand_from check" -s q -l quiet -d 'Only errors on stderr'
complete -c quota -n "__fish_quota_using_subcommand config; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c quota -n "__fish_quota_using_subcommand config; and __fish_seen_subcommand_from check" -s V -l version -d 'Print version'
complete -c quota -n "__fish_quota_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "check" -d 'Validate the configuration and show resolved paths and where each came from (no network)'
complete -c quota -n "__fish_quota_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c quota -n "__fish_quota_using_subcommand notify; and not __fish_seen_subcommand_from test help" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/quota/config.toml, then /etc/quota/config.toml]' -r -F
complete -c quota -n "__fish_quota_using_subcommand notify; and not __fish_seen_subcommand_from test help" -l db -d 'SQLite database file (overrides [database] path)' -r -F
complete -c quota -n "__fish_quota_using_subcommand notify; and not __fish_seen_subcommand_from test help" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c quota -n "__fish_quota_using_subcommand notify; and not __fish_seen_subcommand_from test help" -s q -l quiet -d 'Only errors on stderr'
complete -c quota -n "__fish_quota_using_subcommand notify; and not __fish_seen_subcommand_from test help" -s h -l help -d 'Print help'
complete -c quota -n "__fish_quota_using_subcommand notify; and not __fish_seen_subcommand_from test help" -s V -l version -d 'Print version'
complete -c quota -n "__fish_quota_using_subcommand notify; and not __fish_seen_subcommand_from test help" -f -a "test" -d 'Send a test message through each channel and show what each endpoint answered'
complete -c quota -n "__fish_quota_using_subcommand notify; and not __fish_seen_subcommand_from test help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c quota -n "__fish_quota_using_subcommand notify; and __fish_seen_subcommand_from test" -l channel -d 'Only this channel (its `name`, or its type when unnamed)' -r
complete -c quota -n "__fish_quota_using_subcommand notify; and __fish_seen_subcommand_from test" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/quota/config.toml, then /etc/quota/config.toml]' -r -F
complete -c quota -n "__fish_quota_using_subcommand notify; and __fish_seen_subcommand_from test" -l db -d 'SQLite database file (overrides [database] path)' -r -F
complete -c quota -n "__fish_quota_using_subcommand notify; and __fish_seen_subcommand_from test" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c quota -n "__fish_quota_using_subcommand notify; and __fish_seen_subcommand_from test" -s q -l quiet -d 'Only errors on stderr'
complete -c quota -n "__fish_quota_using_subcommand notify; and __fish_seen_subcommand_from test" -s h -l help -d 'Print help'
complete -c quota -n "__fish_quota_using_subcommand notify; and __fish_seen_subcommand_from test" -s V -l version -d 'Print version'
complete -c quota -n "__fish_quota_using_subcommand notify; and __fish_seen_subcommand_from help" -f -a "test" -d 'Send a test message through each channel and show what each endpoint answered'
complete -c quota -n "__fish_quota_using_subcommand notify; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c quota -n "__fish_quota_using_subcommand help; and not __fish_seen_subcommand_from sync check status usage alerts health config notify help" -f -a "sync" -d 'Pull usage from the Admin API, evaluate every account, raise and resolve alerts'
complete -c quota -n "__fish_quota_using_subcommand help; and not __fish_seen_subcommand_from sync check status usage alerts health config notify help" -f -a "check" -d 'Evaluate stored usage only (no network): raise and resolve alerts'
complete -c quota -n "__fish_quota_using_subcommand help; and not __fish_seen_subcommand_from sync check status usage alerts health config notify help" -f -a "status" -d 'One row per account and quota type: used, limit, period, status'
complete -c quota -n "__fish_quota_using_subcommand help; and not __fish_seen_subcommand_from sync check status usage alerts health config notify help" -f -a "usage" -d 'What was used, day by day, from the database (no network)'
complete -c quota -n "__fish_quota_using_subcommand help; and not __fish_seen_subcommand_from sync check status usage alerts health config notify help" -f -a "alerts" -d 'List or resolve alerts'
complete -c quota -n "__fish_quota_using_subcommand help; and not __fish_seen_subcommand_from sync check status usage alerts health config notify help" -f -a "health" -d 'Whether quota can see: each read\'s state and the notification backlog; exit 1 when a read is failing or the data is old'
complete -c quota -n "__fish_quota_using_subcommand help; and not __fish_seen_subcommand_from sync check status usage alerts health config notify help" -f -a "config" -d 'Inspect the configuration'
complete -c quota -n "__fish_quota_using_subcommand help; and not __fish_seen_subcommand_from sync check status usage alerts health config notify help" -f -a "notify" -d 'Notification channels'
complete -c quota -n "__fish_quota_using_subcommand help; and not __fish_seen_subcommand_from sync check status usage alerts health config notify help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c quota -n "__fish_quota_using_subcommand help; and __fish_seen_subcommand_from alerts" -f -a "list" -d 'Open alerts, most severe and newest first'
complete -c quota -n "__fish_quota_using_subcommand help; and __fish_seen_subcommand_from alerts" -f -a "resolve" -d 'Resolve alerts by id (full UUID or a unique prefix of at least 8 characters)'
complete -c quota -n "__fish_quota_using_subcommand help; and __fish_seen_subcommand_from alerts" -f -a "silence" -d 'Hold back the notifications of alerts for a while (still recorded and listed)'
complete -c quota -n "__fish_quota_using_subcommand help; and __fish_seen_subcommand_from alerts" -f -a "silences" -d 'The silences in force'
complete -c quota -n "__fish_quota_using_subcommand help; and __fish_seen_subcommand_from alerts" -f -a "unsilence" -d 'End a silence now; what it held back is delivered by the next sync'
complete -c quota -n "__fish_quota_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "check" -d 'Validate the configuration and show resolved paths and where each came from (no network)'
complete -c quota -n "__fish_quota_using_subcommand help; and __fish_seen_subcommand_from notify" -f -a "test" -d 'Send a test message through each channel and show what each endpoint answered'
