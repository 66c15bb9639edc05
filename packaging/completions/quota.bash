# quota's completions come from quota itself (COMPLETE=bash quota): account names and
# alert ids included, always matching the installed quota.
source <(COMPLETE=bash quota 2>/dev/null)
