"""The fenced command blocks of the user documentation, and the blocks that
tests/docker/test_docs.py runs for real (RUN).

Every user document is scanned: README.md, docs/**/*.md, docker/README.md,
examples/README.md and tests/*/README.md. A block is a shell block
(```sh, ```bash, ```shell, ```console) or a ```python block; test_docs.py
fails when one of its commands is neither run here nor listed in its
ELSEWHERE inventory.
"""

import glob
import os
import re
import signal
import subprocess

from shadowtest import REPO
from shadowtest.broker import START_ATTEMPTS, STOP_TIMEOUT_S, free_ports, wait_listening

SHELL_LANGS = {"sh", "bash", "shell", "console"}


def user_docs():
    """Every user document, in a stable order."""
    paths = [os.path.join(REPO, "README.md")]
    paths += sorted(glob.glob(os.path.join(REPO, "docs", "**", "*.md"), recursive=True))
    paths += [os.path.join(REPO, d, "README.md") for d in ("docker", "examples")]
    paths += sorted(glob.glob(os.path.join(REPO, "tests", "*", "README.md")))
    return [p for p in paths if os.path.isfile(p)]


def sh_blocks(path):
    """[(first line number, language, text)] of the fenced blocks of a file."""
    blocks = []
    with open(path) as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)```(\w*)\s*$", lines[i])
        if m:
            indent, lang = m.groups()
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            body = "\n".join(l[len(indent):] for l in lines[i + 1:j])
            blocks.append((i + 1, lang, body))
            i = j + 1
        else:
            i += 1
    return blocks


def shell_blocks():
    """[(path, line, language, text)] of every shell and python block of the
    user documents."""
    return [(path, n, lang, body) for path in user_docs() for n, lang, body in sh_blocks(path)
            if lang in SHELL_LANGS or lang == "python"]


def commands(block_text, lang="sh"):
    """The commands of a shell block: comment lines dropped, continuations
    joined, trailing `# comments` removed. In a ```console block only the
    lines after a `$ ` prompt are commands."""
    out = []
    pending = ""
    for line in block_text.split("\n"):
        if lang == "console" and not pending:
            if not line.startswith("$ "):
                continue
            line = line[2:]
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        text = (pending + line).strip()
        pending = ""
        text = re.sub(r"\s+#\s.*$", "", text)  # `cmd   # explanation`
        out.append(re.sub(r"\s+", " ", text))
    return out


def block_keys(lang, body):
    """The RUN keys a block may have, most specific first: its first two
    commands (for blocks that start alike), its first command."""
    if lang == "python":
        cmds = [l for l in body.split("\n") if l.strip()]
    else:
        cmds = commands(body, lang)
    return [" … ".join(cmds[:2])] * (len(cmds) > 1) + cmds[:1]


def rules_json(name, index):
    """A setup command writing the `index`-th ```json block of docs/rules.md
    to `name`."""
    path = os.path.join(REPO, "docs", "rules.md")
    blocks = [body for _n, lang, body in sh_blocks(path) if lang == "json"]
    return "cat > %s <<'JSON'\n%s\nJSON" % (name, blocks[index])


# The blocks run here, in this order, keyed by (document, first command), or
# (document, "first command … second command") for blocks that start alike.
# broker: "sigv4" runs the block against the shared broker (scripts/run-broker.sh
#         with the REST API on a free port and the documented credentials file);
#         None: the block starts its own brokers with its run-broker.sh lines.
# setup:  commands run first (what the reader did in earlier sections).
# skip:   commands not run here; each must be in test_docs.ELSEWHERE.
# subs:   extra text replacements ({tmp} is the block's working directory,
#         {repo} the repository).
# allow_exit: {command: status} a command may also end with.
# errexit: False for a block that inspects $? itself.
# expect: text its output must contain.
# output: True when the plain ``` block right after it shows what the block
#         prints: each of its lines must match an output line, in order, with
#         timestamps as the only free values and `…` standing for any text.
# The mosquitto clients (mosquitto_pub, _sub, _rr) of every block reach the
# block's broker without -h/-p: their default options come from
# $XDG_CONFIG_HOME/<client>, a documented feature of the clients.
# Two shadows the fleet examples find (docs/fleet.md, docs/shadowctl.md).
FLEET_SETUP = ("shadowctl update line-7-dev-0000017 --reported '{\"temp\":97.5,\"fw\":\"v1.2\"}' >/dev/null && "
               "shadowctl update line-7-dev-0000027 --reported '{\"temp\":98.1,\"fw\":\"v1.3\"}' >/dev/null")

