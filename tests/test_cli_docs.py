#!/usr/bin/env python3
"""uvfetch's documentation agrees with its option table (stdlib only).

--help prints the option table. The README's option list must be that list,
line for line; the man page (generated from the table at build time) must
list the same options with the same heads and one-line help; every option
must be exercised by some CLI test; every --write-out variable must be
documented in the README and the man page, and accepted.

Environment: as for test_cli.py, and
  UVFETCH_MANPAGE  the built man page (default: src/cli/uvfetch.1 beside
                   the binary)
"""

import glob
import os
import re
import sys
import unittest

import test_cli as T
from test_cli import run, url

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
README = os.path.join(ROOT, "README.md")
MANPAGE = os.environ.get(
    "UVFETCH_MANPAGE",
    os.path.join(os.path.dirname(os.path.abspath(T.UVFETCH)), "src", "cli",
                 "uvfetch.1"))
HELP_COLUMN = 30


def setUpModule():
    T.setUpModule()


def tearDownModule():
    T.tearDownModule()


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def help_text():
    p = run(["--help"])
    assert p.returncode == 0, p.stderr
    return p.stdout.decode()


def help_option_lines():
    """The option list of --help, as printed."""
    lines = help_text().splitlines()
    start = [i for i, line in enumerate(lines)
             if line.startswith("Options")][0] + 1
    end = lines.index("", start)
    return lines[start:end]


def help_options():
    """(head, help) per option: "-j, --parallel N", "fetch at most ..."."""
    out = []
    lines = help_option_lines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if len(line) > HELP_COLUMN and line[HELP_COLUMN - 1] == " ":
            out.append((line[:HELP_COLUMN].strip(), line[HELP_COLUMN:]))
            i += 1
        else:  # a long head, its help on the next line
            out.append((line.strip(), lines[i + 1].strip()))
            i += 2
    return out


def write_out_variables():
    text = help_text()
    block = text[text.index("-w TEMPLATE writes"):].split("\n\n")[0]
    return re.findall(r"\b[a-z_0-9]+\b", "\n".join(block.splitlines()[1:]))


def troff_plain(s):
    s = re.sub(r"\\f[BIRP]", "", s)
    return s.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\")


class Docs(unittest.TestCase):
    def test_readme_option_list_is_the_help(self):
        readme = read(README)
        section = readme[readme.index("## The command line\n"):]
        section = section[:section.index("\n## ", 1)]
        blocks = re.findall(r"^```\n(.*?)^```$", section, re.S | re.M)
        lists = [b for b in blocks if "--parallel" in b]
        self.assertEqual(len(lists), 1)
        self.assertEqual(lists[0].splitlines(), help_option_lines())

    def test_man_page_lists_the_table(self):
        self.assertTrue(os.path.exists(MANPAGE), "build the man page first: "
                        + MANPAGE)
        man = read(MANPAGE)
        opts = man[man.index(".SH OPTIONS\n"):]
        opts = opts[:opts.index("\n.SH ", 1)]
        entries = opts.split(".TP\n")[1:]
        got = []
        for e in entries:
            lines = e.splitlines()
            got.append((troff_plain(lines[0]), troff_plain(lines[1])))
        self.assertEqual(got, help_options())

    def test_man_page_sections(self):
        man = read(MANPAGE)
        for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS",
                        "OUTPUT", "WRITE-OUT", "JOURNAL AND RESUMING",
                        "SHARDING", "EXIT STATUS", "ENVIRONMENT"):
            self.assertIn("\n.SH %s\n" % section, man)
        self.assertNotIn("@OPTIONS@", man)
        self.assertNotIn("@VERSION@", man)

    def test_every_option_has_a_test(self):
        tests = ""
        for path in sorted(glob.glob(os.path.join(HERE, "test_cli*.py"))):
            if os.path.basename(path) != "test_cli_docs.py":
                tests += read(path)
        missing = []
        for head, _ in help_options():
            m = re.match(r"(?:-(\w), )?--([\w.-]+)", head)
            letter, name = m.groups()
            forms = [r"""["']--%s["'=]""" % re.escape(name)]
            if letter:
                forms.append(r"""["']-%s""" % re.escape(letter))
            if not any(re.search(f, tests) for f in forms):
                missing.append(name)
        self.assertEqual(missing, [])

    def test_write_out_variables_documented_and_accepted(self):
        variables = write_out_variables()
        self.assertGreaterEqual(len(variables), 19)
        readme = read(README)
        table = readme[readme.index("| variable | value |"):]
        table = table[:table.index("\n\n")]
        man = read(MANPAGE)
        wo = man[man.index(".SH WRITE-OUT"):]
        wo = wo[:wo.index("\n.SH ", 1)]
        for v in variables:
            self.assertIn("`%s`" % v, table, v)
            self.assertRegex(wo, r"\n\.B .*\b%s\b" % v)
        template = "".join("%%{%s}|" % v for v in variables) + "\\n"
        p = run(["-w", template, url("/size/3")])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.count(b"|"), len(variables))


if __name__ == "__main__":
    sys.exit(T.main("__main__"))
