"""The API documentation with no network: Swagger UI (/docs) and ReDoc (/redoc) render in Debian's Chromium
from the files of the fastapi-offline package, and nothing is fetched from another host. Saves
docs/img/api-docs.png."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from html.parser import HTMLParser
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, expect
from pydantic import SecretStr

from api.docs.router import ASSET_TYPES, ASSETS_DIR
from api.main import create_app
from cityhall.db import make_engine, make_sessionmaker
from cityhall.settings import Settings
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, ServedApp

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
REPO = Path(__file__).resolve().parents[2]
TITLE = "CityHall Ops API"
# ReDoc 2.5.3 always puts Redocly's logo from this address at the foot of its menu; the pages' content
# security policy makes the browser refuse it before any request is sent.
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
CITY_HOST = "docs.cityhall.test"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def origin(url: str) -> str:
    """scheme://host:port of a URL (a blob: URL counts as its creator's)."""
    parts = urlsplit(url.removeprefix("blob:"))
    return f"{parts.scheme}://{parts.netloc}"


class Traffic:
    """Everything a page asked for, and what failed: `refused` were stopped inside the browser by the
    page's content security policy (never sent), `failed` went out and got no answer."""

    def __init__(self, page: Page) -> None:
        self.requested: list[str] = []
        self.refused: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda request: self.requested.append(request.url))
        page.on("requestfailed", self._failed)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _failed(self, request: Request) -> None:
        (self.refused if request.failure == "csp" else self.failed).append(request.url)

    def sent_elsewhere(self, local: str) -> list[str]:
        """Requests sent to any origin but `local`."""
        return [url for url in self.requested if origin(url) != local and url not in self.refused]


class References(HTMLParser):
    """The src and href attributes of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in {"src", "href"} and value is not None]


def references(html: str) -> list[str]:
    """Every URL an HTML page loads or links to."""
    parser = References()
    parser.feed(html)
    return parser.urls


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    """The whole API on uvicorn; the documentation needs no data, so the database stays empty."""
    url = f"sqlite:///{tmp_path_factory.mktemp('api-docs') / 'docs.db'}"
    engine = make_engine(url)
    settings = Settings(_env_file=None, database_url=url, jwt_secret=SecretStr("api-docs-" + "k" * 40))
    with ServedApp(create_app(settings, make_sessionmaker(engine))) as app:
        yield app
    engine.dispose()


@pytest.fixture(scope="module")
def schema(served: ServedApp) -> dict[str, Any]:
    """The OpenAPI document the pages render."""
    document: dict[str, Any] = httpx.get(served.url + "/openapi.json").json()
    return document


def operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Every operation of the schema."""
    return [op for item in schema["paths"].values() for method, op in item.items() if method in HTTP_METHODS]


def test_swagger_ui_renders_every_operation_offline(
    browser: Browser, served: ServedApp, schema: dict[str, Any]
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    traffic = Traffic(page)
    page.goto(served.url + "/docs")
    expect(page).to_have_title(f"{TITLE} - Swagger UI")
    expect(page.locator(".information-container .title")).to_contain_text(TITLE)
    expect(page.locator(".opblock").first).to_be_visible()
    expect(page.locator(".opblock")).to_have_count(len(operations(schema)))
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_IMG / "api-docs.png"))

    health = page.locator(".opblock-get", has=page.locator(".opblock-summary-path", has_text="/health")).first
    health.locator(".opblock-summary-control").click()
    expect(health.get_by_role("button", name="Try it out")).to_be_visible()

    assert traffic.sent_elsewhere(served.url) == []
    assert traffic.refused == []
    assert traffic.failed == []
    assert traffic.errors == []
    assert served.url + "/docs/assets/swagger-ui-bundle.js" in traffic.requested
    page.close()


