#!/usr/bin/env python3
"""meson install, and a program built against the install with pkg-config.

Environment (set by tests/packaging/meson.build):
  UVFETCH_SOURCE_ROOT  the source tree to configure again
  UVFETCH_VERSION      the project's version
  MESON, PKG_CONFIG, READELF, CC, CXX

Configures the source tree afresh in a temporary directory with its own
--prefix (the build under test may be instrumented or configured
differently; a user's install is a plain one), installs it, and then
builds examples/sitesize.c with nothing but
`pkg-config --cflags --libs uvfetch`, PKG_CONFIG_PATH pointing into the
prefix, and runs it against the loopback test server.
"""

import os
import re
import shlex
import sys
import unittest

from common import (SOURCE_ROOT, LoopbackServer, check_run, env_path, main,
                    run, scratch_dir, tool)

SERVER = None
INSTALL = None  # the Install made once for every test


class Install:
    def __init__(self, test):
        meson = tool("meson", "MESON")
        self.top = scratch_dir(test)
        self.prefix = os.path.join(self.top, "prefix")
        build = os.path.join(self.top, "build")
        check_run(test, meson + ["setup", build, SOURCE_ROOT,
                                 "--prefix", self.prefix,
                                 "--wrap-mode=nodownload",
                                 "-Dtests=false"], timeout=600)
        check_run(test, meson + ["compile", "-C", build], timeout=600)
        check_run(test, meson + ["install", "-C", build, "--no-rebuild"],
                  timeout=600)
        self.files = []
        for root, _, names in os.walk(self.prefix):
            for name in names:
                self.files.append(
                    os.path.relpath(os.path.join(root, name), self.prefix))
        pcs = [f for f in self.files if f.endswith("pkgconfig/uvfetch.pc")]
        self.pc_dir = (os.path.join(self.prefix, os.path.dirname(pcs[0]))
                       if pcs else None)

    def pkg_config(self, test, *args):
        env = dict(os.environ)
        env["PKG_CONFIG_PATH"] = self.pc_dir
        p = check_run(test, tool("pkg-config", "PKG_CONFIG") + list(args),
                      env=env)
        return p.stdout.strip()


def setUpModule():
    global SERVER
    SERVER = LoopbackServer()


def tearDownModule():
    if SERVER is not None:
        SERVER.stop()


