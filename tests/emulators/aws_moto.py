"""moto_server with two things AWS has and moto lacks, for the tests and the cloud lab.

- The Debian 12 AMI that Debian publishes (owner 136693071363) and its SSM public parameter
  /aws/service/debian/release/12/latest/amd64, which AWS serves in every region (moto ships
  Amazon Linux's parameters only).
- RunInstances with spot market options makes the one-time spot request AWS makes for each
  instance (tagged from the call's `spot-instances-request` tag specification, named on the
  instance as `SpotInstanceRequestId`); moto makes none.
- GetConsoleOutput answers with what the instance's machine printed: the file `console_of`
  names for the instance when it exists (the cloud lab: its machine's console log; the tests:
  `$EHPC_MOTO_CONSOLE_DIR/<instance-id>.log`), else moto's sample text.

Run as moto_server is run: python -m tests.emulators.aws_moto -H 127.0.0.1 -p PORT; or call
`install()` before starting moto in-process.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEBIAN_OWNER = "136693071363"
DEBIAN_AMI = "ami-0d3b1a2c4e5f60718"
DEBIAN_NAME = "debian-12-amd64-20261101-1917"
DEBIAN_PARAMETER = "/aws/service/debian/release/12/latest/amd64"
CONSOLE_DIR_ENV = "EHPC_MOTO_CONSOLE_DIR"


def _add_debian_ami() -> None:
    from moto.ec2.models.amis import Ami, AmiBackend

    load = AmiBackend._load_amis

    def load_with_debian(self: Any) -> None:
        load(self)
        self.amis[DEBIAN_AMI] = Ami(
            self, ami_id=DEBIAN_AMI, name=DEBIAN_NAME, owner_id=DEBIAN_OWNER, public=True,
            description="Debian 12 (20261101-1917)", architecture="x86_64",
            virtualization_type="hvm", root_device_type="ebs", root_device_name="/dev/xvda",
            state="available")

    AmiBackend._load_amis = load_with_debian  # type: ignore[method-assign]


def _add_debian_parameter() -> None:
    from moto.core.utils import utcnow
    from moto.ssm.models import Parameter, ParameterDict

    check = ParameterDict._check_loading_status

    def check_with_debian(self: Any, key: str) -> None:
        check(self, key)
        if str(key or "").startswith("/aws/service/debian") and not dict.get(self, DEBIAN_PARAMETER):
            dict.__getitem__(self, DEBIAN_PARAMETER).append(Parameter(
                account_id=self.account_id, name=DEBIAN_PARAMETER, value=DEBIAN_AMI,
                parameter_type="String", description=None, allowed_pattern=None, keyid=None,
                last_modified_date=utcnow(), version=1, data_type="aws:ec2:image"))

    ParameterDict._check_loading_status = check_with_debian  # type: ignore[method-assign]


def console_from_env(instance_id: str) -> Path | None:
    directory = os.environ.get(CONSOLE_DIR_ENV, "")
    return Path(directory) / f"{instance_id}.log" if directory else None


def _console_from_files(console_of: Callable[[str], Path | None]) -> None:
    from moto.core.responses import ActionResult
    from moto.core.types import Base64EncodedString
    from moto.core.utils import utcnow
    from moto.ec2.responses.general import General

    sample = General.get_console_output

    def console_output(self: Any) -> Any:
        instance = self.ec2_backend.get_instance(self._get_param("InstanceId"))
        path = console_of(instance.id)
        if path is None or not path.is_file():
            return sample(self)
        text = path.read_text(errors="replace")[-64 * 1024:]  # EC2 keeps the last 64 KiB
        return ActionResult({"InstanceId": instance.id, "Timestamp": utcnow(),
                             "Output": Base64EncodedString.from_raw_string(text)})

    General.get_console_output = console_output  # type: ignore[method-assign]


def _implicit_spot_requests() -> None:
    from moto.ec2.models.spot_requests import SpotInstanceRequest
    from moto.ec2.responses.instances import InstanceResponse
    from moto.ec2.utils import random_spot_request_id

    class ImplicitRequest(SpotInstanceRequest):
        """The one-time request AWS makes for an instance RunInstances launches as spot."""

        __module__ = SpotInstanceRequest.__module__  # moto's model registry keys on it

        def __init__(self, backend: Any, instance: Any, price: str, tags: dict[str, Any]) -> None:
            self._launched = instance
            zone = getattr(instance, "placement", None)
            super().__init__(backend, random_spot_request_id(), price, instance.image_id, "one-time",
                             None, None, None, None, instance.key_name, [], None,
                             instance.instance_type, zone if isinstance(zone, str) else None,
                             None, None, False, instance.subnet_id, tags, None, None)

        def launch_instance(self) -> Any:
            return self._launched

    run = InstanceResponse.run_instances

    def run_with_requests(self: Any) -> Any:
        result = run(self)
        if self._get_param("InstanceMarketOptions.MarketType") == "spot":
            price = self._get_param("InstanceMarketOptions.SpotOptions.MaxPrice") or ""
            tags = self._parse_tag_specification()
            for instance in result.result.instances:
                request = ImplicitRequest(self.ec2_backend, instance, price, tags)
                self.ec2_backend.spot_instance_requests[request.id] = request
                instance.spot_instance_request_id = request.id
        return result

    InstanceResponse.run_instances = run_with_requests  # type: ignore[method-assign]


def install(console_of: Callable[[str], Path | None] = console_from_env) -> None:
    """Patch moto (this process's) as the module says."""
    _add_debian_ami()
    _add_debian_parameter()
    _console_from_files(console_of)
    _implicit_spot_requests()


def main(argv: list[str] | None = None) -> None:
    from moto.server import main as moto_main

    install()
    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
