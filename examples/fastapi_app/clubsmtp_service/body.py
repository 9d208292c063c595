"""Reading a request body with a size cap, before anything parses it."""

from __future__ import annotations

from contextlib import aclosing

from fastapi import HTTPException, Request

__all__ = ["read_body"]


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it grows past `limit` bytes.

    Raises:
        HTTPException: 413 when the body is larger than `limit`.

    """
    chunks: list[bytes] = []
    size = 0
    async with aclosing(request.stream()) as stream:  # closed at once when left early
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                raise HTTPException(413, f"the body is larger than {limit} bytes")
            chunks.append(chunk)
    return b"".join(chunks)
