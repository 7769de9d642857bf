"""A local Orshot-compatible API server: the same paths, bodies, headers, statuses and errors as
the contract in the Orshot docs, with a persistent Posts Log, configurable accounts and injectable
faults. The quickstart, the demo and the tests run against it.

    from orshot_gitops.sandbox import SandboxServer, SandboxConfig
    with SandboxServer(data_dir=tmp, config=SandboxConfig.default()) as server:
        httpx.get(server.base_url + "/v1/social/accounts",
                  headers={"Authorization": f"Bearer {server.api_key}"})

Standard library only (the YAML config loader imports PyYAML when it reads a file).
"""

from __future__ import annotations

from orshot_gitops.sandbox.config import (
    Faults,
    RateLimit,
    SandboxAccount,
    SandboxConfig,
    SandboxTemplate,
)
from orshot_gitops.sandbox.server import SandboxServer

__all__ = [
    "Faults",
    "RateLimit",
    "SandboxAccount",
    "SandboxConfig",
    "SandboxServer",
    "SandboxTemplate",
]
