"""One module per command: NAME, SUMMARY, EXAMPLES, configure(parser), run(args, console)."""
