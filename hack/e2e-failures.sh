#!/usr/bin/env bash
# Prints the full `go test -v` output of every failed top-level test in the log given as
# $1 (the Makefile shows only a summary on success), capped at 400 lines per test.
set -euo pipefail
log=$1
failed=$(grep -oE '^--- FAIL: [A-Za-z0-9_]+' "$log" | awk '{print $3}' | sort -u)
for t in $failed; do
	echo "===== output of $t (from $log) ====="
	awk -v t="$t" '
		/^=== (RUN|CONT|NAME|PAUSE) / { split($3, parts, "/"); cur = parts[1] }
		/^(--- |PASS|FAIL|ok)/ { next }
		cur == t { print }
	' "$log" | tail -n 400
done
