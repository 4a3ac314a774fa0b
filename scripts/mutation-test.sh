#!/usr/bin/env bash
# Mutation testing of randquant's unit tests: applies each single-line mutant
# of tests/mutation/mutants.txt to the library, one at a time, rebuilds the
# unit tests, runs them, and reports which mutants the tests kill.
#
#   scripts/mutation-test.sh [--only ID,ID,...] [MUTANTS_FILE]
#
# A mutant is killed when the unit tests (randquant_tests, and the two
# threads-warning programs) fail or time out; it survives when they pass.
# A mutant whose source does not compile is reported apart ("not built").
# Mutants marked "= equivalent" are run too but left out of the score.
# The build (tests only, -O1, precompiled LibTorch headers, no ccache) lives
# in $RANDQUANT_MUTATION_BUILD_DIR (default build-mutation); the report goes
# to BUILD_DIR/mutation-report.txt. The mutated file is restored however the
# script ends. The time per mutant on 2 cores is in benchmarks/RESULTS.md
# ("Mutation testing"). Not run by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
only=""
if [ "${1:-}" = --only ]; then only=$2; shift 2; fi
list=${1:-tests/mutation/mutants.txt}
build=${RANDQUANT_MUTATION_BUILD_DIR:-build-mutation}
report=$build/mutation-report.txt
export CCACHE_DISABLE=1 RANDQUANT_SKIP_LARGE_TESTS=1
targets=(randquant_tests randquant_threads_warning_no_openmp randquant_threads_warning_openmp)

configure "$build" -DCMAKE_CXX_FLAGS_RELEASE=-O1 -DRANDQUANT_BUILD_TESTS=ON \
  -DRANDQUANT_BUILD_BENCHMARKS=OFF -DRANDQUANT_BUILD_EXAMPLES=OFF \
  -DRANDQUANT_BUILD_PYTHON=OFF -DRANDQUANT_WITH_CUDA=OFF -DRANDQUANT_TESTS_PCH=ON >/dev/null

run_tests() {  # the unit tests and the threads-warning programs
  timeout 600 "$build/tests/randquant_tests" --gtest_brief=1 --gtest_fail_fast >"$build/mutant-tests.log" 2>&1 &&
    "$build/tests/randquant_threads_warning_no_openmp" expect-warning >>"$build/mutant-tests.log" 2>&1 &&
    "$build/tests/randquant_threads_warning_openmp" expect-no-warning >>"$build/mutant-tests.log" 2>&1
}

echo "== mutation-test: the unmutated library must pass"
cmake --build "$build" --target "${targets[@]}" >/dev/null
run_tests || { echo "mutation-test: the tests fail without a mutant" >&2; exit 1; }

# The mutants as tab-separated records: id, file, old, new, equivalence note.
records=$(python3 - "$list" <<'PY'
import sys
mutants, current = [], None
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    if line.startswith("@ "):
        ident, path = line[2:].split()
        current = {"id": ident, "file": path, "old": None, "new": None, "eq": ""}
        mutants.append(current)
    elif line.startswith("-") and current:
        current["old"] = line[1:]
    elif line.startswith("+") and current:
        current["new"] = line[1:]
    elif line.startswith("= ") and current:
        current["eq"] = line[2:]
for m in mutants:
    if m["old"] is None or m["new"] is None:
        sys.exit(f"mutant {m['id']}: needs a - and a + line")
    print("\t".join([m["id"], m["file"], m["old"], m["new"], m["eq"]]))
PY
)

backup=$(mktemp)
restore_file=""
trap '[ -n "$restore_file" ] && cp "$backup" "$restore_file"; rm -f "$backup"' EXIT
: >"$report"
killed=0 survived=0 equivalent_survived=0 equivalent_killed=0 unbuilt=0 stale=0 total=0
while IFS=$'\t' read -r id file old new eq; do
  if [ -n "$only" ] && [[ ",$only," != *",$id,"* ]]; then continue; fi
  total=$((total + 1))
  count=$(python3 -c 'import sys; print(open(sys.argv[1]).read().count(sys.argv[2]))' "$file" "$old")
  if [ "$count" != 1 ]; then
    echo "STALE     $id ($file: the text occurs $count times)" | tee -a "$report"
    stale=$((stale + 1))
    continue
  fi
  cp "$file" "$backup"
  restore_file=$file
  python3 -c 'import sys; p, o, n = sys.argv[1:]; s = open(p).read(); open(p, "w").write(s.replace(o, n, 1))' \
    "$file" "$old" "$new"
  start=$SECONDS
  if ! cmake --build "$build" --target "${targets[@]}" >"$build/mutant-build.log" 2>&1; then
    result="NOT BUILT"
    unbuilt=$((unbuilt + 1))
  elif run_tests; then
    result=SURVIVED
    if [ -n "$eq" ]; then equivalent_survived=$((equivalent_survived + 1)); else survived=$((survived + 1)); fi
  else
    result=KILLED
    if [ -n "$eq" ]; then equivalent_killed=$((equivalent_killed + 1)); else killed=$((killed + 1)); fi
    failed=$(grep -m1 -E '^\[  FAILED  \]|NOT as expected|Timeout' "$build/mutant-tests.log" || true)
    result="KILLED    ${failed:+by ${failed#\[  FAILED  \] }}"
  fi
  cp "$backup" "$file"
  restore_file=""
  printf '%-9s %s (%s, %d s)%s\n' "${result%% *}" "$id" "$file" $((SECONDS - start)) \
    "${eq:+ [$eq]}" | tee -a "$report"
  [ "${result%% *}" = KILLED ] && [ -n "${result#KILLED}" ] && echo "          ${result#KILLED    }" >>"$report"
done <<<"$records"
scored=$((killed + survived))
{
  echo "mutation-test: $total mutants: $killed killed, $survived survived (non-equivalent);" \
    "$((equivalent_survived + equivalent_killed)) marked equivalent ($equivalent_survived survived," \
    "$equivalent_killed killed); $unbuilt not built; $stale stale"
  if [ "$scored" -gt 0 ]; then
    echo "mutation-test: score $killed / $scored = $((100 * killed / scored)) % of non-equivalent mutants killed"
  fi
} | tee -a "$report"
[ "$unbuilt" -eq 0 ] && [ "$stale" -eq 0 ]
