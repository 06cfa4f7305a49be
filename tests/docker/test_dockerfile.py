"""docker/Dockerfile without a Docker engine:

- it builds with the scripts CI runs (every scripts/*.sh a RUN calls is also
  called by scripts/test.sh or .ci/run), so the image cannot drift from what
  the test suite builds;
- what it COPYs from the context exists, and the repository's .dockerignore
  (an allow-list) lets through exactly what it COPYs, nothing more; the
  build stage builds exactly the targets `cmake --install` installs;
- `cmake --install` of this build, run as the build stage runs it, puts the
  plugin where docker/config/mosquitto.conf loads it from;
- the runtime stage's package list provides every shared library the
  installed files need (resolved with ldd and dpkg on this Debian 12 machine,
  the same release as the image), and holds no -dev package;
- the final stage runs as mosquitto, has a HEALTHCHECK, and the /mosquitto
  layout of the eclipse-mosquitto image.
"""

import os
import re
import shlex
import subprocess
import tempfile
import unittest

import stack
from shadowtest import REPO

# In every debian:bookworm-slim image (apt itself depends on them).
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}


def instructions(path):
    """[(stage index, INSTRUCTION, arguments)] with continuation lines joined."""
    out = []
    stage = -1
    pending = ""
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.lstrip().startswith("#"):
                continue  # a comment inside a continued instruction
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            text = (pending + line).strip()
            pending = ""
            word, _, args = text.partition(" ")
            word = word.upper()
            if word == "FROM":
                stage += 1
            out.append((stage, word, args.strip()))
    return out


def scripts_called(text):
    return set(re.findall(r"scripts/[\w.-]+\.sh", text))


def ci_scripts():
    """scripts/*.sh that CI runs: .ci/run and what scripts/test.sh calls."""
    called = set()
    for path in (os.path.join(REPO, ".ci", "run"), os.path.join(REPO, "scripts", "test.sh")):
        with open(path) as f:
            text = "\n".join(l for l in f.read().splitlines() if not l.lstrip().startswith("#"))
        called |= scripts_called(text)
    with open(os.path.join(REPO, ".ci", "run")) as f:
        if re.search(r"scripts/test\.sh", f.read()):
            called.add("scripts/test.sh")
    return called


DOCKERIGNORE = os.path.join(REPO, ".dockerignore")


def ignore_patterns():
    with open(DOCKERIGNORE) as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


def pattern_regex(pattern):
    """A .dockerignore pattern as Docker matches it: `**` any number of
    directories, `*` and `?` within one path element."""
    rx = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            rx += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            rx += ".*"
            i += 2
        elif pattern[i] == "*":
            rx += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            rx += "[^/]"
            i += 1
        else:
            rx += re.escape(pattern[i])
            i += 1
    return re.compile(rx + "$")


def ignored(relpath, patterns):
    """Docker's rule: the last pattern that matches the path or one of its
    parent directories decides; `!` lets it through again."""
    parts = relpath.strip("/").split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    excluded = False
    for pat in patterns:
        negate = pat.startswith("!")
        rx = pattern_regex(pat.lstrip("!").rstrip("/"))
        if any(rx.match(p) for p in prefixes):
            excluded = not negate
    return excluded


def context_files():
    """Files of the repository (tracked and untracked, not git-ignored)."""
    r = subprocess.run(["git", "-C", REPO, "ls-files", "--cached", "--others", "--exclude-standard"],
                       capture_output=True, text=True, check=True)
    return [f for f in r.stdout.splitlines() if os.path.exists(os.path.join(REPO, f))]


def runtime_packages(instrs, final_stage):
    """Packages the final stage installs with apt-get install."""
    pkgs = set()
    for stage, word, args in instrs:
        if stage != final_stage or word != "RUN":
            continue
        for command in args.split("&&"):
            words = shlex.split(command)
            while words and re.match(r"^\w+=", words[0]):
                words = words[1:]  # VAR=value before the command
            if words[:2] == ["apt-get", "install"]:
                pkgs |= {w for w in words[2:] if not w.startswith("-")}
    return pkgs


def package_of(path):
    real = os.path.realpath(path)
    for candidate in (real, path, real.replace("/usr/lib/", "/lib/", 1), path.replace("/lib/", "/usr/lib/", 1)):
        r = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0].strip()
    return None


