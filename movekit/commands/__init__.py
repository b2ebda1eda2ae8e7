"""CLI subcommands, one module each.

Every module in this package that defines ``register(subparsers)`` is found by
:func:`movekit.cli.build_parser`; ``register`` adds one (or a group of)
``argparse`` subparser(s) and sets ``func`` to a callable taking the parsed
namespace and returning an exit status. Adding a command never touches cli.py.
"""
