"""docker/Dockerfile without a Docker engine:

- it builds with the scripts CI runs (every scripts/*.sh a RUN calls is also
  called by scripts/test.sh or .ci/run), so the image cannot drift from what
  the test suite builds;
- what it COPYs from the context exists and is not excluded by its
  .dockerignore;
- `cmake --install` of this build, run as the build stage runs it, puts the
  plugin where docker/config/mosquitto.conf loads it from;
- the runtime stage's package list provides every shared library the
  installed files need (resolved with ldd and dpkg on this Debian 12 machine,
  the same release as the image), and holds no -dev package;
- the final stage runs as mosquitto, has a HEALTHCHECK, and the /mosquitto
  layout of the eclipse-mosquitto image.
"""

import fnmatch
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


def ignore_patterns():
    with open(os.path.join(stack.DOCKER_DIR, "Dockerfile.dockerignore")) as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


def ignored(relpath, patterns):
    parts = relpath.split("/")
    for pat in patterns:
        pat = pat.rstrip("/")
        bare = pat[3:] if pat.startswith("**/") else None
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            if fnmatch.fnmatchcase(prefix, pat) or (bare and fnmatch.fnmatchcase(parts[i - 1], bare)):
                return True
    return False


def runtime_packages(instrs, final_stage):
    """Packages the final stage installs with apt-get install."""
    pkgs = set()
    for stage, word, args in instrs:
        if stage != final_stage or word != "RUN":
            continue
        for command in args.split("&&"):
            words = shlex.split(command)
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
        self.assertIn("scripts/build.sh", ci)
        used = set()
        for args in self.of("RUN"):
            used |= scripts_called(args)
        for script in used:
            self.assertIn(script, ci, "the Dockerfile runs %s, which CI never runs" % script)
            self.assertTrue(os.path.isfile(os.path.join(REPO, script)), script)
        # One source of truth: the image is built by the same two scripts.
        self.assertEqual(used, {"scripts/install-deps.sh", "scripts/build.sh"})

    def test_copied_files_exist_and_are_not_ignored(self):
        patterns = ignore_patterns()
        for pat in ("build-*", "**/node_modules", ".git", "data"):
            self.assertIn(pat, patterns)
        sources = []
        for args in self.of("COPY"):
            words = args.split()
            if any(w.startswith("--from") for w in words):
                continue
            sources += [w for w in words[:-1] if not w.startswith("--")]
        self.assertIn("scripts/install-deps.sh", sources)
        for src in sources:
            if src == ".":
                continue
            self.assertTrue(os.path.exists(os.path.join(REPO, src)), src)
            self.assertFalse(ignored(src.rstrip("/"), patterns), "%s is excluded by .dockerignore" % src)
        self.assertTrue(ignored("build-docker/CMakeCache.txt", patterns))
        self.assertTrue(ignored("tests/sdk/node_modules/x.js", patterns))
        self.assertFalse(ignored("plugin/plugin.cc", patterns))

    def test_final_stage_layout_user_and_healthcheck(self):
        self.assertEqual(self.of("USER", self.final), ["mosquitto"])
        self.assertEqual(len(self.of("HEALTHCHECK", self.final)), 1)
        self.assertIn('["/mosquitto/data", "/mosquitto/log"]', self.of("VOLUME", self.final))
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
