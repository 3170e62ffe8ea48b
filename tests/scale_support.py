"""Helpers for the scale tests (test_scale_*.py): the README's sharding
recipes as written, the loopback nginx, uvfetch on PATH, and the checks that
parts cover their input (stdlib only).

The recipes are read from README.md's "Sharding across machines" section,
so the lines the tests run are the lines a user copies.
"""

import json
import os
import re
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
README = os.path.join(ROOT, "README.md")
UVFETCH = os.environ.get("UVFETCH",
                         os.path.join(ROOT, "build", "uvfetch"))
NGINX_SH = os.environ.get("UVFETCH_NGINX_SH", os.path.join(HERE, "nginx.sh"))
SLURM_SH = os.path.join(HERE, "slurm.sh")

FNV_OFFSET = 14695981039346656037
FNV_PRIME = 1099511628211
MASK64 = (1 << 64) - 1


def fnv1a(data):
    """The 64-bit FNV-1a hash --shard takes of a URL's bytes."""
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & MASK64
    return h


def shard_of(url, n):
    return fnv1a(url.encode()) % n


def sharding_block():
    """The README's code block of the "Sharding across machines" section."""
    with open(README, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^### Sharding across machines\n(.*?)^##+ ", text,
                  re.S | re.M)
    if not m:
        raise AssertionError("README.md has no Sharding across machines")
    blocks = re.findall(r"^```\n(.*?)^```$", m.group(1), re.S | re.M)
    if len(blocks) != 1:
        raise AssertionError("expected one code block in Sharding, got %d"
                             % len(blocks))
    return blocks[0]


def recipe(comment_start):
    """The command after the comment line starting with comment_start, up to
    the next blank line: (comment text, command text with its newlines)."""
    lines = sharding_block().split("\n")
    for i, line in enumerate(lines):
        if line.startswith("# " + comment_start):
            comment = [line]
            j = i + 1
            while j < len(lines) and lines[j].startswith("#"):
                comment.append(lines[j])
                j += 1
            cmd = []
            while j < len(lines) and lines[j].strip():
                cmd.append(lines[j])
                j += 1
            if not cmd:
                break
            return "\n".join(comment), "\n".join(cmd) + "\n"
    raise AssertionError("no recipe '# %s' in README's Sharding block"
                         % comment_start)


def bash(cmd, cwd, env, timeout):
    """Runs a recipe as a user would paste it into bash."""
    return subprocess.run(["bash", "-c", cmd], cwd=cwd, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


def path_env(tmp):
    """An environment whose PATH finds this build's uvfetch as `uvfetch`."""
    bindir = os.path.join(tmp, "bin")
    os.makedirs(bindir, exist_ok=True)
    link = os.path.join(bindir, "uvfetch")
    if not os.path.exists(link):
        os.symlink(os.path.abspath(UVFETCH), link)
    env = dict(os.environ)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "/usr/bin:/bin")
    return env


class Nginx:
    """tests/nginx.sh's server in DIR, for `with`."""

    def __init__(self, dir):
        self.dir = dir

    def __enter__(self):
        p = subprocess.run([NGINX_SH, "start", self.dir],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=120)
        if p.returncode != 0:
            raise unittest.SkipTest("nginx did not start: %s"
                                    % p.stderr.decode(errors="replace"))
        with open(os.path.join(self.dir, "http_port")) as f:
            self.port = int(f.read())
        return self

    def __exit__(self, *exc):
        subprocess.run([NGINX_SH, "stop", self.dir], timeout=60)

    def urls(self, n):
        """n distinct URLs of nginx's 1 KiB files; URL i carries i."""
        return ["http://127.0.0.1:%d/f%d?i=%d" % (self.port, i % 1000, i)
                for i in range(n)]


def write_urls(path, urls):
    with open(path, "w") as f:
        f.write("".join(u + "\n" for u in urls))


def journal(path):
    """A part's journal: its records, every line complete and JSON."""
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        raise AssertionError("%s ends in a torn line" % path)
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


def tsv_urls(path):
    with open(path, encoding="utf-8") as f:
        return [line.split("\t")[0] for line in f.read().splitlines()]


def check_parts(test, tmp, urls, n, size=None):
    """Asserts each part-K.jsonl holds exactly shard K's URLs, once each,
    every one fetched, with its input ordinal; returns the records."""
    want = [[] for _ in range(n)]
    for u in urls:
        want[shard_of(u, n)].append(u)
    index = {u: i for i, u in enumerate(urls)}
    everything = []
    for k in range(n):
        recs = journal(os.path.join(tmp, "part-%d.jsonl" % k))
        got = [r["url"] for r in recs]
        test.assertEqual(len(got), len(set(got)),
                         "part %d has a URL twice" % k)
        test.assertEqual(sorted(got), sorted(want[k]),
                         "part %d is not shard %d/%d" % (k, k, n))
        for r in recs:
            test.assertIsNone(r["error"], r)
            test.assertEqual(r["ordinal"], index[r["url"]])
            if size is not None:
                test.assertEqual(r["bytes"], size, r)
        everything += recs
    test.assertEqual(len(everything), len(urls))
    return everything


def check_merge(test, tmp, env, urls, timeout=120):
    """Runs the README's merge line in tmp; asserts all.jsonl is every
    record once, in input order."""
    _, line = recipe("Every part's records in input order")
    p = bash(line, tmp, env, timeout)
    test.assertEqual(p.returncode, 0, p.stderr)
    merged = journal(os.path.join(tmp, "all.jsonl"))
    test.assertEqual([r["ordinal"] for r in merged], list(range(len(urls))))
    test.assertEqual([r["url"] for r in merged], urls)


def main(module):
    """Runs a module's tests and prints the tally scripts/test reads. When
    every test skipped, prints why and exits 77, meson's skip."""
    suite = unittest.defaultTestLoader.loadTestsFromModule(
        sys.modules[module])
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = (len(result.failures) + len(result.errors) +
              len(result.unexpectedSuccesses))
    skipped = len(result.skipped)
    passed = max(0, result.testsRun - failed - skipped)
    if failed == 0 and passed == 0 and skipped > 0:
        for _, why in result.skipped:
            print("SKIP: %s" % why)
        return 77
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0
