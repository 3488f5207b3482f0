#!/usr/bin/env bash
# List the C functions under src/ by length, longest first, and check the
# house rule of issue 13: no function over LIMIT lines (default 120) without a
# stated reason.  The reason is a comment in the function's header comment (or
# anywhere in the 40 lines above its name) containing "Long function:".
#
#   scripts/long-functions.sh            # functions over the limit, with OK / NO REASON
#   scripts/long-functions.sh --all      # every function, longest first
#   LIMIT=100 scripts/long-functions.sh  # another limit
#
# Exit status 1 when a function over the limit has no stated reason.
#
# It relies on the pgindent layout (no ctags needed): the function name starts
# in column 0 followed by "(", the body opens with "{" alone in column 0 and
# closes with "}" alone in column 0.  Length counts from the name line to the
# closing brace.
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=${LIMIT:-120}
ALL=0
[ "${1:-}" = "--all" ] && ALL=1

awk -v limit="$LIMIT" -v all="$ALL" '
FNR == 1 { pending = ""; inbody = 0; nreason = 0 }
{
	if (index($0, "Long function:") > 0)
		reasonline[FILENAME] = reasonline[FILENAME] " " FNR
}
!inbody && /^[A-Za-z_][A-Za-z0-9_]*\(/ {
	pending = $0; sub(/\(.*/, "", pending); start = FNR
	if ($0 ~ /\);[ \t]*$/) pending = ""	# a prototype on one line
	next
}
!inbody && pending != "" && /\);[ \t]*(\/\*.*)?$/ { pending = ""; next }
!inbody && pending != "" && /^\{/ { inbody = 1; next }
inbody && /^\}/ {
	len = FNR - start + 1
	reason = "NO REASON"
	n = split(reasonline[FILENAME], r, " ")
	for (i = 1; i <= n; i++)
		if (r[i] + 0 >= start - 40 && r[i] + 0 <= FNR) reason = "OK (stated)"
	if (all || len > limit)
		printf "%5d  %-40s %s:%d%s\n", len, pending, FILENAME, start, (len > limit ? "  " reason : "")
	inbody = 0; pending = ""
}
' src/*/*.c | sort -rn > /tmp/long-functions.$$

cat /tmp/long-functions.$$
over=$(awk -v l="$LIMIT" '$1 > l' /tmp/long-functions.$$ | wc -l)
missing=$(grep -c 'NO REASON' /tmp/long-functions.$$ || true)
rm -f /tmp/long-functions.$$
echo "functions over $LIMIT lines: $over, without a stated reason: $missing"
[ "$missing" -eq 0 ]
