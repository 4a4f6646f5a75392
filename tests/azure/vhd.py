"""Fixed-size VHDs as page blobs in Azurite, the way a user uploads one for Azure to import."""

from __future__ import annotations

import struct
import time
import uuid

from azure.storage.blob import BlobServiceClient

from tests.emulators.azure.azurite_process import ACCOUNT, ACCOUNT_KEY

MIB = 1024**2


def vhd_footer(size: int) -> bytes:
    """The 512-byte footer of a fixed VHD (the format Azure imports)."""
    cylinders, heads, sectors = 65535, 16, 255
    fields = struct.pack(
        ">8sII Q I4sI4s QQ HBB II 16sB",
        b"conectix", 2, 0x00010000, 0xFFFFFFFFFFFFFFFF, int(time.time()) - 946684800,
        b"ehpc", 0x000A0000, b"Wi2k", size, size, cylinders, heads, sectors, 2, 0,
        uuid.uuid4().bytes, 0,
    )
    footer = bytearray(fields.ljust(512, b"\0"))
    checksum = ~sum(footer) & 0xFFFFFFFF
    footer[64:68] = struct.pack(">I", checksum)
    return bytes(footer)


def upload_vhd(blob_endpoint: str, container: str, name: str, size_mib: int) -> str:
    """A page blob of `size_mib` MiB of data plus the footer; returns its URL."""
    key = {"account_name": ACCOUNT, "account_key": ACCOUNT_KEY}
    service = BlobServiceClient(blob_endpoint, credential=key)
    box = service.get_container_client(container)
    if not box.exists():
        box.create_container()
    size = size_mib * MIB
    blob = box.get_blob_client(name)
    blob.create_page_blob(size + 512)
    blob.upload_page(b"\x5a" * 512, offset=0, length=512)
    blob.upload_page(vhd_footer(size), offset=size, length=512)
    return str(blob.url)
