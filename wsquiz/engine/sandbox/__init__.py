"""Serve untrusted code in a sandbox: a clean process, its own namespaces, no capabilities,
a Landlock allowlist, cgroup limits for its whole tree, and a guard on its reports.

    grader ── zygote (a fresh Python: the server stack imported, nothing of the class)
                 └── keeper (one per sandbox: its cgroups, the root of its namespaces)
                        └── server (PID 1 of its PID namespace: the student's app)

`missing_protections()` says which of these this machine cannot give.
"""

from wsquiz.engine.sandbox.protections import missing_protections
from wsquiz.engine.sandbox.sandboxed import (
    Sandboxed,
    _running,
    kill_all,
    stop_all,
    zygote_pids,
)

__all__ = ["Sandboxed", "_running", "kill_all", "missing_protections", "stop_all", "zygote_pids"]
