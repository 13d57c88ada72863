#!/usr/bin/env python3
"""Checks of agentomics-report's output, for tests/cli/test_report.sh.

  check.py numbers REPORT.html REPORT.md   every number of the page's text
                                           (outside the plots, styles and
                                           scripts) is in the Markdown twin
                                           as often, and the reverse
  check.py selfcontained REPORT.html       no external resource: no src= or
                                           href= to another host, no <link>,
                                           no @import or url() in styles
  check.py plots REPORT.html SECTION...    every named section has a plot
                                           with drawn marks
  check.py dom DOM.html SECTION...         the same on the DOM Chromium
                                           dumped after running the page
Exit 0 when the check holds; the reasons on stderr otherwise.
"""
import collections
import html.parser
import re
import sys

NUM = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?%?")


class Text(html.parser.HTMLParser):
    """The page's visible text outside svg, style and script elements."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.parts = []

    def handle_starttag(self, tag, attrs):
        if tag in ("svg", "style", "script", "title"):
            self.skip += 1

    def handle_endtag(self, tag):
        if tag in ("svg", "style", "script", "title") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def numbers(text):
    return collections.Counter(NUM.findall(text))


def md_text(md):
    # Markdown syntax carries no numbers except in headings' '#' runs and
    # table rules; escaped pipes are text
    return md.replace("\\|", "|")


def check_numbers(html_path, md_path):
    p = Text()
    p.feed(open(html_path, encoding="utf-8").read())
    h = numbers(" \n ".join(p.parts))
    m = numbers(md_text(open(md_path, encoding="utf-8").read()))
    bad = []
    for k in sorted(set(h) | set(m)):
        if h[k] != m[k]:
            bad.append(f"{k}: {h[k]} in the HTML, {m[k]} in the Markdown")
    if not h:
        bad.append("no numbers in the HTML at all")
    for b in bad[:30]:
        print(b, file=sys.stderr)
    print(f"{sum(h.values())} numbers ({len(h)} distinct) in both", file=sys.stderr)
    return not bad


def check_selfcontained(html_path):
    text = open(html_path, encoding="utf-8").read()
    bad = []
    for m in re.finditer(r"""(?:src|href|action)\s*=\s*["']?([^"' >]+)""", text, re.I):
        url = m.group(1)
        if re.match(r"[a-z][a-z0-9+.-]*:", url, re.I) or url.startswith("//"):
            bad.append(f"external reference {url}")
    if re.search(r"<link\b", text, re.I):
        bad.append("a <link> element")
    if re.search(r"@import|url\(", text, re.I):
        bad.append("@import or url() in a style")
    if re.search(r"<script[^>]*\bsrc\b", text, re.I):
        bad.append("a script with src")
    for b in bad:
        print(b, file=sys.stderr)
    return not bad


def sections(text):
    """section id -> its HTML."""
    out = {}
    for m in re.finditer(r'<section id="([^"]+)">(.*?)</section>', text, re.S):
        out[m.group(1)] = m.group(2)
    return out


def check_plots(html_path, wanted):
    secs = sections(open(html_path, encoding="utf-8").read())
    bad = []
    for name in wanted:
        body = secs.get(name)
        if body is None:
            bad.append(f"no section {name}")
            continue
        svgs = re.findall(r"<svg\b.*?</svg>", body, re.S)
        if not svgs:
            bad.append(f"section {name}: no plot")
        for i, s in enumerate(svgs):
            marks = len(re.findall(r'class="ao-(?:line|point|bar|cell)"', s))
            if marks == 0:
                bad.append(f"section {name}: plot {i + 1} drew nothing")
    for b in bad:
        print(b, file=sys.stderr)
    return not bad


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    ok = {"numbers": lambda: check_numbers(*args), "selfcontained": lambda: check_selfcontained(*args),
          "plots": lambda: check_plots(args[0], args[1:]), "dom": lambda: check_plots(args[0], args[1:])}[cmd]()
    sys.exit(0 if ok else 1)
