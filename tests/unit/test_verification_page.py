"""functions/verification_page and hireproof.web: the page, its files, catalogs and headers.

The handler tests run the sample events in events/verification_page/. Presigning the upload
origin for the Content-Security-Policy is local computation, so no request leaves the test.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from hireproof import aws as hireproof_aws
from hireproof import i18n
from hireproof.identity.base import CredentialKind
from hireproof.sessions.models import EvidenceKind, NextStep
from hireproof.sessions.service import LIVENESS_STEP
from hireproof.verification.reasons import RetakeReason
from hireproof.web import assets, headers
from sessions_support import LambdaContext, load_event, load_handler

STATIC = Path(str(resources.files("hireproof.web").joinpath("static")))
LIVENESS_PROJECT = Path(__file__).resolve().parents[2] / "web" / "liveness"
LIVENESS_BUNDLE = "liveness/hireproof-liveness.js"
BUCKET = "hireproof-evidence-test"
STEPS = [kind.value for kind in EvidenceKind] + [LIVENESS_STEP]
# A message key in the page's scripts: a quoted literal such as "page.retry".
_SCRIPT_KEY = re.compile(r"""["'`]((?:page|api)\.[a-z0-9_.]+[a-z0-9_])["'`]""")


@pytest.fixture
def page_function(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("EVIDENCE_BUCKET", BUCKET)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("VERIFICATION_ENGINE", "local")
    monkeypatch.setenv("HIREPROOF_STAGE", "dev")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    hireproof_aws.reset_clients()
    yield load_handler("verification_page")
    hireproof_aws.reset_clients()


def _call(module: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = module.lambda_handler(event, LambdaContext())
    return response


# ----------------------------------------------------------------- sample events
def test_page_event_serves_html_with_policy(page_function: ModuleType) -> None:
    response = _call(page_function, load_event("verification_page", "page"))

    policy = response["headers"]["Content-Security-Policy"]
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "text/html; charset=utf-8"
    assert f"connect-src 'self' https://{BUCKET}.s3.amazonaws.com;" in policy
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert response["headers"]["Referrer-Policy"] == "no-referrer"
    assert '<script type="module" src="verify/assets/js/main.js"></script>' in response["body"]


def test_page_policy_allows_liveness_for_rekognition(
    page_function: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VERIFICATION_ENGINE", "rekognition")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")

    response = _call(page_function, load_event("verification_page", "page"))

    directives = dict(
        directive.split(" ", 1) for directive in response["headers"]["Content-Security-Policy"].split("; ")
    )
    connect = directives["connect-src"].split()
    assert response["statusCode"] == 200
    assert connect[:2] == ["'self'", f"https://{BUCKET}.s3.amazonaws.com"]
    assert "https://cognito-identity.eu-west-1.amazonaws.com" in connect
    assert "wss://streaming-rekognition.eu-west-1.amazonaws.com" in connect
    assert "https://cdn.liveness.rekognition.amazonaws.com" in connect
    assert len(connect) == 5
    assert directives["script-src"] == "'self' 'wasm-unsafe-eval'"
    assert directives["style-src"] == "'self'"


def test_page_policy_for_local_engine_has_no_liveness() -> None:
    policy = headers.content_security_policy("http://127.0.0.1:4566")

    assert "connect-src 'self' http://127.0.0.1:4566;" in policy
    assert "script-src 'self';" in policy
    assert "amazonaws.com" not in policy


def test_step_up_page_links_assets_one_folder_up(page_function: ModuleType) -> None:
    event = load_event("verification_page", "page")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/verify/step-up"
    event["routeKey"] = event["requestContext"]["routeKey"] = "GET /verify/step-up"

    response = _call(page_function, event)

    assert response["statusCode"] == 200
    assert '<script type="module" src="../verify/assets/js/main.js"></script>' in response["body"]
    assert '"verify/assets/' not in response["body"]
    assert "frame-ancestors 'none'" in response["headers"]["Content-Security-Policy"]


def test_page_event_fills_placeholders_in_every_language(page_function: ModuleType) -> None:
    body = _call(page_function, load_event("verification_page", "page"))["body"]

    assert "{{" not in body
    assert f"<title>{html.escape(i18n.translate('page.title', 'en'))}</title>" in body
    for language in i18n.SUPPORTED_LOCALES:
        noscript = html.escape(i18n.translate("page.noscript", language))
        assert f'<span lang="{language}">{noscript}</span>' in body


def test_script_event_serves_javascript(page_function: ModuleType) -> None:
    response = _call(page_function, load_event("verification_page", "script"))

    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["headers"]["Cache-Control"] == "no-cache"
    assert response["body"] == (STATIC / "js" / "main.js").read_text(encoding="utf-8")
    assert re.fullmatch(r'"[0-9a-f]{32}"', response["headers"]["ETag"])


def test_catalog_event_serves_page_messages(page_function: ModuleType) -> None:
    response = _call(page_function, load_event("verification_page", "catalog_ja"))
    document = json.loads(response["body"])

    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert document["locale"] == "ja"
    assert document["languages"] == {"en": "English", "ja": "日本語"}
    assert document["messages"]["page.intro.heading"] == i18n.catalog("ja")["page.intro.heading"]
    retake = "api.retake.no_face_in_selfie"
    assert document["messages"][retake] == i18n.catalog("ja")[retake]
    assert not [key for key in document["messages"] if key.startswith("email.")]


def _bundle_event() -> dict[str, Any]:
    event = load_event("verification_page", "script")
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/verify/assets/{LIVENESS_BUNDLE}"
    event["pathParameters"] = {"proxy": LIVENESS_BUNDLE}
    return event


@pytest.fixture
def static_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of static/ without the liveness bundle, served in place of the real folder."""
    root = tmp_path / "static"
    for file in STATIC.rglob("*"):
        if file.is_file() and not file.relative_to(STATIC).as_posix().startswith("liveness/"):
            (root / file.relative_to(STATIC)).parent.mkdir(parents=True, exist_ok=True)
            (root / file.relative_to(STATIC)).write_bytes(file.read_bytes())
    monkeypatch.setattr(assets, "_static_root", lambda: root)
    assets.static_asset.cache_clear()
    yield root
    assets.static_asset.cache_clear()


def test_liveness_bundle_served_when_built(page_function: ModuleType, static_copy: Path) -> None:
    bundle = static_copy / LIVENESS_BUNDLE
    bundle.parent.mkdir()
    bundle.write_text("window.HireProofLiveness = Object.freeze({});\n", encoding="utf-8")

    response = _call(page_function, _bundle_event())

    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["body"] == bundle.read_text(encoding="utf-8")


def test_liveness_bundle_missing_returns_404(page_function: ModuleType, static_copy: Path) -> None:
    response = _call(page_function, _bundle_event())

    assert response["statusCode"] == 404


def test_page_loads_bundle_that_vite_builds() -> None:
    # main.js and vite.config.js must agree on the bundle's folder and file names.
    script = (STATIC / "js" / "main.js").read_text(encoding="utf-8")
    config = (LIVENESS_PROJECT / "vite.config.js").read_text(encoding="utf-8")

    assert f'new URL("../{LIVENESS_BUNDLE}", import.meta.url)' in script
    assert 'new URL("../liveness/hireproof-liveness.css", import.meta.url)' in script
    assert '"../../layers/common/hireproof/web/static/liveness/"' in config
    assert 'fileName: () => "hireproof-liveness.js"' in config
    assert 'cssFileName: "hireproof-liveness"' in config


def test_liveness_packages_pinned_exactly() -> None:
    package = json.loads((LIVENESS_PROJECT / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((LIVENESS_PROJECT / "package-lock.json").read_text(encoding="utf-8"))
    pinned = {**package["dependencies"], **package["devDependencies"]}

    assert "@aws-amplify/ui-react-liveness" in pinned
    assert [name for name, version in pinned.items() if not re.fullmatch(r"\d+\.\d+\.\d+", version)] == []
    for name, version in pinned.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, name


def test_outside_static_event_returns_404(page_function: ModuleType) -> None:
    response = _call(page_function, load_event("verification_page", "outside_static"))

    assert response["statusCode"] == 404
    assert "lambda_handler" not in response["body"]


def test_matching_etag_returns_304(page_function: ModuleType) -> None:
    event = load_event("verification_page", "script")
    etag = _call(page_function, event)["headers"]["ETag"]
    event["headers"]["if-none-match"] = f"W/{etag}"

    response = _call(page_function, event)

    assert response["statusCode"] == 304
    assert not response.get("body")
    assert response["headers"]["ETag"] == etag


# ----------------------------------------------------------------- hireproof.web.assets
@pytest.mark.parametrize(
    "path",
    [
        "",
        "../app.py",
        "js/../main.js",
        "js//main.js",
        "/js/main.js",
        ".env",
        "js/.main.js",
        "index.html",
        "i18n/fr.json",
        "i18n/en.js",
        "i18n/en.json/extra",
        "js/main.py",
        "js/missing.js",
        "js/main.js%00.png",
    ],
)
def test_static_asset_rejects_path(path: str) -> None:
    assert assets.static_asset(path) is None


def test_every_static_file_is_served_with_its_type() -> None:
    files = [p for p in STATIC.rglob("*") if p.is_file() and p.name != assets.PAGE_FILE]

    for file in files:
        asset = assets.static_asset(file.relative_to(STATIC).as_posix())
        assert asset is not None, file
        assert asset.content_type == assets.CONTENT_TYPES[file.suffix]
        assert asset.body == file.read_text(encoding="utf-8")
    assert len(files) >= 6


def test_page_messages_fall_back_to_english(monkeypatch: pytest.MonkeyPatch) -> None:
    english = i18n.catalog("en")
    partial = {key: text for key, text in i18n.catalog("ja").items() if key != "page.retry"}
    monkeypatch.setattr(assets, "catalog", lambda language: partial if language == "ja" else english)

    messages = assets.page_messages("ja")

    assert messages["page.retry"] == english["page.retry"]
    assert messages["page.intro.heading"] == partial["page.intro.heading"]


# ----------------------------------------------------------------- hireproof.web.headers
@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("", False),
        ('"other"', False),
        ('"current"', True),
        ('W/"current"', True),
        ('"other", "current"', True),
        ("*", True),
    ],
)
def test_not_modified(header: str | None, expected: bool) -> None:
    asset = assets.Asset(body="x", content_type="text/plain", etag='"current"')

    assert headers.not_modified(header, asset) is expected


# ----------------------------------------------------------------- the page's messages
def _page_keys() -> set[str]:
    text = (STATIC / assets.PAGE_FILE).read_text(encoding="utf-8")
    keys = set(re.findall(r'data-i18n="([^"]+)"', text))
    keys |= {pair.split(":", 1)[1] for pair in re.findall(r'data-i18n-attr="([^"]+)"', text)}
    keys |= set(re.findall(r"\{\{([a-z0-9_.]+)\}\}", text))
    for script in (STATIC / "js").glob("*.js"):
        keys |= set(_SCRIPT_KEY.findall(script.read_text(encoding="utf-8")))
    return keys


def _known(key: str, catalog: dict[str, str]) -> bool:
    # A plural message has `.one`/`.other` keys. A prefix that main.js completes with a
    # credential kind falls back to `<prefix>.unknown`.
    return any(candidate in catalog for candidate in (key, f"{key}.other", f"{key}.unknown"))


def test_page_uses_only_catalog_keys() -> None:
    english = i18n.catalog("en")
    keys = _page_keys()

    assert len(keys) > 40
    assert sorted(key for key in keys if not _known(key, english)) == []


def test_page_messages_cover_built_keys() -> None:
    # Keys the scripts build from API values: steps, next steps, retake reasons, credential kinds.
    messages = assets.page_messages("en")
    built = [f"api.step.{step}" for step in STEPS]
    built += [f"page.intro.step.{step}" for step in STEPS]
    built += [f"page.capture.instructions.{kind.value}" for kind in EvidenceKind]
    built += [f"api.next_step.{step.value}" for step in NextStep]
    built += [f"api.retake.{reason.value}" for reason in RetakeReason]
    built += [f"page.credential.{part}.{kind.value}" for part in ("kind", "help") for kind in CredentialKind]

    assert sorted(key for key in built if not _known(key, messages)) == []


def test_scripts_never_write_html() -> None:
    # Messages and credentials are set as text, so markup from a catalog or the API never runs.
    for script in (STATIC / "js").glob("*.js"):
        text = script.read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in text, f"{script.name} uses {sink}"
