"""dmgbuild settings for Ponder's disk image: the app and a link to /Applications, side by side.

    dmgbuild -s installers/macos/dmg_settings.py -D app=dist/Ponder.app "Ponder X.Y.Z" dist/Ponder-X.Y.Z-macos-arm64.dmg

dmgbuild executes this file with ``defines`` (the -D values) in its namespace.
"""

import os.path

defines = globals().get("defines", {})
application = defines.get("app", "dist/Ponder.app")
appname = os.path.basename(application)

format = "ULMO"  # LZMA-compressed, read-only (macOS 10.15+)
filesystem = "HFS+"
size = None  # computed from the contents
files = [application]
symlinks = {"Applications": "/Applications"}
icon = os.path.join(os.path.dirname(os.path.abspath(application)), "..", "resources", "icons", "ponder.icns")
if not os.path.exists(icon):
    icon = None
show_status_bar = False
show_tab_view = False
show_toolbar = False
show_pathbar = False
show_sidebar = False
default_view = "icon-view"
window_rect = ((200, 200), (600, 320))
icon_size = 128
text_size = 13
icon_locations = {appname: (150, 150), "Applications": (450, 150)}
