#!/bin/sh
# Builds bench/cage/libclang_parse.c and times a bare libclang parse of wolfSSL's and CyaSSL's headers and wolfSSL's
# examples three ways (prelude as text, no prelude, prelude PCH), twice each. Run from the repository root.
set -e
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work/prelude.h" <<'PY'
import re, sys, textwrap
swift = open("Sources/LoomCage/CCode/CPrelude.swift").read()
blocks = re.findall(r'"""\n(.*?)"""', swift, re.S)
open(sys.argv[1], "w").write("".join(textwrap.dedent(b) for b in blocks if 'extern "C"' not in b and "__null" not in b))
PY
cc -O2 -o "$work/parse" bench/cage/libclang_parse.c $(pkg-config --cflags --libs libclang)
files=$( (find /usr/include/wolfssl /usr/include/cyassl -name '*.h'; ls /usr/share/doc/libwolfssl-dev/examples/*.c) | sort)
cd "$work"
for mode in 0 1 2 0 1 2; do ./parse prelude.h $mode $files; done
