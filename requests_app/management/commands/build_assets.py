"""Copy the NHS.UK design system from node_modules into static/vendor/nhsuk/.

Its CSS points at /assets/images/ and loads the Frutiger font from assets.nhs.uk; the copy
points at its own images and drops the remote font, so pages never reach outside the portal.
Every file the copied CSS and JS name (url(), sourceMappingURL) is copied too, and checked:
collectstatic under production settings (whitenoise's manifest storage) fails the image build
on a name that points at nothing.
"""

import re
import shutil
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

REMOTE_FONT_FACE = re.compile(r"@font-face\{[^}]*https://assets\.nhs\.uk[^}]*\}")
# What a stylesheet or script names beside itself; data: URIs and fragments are not files.
SOURCE_MAP = re.compile(r"[#@] sourceMappingURL=(\S+?)\s*(?:\*/)?\s*$", re.MULTILINE)
CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+?)["']?\s*\)""")


def named_files(path: Path) -> list[str]:
    """The relative names a CSS or JS file refers to: its source map, and (CSS) its url()s."""
    text = path.read_text()
    names = SOURCE_MAP.findall(text)
    if path.suffix == ".css":
        names += CSS_URL.findall(text)
    return [name for name in names if not name.startswith(("data:", "#"))]


def missing_files(folder: Path) -> list[str]:
    """Every name in folder's CSS and JS that points at no file beside it ("file.css: name").

    A remote or root-relative URL counts as missing: the portal serves its own assets, and its
    Content-Security-Policy allows no other origin.
    """
    missing = []
    for path in sorted([*folder.rglob("*.css"), *folder.rglob("*.js"), *folder.rglob("*.mjs")]):
        for name in named_files(path):
            target = path.parent / name.split("?")[0].split("#")[0]
            if name.startswith(("/", "http:", "https:", "//")) or not target.is_file():
                missing.append(f"{path.relative_to(folder)}: {name}")
    return missing


class Command(BaseCommand):
    help = "Build static/vendor/nhsuk from the nhsuk-frontend npm package (run npm ci first)."

    def handle(self, *args, **options):
        source = settings.BASE_DIR / "node_modules" / "nhsuk-frontend" / "dist" / "nhsuk"
        if not source.is_dir():
            raise CommandError("nhsuk-frontend is not installed: run `npm ci` first.")
        target = settings.BASE_DIR / "static" / "vendor" / "nhsuk"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        shutil.copytree(source / "assets", target / "assets")
        css = (source / "nhsuk-frontend.min.css").read_text()
        css = REMOTE_FONT_FACE.sub("", css).replace("url(/assets/", "url(assets/")
        if "assets.nhs.uk" in css:
            raise CommandError("nhsuk-frontend's CSS still refers to assets.nhs.uk.")
        (target / "nhsuk-frontend.min.css").write_text(css)
        shutil.copy2(source / "nhsuk-frontend.min.js", target / "nhsuk-frontend.min.js")
        # The source maps the CSS and JS name, so browsers' developer tools (and the manifest
        # storage, which checks every name) find them.
        for copied in (target / "nhsuk-frontend.min.css", target / "nhsuk-frontend.min.js"):
            for name in SOURCE_MAP.findall(copied.read_text()):
                if (source / name).is_file():
                    shutil.copy2(source / name, target / name)
        missing = missing_files(settings.BASE_DIR / "static")
        if missing:
            raise CommandError("Static files name files that are not there: " + "; ".join(missing))
        self.stdout.write(f"Built {target.relative_to(settings.BASE_DIR)}")
