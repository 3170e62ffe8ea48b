#!/usr/bin/env python3
"""The README's Slurm array job, run on a Slurm cluster (stdlib only).

tests/slurm.sh starts munged, slurmctld and slurmd in a temporary directory
(its own key, config, ports, state and logs); tests/nginx.sh serves 30,000
URLs on loopback. The test submits the README's `sbatch --array=0-15` line
as written, waits for the array with squeue (bounded), reads each task's end
state from the job completion log (what sacct would show; sacct itself needs
slurmdbd), then checks that part K's journal holds exactly shard K of the
input, once each, and that the README's merge line puts all 30,000 records
back in input order. It stops every daemon it started, by pid.

Slurm's daemons need an IPv4 address other than 127.0.0.1 to find their
listening address (see tests/slurm.sh). Where there is none, as in
scripts/test's namespace with nothing but lo, the test runs itself again in
a network namespace of its own, whose lo also has 127.0.0.2. It skips (exit
77, with the reason) where it cannot run the daemons: not root, packages
missing and not installable, no namespace to be had.

Environment: UVFETCH, UVFETCH_NGINX_SH; UVFETCH_SCALE_URLS (default 30000).
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import scale_support as S

URLS = int(os.environ.get("UVFETCH_SCALE_URLS", "30000"))
TASKS = 16
WAIT = 150  # seconds for the whole array to leave the queue
NESTED = "UVFETCH_SCALE_NETNS"

tmp = None
cluster = None
nginx = None
env = None


def setUpModule():
    global tmp, cluster, nginx, env
    # munged wants every directory above its socket searchable by all.
    tmp = tempfile.mkdtemp(prefix="uvf-slurm-")
    os.chmod(tmp, 0o711)
    cluster = os.path.join(tmp, "c")
    os.mkdir(cluster)
    p = subprocess.run([S.SLURM_SH, "start", cluster], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=180)
    if p.returncode == 77:
        said = [line for line in p.stderr.decode(errors="replace")
                .splitlines() if line.startswith("slurm.sh:")]
        why = said[-1] if said else "tests/slurm.sh start: exit 77"
        tearDownModule()
        raise unittest.SkipTest(why)
    if p.returncode != 0:
        err = p.stderr.decode(errors="replace")
        tearDownModule()
        raise RuntimeError("tests/slurm.sh start failed:\n" + err)
    try:
        nginx = S.Nginx(os.path.join(tmp, "n")).__enter__()
    except BaseException:
        tearDownModule()
        raise
    env = S.path_env(tmp)
    env["SLURM_CONF"] = os.path.join(cluster, "slurm.conf")


def tearDownModule():
    global nginx
    if cluster is not None:
        subprocess.run([S.SLURM_SH, "stop", cluster], timeout=120)
    if nginx is not None:
        nginx.__exit__(None, None, None)
        nginx = None
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)


def slurm(*args, timeout=30):
    p = subprocess.run(list(args), env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), \
        p.stderr.decode(errors="replace")


def completions(job):
    """The array's tasks in the job completion log: {task: (state, exit)}."""
    path = os.path.join(cluster, "jobcomp.txt")
    done = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                fields = dict(re.findall(r"(\w+)=(\S*)", line))
                if fields.get("ArrayJobId") == str(job):
                    done[int(fields["ArrayTaskId"])] = (fields["JobState"],
                                                        fields["ExitCode"])
    return done


def logs(work):
    """The tail of each log, for a failure's message."""
    out = []
    for path in [os.path.join(cluster, "slurmctld.log"),
                 os.path.join(cluster, "slurmd.log")] + \
            sorted(os.path.join(work, f) for f in os.listdir(work)
                   if f.startswith("slurm-")):
        try:
            with open(path, errors="replace") as f:
                text = f.read()[-1500:]
        except OSError:
            continue
        if text:
            out.append("--- %s\n%s" % (path, text))
    return "\n".join(out)


