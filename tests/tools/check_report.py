"""Checks a page written by `nntrain report` (tests/e2e/test_report.sh).

  check_report.py page PAGE.html --sections a,b [--absent c] [--metrics CSV] [--steps CSV]
                  [--trials CSV] [--reinit CSV]
      the page is well-formed (a strict XML parser reads it), refers to nothing outside
      itself, has an element for every section, and its tables equal the CSV files.
  check_report.py confusion PAGE.html PREDICTIONS.h5 DATA.h5 [--rows N]
      the confusion matrix sums to the test split's size and equals the one computed from
      `nntrain predict`'s classes and the split's labels.
  check_report.py browser PAGE.html SHOT.png --sections a,b
      headless Chromium renders the page: the screenshot is not blank and every section's
      element is in the rendered DOM.
Exits 1 with one line per failed check."""
import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

XHTML = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"
failures = []


def fail(msg):
    failures.append(msg)


def parse(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        print(f"FAIL: {path}: not well-formed: {e}")
        sys.exit(1)
    return text, root


def by_id(root, ident):
    for el in root.iter():
        if el.get("id") == ident:
            return el
    return None


def table_rows(table):
    rows = []
    for tr in table.iter(XHTML + "tr"):
        cells = ["".join(c.itertext()).strip() for c in tr
                 if c.tag in (XHTML + "td", XHTML + "th")]
        rows.append(cells)
    return rows


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def check_external(text, path):
    for m in re.finditer(r'\b(src|href)\s*=\s*"([^"]*)"', text):
        if not (m.group(2).startswith("data:") or m.group(2).startswith("#")):
            fail(f"{path}: external reference {m.group(0)[:80]}")
    for bad in ("<script", "<link", "@import", "url("):
        if bad in text:
            fail(f"{path}: contains {bad}")
    stripped = re.sub(r'xmlns="[^"]*"', "", text)
    if re.search(r"https?://", stripped):
        fail(f"{path}: mentions a network address")


def check_table(root, ident, csv_path, key_column=None):
    table = by_id(root, ident)
    if table is None:
        fail(f"no table #{ident}")
        return
    got = table_rows(table)
    want = read_csv(csv_path)
    if key_column is None:
        if got != want:
            fail(f"#{ident} differs from {csv_path}: {got[:3]} ... vs {want[:3]} ...")
        return
    # the leaderboard: a rank column first, rows in rank order; compare by trial number
    head = got[0][1:]
    if head != want[0]:
        fail(f"#{ident} header {head} != {want[0]}")
    rows = {r[1]: r[1:] for r in got[1:]}
    for r in want[1:]:
        if rows.get(r[0]) != r:
            fail(f"#{ident}: trial {r[0]} shows {rows.get(r[0])}, {csv_path} has {r}")
    if len(rows) != len(want) - 1:
        fail(f"#{ident} has {len(rows)} trials, {csv_path} {len(want) - 1}")


def cmd_page(a):
    text, root = parse(a.page)
    check_external(text, a.page)
    for s in filter(None, a.sections.split(",")):
        if by_id(root, s) is None:
            fail(f"{a.page}: no #{s}")
    for s in filter(None, a.absent.split(",")):
        if by_id(root, s) is not None:
            fail(f"{a.page}: #{s} should not be there")
    if a.metrics:
        check_table(root, "metrics-table", a.metrics)
    if a.trials:
        check_table(root, "leaderboard-table", a.trials, key_column=0)
    if a.steps:
        rows = read_csv(a.steps)
        note = f"{len(rows) - 1} steps recorded"
        if note not in text:
            fail(f"{a.page}: does not say '{note}'")
        for col in ("loss", "lr", "grad_norm"):
            if by_id(root, "step-" + col) is None:
                fail(f"{a.page}: no per-step {col} plot")
    if a.reinit:
        svg = by_id(root, "reinit-0")
        got = sorted(float(r.get("data-value")) for r in (svg.iter(SVG + "rect") if svg is not None else [])
                     if r.get("data-value"))
        want = sorted(float(r[3]) for r in read_csv(a.reinit)[1:])
        if len(got) != len(want) or any(abs(g - w) > 1e-6 for g, w in zip(got, want)):
            fail(f"the reinit heatmap's cells {got} differ from {a.reinit}'s accuracies {want}")
    # every plot also beside the page
    plots_dir = re.sub(r"\.html$", "", a.page) + "-plots"
    for svg in root.iter(SVG + "svg"):
        name = svg.get("id")
        if not os.path.isfile(os.path.join(plots_dir, name + ".svg")):
            fail(f"{plots_dir}/{name}.svg missing")
        else:
            ET.parse(os.path.join(plots_dir, name + ".svg"))


def cmd_confusion(a):
    import h5py
    import numpy as np
    _, root = parse(a.page)
    svg = by_id(root, "confusion")
    if svg is None:
        print(f"FAIL: {a.page}: no confusion matrix")
        sys.exit(1)
    counts = [int(r.get("data-count")) for r in svg.iter(SVG + "rect") if r.get("data-count")]
    k = int(round(len(counts) ** 0.5))
    got = np.array(counts).reshape(k, k)
    with h5py.File(a.predictions, "r") as f:
        predicted = f["classes"][:]
    with h5py.File(a.data, "r") as f:
        truth = f["test/y"][:]
    if a.rows:
        predicted, truth = predicted[: a.rows], truth[: a.rows]
    want = np.zeros((k, k), dtype=np.int64)
    np.add.at(want, (truth, predicted), 1)
    if got.sum() != len(truth):
        fail(f"confusion matrix sums to {got.sum()}, the test split has {len(truth)}")
    if not (got == want).all():
        fail(f"confusion matrix differs from nntrain predict's:\n{got}\n{want}")


def cmd_browser(a):
    import shutil
    try:
        from PIL import Image
    except ImportError:
        print("FAIL: python3-pil is missing (launch/setup.sh --tests installs it)")
        sys.exit(1)
    if not shutil.which("chromium"):
        print("FAIL: chromium is missing (launch/setup.sh --tests installs it)")
        sys.exit(1)
    page = os.path.abspath(a.page)
    with tempfile.TemporaryDirectory() as profile:
        base = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                f"--user-data-dir={profile}", "--window-size=1280,2400"]
        shot = subprocess.run(base + [f"--screenshot={a.shot}", "file://" + page],
                              capture_output=True, text=True, timeout=300)
        dom = subprocess.run(base + ["--dump-dom", "file://" + page], capture_output=True,
                             text=True, timeout=300)
    if shot.returncode != 0 or not os.path.isfile(a.shot):
        print(f"FAIL: chromium did not take a screenshot: {shot.stderr[-400:]}")
        sys.exit(1)
    for s in filter(None, a.sections.split(",")):
        if f'id="{s}"' not in dom.stdout:
            fail(f"rendered DOM of {a.page} has no #{s}")
    im = Image.open(a.shot).convert("RGB")
    small = im.resize((320, 600))
    pixels = list(small.getdata())
    inked = sum(1 for p in pixels if sum(p) < 600) / len(pixels)
    colours = len(set(im.getdata()))
    if inked < 0.005 or colours < 16:
        fail(f"{a.shot} looks blank ({inked:.1%} inked, {colours} colours)")
    print(f"{a.shot}: {im.size[0]}x{im.size[1]}, {inked:.1%} inked, {colours} colours")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("page")
    p.add_argument("page")
    p.add_argument("--sections", default="")
    p.add_argument("--absent", default="")
    p.add_argument("--metrics")
    p.add_argument("--steps")
    p.add_argument("--trials")
    p.add_argument("--reinit")
    c = sub.add_parser("confusion")
    c.add_argument("page")
    c.add_argument("predictions")
    c.add_argument("data")
    c.add_argument("--rows", type=int, help="only the split's first ROWS rows (a run's test_rows)")
    b = sub.add_parser("browser")
    b.add_argument("page")
    b.add_argument("shot")
    b.add_argument("--sections", default="")
    a = ap.parse_args()
    {"page": cmd_page, "confusion": cmd_confusion, "browser": cmd_browser}[a.cmd](a)
    for f in failures:
        print("FAIL: " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
