"""The live endpoints and their WebSocket resolve the user and the patient through the one
dependency in romcam/server/deps.py (issue 7 enforces access there): take the patient away there
and every live route answers 404, the WebSocket refuses to open."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from romcam.server.app import create_app
from romcam.server.deps import local_patient
from romcam.server.settings import Settings
from romcam.store.errors import NotFoundError


def _nobody() -> None:
    raise NotFoundError("patient")


@pytest.mark.parametrize("method, path", [("get", "/live/status"), ("get", "/live/plan"), ("post", "/live/start"),
                                          ("post", "/live/pause"), ("post", "/live/stop")])
def test_live_routes_go_through_the_access_dependency(tmp_path: Path, method: str, path: str) -> None:
    app = create_app(Settings(db=f"sqlite:///{tmp_path / 'r.db'}"))
    with TestClient(app, base_url="http://localhost") as client:
        assert getattr(client, method)(path).status_code != 404  # reachable for the local patient
        app.dependency_overrides[local_patient] = _nobody
        r = getattr(client, method)(path)
        assert r.status_code == 404 and r.json() == {"detail": "patient not found"}


def test_live_websocket_goes_through_the_access_dependency(tmp_path: Path) -> None:
    app = create_app(Settings(db=f"sqlite:///{tmp_path / 'r.db'}"))
    app.dependency_overrides[local_patient] = _nobody
    with TestClient(app, base_url="http://localhost") as client, pytest.raises((WebSocketDisconnect, NotFoundError)):
        with client.websocket_connect("/live/ws", headers={"origin": "http://localhost"}) as ws:
            ws.receive_json()
