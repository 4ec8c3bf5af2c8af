"""What `romcam serve` imports before it answers: nothing it needs only later.

Every start of the server (``make run``, a laptop after a reboot, each server the tests start) paid 2 s importing
scipy.signal, which only the end of a set needs (romcam.filters.smooth_zero_phase imports it on first use, and the
live coach preloads it on a thread of its own), and 0.2 s making an argon2 hash at import that only a login with an
unknown email needs.
"""

from __future__ import annotations

import json
import subprocess
import sys

CHECK = """
import json, sys, time
import argon2
hashed = []
real = argon2.PasswordHasher.hash
argon2.PasswordHasher.hash = lambda self, p, **k: hashed.append(1) or real(self, p, **k)
import romcam.server.app, romcam.cli
print(json.dumps({"scipy.signal": "scipy.signal" in sys.modules, "hashes": len(hashed)}))
"""


def test_the_server_module_imports_no_scipy_signal_and_hashes_nothing() -> None:
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(done.stdout) == {"scipy.signal": False, "hashes": 0}

