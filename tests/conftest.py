"""The tests' cache: always their own, never the user's ``$GRADLAB_CACHE_DIR``.

Each session gets a fresh directory (so no sweep point of an earlier run, with other code, is
resumed); its ``kernels/`` links to one kernel cache kept for the tests between sessions (generated
kernels carry a fingerprint of their sources and rebuild themselves, and compiling them all takes
minutes).  ``tests/test_own_cache.py`` checks that the user's cache is left untouched.
"""
import atexit
import os
import shutil
import tempfile

#: The user's own cache directory (None if unset): the tests never write there.
USER_CACHE_DIR = os.environ.get("GRADLAB_CACHE_DIR")
_uid = os.getuid() if hasattr(os, "getuid") else "user"
#: Kernels compiled by the tests, kept between sessions.
TEST_KERNELS = os.path.join(tempfile.gettempdir(), f"gradlab-test-kernels-{_uid}")
#: This session's cache directory, removed at exit.
TEST_CACHE_DIR = tempfile.mkdtemp(prefix="gradlab-test-cache-")

os.makedirs(TEST_KERNELS, exist_ok=True)
try:
    os.symlink(TEST_KERNELS, os.path.join(TEST_CACHE_DIR, "kernels"), target_is_directory=True)
except OSError:  # no symbolic links here: compile into the session's own directory
    pass
os.environ["GRADLAB_CACHE_DIR"] = TEST_CACHE_DIR
atexit.register(shutil.rmtree, TEST_CACHE_DIR, ignore_errors=True)  # unlinks kernels/, keeps its target
