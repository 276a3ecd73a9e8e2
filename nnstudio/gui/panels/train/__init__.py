"""The Train panel and the views only it shows: live curves, run table, repeat groups, sweeps."""
