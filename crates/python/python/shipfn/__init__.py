"""Ship a Rust closure to other machines and call it from Python.

A shipfn package (``.fnpkg``) holds a closure compiled to WebAssembly with
the values it captured. ``load`` checks one and returns a ``Function`` that
runs it sandboxed by wasmtime, under time and memory limits: a hostile
package can fail a call, never take over or crash the interpreter.

    >>> import shipfn
    >>> f = shipfn.load("closure.fnpkg")
    >>> f(4)
    10
    >>> f.signature
    'fn(own_arg: i64) -> i64'
    >>> f.map(range(5))
    [6, 7, 8, 9, 10]

A ``Function`` pickles as its package's bytes, so it travels through
``pickle``, cloudpickle, Dask and Ray; the worker needs only this package.
"""

from __future__ import annotations


class Error(Exception):
    """Any shipfn failure. Each class below is one kind of failure."""


class BadPackage(Error):
    """The package or its module is corrupt, hostile, or not a shipfn guest."""


class Untrusted(Error):
    """The package is not signed by one of the trusted keys."""


class BadArgs(Error, TypeError):
    """Wrong arguments: their count, a type, or a value out of range."""


class GuestError(Error):
    """The closure returned an error (``Err``); the message is its text."""


class Trap(Error):
    """The closure panicked or trapped; the message says where."""


class Timeout(Error):
    """The call ran out of time or fuel. The next call starts afresh."""


class ResourceLimit(Error):
    """The call hit the memory or result-size limit."""


import os as _os  # noqa: E402

from ._shipfn import Function, _forked, build, load, make  # noqa: E402

# A forked child (multiprocessing's default on Linux) gets hosts of its own on
# first use: the parent's have no threads there, so no timeouts.
_os.register_at_fork(after_in_child=_forked)

__all__ = [
    "Function",
    "build",
    "load",
    "make",
    "Error",
    "BadPackage",
    "Untrusted",
    "BadArgs",
    "GuestError",
    "Trap",
    "Timeout",
    "ResourceLimit",
]
