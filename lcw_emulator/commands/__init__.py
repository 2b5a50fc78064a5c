"""The CLI's verbs, one module each: ``add_parser(subparsers)`` registers the verb."""
