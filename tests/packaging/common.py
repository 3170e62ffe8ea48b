"""Helpers shared by the packaging and example tests (stdlib only).

Every test talks only to loopback servers it starts itself. Each test file
ends with main(), which prints "N passed, N failed" as its last line (the
tally scripts/test reads) and exits non-zero on any failure.
"""

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get("UVFETCH_SOURCE_ROOT",
                             os.path.normpath(os.path.join(HERE, "..", "..")))
SERVER = os.environ.get("UVFETCH_TEST_SERVER",
                        os.path.join(SOURCE_ROOT, "tests", "server.py"))


def env_path(name):
    """A path the test needs from meson, or skip the test without it."""
    value = os.environ.get(name)
    if not value:
        raise unittest.SkipTest("%s is not set (run through meson test)"
                                % name)
    return value


def tool(name, env_name):
    """A program given by meson in env_name, else found on PATH; a list."""
    value = os.environ.get(env_name)
    if value:
        return shlex.split(value)
    found = shutil.which(name)
    if found is None:
        raise unittest.SkipTest("%s is not installed" % name)
    return [found]


class LoopbackServer:
    """tests/server.py on 127.0.0.1 with an ephemeral port."""

    def __init__(self):
        # stdin is a pipe: the server exits when we do, even if we crash.
        self.proc = subprocess.Popen([sys.executable, SERVER],
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError("server.py did not print its port: %r" % line)
        self.port = int(line)
        self.base = "http://127.0.0.1:%d" % self.port

    def url(self, path):
        return self.base + path

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()


def run(cmd, timeout=300, **kw):
    """Run a command, capturing both outputs as text."""
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=timeout, **kw)


def check_run(test, cmd, timeout=300, **kw):
    """run(), failing `test` with both outputs when the command fails."""
    p = run(cmd, timeout=timeout, **kw)
    test.assertEqual(p.returncode, 0,
                     "%s failed (%d):\n%s\n%s" % (" ".join(cmd), p.returncode,
                                                  p.stdout, p.stderr))
    return p


def scratch_dir(test):
    """A temporary directory removed when the test ends."""
    path = tempfile.mkdtemp(prefix="uvfetch-packaging-")
    test.addCleanup(shutil.rmtree, path, True)
    return path


def closed_port():
    """A loopback port nobody listens on (a moment ago)."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main(module_name):
    suite = unittest.defaultTestLoader.loadTestsFromModule(
        sys.modules[module_name])
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = (len(result.failures) + len(result.errors) +
              len(result.unexpectedSuccesses))
    passed = result.testsRun - failed - len(result.skipped)
    print("%d passed, %d failed" % (passed, failed))
    sys.stdout.flush()
    return 1 if failed else 0
