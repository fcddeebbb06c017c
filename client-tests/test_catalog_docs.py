"""The catalog's documentation says what the scenario files say: every
expectation of a client the matrix runs is one value (a result and, for a
failure, one exit code), docs/catalog.md is generated from the files and
current, and README.md's scenario tables agree with the files' exit codes
and results.
"""

import json
import os
import re
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import catalog_doc  # noqa: E402
import rfharness as rf  # noqa: E402

RUNNABLE = {"xfreerdp", "rdesktop", "rdpfault-mtclient", "nmap", "nmap-ntlm-info", "impacket"}
HEDGES = re.compile(r"not asserted|\beither\b|\bvaries\b|\braces?\b|\bsometimes\b", re.I)


class CatalogDocs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.scs = catalog_doc.scenarios(rf.rdpfault_binary())
        cls.by_name = {s["name"]: s for s in cls.scs}

    def test_every_expectation_is_one_value(self):
        for s in self.scs:
            for e in s.get("expect", []):
                where = f"{s['file']}: expect.{e['client']}"
                self.assertNotRegex(e.get("note", ""), HEDGES, where)
                if e["client"] in RUNNABLE and e["result"] == "failed":
                    self.assertIn("exit", e, f"{where}: a failure without its exit code")

    def test_catalog_page_is_current(self):
        with open(os.path.join(ROOT, "docs", "catalog.md")) as f:
            page = f.read()
        self.assertEqual(page, catalog_doc.render(self.scs),
                         "docs/catalog.md is stale: python3 client-tests/catalog_doc.py "
                         "> docs/catalog.md")

    def readme_rows(self):
        """(names, xfreerdp cell, rdesktop cell) of README's scenario tables:
        rows whose first cell names scenarios (`name`, `reset-at-PHASE`)."""
        with open(os.path.join(ROOT, "README.md")) as f:
            lines = f.read().splitlines()
        header = None
        for ln in lines:
            if not ln.startswith("|"):
                header = None
                continue
            cells = [c.strip() for c in ln.strip("|").split("|")]
            if cells and cells[0] == "scenario":
                header = cells
                continue
            if not header or set(ln) <= set("|- "):
                continue
            names = re.findall(r"`([a-z0-9-]+(?:-PHASE)?)`", cells[0])
            cols = {h: cells[i] for i, h in enumerate(header) if i < len(cells)}
            xf = next((v for h, v in cols.items() if h.startswith("xfreerdp")), None)
            rd = next((v for h, v in cols.items() if h.startswith("rdesktop")), None)
            yield names, xf, rd

    def expansions(self, name):
        if name.endswith("-PHASE"):
            t = name[:-len("-PHASE")]
            return [s for s in self.scs if s.get("template") == t]
        return [self.by_name[name]] if name in self.by_name else []

    def test_readme_tables_agree_with_the_files(self):
        seen, wrong = 0, []
        for names, xf, rd in self.readme_rows():
            for name in names:
                scs = self.expansions(name)
                self.assertTrue(scs, f"README names {name}, which is no scenario")
                for client, text in (("xfreerdp", xf), ("rdesktop", rd)):
                    for s in scs:
                        e = next((e for e in s["expect"] if e["client"] == client), None)
                        if not e or text is None:
                            continue
                        seen += 1
                        where = f"README row {name}, {client}: '{text}' vs {s['name']}"
                        if "exit" in e and not re.search(rf"\b{e['exit']}\b", text):
                            wrong.append(f"{where}: no exit {e['exit']}")
                        word = {"connected": "connects", "hangs": "hangs",
                                "retries-forever": "retries"}.get(e["result"])
                        if word and word not in text:
                            wrong.append(f"{where}: not '{word}'")
        self.assertEqual(wrong, [], "\n".join(sorted(set(wrong))))
        self.assertGreater(seen, 100)


if __name__ == "__main__":
    unittest.main(verbosity=2)
