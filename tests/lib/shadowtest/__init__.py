"""The Python test library of mosquitto-shadow, shared by every Python test
under tests/ (tests/CMakeLists.txt puts tests/lib on PYTHONPATH).

    broker   a real mosquitto with the plugin on free loopback ports
             (generated configuration, or one the caller writes)
    mqtt     the MQTT client: bounded waits, request/answer, barriers
    cases    base test cases and shadow request helpers
    rest     the REST API: broker, boto3 iot-data clients, raw HTTP
    durable  durable-mode broker and its fsync trace
    burst    publishers of a QoS 1 burst, for the kill -9 tests
    certs    a self-signed server certificate; scripts/gen-certs.sh PKIs
"""

import os

# The repository root (this file is tests/lib/shadowtest/__init__.py).
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
