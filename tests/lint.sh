#!/bin/sh
# Static analysis of the product code (src/): cppcheck, then clang-tidy
# with the checked-in .clang-tidy. Every finding is an error: the script
# prints them as "FILE:LINE:COL: ..." and exits 1 if there was any, 0 if
# the code is clean, 2 if a tool is missing. Files run in parallel
# (LINT_JOBS, default: the number of CPUs). Run from anywhere:
#	sh tests/lint.sh [FILE.c...]     (default: every src/ .c file)
# Debian: apt-get install cppcheck clang-tidy
set -u
cd "$(dirname "$0")/.." || exit 2
jobs=${LINT_JOBS:-$(nproc 2>/dev/null || echo 2)}
CLANG_TIDY=${CLANG_TIDY:-clang-tidy}
CPPCHECK=${CPPCHECK:-cppcheck}

for tool in "$CPPCHECK" "$CLANG_TIDY"; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "lint.sh: $tool not found (apt-get install cppcheck" \
		    "clang-tidy)" >&2
		exit 2
	fi
done

if [ $# -gt 0 ]; then
	files="$*"
else
	files=$(ls src/*.c src/gateway/*.c src/lib/*.c 2>/dev/null)
fi
# The Makefile's preprocessor flags; SOCKS64_LIBDIR is what socks64-run.c
# gets from "make" (any path will do for analysis).
defs='-D_GNU_SOURCE -DSOCKS64_LIBDIR="/usr/local/lib"'
incs='-Isrc -Iinclude'
tmp=$(mktemp -d)
out=$tmp/out
trap 'rm -rf "$tmp"' EXIT
rc=0

# clang-tidy reads each file's flags from a compilation database, which
# keeps the quotes of SOCKS64_LIBDIR intact.
{
	echo '['
	sep=''
	for f in $files; do
		printf '%s{"directory": "%s", "file": "%s",' "$sep" "$(pwd)" \
		    "$f"
		printf ' "arguments": ["cc",'
		printf ' "-std=c11", "-D_GNU_SOURCE",'
		printf ' "-DSOCKS64_LIBDIR=\\"/usr/local/lib\\"", "-Isrc",'
		printf ' "-Iinclude", "-pthread", "-c", "%s"]}\n' "$f"
		sep=','
	done
	echo ']'
} >"$tmp/compile_commands.json"

start=$(date +%s)
# cppcheck: one configuration (ours), system headers not followed.
# shellcheck disable=SC2086
if ! "$CPPCHECK" --enable=warning,performance,portability \
    --error-exitcode=1 --std=c11 --inline-suppr --quiet \
    --suppress=missingIncludeSystem -j "$jobs" $defs $incs \
    --template='{file}:{line}:{column}: cppcheck {severity}: {message} [{id}]' \
    $files >"$out" 2>&1; then
	rc=1
fi
cat "$out"
mid=$(date +%s)

# clang-tidy: one process per file, in parallel; WarningsAsErrors makes a
# finding a non-zero exit.
# shellcheck disable=SC2086
if ! printf '%s\n' $files | xargs -P "$jobs" -n 1 "$CLANG_TIDY" --quiet \
    -p "$tmp" >"$out" 2>/dev/null; then
	rc=1
fi
# A header's finding comes once per file including it: say it once.
grep -E '(error|warning):' "$out" | sed "s|^$(pwd)/||" | sort -u \
    >"$tmp/found"
cat "$tmp/found"
end=$(date +%s)

n=$(wc -l <"$tmp/found")
echo "lint.sh: cppcheck $((mid - start)) s, clang-tidy $((end - mid)) s" \
    "($n clang-tidy finding(s)), $jobs jobs: $([ $rc -eq 0 ] && echo clean ||
    echo FINDINGS)"
exit $rc
