"""Fleet features from the outside (search-index and get-statistics go
through shadowtest.rest.make_iot_client): signed calls to our own routes (fleet
updates, shadow history), filling a broker with many shadows over one MQTT
connection, and bounded waits for fleet updates."""

import json
import time
import urllib.parse

from shadowtest.mqtt import Client
from shadowtest.rest import raw_request

FLEET_UPDATES = "/api/fleet/updates"
WAIT_S = 120.0


def call(broker, method, path, body=None, service="iotdata"):
    """A signed request to one of our own routes; `body` (a dict) goes as
    JSON. Returns the RawResponse."""
    data = b"" if body is None else json.dumps(body).encode()
    return raw_request(broker, method, path, data, service=service)


def history(broker, thing, shadow=None, from_version=None, page_size=None):
    """GET /things/{thing}/shadow/history; returns the RawResponse."""
    params = []
    if shadow is not None:
        params.append(("name", shadow))
    if from_version is not None:
        params.append(("fromVersion", str(from_version)))
    if page_size is not None:
        params.append(("pageSize", str(page_size)))
    path = "/things/%s/shadow/history" % urllib.parse.quote(thing, safe="")
    if params:
        path += "?" + urllib.parse.urlencode(params)
    return call(broker, "GET", path)


def start_update(broker, query, state, operation_id=None, shadow=None):
    body = {"queryString": query, "state": state}
    if operation_id is not None:
        body["operationId"] = operation_id
    if shadow is not None:
        body["shadowName"] = shadow
    return call(broker, "POST", FLEET_UPDATES, body)


def describe_update(broker, operation_id):
    r = call(broker, "GET", FLEET_UPDATES + "/" + operation_id)
    if r.status != 200:
        raise AssertionError("describe %s: %r" % (operation_id, r))
    return r.json()


def wait_update(broker, operation_id, until=lambda op: op["status"] != "RUNNING", timeout=WAIT_S):
    """Polls the operation (every 50 ms, at most `timeout` s) until `until`
    holds; returns its last record."""
    deadline = time.monotonic() + timeout
    while True:
        op = describe_update(broker, operation_id)
        if until(op):
            return op
        if time.monotonic() > deadline:
            raise AssertionError("fleet update %s: condition not reached in %.0f s: %r"
                                 % (operation_id, timeout, op))
        time.sleep(0.05)


def fill(port, docs, window=200, timeout=WAIT_S):
    """Writes many shadows over one MQTT connection: `docs` is a list of
    (thing, shadow_or_None, state_dict). Keeps `window` updates in flight
    and waits (bounded) for every accepted reply; raises on a rejection."""
    state = {"accepted": 0, "rejected": []}
    import threading
    cond = threading.Condition()

    def on_message(m):
        with cond:
            if m.topic.endswith("/accepted"):
                state["accepted"] += 1
            else:
                state["rejected"].append((m.topic, m.payload[:200]))
            cond.notify_all()

    c = Client(port, "filler", on_message=on_message)
    try:
        c.subscribe("$aws/things/+/shadow/update/accepted", "$aws/things/+/shadow/update/rejected",
                    "$aws/things/+/shadow/name/+/update/accepted",
                    "$aws/things/+/shadow/name/+/update/rejected")
        deadline = time.monotonic() + timeout
        sent = 0
        for thing, shadow, st in docs:
            with cond:
                while sent - state["accepted"] - len(state["rejected"]) >= window:
                    if not cond.wait(max(0.0, deadline - time.monotonic())):
                        raise AssertionError("fill: no replies for too long (%d sent)" % sent)
            topic = "$aws/things/%s/shadow/%supdate" % (thing, "" if shadow is None else "name/%s/" % shadow)
            c.publish(topic, {"state": st}, wait=False)
            sent += 1
        with cond:
            done = cond.wait_for(lambda: state["accepted"] + len(state["rejected"]) >= sent,
                                 max(0.0, deadline - time.monotonic()))
        if state["rejected"]:
            raise AssertionError("fill: rejected updates: %r" % state["rejected"][:5])
        if not done:
            raise AssertionError("fill: %d of %d accepted in %.0f s" % (state["accepted"], sent, timeout))
    finally:
        c.close()


def search_all(iot, query, page_size=None, shadows=False):
    """Every thing the query matches, following nextToken (bounded): the
    names, or (name, parsed shadow) pairs with `shadows`."""
    out = []
    token = None
    for _ in range(10000):
        args = {"indexName": "AWS_Things", "queryString": query}
        if page_size is not None:
            args["maxResults"] = page_size
        if token is not None:
            args["nextToken"] = token
        r = iot.search_index(**args)
        for t in r["things"]:
            out.append((t["thingName"], json.loads(t["shadow"]) if "shadow" in t else None) if shadows
                       else t["thingName"])
        token = r.get("nextToken")
        if token is None:
            return out
    raise AssertionError("search_all: too many pages")