class SlurmArray(unittest.TestCase):
    def test_array_job_covers_input_once_and_merges(self):
        comment, cmd = S.recipe("A Slurm array job")
        self.assertIn("sbatch --array=0-%d " % (TASKS - 1), cmd)
        self.assertIn("/%d\"" % TASKS, cmd)
        work = os.path.join(tmp, "w")
        os.mkdir(work)
        urls = nginx.urls(URLS)
        S.write_urls(os.path.join(work, "urls.txt"), urls)

        start = time.monotonic()
        p = S.bash(cmd, work, env, 60)
        self.assertEqual(p.returncode, 0, p.stderr)
        m = re.search(rb"Submitted batch job (\d+)", p.stdout)
        self.assertTrue(m, p.stdout + p.stderr)
        job = int(m.group(1))

        # Wait for the array to leave the queue, then for all its tasks in
        # the completion log, which slurmctld writes as each one ends.
        deadline = start + WAIT
        queued = None
        while time.monotonic() < deadline:
            rc, out, err = slurm("squeue", "-h", "-j", str(job), "-o", "%i")
            if rc == 0 and not out.strip():
                queued = ""
                if len(completions(job)) == TASKS:
                    break
            else:
                queued = out + err
            time.sleep(0.5)
        done = completions(job)
        if len(done) != TASKS:
            slurm("scancel", str(job))
            self.fail("array %d not done in %d s; queue: %r; done: %r\n%s"
                      % (job, WAIT, queued, done, logs(work)))
        took = time.monotonic() - start
        self.assertEqual(sorted(done), list(range(TASKS)))
        for task, (state, code) in sorted(done.items()):
            self.assertEqual((state, code), ("COMPLETED", "0:0"),
                             "task %d\n%s" % (task, logs(work)))

        recs = S.check_parts(self, work, urls, TASKS, size=1024)
        # The TSV parts agree: every URL once, across the 16.
        tsv = []
        for k in range(TASKS):
            tsv += S.tsv_urls(os.path.join(work, "part-%d.tsv" % k))
        self.assertEqual(sorted(tsv), sorted(urls))
        sizes = sorted(len([r for r in recs if S.shard_of(r["url"], TASKS)
                            == k]) for k in range(TASKS))
        S.check_merge(self, work, env, urls)
        print("slurm: %d URLs, %d array tasks on a one-node cluster, "
              "%.1f s from sbatch to the last task's end (shards of %d to "
              "%d URLs)" % (len(urls), TASKS, took, sizes[0], sizes[-1]))


def addrconfig_ok():
    try:
        socket.getaddrinfo(None, "1", socket.AF_INET, socket.SOCK_STREAM, 0,
                           socket.AI_PASSIVE | socket.AI_ADDRCONFIG)
        return True
    except socket.gaierror:
        return False


def nest():
    """Runs this file again in a network namespace of its own whose lo also
    has 127.0.0.2 (see the module's comment); returns its status, or None
    when no namespace can be made here."""
    if os.geteuid() != 0 or not shutil.which("unshare") or \
            not shutil.which("ip"):
        return None
    if subprocess.run(["unshare", "-n", "true"],
                      stderr=subprocess.DEVNULL).returncode != 0:
        return None
    child = dict(os.environ)
    child[NESTED] = "1"
    setup = ("ip link set lo up && ip addr add 127.0.0.2/8 dev lo || "
             "{ echo 'SKIP: cannot set up lo in a new namespace'; exit 77; }; "
             'exec "$@"')
    return subprocess.run(["unshare", "-n", "sh", "-c", setup, "sh",
                           sys.executable, os.path.abspath(__file__)],
                          env=child).returncode


if __name__ == "__main__":
    if not addrconfig_ok() and not os.environ.get(NESTED):
        status = nest()
        if status is not None:
            sys.exit(status)
    sys.exit(S.main(__name__))
