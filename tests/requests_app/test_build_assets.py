"""build_assets: the NHS.UK design system copied with every file its CSS and JS name, so
collectstatic's manifest storage (the production image's build step) finds them all."""

from django.core.management import call_command

from requests_app.management.commands.build_assets import missing_files
from tests.conftest import ROOT


def test_missing_files_finds_every_name_that_points_at_nothing(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "here.svg").write_text("<svg/>")
    (tmp_path / "site.css").write_text(
        "a{background:url(img/here.svg)}b{background:url('img/gone.svg')}"
        'i{background:url("data:image/png;base64,AAAA")}u{behavior:url(#x)}'
        "\n/*# sourceMappingURL=site.css.map */"
    )
    (tmp_path / "app.js").write_text("run();\n//# sourceMappingURL=app.js.map")
    (tmp_path / "remote.css").write_text("a{background:url(https://cdn.example/x.png)}")
    (tmp_path / "rooted.css").write_text("a{background:url(/assets/images/x.svg)}")

    assert sorted(missing_files(tmp_path)) == [
        "app.js: app.js.map",
        "remote.css: https://cdn.example/x.png",
        "rooted.css: /assets/images/x.svg",
        "site.css: img/gone.svg",
        "site.css: site.css.map",
    ]


def test_the_built_assets_name_only_files_that_exist_and_collect_under_the_manifest(
    tmp_path, settings
):
    call_command("build_assets")
    assert missing_files(ROOT / "static") == []
    assert (ROOT / "static" / "vendor" / "nhsuk" / "nhsuk-frontend.min.css.map").is_file()
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    assert (tmp_path / "staticfiles.json").is_file()