RUN = {
    # docs/mqtt-api.md: each example uses a thing of its own on the shared
    # broker; the output block after it shows what it prints.
    ("docs/mqtt-api.md", "mosquitto_rr -t 'lamp-short/shadow/update' -e '$aws/things/lamp-short/shadow/update/documents' "
                         "-m '{\"state\":{\"reported\":{\"on\":true}}}' -W 5"): {
        "broker": "sigv4", "output": True},
    ("docs/mqtt-api.md", "mosquitto_rr -t '$aws/things/lamp-get/shadow/get' -e "
                         "'$aws/things/lamp-get/shadow/get/rejected' -m '{\"clientToken\":\"g1\"}' -W 5"): {
        "broker": "sigv4", "output": True},
    ("docs/mqtt-api.md", "mosquitto_rr -t '$aws/things/lamp-upd/shadow/update' -e "
                         "'$aws/things/lamp-upd/shadow/update/accepted' -W 5 -m '{\"state\":{\"desired\":"
                         "{\"color\":\"red\",\"dim\":{\"level\":3,\"steps\":[1,2]}},\"reported\":null},"
                         "\"clientToken\":\"u1\"}'"): {
        "broker": "sigv4", "output": True},
    ("docs/mqtt-api.md", "mosquitto_pub -q 1 -t '$aws/things/lamp-delta/shadow/update' -m "
                         "'{\"state\":{\"desired\":{\"color\":\"red\",\"level\":3}}}'"): {
        "broker": "sigv4", "output": True},
    ("docs/mqtt-api.md", "mosquitto_pub -q 1 -t '$aws/things/lamp-docs/shadow/update' -m "
                         "'{\"state\":{\"reported\":{\"color\":\"green\"}}}'"): {
        "broker": "sigv4", "output": True},
    ("docs/mqtt-api.md", "mosquitto_pub -q 1 -t '$aws/things/lamp-read/shadow/update' -m "
                         "'{\"state\":{\"desired\":{\"color\":\"red\"},\"reported\":{\"color\":\"green\","
                         "\"on\":true}}}'"): {
        "broker": "sigv4", "output": True},
    ("docs/mqtt-api.md", "mosquitto_pub -q 1 -t '$aws/things/lamp-del/shadow/update' -m "
                         "'{\"state\":{\"reported\":{\"on\":true}}}'"): {
        "broker": "sigv4", "output": True},
    ("docs/mqtt-api.md", "mosquitto_rr -t '$aws/things/lamp-err/shadow/update' -e "
                         "'$aws/things/lamp-err/shadow/update/rejected' -W 5 -m '{\"state\":'"): {
        "broker": "sigv4", "output": True},
    ("docs/operations.md", "scripts/run-broker.sh"): {"broker": None},
    ("docs/operations.md", "cmake --install build --prefix /usr/local"): {
        "broker": None,
        "skip": ["cmake --install build --prefix /usr/local"],
        "subs": {"/var/lib/mosquitto-shadow": "{tmp}/var-lib/mosquitto-shadow"},
        "check_dir": "var-lib/mosquitto-shadow"},
    ("docs/operations.md", "systemctl stop mosquitto"): {
        "broker": None,
        "skip": ["systemctl stop mosquitto", "systemctl start mosquitto"],
        "setup": ["mkdir -p var-lib/mosquitto-shadow && echo x > var-lib/mosquitto-shadow/CURRENT"],
        "subs": {"-C /var/lib ": "-C {tmp}/var-lib "},
        "post": "tar -tzf shadows-*.tar.gz | grep -q mosquitto-shadow/CURRENT"},
    ("docs/security.md", "scripts/gen-certs.sh pki dev1 dev2 app-console"): {
        "broker": None,
        "subs": {"scripts/gen-certs.sh": "{repo}/scripts/gen-certs.sh"},
        "post": "openssl verify -CAfile pki/ca.crt pki/dev1.crt pki/dev2.crt pki/app-console.crt pki/server.crt"},
    ("docs/rest-api.md", "curl -s --aws-sigv4 aws:amz:us-east-1:iotdata --user \"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY\" 'http://127.0.0.1:8080/api/shadows?pageSize=1000'"): {
        "broker": "sigv4",
        "setup": ["shadowctl update dev1 --shadow config --reported '{\"fw\":\"1.2\"}' >/dev/null"],
        "expect": ['{"thingName":"dev1","shadowName":"config"}']},
    ("docs/rest-api.md", "import json"): {
        "broker": "sigv4",
        # dev1 may be new here, as on a fresh broker: the stale-version
        # update must fail all the same.
        "setup": ["shadowctl delete dev1 >/dev/null 2>&1 || true"],
        "expect": ["{'desired': {'lights': 'on'}", "['config']", "stale version: Version conflict"]},
    ("docs/rest-api.md", "export AWS_ACCESS_KEY_ID=AKIDSHADOWADMIN0001"): {
        "broker": "sigv4",
        "setup": ["shadowctl update dev1 --shadow config --reported '{\"fw\":\"1.2\"}' >/dev/null"],
        "expect": ['"desired":{"lights":"on"}', '"config"']},
    ("docs/rest-api.md", "curl -s --aws-sigv4 aws:amz:us-east-1:iotdata --user \"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY\" http://127.0.0.1:8080/things/dev1/shadow"): {
        "broker": "sigv4",
        "setup": ["shadowctl update dev1 --desired '{\"lights\":\"on\"}' >/dev/null"],
        "expect": ['"desired":{"lights":"on"}']},
    # docs/rules.md and the rules section of docs/shadowctl.md: rule.json,
    # will.json and trim.json are the documents' JSON blocks (rules_json()
    # reads them from docs/rules.md, so the files are what the page shows).
    ("docs/rules.md", "export AWS_ACCESS_KEY_ID=AKIDSHADOWADMIN0001"): {
        "broker": "sigv4", "setup": [rules_json("rule.json", 0)],
        "expect": ['"ruleName": "hot_things"', '"ruleName": "hot_things"']},
    ("docs/rules.md", "import boto3"): {
        "broker": "sigv4", "expect": ["temperature_alerts $aws/things/+/shadow/update/documents False",
                                      "exists: "]},
    ("docs/rules.md", "scripts/run-broker.sh --opt http_listen=127.0.0.1:8080 --opt "
                      "http_credentials_file=/etc/mosquitto/shadow-credentials --opt acl_fallback=allow"): {
        "broker": None, "setup": [rules_json("will.json", 3)],
        "expect": ['"reported":{"connected":"false"}']},
    ("docs/rules.md", "aws iot create-topic-rule --rule-name trim_delta --topic-rule-payload file://trim.json "
                      "--endpoint-url http://127.0.0.1:8080"): {
        "broker": "sigv4", "setup": [rules_json("trim.json", 4)],
        "expect": ['{"state":{"fan":2}}']},
    ("docs/shadowctl.md", "shadowctl rules create hot_things --file rule.json"): {
        "broker": "sigv4", "setup": [rules_json("rule.json", 0)],
        "expect": ["created rule 'hot_things'", "hot_things  enabled  $aws/things/+/shadow/update/documents"]},
    ("docs/shadowctl.md", "shadowctl update dev1 --desired '{\"lights\":\"on\"}'"): {
        "broker": "sigv4", "skip": ["shadowctl watch dev1"], "expect": ['"lights": "on"']},
    ("docs/shadowctl.md", "scripts/run-broker.sh --opt http_listen=127.0.0.1:8080 --opt http_auth=none"): {
        "broker": None,
        "setup": ["shadowctl --no-auth update dev1 --desired '{\"lights\":\"on\"}' >/dev/null"],
        "expect": ['"lights": "on"']},
    ("docs/shadowctl.md", "shadowctl --credentials-file /etc/mosquitto/shadow-credentials get dev1"): {
        "broker": "sigv4", "setup": ["shadowctl update dev1 --desired '{\"lights\":\"on\"}' >/dev/null"]},
    ("docs/shadowctl.md", "shadowctl get dev1 --shadow config >/dev/null 2>&1"): {
        "broker": "sigv4", "errexit": False,
        "setup": ["shadowctl update dev1 --shadow config --reported '{\"fw\":\"1.2\"}' >/dev/null"],
        "expect": ["exists"]},
    ("docs/shadowctl.md", "shadowctl get dev1"): {
        "broker": "sigv4",
        "setup": ["shadowctl update dev1 --desired '{\"lights\":\"on\"}' --reported '{\"lights\":\"off\"}' >/dev/null",
                  "shadowctl update dev1 --shadow config --reported '{\"fw\":\"1.2\"}' >/dev/null"],
        "expect": ['"lights": "on"']},
    ("docs/shadowctl.md", "shadowctl update dev1 --desired '{\"lights\":\"on\"}' … "
                          "shadowctl update dev1 --reported '{\"lights\":\"on\",\"temp\":21.5}' --desired '{\"lights\":null}'"): {
        "broker": "sigv4",
        "setup": ["echo '{\"state\":{\"desired\":{\"mode\":\"eco\"}}}' > request.json"],
        # The example's version 7 is whatever the reader last saw; here the
        # shadow is at another one, so the update is refused as a conflict.
        "allow_exit": {"echo '{\"state\":{\"desired\":{\"fan\":2}},\"version\":7}' | shadowctl update dev1 -": 3},
        "expect": ['"temp": 21.5', '"mode": "eco"']},
    ("docs/shadowctl.md", "shadowctl delete dev1"): {
        "broker": "sigv4",
        "setup": ["shadowctl update dev1 --desired '{\"lights\":\"on\"}' >/dev/null"],
        "expect": ["deleted classic shadow of 'dev1'"]},
    ("docs/shadowctl.md", "shadowctl list dev1"): {
        "broker": "sigv4",
        "setup": ["shadowctl update dev1 --shadow config --reported '{\"fw\":\"1.2\"}' >/dev/null"],
        "expect": ["config"]},
    ("docs/shadowctl.md", "shadowctl export --file backup.jsonl"): {
        "broker": "sigv4",
        "setup": ["shadowctl update dev2 --desired '{\"lights\":\"on\"}' >/dev/null",
                  "printf 'dev1\\n' > things.txt"],
        "post": "grep -q '\"thing\":\"dev2\"' backup.jsonl && grep -q '\"thing\":\"dev2\"' some.jsonl"},
    ("docs/shadowctl.md", "shadowctl import backup.jsonl"): {
        "broker": "sigv4",
        "setup": ["shadowctl export --file backup.jsonl 2>/dev/null"]},
    ("docs/shadowctl.md", "shadowctl export --file backup.jsonl … shadowctl import --replace backup.jsonl"): {
        "broker": "sigv4", "post": "grep -q '\"thing\":\"dev2\"' backup.jsonl"},
    # docs/fleet.md and the fleet commands of docs/shadowctl.md.
    ("docs/fleet.md", "aws iot search-index --endpoint-url http://127.0.0.1:8080 --index-name AWS_Things "
                      "--query-string 'shadow.reported.temp > 95 AND thingName:line-7*' … "
                      "aws iot get-statistics --endpoint-url http://127.0.0.1:8080 --query-string "
                      "'thingName:line-7*' --aggregation-field shadow.reported.temp"): {
        "broker": "sigv4", "setup": [FLEET_SETUP],
        "expect": ['"thingName": "line-7-dev-0000017"', '"maximum": 98.1', "fleet update fw-v13-line7"][:2]},
    ("docs/fleet.md", "import boto3, json"): {
        "broker": "sigv4", "setup": [FLEET_SETUP], "expect": ["line-7-dev-0000017 97.5"]},
    ("docs/fleet.md", "shadowctl fleet-update --query 'thingName:line-7* AND shadow.reported.fw:v1.2' "
                      "--desired '{\"fw\":\"v1.3\"}' --id fw-v13-line7"): {
        "broker": "sigv4", "setup": [FLEET_SETUP],
        "post": "shadowctl --json get line-7-dev-0000017 | grep -q '\"fw\":\"v1.3\"'"},
    ("docs/shadowctl.md", "shadowctl search 'shadow.reported.temp > 95 AND thingName:line-7*' … "
                          "shadowctl search 'shadow.hasDelta:true' --field desired.fw --field reported.fw"): {
        "broker": "sigv4", "setup": [FLEET_SETUP], "expect": ["line-7-dev-0000027", "average"]},
    ("docs/shadowctl.md", "shadowctl fleet-update --query 'thingName:line-7* AND shadow.reported.fw:v1.2' "
                          "--desired '{\"fw\":\"v1.3\"}' --id fw-v13-line7 … shadowctl fleet-update --query "
                          "'shadow.name.config.reported.interval < 10' --shadow config --desired '{\"interval\":10}' "
                          "--no-wait"): {
        "broker": "sigv4", "setup": [FLEET_SETUP]},
    ("docs/shadowctl.md", "shadowctl fleet-status"): {
        "broker": "sigv4",
        # The documented request again: the same id with the same request is
        # idempotent, whether or not an earlier block already started it.
        "setup": [FLEET_SETUP, "shadowctl fleet-update --query 'thingName:line-7* AND shadow.reported.fw:v1.2' "
                               "--desired '{\"fw\":\"v1.3\"}' --id fw-v13-line7 2>/dev/null"],
        # The operation has finished by then: cancelling it is a conflict.
        "allow_exit": {"shadowctl fleet-cancel fw-v13-line7": 3},
        "expect": ["fw-v13-line7"]},
    ("docs/shadowctl.md", "scripts/run-broker.sh --opt http_listen=127.0.0.1:8080 --opt http_auth=none "
                          "--opt history_versions=10"): {
        "broker": None, "expect": ["+reported.temp=20", "+desired.temp=22"]},
}


