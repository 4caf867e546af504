import json
from pathlib import Path

import httpx

from reconcile.client.asgi import SyncASGITransport
from reconcile.emulator.app import create_app


def test_openapi_document_is_served_without_auth_and_matches_the_committed_copy():
    committed = json.loads((Path(__file__).parents[2] / "schemas" / "infrai-account-api.openapi.json").read_text())
    with httpx.Client(transport=SyncASGITransport(create_app()), base_url="http://e") as http:
        response = http.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == committed
    assert len([op for path in committed["paths"].values() for op in path.values() if "operationId" in op]) == 56
