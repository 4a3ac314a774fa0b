#!/usr/bin/env bash
# The documentation's own checks; any finding fails the script.
#
#   scripts/check-docs.sh
#
# 1. Relative links: every link of README.md, CONTRIBUTING.md, docs/*.md and
#    benchmarks/RESULTS.md to a file of the repository must name a file that
#    exists, and a #heading in a Markdown file must name one of its headings
#    (GitHub's anchors).
# 2. The API reference: doxygen with docs/Doxyfile (the public headers, the
#    README and the pages), run from the repository root, into
#    $RANDQUANT_DOCS_DIR (default build/docs; the HTML is in its html/).
#    Every doxygen warning is an error: an undocumented public member, a
#    broken \ref, Markdown doxygen cannot read. The warnings are printed and
#    kept in $RANDQUANT_DOCS_DIR/doxygen-warnings.log.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
ensure_packages doxygen python3

pages=(README.md CONTRIBUTING.md docs/*.md benchmarks/RESULTS.md)
link_problems=0
python3 - "${pages[@]}" <<'PY' || link_problems=$?
import os, re, sys

def fenced_split(text):
    """Yields (line, in_fence) with CommonMark-style fences of ``` or ~~~."""
    fence = None
    for line in text.split("\n"):
        m = re.match(r"^ {0,3}(`{3,}|~{3,})(.*)$", line)
        if fence is None:
            if m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
                fence = m.group(1)
                yield line, True
                continue
            yield line, False
        else:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) \
                    and not m.group(2).strip():
                fence = None
            yield line, True

def anchors(path):
    """GitHub's heading anchors of a Markdown file."""
    seen, result = {}, set()
    with open(path, encoding="utf-8") as f:
        for line, in_fence in fenced_split(f.read()):
            m = None if in_fence else re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
            if not m:
                continue
            text = re.sub(r"`", "", m.group(1)).lower()
            slug = re.sub(r"[^\w\- ]", "", text).replace(" ", "-")
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            result.add(slug if n == 0 else f"{slug}-{n}")
    return result

problems = 0
link = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
for page in sys.argv[1:]:
    with open(page, encoding="utf-8") as f:
        text = f.read()
    for number, (line, in_fence) in enumerate(fenced_split(text), 1):
        if in_fence:
            continue
        line = re.sub(r"`[^`]*`", "", line)   # links in code spans are not links
        for target in link.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):   # http:, https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            path = page if not file_part else os.path.normpath(
                os.path.join(os.path.dirname(page), file_part))
            where = f"{page}:{number}: link {target}"
            if not os.path.exists(path):
                print(f"{where}: no file {path}")
                problems += 1
            elif anchor and path.endswith(".md") and anchor not in anchors(path):
                print(f"{where}: no heading #{anchor} in {path}")
                problems += 1
sys.exit(1 if problems else 0)
PY

out=${RANDQUANT_DOCS_DIR:-build/docs}
mkdir -p "$out"
log=$out/doxygen-warnings.log
version=$(sed -n 's/^project(randquant VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
doxygen_rc=0
{
  cat docs/Doxyfile
  echo "OUTPUT_DIRECTORY = $out"
  echo "PROJECT_NUMBER = $version"
  echo "WARN_LOGFILE = $log"
} | doxygen - || doxygen_rc=$?
[ -s "$log" ] && cat "$log"
warnings=$(grep -cE ':[0-9]+: (warning|error):|^(warning|error):' "$log" || true)

if [ "$link_problems" -ne 0 ] || [ "$doxygen_rc" -ne 0 ] || [ "$warnings" -ne 0 ]; then
  echo "check-docs: FAILED (broken relative links: $([ "$link_problems" -ne 0 ] && echo yes || echo no);" \
       "doxygen: exit $doxygen_rc, $warnings warnings, listed above and in $log)"
  exit 1
fi
echo "check-docs: links resolve; API reference built with 0 doxygen warnings: $out/html/index.html"
