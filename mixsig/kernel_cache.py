"""numba's on-disk cache of mixsig's compiled kernels, keyed on the package's sources.

numba (``cache=True``) stores each compiled function beside its module (``__pycache__``, or the
user-wide cache directory when that is not writable, or ``NUMBA_CACHE_DIR``) and reuses it while
the stamp of *that function's own file* is unchanged. A kernel inlines the functions it calls
from other files, so after an edit of a callee only (say ``circuits/dpi.py``) numba would keep
running the caller's stale machine code. Here every mixsig kernel's stamp is instead the SHA-256
of all of the package's Python sources (:func:`source_hash`): any change to the package,
including constants that compiled code freezes in, invalidates every cached kernel, and stale
code can never run. The files go where numba would put them, in a subfolder named for the hash
(``numba-<hash>``): processes running different sources (an edit while a run goes on) never
share an index or a compiled file, and numba's index of one version can never point at code
compiled from another (numba writes the index and the code as two files).

Several processes of one source version share that folder (a test suite, an ensemble, two
notebooks). numba's own ``IndexDataCacheFile.save`` is not safe for that: it reads the index,
picks the first free code-file number and writes both back, so two processes compiling two
signatures of one kernel at once can both pick number 1 and one index then names the other's
code, which segfaults when loaded. :func:`register` therefore serialises every save into a
``numba-<hash>`` folder under an exclusive ``flock`` on that folder's ``.lock`` file (POSIX; on
a platform without ``fcntl`` saves stay unlocked). Loads need no lock: numba replaces each file
atomically, and under the lock a code-file number, once in an index, is never given to another
signature.

Loading a package kernel from the cache skips numba's full refresh of its compiler context
(:func:`_light_load`): numba refreshes it before every cache load, and the first refresh imports
its whole library of compiler implementations (``numba.np.arraymath`` with ``scipy.linalg``,
``cffi``'s C parser, ...), 0.4-0.6 CPU-s of every warm start, which machine code loaded from the
cache does not use. A load needs only numba's runtime (NRT) and the process's hash secret
registered as symbols; a compilation still refreshes the context first (numba's compiler does).

The locator is registered with numba once, when this module is first imported; the subpackages
holding kernels (``circuits``, ``aer``, ``engine``) import it before any of their modules
decorates a function, because numba picks a function's locator when it is decorated. It answers
only for files inside the package; every other function keeps numba's own locators.
"""

import contextlib
import functools
import hashlib
import os
import pathlib
import tempfile

from numba.core import caching
from numba.core.runtime import rtsys

try:
    import fcntl
except ImportError:  # not POSIX: saves stay unlocked
    fcntl = None

PACKAGE_DIR = pathlib.Path(__file__).resolve().parent
"""The directory of the mixsig package whose sources key the cache."""


@functools.lru_cache(maxsize=None)
def source_hash():
    """SHA-256 (hex) of the package's Python sources, computed once per process.

    Every ``*.py`` file under :data:`PACKAGE_DIR`, in sorted order of its relative path, hashed
    with that path, so that renaming or moving code changes the hash too.
    """
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _numba_class(name):
    """A class of ``numba.core.caching`` by its public name (numba >= 0.61) or private one (older)."""
    return getattr(caching, name, None) or getattr(caching, "_" + name)


