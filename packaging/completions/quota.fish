# quota's completions come from quota itself (COMPLETE=fish quota): account names and
# alert ids included, always matching the installed quota.
COMPLETE=fish quota 2>/dev/null | source
