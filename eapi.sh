K=$(cat /tmp/qa4/ekey)
B=http://127.0.0.1:18511/api/v1
j(){ m=$1; p=$2; shift 2; curl -s -X $m -H "Authorization: Bearer $K" -H 'Content-Type: application/json' "$B$p" "$@"; echo; }