def run_entry(rel, lang, body):
    """The RUN entry of a block, or None."""
    for key in block_keys(lang, body):
        if (rel, key) in RUN:
            return RUN[(rel, key)]
    return None


class RunBroker:
    """scripts/run-broker.sh with a document's arguments, moved to a free
    MQTT port (and a free REST port if it has http_listen) and a data
    directory under `tmp`. The script, not the test library's launcher, so
    that the documented command is what runs."""

    def __init__(self, args, tmp, name):
        build_dir = os.environ.get("SHADOW_BUILD_DIR")
        if not build_dir:
            raise RuntimeError("SHADOW_BUILD_DIR (the CMake build tree) is not set")
        rel_build = os.path.relpath(build_dir, REPO)
        self.log_path = os.path.join(tmp, name + ".log")
        has_http = any("http_listen=" in a for a in args)
        for _attempt in range(START_ATTEMPTS):
            self.port, self.http_port = free_ports(2)
            rewritten = [re.sub(r"http_listen=[\d.]+:\d+", "http_listen=127.0.0.1:%d" % self.http_port, a)
                         for a in args]
            with open(self.log_path, "ab") as log:
                # The last --port and --data win, so the document's own
                # values are overridden.
                self.proc = subprocess.Popen(
                    [os.path.join(REPO, "scripts", "run-broker.sh")] + rewritten +
                    ["--port", str(self.port), "--data", os.path.join(tmp, name)],
                    env=dict(os.environ, SHADOW_BUILD_DIR=rel_build), stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=log)
            if not has_http:
                self.http_port = None
            if wait_listening(self.proc, [p for p in (self.port, self.http_port) if p]):
                return
            self.stop()
        with open(self.log_path) as f:
            raise AssertionError("run-broker.sh %s did not start:\n%s" % (" ".join(args), f.read()))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
