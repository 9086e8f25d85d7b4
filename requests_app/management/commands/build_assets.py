"""Copy the NHS.UK design system from node_modules into static/vendor/nhsuk/.

Its CSS points at /assets/images/ and loads the Frutiger font from assets.nhs.uk; the copy
points at its own images and drops the remote font, so pages never reach outside the portal.
"""

import re
import shutil

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

REMOTE_FONT_FACE = re.compile(r"@font-face\{[^}]*https://assets\.nhs\.uk[^}]*\}")


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
        self.stdout.write(f"Built {target.relative_to(settings.BASE_DIR)}")
