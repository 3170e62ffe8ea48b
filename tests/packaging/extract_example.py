#!/usr/bin/env python3
"""Write the worked example of docs/api.md to a C file.

  extract_example.py API_MD OUT_C

The example is the first ```c block after the line
"<!-- worked example: built and run by tests/packaging -->".
"""

import sys

MARKER = "<!-- worked example: built and run by tests/packaging -->"


def extract(text):
    at = text.find(MARKER)
    if at < 0:
        raise SystemExit("extract_example.py: no marker %r" % MARKER)
    start = text.find("```c\n", at)
    if start < 0:
        raise SystemExit("extract_example.py: no ```c block after the marker")
    start += len("```c\n")
    end = text.find("\n```", start)
    if end < 0:
        raise SystemExit("extract_example.py: the ```c block never ends")
    return text[start:end + 1]


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: extract_example.py API_MD OUT_C")
    with open(sys.argv[1], encoding="utf-8") as f:
        code = extract(f.read())
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write(code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
