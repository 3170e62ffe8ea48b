#!/usr/bin/env python3
"""What the built library exports, and its version and soname.

Environment (set by tests/packaging/meson.build):
  UVFETCH_SHARED_LIB  the shared library (its check skips without it)
  UVFETCH_STATIC_LIB  the static library (likewise)
  UVFETCH_VERSION     the project's version
  NM, READELF         binutils

The shared library must export exactly the functions include/uvfetch.h
declares with UVFETCH_EXTERN: nothing internal, nothing from libcurl or
libuv. The static library cannot hide anything, so its external names must
at least carry the library's prefix (uvfetch_ public, uvfetch__ internal)
and never clash with a user's.
"""

import os
import re
import sys
import unittest

from common import SOURCE_ROOT, check_run, env_path, main, tool

HEADER = os.path.join(SOURCE_ROOT, "include", "uvfetch.h")

# Sanitizer instrumentation adds external names of its own to the objects
# of an ASan or UBSan build; they are not the library's.
SANITIZER = re.compile(r"^(__asan|__odr_asan|__ubsan|__sanitizer|__tsan|"
                       r"__msan|___asan)")


def declared_functions():
    """Names of the functions the header declares with UVFETCH_EXTERN."""
    with open(HEADER, encoding="utf-8") as f:
        text = f.read()
    # A declaration starts a line (the #define of UVFETCH_EXTERN does not)
    # and may span lines: its name is the word before the first "(".
    names = re.findall(r"^UVFETCH_EXTERN\b[^;(]*?\b(\w+)\s*\(", text,
                       re.M)
    return set(names)


def header_version():
    with open(HEADER, encoding="utf-8") as f:
        text = f.read()
    parts = {}
    for key in ("MAJOR", "MINOR", "PATCH"):
        m = re.search(r"#define UVFETCH_VERSION_%s (\d+)" % key, text)
        parts[key] = m.group(1)
    m = re.search(r'#define UVFETCH_VERSION_STRING "([^"]+)"', text)
    return parts, m.group(1)


def dynamic_exports(test, lib):
    nm = tool("nm", "NM")
    p = check_run(test, nm + ["-D", "--defined-only", lib])
    names = set()
    for line in p.stdout.splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        kind, name = fields[-2], fields[-1]
        # A version script would add its version node as an absolute
        # symbol (kind A); it names no code or data.
        if kind == "A":
            continue
        names.add(name.split("@")[0])
    return names


class SharedLibrary(unittest.TestCase):
    def setUp(self):
        self.lib = env_path("UVFETCH_SHARED_LIB")

    def test_header_declares_functions(self):
        # Guards the regular expression below: if it found nothing, every
        # other comparison here would pass for the wrong reason.
        names = declared_functions()
        self.assertIn("uvfetch_init", names)
        self.assertIn("uvfetch_close", names)
        self.assertIn("uvfetch_submit", names)
        self.assertGreaterEqual(len(names), 15)

    def test_exports_only_the_public_api(self):
        exported = {n for n in dynamic_exports(self, self.lib)
                    if not SANITIZER.match(n)}
        declared = declared_functions()
        self.assertEqual(sorted(exported - declared), [],
                         "exported but not in include/uvfetch.h")
        self.assertEqual(sorted(declared - exported), [],
                         "declared in include/uvfetch.h but not exported")
        for name in exported:
            self.assertTrue(name.startswith("uvfetch_"), name)

    def test_soname_and_version(self):
        readelf = tool("readelf", "READELF")
        parts, version = header_version()
        self.assertEqual(version, "%s.%s.%s" % (parts["MAJOR"],
                                                parts["MINOR"],
                                                parts["PATCH"]))
        self.assertEqual(version, env_path("UVFETCH_VERSION"))
        p = check_run(self, readelf + ["-d", self.lib])
        m = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", p.stdout)
        self.assertIsNotNone(m, p.stdout)
        # The soname carries the ABI version: the major version (0 while
        # the API may still change), so that a 0.2 may declare itself
        # incompatible by bumping meson.build's soversion.
        self.assertEqual(m.group(1), "libuvfetch.so." + parts["MAJOR"])
        real = os.path.realpath(self.lib)
        self.assertEqual(os.path.basename(real), "libuvfetch.so." + version)
        # The link-time name and the soname both lead to the real file.
        libdir = os.path.dirname(self.lib)
        for name in ("libuvfetch.so", m.group(1)):
            path = os.path.join(libdir, name)
            self.assertTrue(os.path.exists(path), path)
            self.assertEqual(os.path.realpath(path), real)

    def test_needs_libcurl_and_libuv(self):
        readelf = tool("readelf", "READELF")
        p = check_run(self, readelf + ["-d", self.lib])
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                            p.stdout)
        self.assertTrue(any(n.startswith("libcurl") for n in needed), needed)
        self.assertTrue(any(n.startswith("libuv.") for n in needed), needed)


class StaticLibrary(unittest.TestCase):
    def setUp(self):
        self.lib = env_path("UVFETCH_STATIC_LIB")

    def test_external_names_carry_the_prefix(self):
        nm = tool("nm", "NM")
        p = check_run(self, nm + ["-g", "--defined-only", self.lib])
        names = []
        for line in p.stdout.splitlines():
            fields = line.split()
            if len(fields) >= 3:
                names.append(fields[-1])
        names = [n for n in names if not SANITIZER.match(n)]
        self.assertTrue(names)
        bad = sorted(n for n in names if not n.startswith("uvfetch_"))
        self.assertEqual(bad, [])
        public = {n for n in names if not n.startswith("uvfetch__")}
        self.assertEqual(sorted(public - declared_functions()), [],
                         "public-looking names not in include/uvfetch.h")


if __name__ == "__main__":
    sys.exit(main(__name__))
