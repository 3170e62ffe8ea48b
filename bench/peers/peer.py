"""What bench/run's Python clients share: their arguments
(-j N -i FILE [--cacert CA]) and their records, "url<TAB>bytes" per URL in
completion order, or "url<TAB>-<TAB>error" for a failure, as uvfetch
prints them."""
import argparse
import sys


def arguments():
    ap = argparse.ArgumentParser()
    ap.add_argument("-j", type=int, default=50)
    ap.add_argument("-i", required=True)
    ap.add_argument("--cacert")
    return ap.parse_args()


class Records:
    """Writes each result as it comes; status() is the exit status."""

    def __init__(self):
        self.out = sys.stdout
        self.failed = 0

    def add(self, url, size, err=None):
        if size is None:
            self.failed += 1
            self.out.write("%s\t-\t%s\n" % (url, err or "failed"))
        else:
            self.out.write("%s\t%d\n" % (url, size))

    def status(self):
        self.out.flush()
        return 1 if self.failed else 0
