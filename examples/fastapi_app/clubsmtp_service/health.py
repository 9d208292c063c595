"""``GET /healthz``: the worker is up and its client open. It sends no API request.

A health check that called the API would spend the key's rate budget on
every probe (and fail the whole fleet when the API is slow): this one only
says whether this worker can serve.
"""

from __future__ import annotations

import os

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from .resources import ClientDep

__all__ = ["router"]

router = APIRouter()


@router.get("/healthz")
async def health(client: ClientDep) -> JSONResponse:
    """200 ``{"status": "ok", "pid": …}`` while the client is open, 503 once it is closed."""
    if client.is_closed:
        return JSONResponse({"status": "stopping", "pid": os.getpid()}, status_code=503)
    return JSONResponse({"status": "ok", "pid": os.getpid()})