def is_elf(path):
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def needed_libraries(elf):
    """{soname: resolved path} of the DT_NEEDED entries of one ELF file."""
    dump = subprocess.run(["objdump", "-p", elf], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"^\s*NEEDED\s+(\S+)", dump, re.M)
    ldd = subprocess.run(["ldd", elf], capture_output=True, text=True).stdout
    resolved = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
    return {n: resolved.get(n) for n in needed if not n.startswith("ld-linux")}


def build_targets():
    """The targets of `cmake --build ... --target A B` in the build stage."""
    for stage, word, args in instructions(stack.DOCKERFILE):
        m = re.search(r"cmake --build \S+(?: -j\S+)? --target ((?:[\w-]+ ?)+)", args)
        if word == "RUN" and m:
            return set(m.group(1).split())
    return set()


class Dockerfile(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.instrs = instructions(stack.DOCKERFILE)
        cls.final = max(s for s, _, _ in cls.instrs)

    def of(self, word, stage=None):
        return [a for s, w, a in self.instrs if w == word and (stage is None or s == stage)]

    def test_multi_stage_on_debian_bookworm_slim(self):
        self.assertIn("DEBIAN_IMAGE=debian:bookworm-slim", self.of("ARG"))
        froms = self.of("FROM")
        self.assertGreaterEqual(len(froms), 2)
        self.assertEqual(froms[0], "${DEBIAN_IMAGE} AS build")
        self.assertEqual(froms[-1], "${DEBIAN_IMAGE}")

    def test_run_only_scripts_that_ci_runs(self):
        ci = ci_scripts()
        used = set()
        for args in self.of("RUN"):
            used |= scripts_called(args)
        for script in used:
            self.assertIn(script, ci, "the Dockerfile runs %s, which CI never runs" % script)
            self.assertTrue(os.path.isfile(os.path.join(REPO, script)), script)
        # One source of truth for the package list.
        self.assertEqual(used, {"scripts/install-deps.sh"})

    def test_builds_only_the_installed_targets_without_tests(self):
        build = [a for a in self.of("RUN", 0) if "cmake --build" in a]
        self.assertEqual(len(build), 1, build)
        self.assertIn("-DSHADOW_BUILD_TESTS=OFF", build[0])
        self.assertIn("-DSHADOW_BUILD_BENCHMARKS=OFF", build[0])
        self.assertEqual(build_targets(), {"mosquitto_shadow", "shadowctl"})

    def copy_sources(self):
        sources = []
        for args in self.of("COPY"):
            words = args.split()
            if any(w.startswith("--from") for w in words):
                continue
            sources += [w.rstrip("/") for w in words[:-1] if not w.startswith("--")]
        return sources

    def test_the_context_is_exactly_what_is_copied(self):
        patterns = ignore_patterns()
        self.assertEqual(patterns[0], "*", ".dockerignore must start by leaving everything out")
        sources = self.copy_sources()
        self.assertNotIn(".", sources, "COPY . . would copy the whole tree")
        self.assertIn("scripts/install-deps.sh", sources)
        for src in sources:
            self.assertTrue(os.path.exists(os.path.join(REPO, src)), src)
            self.assertFalse(ignored(src, patterns), "%s is excluded by .dockerignore" % src)
        allowed = sorted(p[1:] for p in patterns if p.startswith("!"))
        self.assertEqual(allowed, sorted(sources), ".dockerignore lets through other files than the COPY lines")
        # What the context holds: the copied folders' files, nothing else.
        sent = [f for f in context_files() if not ignored(f, patterns)]
        for f in sent:
            self.assertTrue(any(f == s or f.startswith(s + "/") for s in sources), f)
        self.assertIn("plugin/plugin.cc", sent)
        for f in ("README.md", "docs/configuration.md", "tests/docker/test_e2e.py", "docker/README.md",
                  "examples/device.js"):
            self.assertTrue(ignored(f, patterns), f)
        self.assertTrue(ignored("plugin/build/CMakeCache.txt", patterns))
        self.assertTrue(ignored("build-docker/CMakeCache.txt", patterns))

    def test_final_stage_layout_user_and_healthcheck(self):
        self.assertEqual(self.of("USER", self.final), ["mosquitto"])
        self.assertEqual(len(self.of("HEALTHCHECK", self.final)), 1)
        # Anonymous volumes of a VOLUME instruction outlive `compose down`
        # (one pair per start of the one-shot certs service); compose.yml
        # mounts named volumes instead.
        self.assertEqual(self.of("VOLUME"), [])
        run = " ".join(self.of("RUN", self.final))
        for d in ("/mosquitto/config", "/mosquitto/data", "/mosquitto/log", "/mosquitto/certs"):
            self.assertIn(d, run)
        self.assertIn("--uid 1883", run)
        self.assertEqual(self.of("CMD", self.final),
                         ['["/usr/sbin/mosquitto", "-c", "/mosquitto/config/mosquitto.conf"]'])

    def test_runtime_packages_are_not_development_packages(self):
        pkgs = runtime_packages(self.instrs, self.final)
        self.assertIn("mosquitto", pkgs)
        self.assertEqual([p for p in pkgs if p.endswith("-dev")], [])


class InstalledTree(unittest.TestCase):
    """`cmake --install` of this build tree, as the build stage runs it."""

    @classmethod
    def setUpClass(cls):
        if not os.environ.get("SHADOW_BUILD_DIR"):
            raise AssertionError("SHADOW_BUILD_DIR (the CMake build tree) is not set; "
                                 "tests/docker/CMakeLists.txt sets it")
        cls.tmp = tempfile.TemporaryDirectory(prefix="shadow-docker-install-")
        install = [a for s, w, a in instructions(stack.DOCKERFILE) if w == "RUN" and "cmake --install" in a]
        assert len(install) == 1, install
        m = re.search(r"DESTDIR=(\S+) cmake --install (\S+) --prefix (\S+)( --strip)?", install[0])
        assert m, install[0]
        cls.prefix = m.group(3)
        cmd = ["cmake", "--install", os.environ["SHADOW_BUILD_DIR"], "--prefix", cls.prefix]
        if m.group(4):
            cmd.append("--strip")
        r = subprocess.run(cmd, env=dict(os.environ, DESTDIR=cls.tmp.name), capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        cls.root = os.path.join(cls.tmp.name, cls.prefix.lstrip("/"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def installed_files(self):
        for d, _, files in os.walk(self.root):
            for f in files:
                yield os.path.join(d, f)

    def test_plugin_lands_where_the_stack_config_loads_it(self):
        self.assertTrue(stack.IMAGE_PLUGIN_PATH.startswith(self.prefix + "/"))
        rel = os.path.relpath(stack.IMAGE_PLUGIN_PATH, self.prefix)
        self.assertTrue(os.path.isfile(os.path.join(self.root, rel)), list(self.installed_files()))
        with open(stack.STACK_CONFIG) as f:
            self.assertIn("plugin %s" % stack.IMAGE_PLUGIN_PATH, f.read())

    def test_installs_exactly_the_built_targets(self):
        # Each installed program or plugin is one target built in the image,
        # and each built target is installed.
        installed = {os.path.basename(p).rsplit(".so", 1)[0] for p in self.installed_files() if is_elf(p)}
        self.assertEqual(installed, build_targets())

    def test_runtime_packages_cover_every_shared_library(self):
        instrs = instructions(stack.DOCKERFILE)
        provided = runtime_packages(instrs, max(s for s, _, _ in instrs)) | BASE_IMAGE_PACKAGES
        elves = [p for p in self.installed_files() if is_elf(p)]
        self.assertTrue(elves)
        missing = {}
        for elf in elves:
            for soname, path in needed_libraries(elf).items():
                self.assertIsNotNone(path, "%s: %s is not found on this machine" % (elf, soname))
                pkg = package_of(path)
                self.assertIsNotNone(pkg, "%s: no Debian package owns %s" % (elf, path))
                if pkg not in provided:
                    missing.setdefault(pkg, []).append("%s (%s)" % (soname, os.path.basename(elf)))
        self.assertEqual(missing, {}, "add these packages to the runtime stage of docker/Dockerfile")


class ExamplesDockerfile(unittest.TestCase):

    def test_node_image_with_npm_ci_from_the_lock_file(self):
        path = os.path.join(REPO, "examples", "Dockerfile")
        instrs = instructions(path)
        self.assertEqual([a for _, w, a in instrs if w == "FROM"], ["node:20-bookworm-slim"])
        self.assertTrue(any(w == "RUN" and a.startswith("npm ci") for _, w, a in instrs))
        for _, w, a in instrs:
            if w == "COPY":
                for src in a.split()[:-1]:
                    self.assertTrue(os.path.exists(os.path.join(REPO, "examples", src)), src)
        # CI installs the same lock file (scripts/test.sh runs npm ci there).
        with open(os.path.join(REPO, "scripts", "test.sh")) as f:
            self.assertRegex(f.read(), r"for dir in [^;\n]*\bexamples\b")


if __name__ == "__main__":
    unittest.main()