def test_redoc_lists_every_operation_offline(
    browser: Browser, served: ServedApp, schema: dict[str, Any]
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    traffic = Traffic(page)
    page.goto(served.url + "/redoc")
    expect(page).to_have_title(f"{TITLE} - ReDoc")
    expect(page.locator("h1").first).to_contain_text(TITLE)
    tags = {tag for op in operations(schema) for tag in op.get("tags", [])}
    menu_tags = page.locator("[role=menu] li[data-item-id^='tag/']:not([data-item-id*='/operation/'])")
    expect(menu_tags).to_have_count(len(tags))
    expect(menu_tags.first).to_be_visible()
    in_menu = page.locator("[role=menu] li[data-item-id*='operation/']")
    expect(in_menu.first).to_be_attached()
    listed = {
        item.split("operation/", 1)[1]
        for item in in_menu.evaluate_all("els => els.map(e => e.dataset.itemId)")
    }
    assert listed == {op["operationId"] for op in operations(schema)}

    menu_tags.filter(has_text="Tickets").first.click()
    expect(in_menu.filter(has_text="List Tickets").first).to_be_visible()

    assert traffic.sent_elsewhere(served.url) == []
    assert traffic.refused == [REDOCLY_LOGO]  # stopped in the browser, and ReDoc drops the image
    assert traffic.failed == []
    assert traffic.errors == []
    assert not any("fonts.googleapis.com" in url for url in traffic.requested)
    page.close()


def test_swagger_ui_under_a_city_host_name_stays_offline(browser: Browser, served: ServedApp) -> None:
    """Swagger UI acts differently on hosts other than localhost and 127.0.0.1 (its validity badge from
    validator.swagger.io), so a second Chromium reaches the server under another name, as staff will."""
    port = urlsplit(served.url).port
    rules = f"--host-resolver-rules=MAP {CITY_HOST} 127.0.0.1"
    chromium = browser.browser_type.launch(
        executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, rules]
    )
    page = chromium.new_page()
    traffic = Traffic(page)
    page.goto(f"http://{CITY_HOST}:{port}/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    expect(page.locator(".information-container .title")).to_contain_text(TITLE)
    chromium.close()
    assert traffic.sent_elsewhere(f"http://{CITY_HOST}:{port}") == []
    assert traffic.refused == []
    assert traffic.failed == []


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
def test_pages_load_only_packaged_files(served: ServedApp, path: str) -> None:
    """Every file a page references is ours, answers 200 with its type, and is the package's own copy."""
    response = httpx.get(served.url + path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "fonts.googleapis.com" not in response.text
    for url in references(response.text):
        assert url.startswith("/docs/assets/"), url
        asset = httpx.get(served.url + url)
        name = url.removeprefix("/docs/assets/")
        assert asset.status_code == 200
        assert asset.headers["content-type"].split(";")[0] == ASSET_TYPES[name]
        assert asset.content == (ASSETS_DIR / name).read_bytes()


def test_assets_come_from_the_installed_package() -> None:
    """The files are package data of the pinned fastapi-offline, as installed, not files in this repository."""
    import fastapi_offline  # noqa: PLC0415 - only to find where the package is installed

    assert Path(fastapi_offline.__file__).parent / "static" == ASSETS_DIR
    pins = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"fastapi-offline=={metadata.version('fastapi-offline')}" in pins
    shipped = {path.name for path in metadata.files("fastapi-offline") or [] if path.parent.name == "static"}
    assert shipped >= set(ASSET_TYPES)


@pytest.mark.parametrize(
    "name",
    [
        "passwd",
        "..%2F..%2Fcore.py",
        "%2e%2e",
        "%00",
        "%ff",
        "swagger-ui.css%00",
        "SWAGGER-UI.CSS",
        "x" * 4000,
    ],
)
def test_unknown_asset_is_404(served: ServedApp, name: str) -> None:
    assert httpx.get(f"{served.url}/docs/assets/{name}").status_code == 404


def test_unknown_asset_error_names_the_field(served: ServedApp) -> None:
    response = httpx.get(served.url + "/docs/assets/app.js")
    assert response.status_code == 404
    assert response.json() == {
        "detail": [
            {"msg": "no such documentation asset", "type": "docs_asset_not_found", "loc": ["path", "name"]}
        ]
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/docs/assets/"),
        ("GET", "/docs/assets/a/b"),
        ("POST", "/docs/assets/swagger-ui.css"),
        ("HEAD", "/docs/assets/swagger-ui.css"),
        ("POST", "/docs"),
        ("GET", "/docs?url=https://example.org/evil.json"),
        ("GET", "/redoc/"),
        ("PUT", "/redoc"),
    ],
)
def test_other_requests_are_refused_without_500(served: ServedApp, method: str, path: str) -> None:
    assert httpx.request(method, served.url + path).status_code < 500
