"""The asset register: reads with filters, and import of a YAML or CSV upload."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityhall.models import AuditEntry, Device
from tests.api.api_testdata import AssetIds, AuthFor

REGISTER_YAML = """\
sites:
  - code: MZ
    name: Minzhi Civic Center
    address: Minzhi Rd, Tainan
    buildings:
      - code: MZ-A
        name: Minzhi Main Building
        use: civic_center
        gross_floor_area_m2: 4200
        year_built: 1998
        floors:
          - level: 0
            name: GF
            area_m2: 1400
            spaces:
              - code: MZ-A-001
                name: Service hall
                kind: hall
                area_m2: 600
                capacity_people: 120
                devices:
                  - code: mz-a-main
                    name: Main meter
                    kind: electricity_meter
                    serves: whole building
                  - code: mz-a-hall-climate
                    name: Hall climate
                    kind: climate_sensor
"""


def test_reads_and_filters(client: TestClient, auth_for: AuthFor, assets: AssetIds) -> None:
    """Any signed-in role reads the register; filters by site, use, building, kind and code narrow it."""
    headers = auth_for("sam")
    sites = client.get("/sites", headers=headers).json()
    assert [s["code"] for s in sites["items"]] == ["YH"]
    site = client.get(f"/sites/{assets.site_id}", headers=headers).json()
    assert [b["code"] for b in site["buildings"]] == ["YH-A", "YH-D"]

    dorms = client.get("/buildings", params={"use": "dormitory"}, headers=headers).json()
    assert [b["id"] for b in dorms["items"]] == [assets.dorm_id]
    assert dorms["items"][0]["gross_floor_area_m2"] == 3000.0
    building = client.get(f"/buildings/{assets.civic_id}", headers=headers).json()
    assert [(f["level"], f["name"]) for f in building["floors"]] == [(-1, "B1"), (1, "1F")]

    civic_spaces = client.get("/spaces", params={"building_id": assets.civic_id}, headers=headers).json()
    assert [s["code"] for s in civic_spaces["items"]] == ["YH-A-101", "YH-A-B01"]
    offices = client.get("/spaces", params={"kind": "office"}, headers=headers).json()
    assert offices["total"] == 1

    meters = client.get("/devices", params={"kind": "electricity_meter"}, headers=headers).json()
    assert [d["code"] for d in meters["items"]] == ["yh-a-main", "yh-d-101-meter"]
    in_civic = client.get("/devices", params={"building_id": assets.civic_id}, headers=headers).json()
    assert {d["id"] for d in in_civic["items"]} == {assets.civic_meter_id, assets.civic_climate_id}
    in_room = client.get("/devices", params={"space_id": assets.dorm_room_id}, headers=headers).json()
    assert [d["id"] for d in in_room["items"]] == [assets.dorm_meter_id]
    by_code = client.get("/devices", params={"code": "yh-a-main"}, headers=headers).json()
    assert by_code["total"] == 1

    paged = client.get("/devices", params={"limit": 1, "offset": 2}, headers=headers).json()
    assert (paged["total"], len(paged["items"]), paged["items"][0]["code"]) == (3, 1, "yh-d-101-meter")


def test_device_by_code_or_id_and_404s(client: TestClient, auth_for: AuthFor, assets: AssetIds) -> None:
    """A device is found by its wire code or its id; unknown ids of every kind are 404."""
    headers = auth_for("chen")
    by_code = client.get("/devices/yh-a-main", headers=headers)
    by_id = client.get(f"/devices/{assets.civic_meter_id}", headers=headers)
    assert by_code.json() == by_id.json()
    assert by_code.json()["quantities"] == ["power_kw", "energy_kwh"]
    for path in ("/devices/nope", "/devices/99999", "/sites/99999", "/buildings/99999"):
        response = client.get(path, headers=headers)
        assert response.status_code == 404, path
        assert response.json()["detail"][0]["loc"][0] == "path"
    assert client.get("/sites").status_code == 401


def test_import_yaml_upload(
    client: TestClient, auth_for: AuthFor, people: dict[str, int], session_factory: sessionmaker[Session]
) -> None:
    """A facility manager uploads a register: rows are created and audited; a re-upload changes nothing."""
    files = {"file": ("minzhi.yaml", REGISTER_YAML.encode(), "application/yaml")}
    response = client.post("/assets/import", files=files, headers=auth_for("fiona"))
    assert response.status_code == 200, response.text
    summary = response.json()
    assert (summary["created"], summary["updated"], summary["unchanged"]) == (6, 0, 0)
    assert summary["counts"]["device"] == {"created": 2, "updated": 0, "unchanged": 0}

    device = client.get("/devices/mz-a-hall-climate", headers=auth_for("sam")).json()
    assert device["kind"] == "climate_sensor"
    with session_factory() as session:
        audited = session.scalars(select(AuditEntry).where(AuditEntry.entity == "device")).all()
        assert {(e.actor, e.action) for e in audited} == {("user:fiona", "create")}
        assert (
            session.scalars(select(Device).where(Device.code == "mz-a-main")).one().serves == "whole building"
        )

    again = client.post("/assets/import", files=files, headers=auth_for("fiona")).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 6)


def test_import_refuses_bad_documents_and_other_roles(client: TestClient, auth_for: AuthFor) -> None:
    """A bad document is a 422 naming the uploaded file; odd file types and crew uploads are refused."""
    broken = REGISTER_YAML.replace("kind: hall", "kind: ballroom")
    response = client.post(
        "/assets/import",
        files={"file": ("minzhi.yaml", broken.encode(), "application/yaml")},
        headers=auth_for("ada"),
    )
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["type"] == "invalid_asset_document"
    assert detail["loc"] == ["body", "file"]
    assert detail["msg"].startswith("minzhi.yaml: 1 problem")
    assert "ballroom" in detail["msg"]
    assert "/tmp" not in detail["msg"]
    assert client.get("/sites", headers=auth_for("ada")).json()["total"] == 0

    text = client.post(
        "/assets/import", files={"file": ("register.txt", b"x", "text/plain")}, headers=auth_for("ada")
    )
    assert text.status_code == 422
    assert text.json()["detail"][0]["type"] == "unsupported_file_type"
    crew = client.post(
        "/assets/import",
        files={"file": ("m.yaml", REGISTER_YAML.encode(), "application/yaml")},
        headers=auth_for("chen"),
    )
    assert crew.status_code == 403
    missing = client.post("/assets/import", headers=auth_for("ada"))
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "file"]
