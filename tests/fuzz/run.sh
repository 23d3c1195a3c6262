#!/usr/bin/env bash
# Runs the libFuzzer targets built in BUILD_DIR (make fuzz), one after another, each for
# SECONDS, and prints one line per target: executions, corpus (inputs/size), coverage edges,
# and whether it found anything. Exit status 1 when any target found a crash, leak, timeout or failed check.
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]     (default: every target)
#
# Each target starts from its committed seeds (tests/fuzz/corpus/<target>, read only) and a
# working corpus in BUILD_DIR/fuzz/corpus/<target> that grows across runs; findings are
# written to BUILD_DIR/fuzz/artifacts/, logs to BUILD_DIR/fuzz/logs/. To reproduce one:
#   BUILD_DIR/tests/fuzz/fuzz_<target> BUILD_DIR/fuzz/artifacts/<target>-crash-...
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR SECONDS [TARGET...]}" && pwd)
seconds=${2:?usage: run.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
targets=("$@")
if ((${#targets[@]} == 0)); then
  # The list in targets.cmake, comments and all, read without CMake.
  mapfile -t targets < <(sed -n '/^set(DROVER_FUZZ_TARGETS/,/^)/p' "$here/targets.cmake" |
    sed -e '1d' -e '$d' -e 's/#.*//' | tr -s ' \t' '\n' | grep -v '^$')
fi

work=$build/fuzz
mkdir -p "$work/corpus" "$work/artifacts" "$work/logs" "$work/seeds"

# Seeds that live elsewhere: the example job files, and a few of the system's TZif files
# (zones with odd rules; not committed, they are tzdata's).
extra_seeds() {
  case $1 in
    job_file) echo "$src/examples/jobs" ;;
    tzif)
      local d=$work/seeds/tzif
      mkdir -p "$d"
      for z in UTC Europe/Berlin America/New_York Australia/Lord_Howe Africa/Casablanca Pacific/Chatham Europe/Dublin; do
        [[ -f /usr/share/zoneinfo/$z ]] && cp "/usr/share/zoneinfo/$z" "$d/${z//\//-}"
      done
      echo "$d" ;;
  esac
}

# Symbolized stacks in findings (the sanitizers do not follow a symlinked llvm-symbolizer).
if [[ -z ${ASAN_SYMBOLIZER_PATH:-} ]]; then
  sym=$(command -v llvm-symbolizer-16 || command -v llvm-symbolizer || true)
  [[ -n $sym ]] && export ASAN_SYMBOLIZER_PATH=$(readlink -f "$sym")
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
printf '%-14s %8s %12s %14s %8s  %s\n' target seconds execs "corpus" edges result
for t in "${targets[@]}"; do
  bin=$build/tests/fuzz/fuzz_$t
  if [[ ! -x $bin ]]; then
    echo "$t: $bin not built (make fuzz builds it)" >&2
    failed=1
    continue
  fi
  mkdir -p "$work/corpus/$t"
  args=(-max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$work/artifacts/$t-")
  [[ -f $here/dict/$t.dict ]] && args+=(-dict="$here/dict/$t.dict")
  # A valid job may expand to a million tasks: seconds of work (more on a loaded machine).
  [[ $t == job_file ]] && args+=(-timeout=180)
  start=$(date +%s)
  # shellcheck disable=SC2046
  "$bin" "${args[@]}" "$work/corpus/$t" "$here/corpus/$t" $(extra_seeds "$t") >"$work/logs/$t.log" 2>&1
  rc=$?
  took=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/logs/$t.log" | tail -1)
  # The in-memory corpus at the end ("corp: 412/38Kb" on libFuzzer's last status line).
  corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$work/logs/$t.log" | tail -1 | sed 's/corp: //')
  cov=$(grep -o 'cov: [0-9]*' "$work/logs/$t.log" | tail -1 | sed 's/cov: //')
  if ((rc == 0)); then
    result=ok
  else
    result="FOUND (exit $rc): see $work/logs/$t.log"
    failed=1
  fi
  printf '%-14s %8s %12s %14s %8s  %s\n' "$t" "$took" "${execs:-?}" "${corp:-?}" "${cov:-?}" "$result"
done
exit $failed