class PackageSourceLocator(_numba_class("CacheLocator")):
    """Cache locator of the package's kernels: :func:`source_hash` as stamp and folder name.

    Wraps the locator numba would have chosen (user-provided directory, in-tree ``__pycache__``
    or user-wide directory, in numba's order): the cache goes to its folder's subfolder
    ``numba-<first 16 hex digits of the hash>``.
    """

    _bases = tuple(_numba_class(name) for name in
                   ("UserProvidedCacheLocator", "InTreeCacheLocator", "UserWideCacheLocator"))

    def __init__(self, base):
        self._base = base
        self._path = os.path.join(base.get_cache_path(), f"numba-{source_hash()[:16]}")

    def ensure_cache_path(self):
        os.makedirs(self._path, exist_ok=True)
        tempfile.TemporaryFile(dir=self._path).close()

    def get_cache_path(self):
        return self._path

    def get_disambiguator(self):
        return self._base.get_disambiguator()

    def get_source_stamp(self):
        return source_hash()

    @classmethod
    def from_function(cls, py_func, py_file):
        folder = os.path.dirname(os.path.abspath(py_file))
        if folder not in _USABLE:  # inside the package? (once per source folder)
            try:
                _USABLE[folder] = pathlib.Path(folder).resolve().is_relative_to(PACKAGE_DIR)
            except OSError:
                _USABLE[folder] = False
        if not _USABLE[folder]:
            return None
        for base in cls._bases:
            if (base, folder) not in _USABLE:  # numba's own checks (a writable folder), once per source folder
                _USABLE[base, folder] = base.from_function(py_func, py_file) is not None
            if not _USABLE[base, folder]:
                continue
            locator = cls(base(py_func, py_file))
            if (cls, locator._path) not in _USABLE:
                try:
                    locator.ensure_cache_path()
                except OSError:
                    continue
                _USABLE[cls, locator._path] = True
            return locator
        return None


_USABLE = {}
"""What this process has checked already, by source folder: whether it is inside the package,
and ``(numba locator class, folder) -> usable``; and the cache folders made sure of (created and
written to). The ~120 kernels of a run live in a few folders, and numba's locators check a
kernel's folder anew for each kernel (a directory and a temporary file each time): 0.2-0.3 s of
every start under load. numba checks a folder again before each save."""


@contextlib.contextmanager
def folder_lock(path):
    """Hold an exclusive ``flock`` on ``path/.lock`` (a no-op without ``fcntl``)."""
    if fcntl is None:
        yield
        return
    with open(os.path.join(path, ".lock"), "ab") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _locked_save(save):
    """numba's ``IndexDataCacheFile.save``, under :func:`folder_lock` in the package's folders."""
    @functools.wraps(save)
    def locked(self, key, data):
        if not os.path.basename(self._cache_path).startswith("numba-"):
            return save(self, key, data)
        with folder_lock(self._cache_path):
            return save(self, key, data)
    locked.mixsig_locked = True
    return locked


def _light_load(load_overload):
    """numba's ``Cache.load_overload``, for the package's kernels without the context refresh.

    numba's version calls ``target_context.refresh()`` before every load: the first call imports
    and installs all of numba's typing and lowering registries (0.4-0.6 CPU-s, most of it
    ``numba.np.arraymath``, which imports ``scipy.linalg`` to check for BLAS), which only a
    compilation uses. What loaded machine code needs is every external symbol it may reference
    registered with LLVM: numba's C helpers and math functions (registered when the CPU target
    context is made), the parallel scheduler's (a parallel kernel's reload hook registers them),
    the runtime's (``rtsys.initialize``) and the hash secret (``numba.cpython.hashing``, at its
    import); this does the last two. Other functions' caches load as numba loads them.
    """
    @functools.wraps(load_overload)
    def light(self, sig, target_context):
        if not isinstance(self._impl.locator, PackageSourceLocator):
            return load_overload(self, sig, target_context)
        rtsys.initialize(target_context)
        import numba.cpython.hashing  # noqa: F401  (registers the _numba_hashsecret_* symbols)

        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)
    light.mixsig_light = True
    return light


def register():
    """Put :class:`PackageSourceLocator` first in numba's locator list, lock saves into its
    folders and load from them without the context refresh where numba's ``Cache`` has the
    private methods :func:`_light_load` calls (once; idempotent)."""
    locators = caching.CacheImpl._locator_classes
    if PackageSourceLocator not in locators:
        locators.insert(0, PackageSourceLocator)
    cache_file = _numba_class("IndexDataCacheFile")
    if not getattr(cache_file.save, "mixsig_locked", False):
        cache_file.save = _locked_save(cache_file.save)
    light_usable = all(hasattr(caching.Cache, name) for name in ("_load_overload", "_guard_against_spurious_io_errors"))
    if light_usable and not getattr(caching.Cache.load_overload, "mixsig_light", False):
        # a numba without these private methods keeps its own (slower, refreshing) load
        caching.Cache.load_overload = _light_load(caching.Cache.load_overload)


register()
