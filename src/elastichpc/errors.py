"""Errors a user can cause or fix. The CLI prints them as one line, never a traceback."""


class EhpcError(Exception):
    """A problem the user can act on; str(error) is the one line shown."""

    exit_code = 1


class ConfigError(EhpcError):
    """Bad configuration: a file, section, key or value that does not make sense."""

    exit_code = 2


class ClusterNotFound(EhpcError):
    """A cluster name nobody knows about (neither state nor the provider)."""


class PrerequisiteError(EhpcError):
    """Something the machine or the account lacks: root, packages, credentials, quota."""


class ProviderError(EhpcError):
    """A cloud (or the local host) refused or failed a request after retries."""


class RemoteCommandError(EhpcError):
    """A command on a cluster node failed."""

    def __init__(self, message: str, returncode: int = 1, output: str = "") -> None:
        super().__init__(message)
        self.returncode = returncode
        self.output = output
