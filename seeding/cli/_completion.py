"""``seeding completion bash|zsh|tcsh``: a shell completion script for every command, flag and choice.

Written by shtab from the commands' own parsers, once, when this command runs: completing a word
then costs the shell nothing and runs no Python (argcomplete would start the interpreter on every
Tab), and ``--help`` and a run import nothing of it. Enable it with one line in the shell's rc file:

    eval "$(seeding completion bash)"     # ~/.bashrc
    eval "$(seeding completion zsh)"      # ~/.zshrc (after compinit)
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from ._arguments import EXIT_OK, PROG, OneLineParser

__all__ = ["SHELLS", "build_parser", "completion_parser", "main"]

SHELLS = ("bash", "zsh", "tcsh")
_FILES = {"plans", "dump", "report", "output"}  # destinations that name a file
_DIRECTORIES = {"dumps_dir", "plans_dir"}


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=f"{PROG} completion",
        description='Print a shell completion script; enable it with `eval "$(seeding completion bash)"` in ~/.bashrc '
        '(zsh: `eval "$(seeding completion zsh)"` in ~/.zshrc).',
    )
    parser.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    return parser


def completion_parser(subcommands: dict[str, str]) -> argparse.ArgumentParser:
    """One parser over the whole command line: the seeding run's flags and every subcommand's, for shtab."""
    import shtab

    from ._main import build_parser as run_parser

    root = argparse.ArgumentParser(prog="seeding", parents=[run_parser()], add_help=False)
    # PLAN (files) and the commands are both the first word; argparse, and shtab with it, can only offer one
    # of them: the commands, while the shell's own file names complete a plan (-o bashdefault).
    plans = next(action for action in root._actions if action.dest == "plans")
    root._remove_action(plans)
    root._positionals._group_actions.remove(plans)
    commands = root.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    for name, module_name in subcommands.items():
        module = importlib.import_module(module_name, __package__)
        parser = _parser_of(module, name)
        commands.add_parser(name, parents=[parser], add_help=False, help=(parser.description or "").split(".")[0])
    for parser in [root, *commands.choices.values()]:
        for action in parser._actions:  # shtab's documented way: a ``complete`` attribute on the action
            if action.dest in _FILES:
                action.complete = shtab.FILE  # type: ignore[attr-defined]  # shtab's, unknown to argparse
            elif action.dest in _DIRECTORIES:
                action.complete = shtab.DIRECTORY  # type: ignore[attr-defined]  # shtab's, unknown to argparse
    return root


def _parser_of(module: ModuleType, name: str) -> argparse.ArgumentParser:
    build = module.build_parser  # each subcommand module has one (``serve``'s takes the settings)
    if name == "serve":  # its defaults come from the settings
        from .._settings import Settings

        parser: argparse.ArgumentParser = build(Settings())
    else:
        parser = build()
    return parser


def main(argv: Sequence[str]) -> int:
    """Entry point of ``seeding completion``; returns the exit code."""
    args = build_parser().parse_args(list(argv))
    import shtab

    from ._main import SUBCOMMANDS

    script = shtab.complete(completion_parser(SUBCOMMANDS), shell=args.shell)
    sys.stdout.write(script if script.endswith("\n") else script + "\n")
    return EXIT_OK
