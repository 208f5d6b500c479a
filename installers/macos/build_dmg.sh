#!/usr/bin/env bash
# macOS: sign dist/Ponder.app (hardened runtime), pack it into a .dmg with dmgbuild, sign, notarize and staple it.
#
#   bash installers/macos/build_dmg.sh      # after: PONDER_VARIANT=macos-arm64 pyinstaller installers/ponder.spec
#
# Signing and notarization are driven by secrets in the environment (the release workflow maps them from
# repository secrets); without them the .app is ad-hoc signed and the .dmg is not notarized (fine for testing,
# Gatekeeper will warn). Output: dist/Ponder-<version>-macos-arm64.dmg
#   MACOS_CERTIFICATE_P12_BASE64, MACOS_CERTIFICATE_PASSWORD   Developer ID Application certificate (.p12)
#   MACOS_SIGN_IDENTITY    e.g. "Developer ID Application: Example Ltd (TEAMID1234)"
#   MACOS_NOTARY_APPLE_ID, MACOS_NOTARY_TEAM_ID, MACOS_NOTARY_PASSWORD (app-specific password)   notarytool login
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' engine/_version.py)
APP=dist/Ponder.app
DMG=dist/Ponder-$VERSION-macos-arm64.dmg
ENTITLEMENTS=installers/macos/entitlements.plist
[ -d "$APP" ] || { echo "build_dmg: $APP is missing (run PyInstaller first)" >&2; exit 1; }
plist_version=$(/usr/libexec/PlistBuddy -c "Print :CFBundleShortVersionString" "$APP/Contents/Info.plist")
[ "$plist_version" = "$VERSION" ] || { echo "build_dmg: Info.plist says $plist_version, engine says $VERSION" >&2; exit 1; }

IDENTITY=${MACOS_SIGN_IDENTITY:-}
KEYCHAIN=""
cleanup() { [ -z "$KEYCHAIN" ] || security delete-keychain "$KEYCHAIN" || true; }
trap cleanup EXIT
if [ -n "${MACOS_CERTIFICATE_P12_BASE64:-}" ] && [ -n "$IDENTITY" ]; then
    echo "== importing the signing certificate into a temporary keychain"
    TMP=${RUNNER_TEMP:-$(mktemp -d)}
    KEYCHAIN=$TMP/ponder-signing.keychain-db
    KEYCHAIN_PASSWORD=$(uuidgen)
    security create-keychain -p "$KEYCHAIN_PASSWORD" "$KEYCHAIN"
    security set-keychain-settings -lut 21600 "$KEYCHAIN"
    security unlock-keychain -p "$KEYCHAIN_PASSWORD" "$KEYCHAIN"
    echo "$MACOS_CERTIFICATE_P12_BASE64" | base64 --decode > "$TMP/cert.p12"
    security import "$TMP/cert.p12" -k "$KEYCHAIN" -P "${MACOS_CERTIFICATE_PASSWORD:-}" -T /usr/bin/codesign
    rm -f "$TMP/cert.p12"
    security set-key-partition-list -S apple-tool:,apple: -s -k "$KEYCHAIN_PASSWORD" "$KEYCHAIN" >/dev/null
    # shellcheck disable=SC2046  # one argument per existing keychain
    security list-keychains -d user -s "$KEYCHAIN" $(security list-keychains -d user | tr -d '"')
    SIGN=(codesign --force --timestamp --options runtime --entitlements "$ENTITLEMENTS" --sign "$IDENTITY")
else
    echo "warning: no signing secrets; ad-hoc signing (not for distribution)" >&2
    IDENTITY=""
    SIGN=(codesign --force --options runtime --entitlements "$ENTITLEMENTS" --sign -)
fi

echo "== signing every Mach-O file inside-out, then the bundle"
# Deepest paths first, so each signature covers already-signed contents; symlinks are skipped.
find "$APP/Contents" -type f | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2- | while IFS= read -r f; do
    if file -b "$f" | grep -q "Mach-O"; then "${SIGN[@]}" "$f"; fi
done
"${SIGN[@]}" "$APP"
codesign --verify --deep --strict --verbose=2 "$APP"

echo "== building $DMG"
rm -f "$DMG"
DMGBUILD=${DMGBUILD:-dmgbuild}  # installed by installers/prepare_env.py (the installers extra) in build/venv
if [ -x build/venv/bin/dmgbuild ] && [ "$DMGBUILD" = dmgbuild ]; then DMGBUILD=build/venv/bin/dmgbuild; fi
"$DMGBUILD" -s installers/macos/dmg_settings.py -D app="$APP" "Ponder $VERSION" "$DMG"

if [ -n "$IDENTITY" ]; then
    codesign --force --timestamp --sign "$IDENTITY" "$DMG"
    if [ -n "${MACOS_NOTARY_APPLE_ID:-}" ] && [ -n "${MACOS_NOTARY_PASSWORD:-}" ] && [ -n "${MACOS_NOTARY_TEAM_ID:-}" ]; then
        echo "== notarizing (this waits for Apple's verdict)"
        xcrun notarytool submit "$DMG" --apple-id "$MACOS_NOTARY_APPLE_ID" --team-id "$MACOS_NOTARY_TEAM_ID" \
            --password "$MACOS_NOTARY_PASSWORD" --wait --timeout 60m
        xcrun stapler staple "$DMG"
        xcrun stapler validate "$DMG"
        spctl --assess --type open --context context:primary-signature --verbose=2 "$DMG"
    else
        echo "warning: no notarization secrets; the .dmg is signed but not notarized" >&2
    fi
fi
echo "$DMG ($(du -h "$DMG" | cut -f1))"
