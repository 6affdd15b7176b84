import os
import pathlib
from typing import Any, Iterable, Optional, Sequence, Union

_Source = Union[str, os.PathLike[str], bytes, bytearray]
_Key = Union[str, os.PathLike[str], bytes]

class Error(Exception): ...
class BadPackage(Error): ...
class Untrusted(Error): ...
class BadArgs(Error, TypeError): ...
class GuestError(Error): ...
class Trap(Error): ...
class Timeout(Error): ...
class ResourceLimit(Error): ...

class Function:
    """A shipped closure, loaded and checked, ready to call."""

    @property
    def signature(self) -> str:
        """The closure's signature as Rust writes it: ``fn(own_arg: i64) -> i64``."""
    @property
    def made_by(self) -> str:
        """Who made it: ``closure_maker(3)``, or ``adder(3)(4)`` for a returned closure."""
    def __call__(self, *args: Any) -> Any:
        """Calls the closure with one value per parameter; returns its result."""
    def map(self, inputs: Iterable[Any], *, jobs: Optional[int] = None) -> list[Any]:
        """Calls the closure once per input on every core; results in input order."""
    def describe(self) -> dict[str, Any]:
        """The captured state and globals: ``{"captures": {...}, "globals": {...}}``."""
    def package(self, *, thin: bool = False) -> bytes:
        """The package's bytes; ``thin=True`` names the module instead of carrying it."""

def build(crate_dir: Union[str, os.PathLike[str]], *, target_dir: Optional[Union[str, os.PathLike[str]]] = None) -> pathlib.Path:
    """Builds a guest crate for wasm32 as ``shipfn pack`` does; returns its module's path."""

def load(
    source: _Source,
    *,
    trust: Optional[Sequence[_Key]] = None,
    timeout: Optional[float] = None,
    max_memory: Optional[int] = None,
    fuel: Optional[int] = None,
) -> Function:
    """Loads a package (a path or its bytes) and returns its function."""

def make(
    module: _Source,
    maker: str,
    *args: Any,
    timeout: Optional[float] = None,
    max_memory: Optional[int] = None,
    fuel: Optional[int] = None,
) -> Function:
    """Runs a guest module's maker with these arguments, as ``shipfn pack --make``."""