class Installed(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        global INSTALL
        env_path("UVFETCH_VERSION")
        # The install outlives each test; scratch_dir needs a test case to
        # attach its clean-up to, so use a throwaway one owned by the class.
        cls.owner = unittest.TestCase()
        try:
            INSTALL = Install(cls.owner)
        except Exception:
            cls.owner.doCleanups()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.owner.doCleanups()

    def setUp(self):
        if INSTALL is None:
            self.skipTest("the install failed")
        self.inst = INSTALL
        self.version = env_path("UVFETCH_VERSION")

    def libdir(self):
        return self.inst.pkg_config(self, "--variable=libdir", "uvfetch")

    def run_env(self):
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = self.libdir()
        return env

    def test_files_in_place(self):
        files = set(self.inst.files)
        self.assertIn("include/uvfetch.h", files)
        self.assertIn("bin/uvfetch", files)
        self.assertIsNotNone(self.inst.pc_dir, sorted(files))
        libdir = os.path.relpath(self.libdir(), self.inst.prefix)
        for name in ("libuvfetch.so", "libuvfetch.so.0",
                     "libuvfetch.so." + self.version, "libuvfetch.a",
                     "pkgconfig/uvfetch.pc"):
            self.assertIn(os.path.join(libdir, name), files)
        so = os.path.join(self.inst.prefix, libdir, "libuvfetch.so")
        self.assertTrue(os.path.islink(so))
        self.assertEqual(os.path.basename(os.path.realpath(so)),
                         "libuvfetch.so." + self.version)
        # Tests, examples and test helpers are not installed.
        self.assertFalse([f for f in files if "test" in f or "example" in f],
                         sorted(files))

    def test_installed_header_is_the_source_header(self):
        with open(os.path.join(self.inst.prefix, "include", "uvfetch.h"),
                  "rb") as f:
            installed = f.read()
        with open(os.path.join(SOURCE_ROOT, "include", "uvfetch.h"),
                  "rb") as f:
            self.assertEqual(installed, f.read())

    def test_pkg_config_file(self):
        pc = self.inst.pkg_config
        self.assertEqual(pc(self, "--modversion", "uvfetch"), self.version)
        self.assertEqual(pc(self, "--variable=prefix", "uvfetch"),
                         self.inst.prefix)
        # libuv is public: uvfetch.h includes uv.h and the API takes a
        # uv_loop_t. libcurl is an implementation detail.
        self.assertEqual(re.split(r"\s", pc(self, "--print-requires",
                                            "uvfetch"))[0], "libuv")
        self.assertEqual(re.split(r"\s", pc(self, "--print-requires-private",
                                            "uvfetch"))[0], "libcurl")
        cflags = pc(self, "--cflags", "uvfetch").split()
        self.assertIn("-I" + os.path.join(self.inst.prefix, "include"),
                      cflags)
        libs = pc(self, "--libs", "uvfetch").split()
        self.assertIn("-luvfetch", libs)
        self.assertNotIn("-lcurl", libs)
        self.assertIn("-lcurl", pc(self, "--static", "--libs",
                                   "uvfetch").split())

    def build_sitesize(self, static):
        """Compile examples/sitesize.c against the install; its path."""
        cc = tool("cc", "CC")
        out = os.path.join(scratch_dir(self),
                           "sitesize-static" if static else "sitesize")
        src = os.path.join(SOURCE_ROOT, "examples", "sitesize.c")
        cflags = shlex.split(self.inst.pkg_config(self, "--cflags",
                                                  "uvfetch"))
        # A user's usual strict flags; callbacks have parameters they need
        # not use, as in uvfetch's own build.
        warn = ["-Wall", "-Wextra", "-Wpedantic", "-Werror",
                "-Wno-unused-parameter"]
        if not static:
            libs = shlex.split(self.inst.pkg_config(self, "--libs",
                                                    "uvfetch"))
            check_run(self, cc + warn + cflags + [src, "-o", out] + libs)
            return out
        # The archive, then its dependencies as shared libraries: libcurl
        # by name, since only a static link needs it (Requires.private).
        # Not `pkg-config --static`: that asks for libcurl's own static
        # dependencies, whose -dev packages Debian does not install.
        libs = shlex.split(self.inst.pkg_config(self, "--libs", "uvfetch",
                                                "libcurl"))
        libs = [a for a in libs if a != "-luvfetch"]
        archive = os.path.join(self.libdir(), "libuvfetch.a")
        check_run(self, cc + warn + cflags + [src, "-o", out, archive] + libs)
        return out

    def needed(self, exe):
        p = check_run(self, tool("readelf", "READELF") + ["-d", exe])
        return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                          p.stdout)

    def check_sitesize(self, exe):
        sizes = [0, 1, 4096, 100000]
        urls = [SERVER.url("/size/%d" % n) for n in sizes]
        p = run([exe] + urls, timeout=120, env=self.run_env())
        self.assertEqual(p.returncode, 0, p.stderr)
        got = sorted(line.split("\t") for line in p.stdout.splitlines())
        self.assertEqual(got, sorted([u, str(n)] for u, n in zip(urls, sizes)))

    def test_sitesize_with_pkg_config(self):
        exe = self.build_sitesize(static=False)
        self.assertIn("libuvfetch.so.0", self.needed(exe))
        self.check_sitesize(exe)

    def test_sitesize_static(self):
        exe = self.build_sitesize(static=True)
        self.assertNotIn("libuvfetch.so.0", self.needed(exe))
        self.check_sitesize(exe)

    def test_header_compiles_as_cxx(self):
        cxx = tool("c++", "CXX")
        src = os.path.join(scratch_dir(self), "use.cc")
        with open(src, "w") as f:
            f.write('#include <uvfetch.h>\n'
                    'int main() {\n'
                    '  uvfetch_options_t opt;\n'
                    '  uvfetch_options_init(&opt);\n'
                    '  return opt.max_concurrent == 50 &&\n'
                    '         uvfetch_version()[0] != 0 ? 0 : 1;\n'
                    '}\n')
        cflags = shlex.split(self.inst.pkg_config(self, "--cflags",
                                                  "uvfetch"))
        libs = shlex.split(self.inst.pkg_config(self, "--libs", "uvfetch"))
        out = src[:-3]
        check_run(self, cxx + ["-Wall", "-Wextra", "-Wpedantic", "-Werror"] +
                  cflags +
                  [src, "-o", out] + libs)
        p = run([out], env=self.run_env(), timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_installed_cli(self):
        exe = os.path.join(self.inst.prefix, "bin", "uvfetch")
        p = run([exe, "--version"], env=self.run_env(), timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith("uvfetch %s " % self.version),
                        p.stdout)
        u = SERVER.url("/size/1234")
        p = run([exe, u], env=self.run_env(), timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, u + "\t1234\n")


if __name__ == "__main__":
    sys.exit(main(__name__))
