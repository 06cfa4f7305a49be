"""The broker refuses to start, with a clear message and without crashing,
when the plugin configuration is wrong; and starts with every valid option."""

import os
import unittest

from shadowtest.broker import Broker
from shadowtest.mqtt import Client, prefix


class StartupErrors(unittest.TestCase):

    def refuse(self, **kwargs):
        broker = Broker(**kwargs)
        self.addCleanup(broker.cleanup)
        code, log = broker.start_expect_exit()
        # A clean refusal: a non-zero exit status, not a signal (negative).
        self.assertGreater(code, 0, log)
        for crash in ("Segmentation", "Aborted", "terminate called", "AddressSanitizer"):
            self.assertNotIn(crash, log)
        return broker, log

    def test_unknown_option(self):
        _, log = self.refuse(options={"bogus": "1"})
        self.assertIn("bogus", log)

    def test_invalid_boolean_value(self):
        _, log = self.refuse(options={"sync_writes": "maybe"})
        self.assertIn("sync_writes", log)
        self.assertIn("maybe", log)

    def test_invalid_number_value(self):
        _, log = self.refuse(options={"max_payload_bytes": "12abc"})
        self.assertIn("max_payload_bytes", log)

    def test_invalid_enum_value(self):
        _, log = self.refuse(options={"event_topics": "sideways"})
        self.assertIn("event_topics", log)

    def test_missing_db_path(self):
        _, log = self.refuse(with_db_path=False)
        self.assertIn("db_path", log)

    def test_db_path_below_a_regular_file(self):
        broker = Broker()
        self.addCleanup(broker.cleanup)
        blocker = os.path.join(broker.dir, "not-a-directory")
        with open(blocker, "w") as f:
            f.write("x")
        _, log = self.refuse(data_dir=os.path.join(blocker, "db"))
        self.assertIn(os.path.join(blocker, "db"), log)


class StartsWithEveryOption(unittest.TestCase):
    """Control for the refusals above, and the short_topics switch."""

    def test_all_valid_options(self):
        broker = Broker(options={"sync_writes": "true", "short_topics": "false",
                                 "event_topics": "aws", "max_document_bytes": "4096",
                                 "max_depth": "6", "max_payload_bytes": "65536",
                                 "tombstone_retention_s": "0", "block_cache_mb": "8"})
        self.addCleanup(broker.cleanup)
        broker.start()
        c = Client(broker.port, "opts")
        self.addCleanup(c.close)
        short, aws = prefix("opt1", None, "short"), prefix("opt1")
        c.subscribe(short + "/get/accepted", short + "/get/rejected",
                    aws + "/get/accepted", aws + "/get/rejected")
        # With short topics off, a short-form request is not a shadow request.
        c.publish(short + "/get", b"")
        self.assertEqual(c.barrier(aws)["code"], 404)
        self.assertEqual(c.pending([short + "/get/accepted", short + "/get/rejected"]), [])


if __name__ == "__main__":
    unittest.main()
