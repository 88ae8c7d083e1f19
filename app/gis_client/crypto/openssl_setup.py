"""Point OpenSSL at the gost provider and engine before anything initialises it (gis-protocol.md §6).

Kept apart from the backends: importing this module must not import hashlib or ssl, so the entry points can
call `configure_openssl()` first.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

_OPENSSL_CNF = Path(__file__).with_name("openssl-gost.cnf")
_ENGINE_DIRS = ("/usr/lib/x86_64-linux-gnu/engines-3", "/usr/lib/aarch64-linux-gnu/engines-3",
                "/usr/lib64/engines-3", "/usr/lib/engines-3")  # fmt: skip
_MODULE_DIRS = ("/usr/lib/x86_64-linux-gnu/ossl-modules", "/usr/lib/aarch64-linux-gnu/ossl-modules",
                "/usr/lib64/ossl-modules", "/usr/lib/ossl-modules")  # fmt: skip


def _openssl_dirs() -> tuple[list[str], list[str]]:
    engines, modules = list(_ENGINE_DIRS), list(_MODULE_DIRS)
    exe = shutil.which("openssl")
    if exe:
        try:
            out = subprocess.run(
                [exe, "version", "-e", "-m"], capture_output=True, text=True, timeout=5, check=False
            ).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        for line in out.splitlines():
            key, _, value = line.partition(":")
            value = value.strip().strip('"')
            if key.strip() == "ENGINESDIR":
                engines.insert(0, value)
            elif key.strip() == "MODULESDIR":
                modules.insert(0, value)
    return engines, modules


@functools.lru_cache(maxsize=1)
def find_gost_libraries() -> tuple[str | None, str | None]:
    """Return paths of the gost provider (gostprov.so) and engine (gost.so), or None where missing."""
    engines, modules = _openssl_dirs()
    provider = next((str(Path(d, "gostprov.so")) for d in modules if Path(d, "gostprov.so").is_file()), None)
    engine = next((str(Path(d, "gost.so")) for d in engines if Path(d, "gost.so").is_file()), None)
    return provider, engine


def configure_openssl(*, force: bool = False) -> bool:
    """Point OPENSSL_CONF at the packaged gost config; call before anything initialises OpenSSL."""
    # OpenSSL reads its config once, at the first use of libcrypto (hashlib/ssl import is enough), so this
    # must run at the very top of entry points. The packaged cnf takes the .so paths from environment
    # variables (OpenSSL's $ENV:: syntax) because they differ between distributions.
    if os.environ.get("OPENSSL_CONF") and not force:
        return os.environ["OPENSSL_CONF"] == str(_OPENSSL_CNF)
    provider, engine = find_gost_libraries()
    if provider is None or engine is None:
        log.info("OpenSSL gost provider/engine not found; the python crypto backend will be used")
        return False
    os.environ["GISGW_OPENSSL_GOSTPROV"] = provider
    os.environ["GISGW_OPENSSL_GOSTENGINE"] = engine
    os.environ["OPENSSL_CONF"] = str(_OPENSSL_CNF)
    return True
