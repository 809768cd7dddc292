"""Errors a user can cause, each with the exit code the command line uses.

A user's mistake is reported as one line on stderr, never a traceback: the CLI
catches :class:`ArchvizError` and prints ``archviz: error: <message>``.
"""

from __future__ import annotations


class ArchvizError(Exception):
    """Base of every error archviz reports to the user."""

    exit_code = 1


class UsageError(ArchvizError):
    """The user asked for something that cannot be: exit code 2."""

    exit_code = 2


class UnknownModelError(UsageError):
    """A model name that is neither a preset, a spec file nor a Keras file."""


class SpecError(UsageError):
    """An invalid spec file or option value; the message names the key (and line)."""


class ModelError(UsageError):
    """A model definition that does not make a valid graph (bad wiring, a shape that collapses)."""


class UnsupportedOpError(ModelError):
    """An op with no counting rule. Never counted as a silent zero."""


class RuntimeFailure(ArchvizError):
    """Something outside the user's request failed (a file, a missing program): exit code 1."""
