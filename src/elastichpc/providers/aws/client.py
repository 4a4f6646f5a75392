"""The EC2 client: credentials, the guide's region names, retries, and errors in one line.

Credentials come from [AWS] accessKey/secretKey when both are set, else from boto3's standard
chain (environment, profile, instance role). The standard AWS_ENDPOINT_URL (honoured by boto3
itself) points everything at another endpoint, e.g. an emulator.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ...config import Settings
from ...errors import ConfigError, EhpcError, PrerequisiteError, ProviderError

log = logging.getLogger("elastichpc.aws")

# The guide's region names (EC2 API tools era) and the regions they name today.
GUIDE_REGIONS = {
    "US1": "us-east-1",
    "USE1": "us-east-1",
    "USW1": "us-west-1",
    "USW2": "us-west-2",
    "EU1": "eu-west-1",
    "EUW1": "eu-west-1",
    "AP1": "ap-southeast-1",
    "APSE1": "ap-southeast-1",
    "APNE1": "ap-northeast-1",
    "SA1": "sa-east-1",
}

# Error codes a user fixes (credentials, quota, bad names) rather than a failing cloud.
USER_ERRORS = {
    "AuthFailure": PrerequisiteError,
    "UnauthorizedOperation": PrerequisiteError,
    "InvalidClientTokenId": PrerequisiteError,
    "SignatureDoesNotMatch": PrerequisiteError,
    "InstanceLimitExceeded": PrerequisiteError,
    "VcpuLimitExceeded": PrerequisiteError,
    "VolumeLimitExceeded": PrerequisiteError,
    "MaxSpotInstanceCountExceeded": PrerequisiteError,
    "InvalidAMIID": ConfigError,
    "InvalidKeyPair": ConfigError,
    "InvalidZone": ConfigError,
}


def region_name(settings: Settings) -> str:
    """[AWS] REGION when set, either a real region (eu-west-1) or one of the guide's names (EU1);
    else AWS's own chain (AWS_REGION, AWS_DEFAULT_REGION, the profile's region); else the
    built-in default."""
    region = str(settings.get("AWS", "REGION")).strip()
    if not settings.is_set("AWS", "REGION"):
        region = _standard_region() or region
    real = GUIDE_REGIONS.get(region.upper(), region)
    parts = real.split("-")
    if len(parts) < 3 or not parts[-1].isdigit():
        raise ConfigError(
            f"[AWS] REGION {region!r} is not an AWS region (e.g. eu-west-1, us-east-1) "
            f"nor one of the guide's names ({', '.join(sorted(GUIDE_REGIONS))})"
        )
    return real


def _standard_region() -> str:
    found = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if found:
        return found.strip()
    import botocore.session
    from botocore.exceptions import BotoCoreError

    try:  # the profile's region (AWS_PROFILE, AWS_CONFIG_FILE), as the AWS CLI reads it
        return str(botocore.session.Session().get_config_variable("region") or "")
    except BotoCoreError:  # a missing profile: making the session says so in one line
        return ""


def warn_retired_keys(settings: Settings) -> None:
    for key in ("pkey", "cert"):
        if settings.is_set("AWS", key):
            log.warning(
                "[AWS] %s (X.509) is no longer used by EC2's API and is ignored; "
                "credentials come from accessKey/secretKey or the standard AWS chain", key
            )


def make_session(settings: Settings) -> Any:
    import boto3

    access, secret = settings.get("AWS", "accessKey"), settings.get("AWS", "secretKey")
    if bool(access) != bool(secret):
        raise ConfigError("[AWS] accessKey and secretKey go together: set both or neither")
    return boto3.session.Session(
        aws_access_key_id=access or None,
        aws_secret_access_key=secret or None,
        region_name=region_name(settings),
    )


def client_config() -> Any:
    """Retries, timeouts and connection pool of every client."""
    from botocore.config import Config

    attempts = int(os.environ.get("EHPC_AWS_MAX_ATTEMPTS", "8"))
    return Config(
        retries={"mode": "standard", "total_max_attempts": attempts},
        connect_timeout=10,
        read_timeout=60,
        max_pool_connections=20,
    )


# EC2's answers that a capacity pool is exhausted: server errors, which botocore retries as any
# other (8 attempts take ~40 s), while a failover wants the next cloud now.
CAPACITY_CODES = {"InsufficientInstanceCapacity", "InsufficientHostCapacity", "InsufficientCapacity"}


def make_ec2(session: Any) -> Any:
    client = session.client("ec2", config=client_config())
    client.meta.events.register_first("needs-retry.ec2.RunInstances", _capacity_is_final)
    return client


def _capacity_is_final(response: Any = None, operation: Any = None, **_: Any) -> None:
    """Ends the call at once with EC2's own error, before botocore's retry handler runs."""
    from botocore.exceptions import ClientError

    if response and response[1].get("Error", {}).get("Code") in CAPACITY_CODES:
        raise ClientError(response[1], operation.name)


def check_credentials(session: Any) -> None:
    if session.get_credentials() is None:
        raise PrerequisiteError(
            "no AWS credentials: set [AWS] accessKey and secretKey, AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE) or run on an instance with a role"
        )


def error_code(err: Exception) -> str:
    response = getattr(err, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


@contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Turn what botocore raises into one line that names the action."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as err:
        code = error_code(err)
        message = err.response.get("Error", {}).get("Message", "") or str(err)
        kind = USER_ERRORS.get(code) or USER_ERRORS.get(code.split(".")[0], ProviderError)
        retried = err.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
        after = f" (after {retried + 1} attempts)" if retried else ""
        raise kind(f"AWS refused to {action}: {code}: {message}{after}") from None
    except BotoCoreError as err:
        raise ProviderError(f"AWS: could not {action}: {err}") from None
    except EhpcError:
        raise
