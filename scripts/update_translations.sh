#!/usr/bin/env bash
# Extract every translatable string of desktop/ into resources/translations/ponder_<lang>.ts (existing
# translations are kept; strings no longer in the code are marked obsolete), then compile them to .qm.
# Translate new strings with pyside6-linguist or by editing the .ts, then run this again.
set -euo pipefail
cd "$(dirname "$0")/.."
LANGS=${PONDER_LANGS:-zh_CN}
BIN=.venv/bin
PKG=$("$BIN/python" -c 'import os, PySide6; print(os.path.dirname(PySide6.__file__))')
find_tool() {  # the venv's pyside6-<tool> wrapper, else the binary inside the PySide6 package
    if [ -x "$BIN/pyside6-$1" ]; then echo "$BIN/pyside6-$1"
    elif [ -x "$PKG/$1" ]; then echo "$PKG/$1"
    elif [ -x "$PKG/Qt/libexec/$1" ]; then echo "$PKG/Qt/libexec/$1"
    else echo "update_translations: no $1 in $BIN or $PKG" >&2; exit 1; fi
}
LUPDATE=$(find_tool lupdate)
LRELEASE=$(find_tool lrelease)
mapfile -t SOURCES < <(find desktop -name '*.py' -not -path '*/__pycache__/*' | sort)
mkdir -p resources/translations
for lang in $LANGS; do
    ts=resources/translations/ponder_$lang.ts
    "$LUPDATE" -locations relative "${SOURCES[@]}" -ts "$ts"
    "$LRELEASE" "$ts" -qm "resources/translations/ponder_$lang.qm"
done
