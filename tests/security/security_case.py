"""Base test case of the security tests: one broker per class (plugin
options in broker_options; make_broker() for listener lines), clients that
keep the exact client id they are given, and requests matched to their
answer by clientToken."""

from shadowtest.cases import BrokerTestCase
from shadowtest.mqtt import Client, new_token


class SecurityCase(BrokerTestCase):

    def connect(self, client_id=None, **kwargs):
        """A client with exactly `client_id` (default: a random one), closed
        after the test. kwargs go to Client (username, password, protocol,
        tls)."""
        c = Client(self.broker.port, "c", client_id=client_id, **kwargs)
        self.addCleanup(c.close)
        return c

    def request(self, client, p, op, payload=None):
        """Publishes a request with a fresh clientToken and returns (outcome,
        document) of its answer; `client` must be subscribed to
        <p>/<op>/+ (or a wider filter)."""
        return client.request(p, op, payload or {}, token=new_token())
