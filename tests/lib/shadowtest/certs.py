"""Certificates made for a test: a self-signed server certificate (the REST
API over TLS) and scripts/gen-certs.sh PKIs (mutual TLS on MQTT)."""

import os
import shutil
import subprocess

from shadowtest import REPO

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
GEN_CERTS = os.path.join(REPO, "scripts", "gen-certs.sh")


def self_signed(directory):
    """A self-signed P-256 server certificate for 127.0.0.1 and localhost,
    valid two days; returns (cert path, key path). The certificate is its own
    CA: clients verify the server against the certificate file."""
    cert = os.path.join(directory, "server.crt")
    key = os.path.join(directory, "server.key")
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    os.chmod(key, 0o600)
    return cert, key


def gen_certs(directory, *devices):
    """scripts/gen-certs.sh DIRECTORY DEVICE...: ca.crt/key, server.crt/key
    and one <device>.crt/key pair per device (CN = the device name)."""
    subprocess.run(["sh", GEN_CERTS, directory] + list(devices), check=True, capture_output=True,
                   timeout=120)


def client_tls(directory, name=None):
    """The `tls` argument of mqtt.Client for a gen-certs directory: its CA,
    and the certificate and key of `name` (None: no client certificate)."""
    tls = {"ca": os.path.join(directory, "ca.crt")}
    if name is not None:
        tls["cert"] = os.path.join(directory, name + ".crt")
        tls["key"] = os.path.join(directory, name + ".key")
    return tls
