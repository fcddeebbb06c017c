#!/usr/bin/env python3
"""test_architecture — the checks that keep the tree's shape (tests/layers.py)
and its style (tests/style.sh) pass on the tree, and fail, naming file and
line, on a copy with a deliberate violation: an upward include, a sibling
include, an include cycle, an include without its folder, a file not
formatted, a file without its header line."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LAYERS = os.path.join(HERE, "layers.py")
STYLE = os.path.join(HERE, "style.sh")


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


class Copy:
    """server/, faults/ and .clang-format copied to a scratch root."""

    def __enter__(self):
        self.root = tempfile.mkdtemp(prefix="rf-arch-")
        for d in ("server", "faults"):
            shutil.copytree(os.path.join(ROOT, d), os.path.join(self.root, d))
        shutil.copy(os.path.join(ROOT, ".clang-format"), self.root)
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.root, ignore_errors=True)

    def add_line(self, rel, text):
        """Appends a line to a file; returns its line number."""
        path = os.path.join(self.root, rel)
        with open(path) as f:
            n = len(f.read().splitlines())
        with open(path, "a") as f:
            f.write(text + "\n")
        return n + 1


class Layers(unittest.TestCase):
    def layers(self, root):
        return run([sys.executable, LAYERS, root])

    def test_tree_is_clean(self):
        rc, out = self.layers(ROOT)
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"layers: \d+ files, 0 problems")

    def test_upward_include_fails(self):
        with Copy() as c:
            n = c.add_line("server/wire/x224.c", '#include "frontdoor/harness.h"')
            rc, out = self.layers(c.root)
        self.assertEqual(rc, 1, out)
        self.assertIn(f"server/wire/x224.c:{n}: includes frontdoor/harness.h "
                      "(server/frontdoor, layer 6) from server/wire (layer 1)", out)

    def test_sibling_include_fails(self):
        with Copy() as c:
            n = c.add_line("faults/nego.c", '#include "freerdp/tlshook.h"')
            rc, out = self.layers(c.root)
        self.assertEqual(rc, 1, out)
        self.assertIn(f"faults/nego.c:{n}: includes freerdp/tlshook.h (server/freerdp) from "
                      "faults: folders on one layer (2) do not include each other", out)

    def test_cycle_fails(self):
        with Copy() as c:
            a = c.add_line("server/base/log.h", '#include "base/hexstr.h"')
            b = c.add_line("server/base/hexstr.h", '#include "base/log.h"')
            rc, out = self.layers(c.root)
        self.assertEqual(rc, 1, out)
        self.assertIn("include cycle: server/base/hexstr -> server/base/log -> server/base/hexstr",
                      out)
        self.assertIn(f"server/base/hexstr.h:{b}", out)
        self.assertIn(f"server/base/log.h:{a}", out)

    def test_include_without_folder_fails(self):
        with Copy() as c:
            n = c.add_line("server/engine/conn.c", '#include "x224.h"')
            rc, out = self.layers(c.root)
        self.assertEqual(rc, 1, out)
        self.assertIn(f'server/engine/conn.c:{n}: #include "x224.h" names no folder', out)

    def test_include_of_no_file_fails(self):
        with Copy() as c:
            n = c.add_line("server/engine/conn.c", '#include "wire/nosuch.h"')
            rc, out = self.layers(c.root)
        self.assertEqual(rc, 1, out)
        self.assertIn(f'server/engine/conn.c:{n}: #include "wire/nosuch.h" is no file', out)


class Style(unittest.TestCase):
    def style(self, root):
        return run(["bash", STYLE, root])

    def test_tree_is_clean(self):
        rc, out = self.style(ROOT)
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"style: \d+ files, 0 problems")

    def test_unformatted_file_fails(self):
        with Copy() as c:
            c.add_line("server/wire/x224.c", "static int  badly_spaced ( void ) { return 0; }")
            rc, out = self.style(c.root)
        self.assertEqual(rc, 1, out)
        self.assertIn("server/wire/x224.c: not as .clang-format says", out)
        self.assertIn("style: ", out)
        self.assertIn(" 1 problem", out)

    def test_missing_header_line_fails(self):
        with Copy() as c:
            path = os.path.join(c.root, "server/base/hexstr.c")
            with open(path) as f:
                text = f.read()
            with open(path, "w") as f:
                f.write("#include <stdio.h>\n" + text)
            rc, out = self.style(c.root)
        self.assertEqual(rc, 1, out)
        self.assertIn('server/base/hexstr.c:1: the first line must be "/* hexstr.c — ', out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
