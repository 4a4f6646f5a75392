"""Certificates the Azure emulators need, made fresh for each run.

- a CA and a server certificate for 127.0.0.1, so the ARM fake serves real HTTPS (the Azure SDKs
  refuse to send a bearer token over plain HTTP);
- a service principal's certificate, as the guide makes it (`mycert.pem` holding key and
  certificate, `mycert.pfx` with a password), which the fake's token endpoint checks.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID


@dataclass
class TlsFiles:
    ca: Path  # the CA bundle clients trust
    cert: Path  # server certificate chain
    key: Path


@dataclass
class ClientCert:
    pem: Path  # private key + certificate (the guide's CERTIFICATE PATH)
    pfx: Path  # PKCS#12 (the guide's CERT DATA PATH)
    password: str
    certificate: x509.Certificate


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _cert(subject: str, key: rsa.RSAPrivateKey, issuer: str, issuer_key: rsa.RSAPrivateKey,
          ca: bool, server_ip: str = "") -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server_ip:
        san = [x509.IPAddress(ipaddress.ip_address(server_ip)), x509.DNSName("localhost")]
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_tls(directory: Path, server_ip: str = "127.0.0.1") -> TlsFiles:
    """A CA and a server certificate for `server_ip`, where the fake listens."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, server_key = _key(), _key()
    ca = _cert("ehpc test CA", ca_key, "ehpc test CA", ca_key, ca=True)
    server = _cert(server_ip, server_key, "ehpc test CA", ca_key, ca=False, server_ip=server_ip)
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca.write_bytes(_pem(ca))
    files.cert.write_bytes(_pem(server) + _pem(ca))
    files.key.write_bytes(_key_pem(server_key))
    return files


def make_client_cert(directory: Path, password: str = "pfx-secret") -> ClientCert:
    """Like the guide's `openssl req -x509 ... -keyout mycert.pem -out mycert.pem` + pkcs12."""
    directory.mkdir(parents=True, exist_ok=True)
    key = _key()
    cert = _cert("ehpc service principal", key, "ehpc service principal", key, ca=False)
    pem = directory / "mycert.pem"
    pem.write_bytes(_key_pem(key) + _pem(cert))
    pfx = directory / "mycert.pfx"
    pfx.write_bytes(pkcs12.serialize_key_and_certificates(
        b"My Certificate", key, cert, None,
        serialization.BestAvailableEncryption(password.encode()),
    ))
    return ClientCert(pem, pfx, password, cert)
