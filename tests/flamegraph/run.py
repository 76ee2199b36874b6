#!/usr/bin/env python3
# tests/flamegraph/run.py: --folded and --flamegraph from a real traced process, the SVG opened in
# headless Chromium: frames and hover titles read back from the DOM, click-zoom exercised through
# the FILE.svg#fN entry point (the click handler's zoom()), and a screenshot that shows the frames
# in their colours at their places.  TAP.  Needs root (BPF); Chromium from scripts/setup.
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SONDE = os.environ.get("SONDE") or os.path.join(HERE, "..", "..", "sonde")
FIXTURE = os.path.join(HERE, "..", "runtime", "fixtures", "uprobe_target.c")
SVGNS = "{http://www.w3.org/2000/svg}"
n = 0
failed = 0


def tap(cond, name, diag=None):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name))
    if not cond:
        failed += 1
        for line in (diag or "").splitlines():
            print("# " + line)
    sys.stdout.flush()
    return cond


def skip(name, reason):
    global n
    n += 1
    print("ok %d - %s # SKIP %s" % (n, name, reason))


def chromium(tmp, *args):
    cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", "--user-data-dir=" + tempfile.mkdtemp(dir=tmp)] + list(args)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)


def png_pixels(path):
    """RGB(A) rows of a non-interlaced 8-bit PNG (what Chromium writes)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, "unexpected PNG layout"
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        ft, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ft == 1:
                line[i] = (line[i] + a) & 255
            elif ft == 2:
                line[i] = (line[i] + b) & 255
            elif ft == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(w)])
        prev = line
    return rows


def frames_of(root):
    out = {}
    for g in root.iter(SVGNS + "g"):
        if "f" not in g.get("class", "").split():
            continue
        title = g.find(SVGNS + "title").text
        out.setdefault(title, []).append(g)
    return out


def main():
    if os.geteuid() != 0:
        print("1..0 # SKIP needs root to load BPF")
        return 0
    tmp = tempfile.mkdtemp(prefix="sonde-flame.")
    target = os.path.join(tmp, "uprobe_target")
    r = subprocess.run(["cc", "-g", "-O0", "-fno-omit-frame-pointer", "-fno-inline", "-o", target,
                        FIXTURE], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if not tap(r.returncode == 0, "fixture_builds", r.stdout.decode(errors="replace")):
        print("1..%d" % n)
        return 1
    svg, folded = os.path.join(tmp, "fg.svg"), os.path.join(tmp, "fg.folded")
    r = subprocess.run([SONDE, "-q", "--folded", folded, "--flamegraph", svg, "-e",
                        "uprobe:%s:fixture_add { @[ustack] = count(); }" % target,
                        "-c", target + " 5"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    tap(r.returncode == 0, "sonde_exits_0_with_flamegraph_options", r.stderr.decode())
    text = open(folded).read() if os.path.exists(folded) else ""
    lines = text.splitlines()
    tap(any(re.search(r"(^|;)main;fixture_outer;fixture_inner;fixture_add 5$", l) for l in lines),
        "folded_has_the_nested_call_path_root_first_with_its_count", text)
    tap(any(re.search(r"(^|;)main;fixture_add 5$", l) for l in lines),
        "folded_has_the_direct_call_path", text)
    tap(all(re.match(r"^[^ ;]+(;[^ ;]+)* \d+$", l) for l in lines) and len(lines) == 2,
        "folded_lines_are_frames_then_count", text)

    r = subprocess.run([SONDE, "--flamegraph", os.path.join(tmp, "x.svg"), "-e",
                        "BEGIN { @c[comm] = count(); exit(); }"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    tap(r.returncode == 1 and b"--flamegraph needs a map keyed by a stack" in r.stderr
        and not os.path.exists(os.path.join(tmp, "x.svg")),
        "flamegraph_without_a_stack_map_is_an_error_before_attaching", r.stderr.decode())

    try:
        src = ET.parse(svg).getroot()
    except (ET.ParseError, OSError) as e:
        tap(False, "svg_is_well_formed_xml", str(e))
        print("1..%d" % n)
        return 1
    tap(True, "svg_is_well_formed_xml")
    frames = frames_of(src)
    outer = frames.get("fixture_outer (count 5, 50.00%)", [None])[0]
    inner = frames.get("fixture_inner (count 5, 50.00%)", [None])[0]
    tap(outer is not None and inner is not None and "all (count 10, 100.00%)" in frames,
        "svg_frames_carry_hover_titles_with_counts", "\n".join(sorted(frames)))

    if not shutil.which("chromium"):
        for name in ("chromium_dom_has_the_frames", "chromium_zoom_stretches_the_clicked_frame",
                     "chromium_screenshot_shows_the_frames"):
            skip(name, "chromium is not installed (scripts/setup installs it)")
        print("1..%d" % n)
        return 1 if failed else 0

    r = chromium(tmp, "--dump-dom", "file://" + svg)
    dom = r.stdout.decode(errors="replace")
    try:
        droot = ET.fromstring(dom)
        dframes = frames_of(droot)
    except ET.ParseError as e:
        dframes = {}
        dom += "\n" + str(e)
    tap(set(dframes) == set(frames) and len(dframes) >= 6, "chromium_dom_has_the_frames", dom[-3000:])

    zid = outer.get("id") if outer is not None else "none"
    r = chromium(tmp, "--dump-dom", "file://%s#%s" % (svg, zid))
    dom = r.stdout.decode(errors="replace")
    ok = False
    try:
        zf = frames_of(ET.fromstring(dom))
        z = zf["fixture_outer (count 5, 50.00%)"][0]
        zi = zf["fixture_inner (count 5, 50.00%)"][0]
        direct = [g for t, gs in zf.items() if t.startswith("fixture_add") for g in gs
                  if g.get("data-w") == outer.get("data-w") and g.get("data-y") == outer.get("data-y")]
        ok = ("zoomed" in z.get("class") and z.find(SVGNS + "rect").get("width") == "1180.00"
              and zi.find(SVGNS + "rect").get("width") == "1180.00"
              and direct and all("hide" in g.get("class") for g in direct)
              and "parent" in zf["all (count 10, 100.00%)"][0].get("class"))
    except (ET.ParseError, KeyError, TypeError) as e:
        dom += "\n" + repr(e)
    tap(ok, "chromium_zoom_stretches_the_clicked_frame_and_hides_its_siblings", dom[-3000:])

    png = os.path.join(tmp, "fg.png")
    height = int(src.get("height"))
    r = chromium(tmp, "--window-size=1200,%d" % height, "--screenshot=" + png, "file://" + svg)
    diag = r.stderr.decode(errors="replace")[-2000:]
    ok = False
    if os.path.exists(png):
        try:
            px = png_pixels(png)
            colours = set(c for row in px for c in row)
            checks = []
            for g in (outer, inner, frames["all (count 10, 100.00%)"][0]):
                rect = g.find(SVGNS + "rect")
                want = tuple(int(v) for v in re.findall(r"\d+", rect.get("fill")))
                x = int(float(rect.get("x")) + float(rect.get("width")) - 4)
                y = int(float(rect.get("y")) + 3)
                got = px[y][x]
                checks.append(all(abs(a - b) <= 3 for a, b in zip(got, want)))
                diag += "\nframe %s: want %s at (%d,%d), got %s" % (
                    g.find(SVGNS + "title").text, want, x, y, got)
            ok = len(colours) > 8 and all(checks)
            diag += "\n%d distinct colours" % len(colours)
        except (AssertionError, zlib.error, IndexError, struct.error) as e:
            diag += "\n" + repr(e)
    tap(ok, "chromium_screenshot_shows_the_frames_in_their_colours", diag)
    shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
