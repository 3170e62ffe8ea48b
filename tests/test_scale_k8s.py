#!/usr/bin/env python3
"""examples/k8s-indexed-job.yaml runs the README's Kubernetes command
(stdlib only; PyYAML, when present, also parses the manifest).

No cluster runs here: the test checks that the manifest is an Indexed Job
whose completions, parallelism and --shard agree, and that the command its
container runs is the README's line, as written.
"""

import os
import re
import sys
import unittest

import scale_support as S

MANIFEST = os.path.join(S.ROOT, "examples", "k8s-indexed-job.yaml")


def words(cmd):
    """A shell command with its line continuations joined, as the shell
    reads it: whitespace runs compared as one."""
    return cmd.replace("\\\n", " ").split()


def manifest_script(text):
    """The block scalar after `- -c` in the container's command."""
    m = re.search(r"^( *)- -c\n\1- \|\n((?:\1  .*\n|\n)+)", text, re.M)
    if not m:
        raise AssertionError("no `- sh`, `- -c`, `- |` command in %s"
                             % MANIFEST)
    indent = len(m.group(1)) + 2
    return "".join(line[indent:] + "\n"
                   for line in m.group(2).rstrip("\n").split("\n"))


class IndexedJob(unittest.TestCase):
    def setUp(self):
        with open(MANIFEST, encoding="utf-8") as f:
            self.text = f.read()
        comment, self.readme_cmd = S.recipe("A Kubernetes Indexed Job")
        self.assertIn("examples/k8s-indexed-job.yaml", comment)

    def test_command_is_the_readmes(self):
        script = manifest_script(self.text)
        self.assertEqual(words(script), words(self.readme_cmd))
        self.assertEqual(script.strip(), self.readme_cmd.strip())

    def test_indexed_and_counts_agree(self):
        n = int(re.search(r'--shard "\$JOB_COMPLETION_INDEX/(\d+)"',
                          self.readme_cmd).group(1))
        self.assertRegex(self.text, r"(?m)^  completionMode: Indexed$")
        self.assertRegex(self.text, r"(?m)^  completions: %d$" % n)
        self.assertRegex(self.text, r"(?m)^  parallelism: %d$" % n)
        self.assertIn("completions: %d" % n, S.recipe(
            "A Kubernetes Indexed Job")[0])

    def test_parses_as_a_job(self):
        try:
            import yaml
        except ImportError:
            self.skipTest("PyYAML is not installed")
        job = yaml.safe_load(self.text)
        self.assertEqual((job["apiVersion"], job["kind"]), ("batch/v1", "Job"))
        spec = job["spec"]
        self.assertEqual(spec["completionMode"], "Indexed")
        pod = spec["template"]["spec"]
        self.assertIn(pod["restartPolicy"], ("Never", "OnFailure"))
        (c,) = pod["containers"]
        self.assertEqual(c["command"][:2], ["sh", "-c"])
        self.assertEqual(words(c["command"][2]), words(self.readme_cmd))
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        self.assertIn(mounts["/data"], [v["name"] for v in pod["volumes"]])


if __name__ == "__main__":
    sys.exit(S.main(__name__))
