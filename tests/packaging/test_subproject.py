#!/usr/bin/env python3
"""uvfetch vendored as a meson subproject by an outside project.

Environment (set by tests/packaging/meson.build):
  UVFETCH_SOURCE_ROOT  the source tree to vendor
  MESON

Generates, in a temporary directory, the project a user would write: a
meson.build that asks for dependency('uvfetch') and a subprojects/uvfetch
that is a symlink to this source tree, then configures it with
--wrap-mode=nodownload (no network), builds it and runs its program, a
copy of examples/sitesize.c, against the loopback test server.
"""

import os
import shutil
import sys
import unittest

from common import (SOURCE_ROOT, LoopbackServer, check_run, main, run,
                    scratch_dir, tool)

MESON_BUILD = """\
project('outside', 'c', version : '1.0',
  default_options : ['warning_level=3', 'werror=true'])

# Found with pkg-config when uvfetch is installed; otherwise built from
# subprojects/uvfetch, whose meson.build overrides the 'uvfetch' dependency.
# Its own test suite is of no use here.
uvfetch_dep = dependency('uvfetch', version : '>=0.1',
  default_options : ['tests=false'])

# Callbacks have parameters they need not use.
add_project_arguments('-Wno-unused-parameter', language : 'c')

executable('sizes', 'sizes.c', dependencies : uvfetch_dep)
"""


class Subproject(unittest.TestCase):
    def setUp(self):
        self.server = LoopbackServer()
        self.addCleanup(self.server.stop)

    def test_vendored_build(self):
        meson = tool("meson", "MESON")
        top = scratch_dir(self)
        proj = os.path.join(top, "outside")
        os.makedirs(os.path.join(proj, "subprojects"))
        os.symlink(SOURCE_ROOT, os.path.join(proj, "subprojects", "uvfetch"))
        with open(os.path.join(proj, "meson.build"), "w") as f:
            f.write(MESON_BUILD)
        shutil.copy(os.path.join(SOURCE_ROOT, "examples", "sitesize.c"),
                    os.path.join(proj, "sizes.c"))

        # Nothing installed may satisfy dependency('uvfetch') instead.
        env = dict(os.environ)
        env["PKG_CONFIG_PATH"] = os.path.join(top, "empty")
        build = os.path.join(top, "build")
        p = check_run(self, meson + ["setup", build, proj,
                                     "--wrap-mode=nodownload"],
                      env=env, timeout=600)
        self.assertRegex(p.stdout, r"Dependency uvfetch found: YES \S+ "
                         r"\(overridden\)")
        check_run(self, meson + ["compile", "-C", build], env=env,
                  timeout=600)
        # Built inside the outer build tree, from the vendored sources.
        self.assertTrue(os.path.exists(os.path.join(
            build, "subprojects", "uvfetch", "libuvfetch.so.0")))

        sizes = [0, 37, 50000]
        urls = [self.server.url("/size/%d" % n) for n in sizes]
        p = run([os.path.join(build, "sizes")] + urls, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        got = sorted(line.split("\t") for line in p.stdout.splitlines())
        self.assertEqual(got, sorted([u, str(n)] for u, n in zip(urls, sizes)))


if __name__ == "__main__":
    sys.exit(main(__name__))
