"""The clock botocore's SigV4 signers read, replaced for a while.

Both signers take the signing time from datetime.datetime.utcnow(): the
Python one (botocore.auth) and, when awscrt is installed (Debian's
python3-awscrt is), the CRT one that boto3 clients then use. Patching both
lets a test sign with a skewed clock and the vector generator sign at a
fixed time."""

import contextlib
import datetime
import types
from unittest import mock

import botocore.auth


@contextlib.contextmanager
def signing_clock(utcnow):
    """Within the block, both signers take `utcnow()` as the current time."""
    real = datetime.datetime

    class PatchedDatetime(real):
        @classmethod
        def utcnow(cls):
            return utcnow()

    fake = types.SimpleNamespace(datetime=PatchedDatetime, timezone=datetime.timezone,
                                 timedelta=datetime.timedelta)
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(botocore.auth, "datetime", fake))
        try:
            import botocore.crt.auth as crt_auth
        except ImportError:
            crt_auth = None
        if crt_auth is not None:
            stack.enter_context(mock.patch.object(crt_auth, "datetime", fake))
        yield
