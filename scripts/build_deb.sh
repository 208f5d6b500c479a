#!/usr/bin/env bash
# Build Ponder's Linux .deb: freeze the app with PyInstaller (installers/ponder.spec, onedir), then package it with
# dpkg-deb: /opt/ponder (the frozen app), /usr/bin/ponder (a symlink), the desktop entry and the hicolor icons.
#
#   bash scripts/build_deb.sh              # -> dist/ponder_<version>_<arch>.deb (prints its path last)
#
# Environment: PONDER_VARIANT (default linux-<machine>; see installers/variants.json), PONDER_BUILD_VENV (the
# Python environment to freeze, default .venv; created with installers/prepare_env.py when missing),
# PONDER_SKIP_FREEZE=1 (package an existing dist/ponder), PONDER_DEB_COMPRESSION (xz, gzip, zstd or none;
# default xz), PONDER_MAINTAINER.
set -euo pipefail
cd "$(dirname "$0")/.."

VARIANT=${PONDER_VARIANT:-linux-$(uname -m)}
VENV=${PONDER_BUILD_VENV:-.venv}
PY=$VENV/bin/python
VERSION=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' engine/_version.py)
[ -n "$VERSION" ] || { echo "build_deb: no __version__ in engine/_version.py" >&2; exit 1; }
ARCH=$(dpkg --print-architecture)
read -r PACKAGE PROVIDERS < <(python3 - "$VARIANT" <<'EOF'
import json, sys
variants = json.load(open("installers/variants.json"))["variants"]
v = variants.get(sys.argv[1])
if v is None or v["package"] != "deb":
    sys.exit(f"build_deb: {sys.argv[1]!r} is not a Linux variant ({', '.join(k for k in variants if variants[k]['package'] == 'deb')})")
print("ponder-cuda" if "cuda" in v["providers"] else "ponder", ",".join(v["providers"]))
EOF
)

if [ "${PONDER_SKIP_FREEZE:-0}" != 1 ]; then
    [ -x "$PY" ] || python3 installers/prepare_env.py "$VARIANT" --venv "$VENV"
    if ! "$PY" -c "import PyInstaller" 2>/dev/null; then
        "$PY" -m pip install -q -c requirements/constraints.txt pyinstaller
    fi
    echo "== freezing Ponder $VERSION ($VARIANT) with PyInstaller"
    start=$SECONDS
    PONDER_VARIANT=$VARIANT "$PY" -m PyInstaller --noconfirm --log-level "${PONDER_PYI_LOG_LEVEL:-WARN}" \
        --distpath dist --workpath build/pyinstaller installers/ponder.spec
    echo "   froze in $((SECONDS - start)) s; dist/ponder is $(du -sh dist/ponder | cut -f1)"
fi
[ -x dist/ponder/ponder ] || { echo "build_deb: dist/ponder/ponder is missing (freeze first)" >&2; exit 1; }

echo "== staging the package tree"
STAGE=build/deb/${PACKAGE}_${VERSION}_${ARCH}
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
    "$STAGE/usr/share/doc/$PACKAGE"
cp -al dist/ponder "$STAGE/opt/ponder" 2>/dev/null || cp -a dist/ponder "$STAGE/opt/ponder"
chmod -R u+rwX,go+rX,go-w "$STAGE/opt/ponder"
ln -s /opt/ponder/ponder "$STAGE/usr/bin/ponder"
install -m 644 installers/linux/ponder.desktop "$STAGE/usr/share/applications/ponder.desktop"
for size in 16 32 48 64 128 256 512; do
    install -D -m 644 "resources/icons/ponder-$size.png" "$STAGE/usr/share/icons/hicolor/${size}x${size}/apps/ponder.png"
done
install -D -m 644 resources/icons/ponder.svg "$STAGE/usr/share/icons/hicolor/scalable/apps/ponder.svg"
cat > "$STAGE/usr/share/doc/$PACKAGE/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: Ponder
Comment: /opt/ponder/_internal holds third-party components under their own licenses; their license files are
 in the *.dist-info folders there.

Files: *
License: MIT
EOF

# The oldest glibc the frozen binaries accept (Python and the wheels' manylinux tags set it).
GLIBC=$(find "$STAGE/opt/ponder" -type f \( -name '*.so*' -o -perm -u+x \) -exec sh -c 'objdump -T "$@" 2>/dev/null || true' _ {} + \
    | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
RELATIONS=""
if [ "$PACKAGE" = ponder-cuda ]; then
    RELATIONS="Provides: ponder\nConflicts: ponder\nReplaces: ponder\n"
else
    RELATIONS="Conflicts: ponder-cuda\n"
fi
sed -e "s|@PACKAGE@|$PACKAGE|" -e "s|@VERSION@|$VERSION|" -e "s|@ARCH@|$ARCH|" \
    -e "s|@MAINTAINER@|${PONDER_MAINTAINER:-Ponder maintainers <ponder@example.org>}|" \
    -e "s|@HOMEPAGE@|${PONDER_HOMEPAGE:-https://example.org/ponder}|" \
    -e "s|@INSTALLED_SIZE@|$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)|" \
    -e "s|@LIBC@|libc6 (>= ${GLIBC:-2.28})|" -e "s|@RELATIONS@|$RELATIONS|" \
    -e "s|@VARIANT@|$VARIANT|" -e "s|@PROVIDERS@|$PROVIDERS|" \
    installers/linux/control.in > "$STAGE/DEBIAN/control"

DEB=dist/${PACKAGE}_${VERSION}_${ARCH}.deb
echo "== dpkg-deb ($DEB)"
start=$SECONDS
dpkg-deb --root-owner-group -Z"${PONDER_DEB_COMPRESSION:-xz}" -z"${PONDER_DEB_LEVEL:-6}" --build "$STAGE" "$DEB" >/dev/null
echo "   packed in $((SECONDS - start)) s: $(du -h "$DEB" | cut -f1), installed size $(du -sh --exclude=DEBIAN "$STAGE" | cut -f1)"
rm -rf "$STAGE"
echo "$DEB"
