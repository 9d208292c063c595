"""The error table: every SDK error class gets its documented status."""

from __future__ import annotations

import json

import httpx
import pytest
from clubsmtp_service.errors import STATUSES, error_response

from clubsmtp_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthError,
    ClientClosedError,
    ClubSMTPError,
    InvalidRequestError,
    RateLimitError,
    RateLimitWaitError,
    SecurityError,
    ServerError,
    ValidationError,
)
from clubsmtp_async.onboarding import PlanError, TenantFileError
from clubsmtp_async.webhooks import WebhookVerificationError

REQUEST = httpx.Request("GET", "https://api.clubsmtp.test/v1/domains")


def status_error(cls: type[APIStatusError], status: int) -> APIStatusError:
    return cls("refused", status_code=status, response=httpx.Response(status, request=REQUEST))


@pytest.mark.parametrize(("exc", "status"), [
    (ValidationError("bad"), 422),
    (TenantFileError("request body", "domains[0]", "bad"), 422),
    (PlanError(["address in use"]), 409),
    (WebhookVerificationError("no"), 400),
    (APITimeoutError("slow"), 504),
    (APIConnectionError("down"), 502),
    (ClientClosedError("closed"), 503),
    (RateLimitWaitError(42.5, max_wait=1.0), 503),
    (ClubSMTPError("?"), 500),
])
def test_statuses(exc: ClubSMTPError, status: int) -> None:
    assert error_response(exc).status_code == status


@pytest.mark.parametrize(("cls", "code", "status"), [
    (AuthError, 401, 502), (SecurityError, 403, 502), (InvalidRequestError, 400, 502),
    (ServerError, 500, 502), (RateLimitError, 429, 503),
])
def test_api_answers(cls: type[APIStatusError], code: int, status: int) -> None:
    response = error_response(status_error(cls, code))
    assert response.status_code == status
    assert json.loads(bytes(response.body))["error"] == cls.__name__


@pytest.mark.parametrize(("retry_after", "header"), [
    (7.0, "7"), (0.2, "1"), (None, "1"), (float("nan"), "1"), (2.5, "3")])
def test_retry_after_is_whole_seconds(retry_after: float | None, header: str) -> None:
    exc = status_error(RateLimitError, 429)
    assert isinstance(exc, RateLimitError)
    exc.retry_after = retry_after
    assert error_response(exc).headers["retry-after"] == header


def test_the_table_is_ordered_by_the_class_tree() -> None:
    # The lookup walks the exception's MRO, so subclasses must be in the table
    # only where their answer differs; the base class is the fallback.
    assert STATUSES[ClubSMTPError][0] == 500
    assert TenantFileError.__mro__.index(ValidationError) < TenantFileError.__mro__.index(
        ClubSMTPError)


def test_a_refused_wait_says_when_to_come_back() -> None:
    response = error_response(RateLimitWaitError(42.5, max_wait=1.0))
    assert response.headers["retry-after"] == "43"
    assert "busy" in json.loads(bytes(response.body))["detail"]


def test_an_upstream_body_never_reaches_the_caller_or_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A proxy's error page that echoes the request, the API key included.
    request = httpx.Request("POST", "https://api.clubsmtp.test/v1/domains")
    upstream = httpx.Response(502, content=b"<html>Bearer sk_test_leaked</html>", request=request)
    from clubsmtp_async._response import raise_for_errors

    with pytest.raises(ServerError) as caught:
        raise_for_errors(upstream)
    assert "sk_test_leaked" in str(caught.value)  # the SDK keeps an excerpt for you
    with caplog.at_level("DEBUG"):
        response = error_response(caught.value)
    body = json.loads(bytes(response.body))
    assert response.status_code == 502
    assert body["detail"] == "the ClubSMTP API answered HTTP 502"
    assert "sk_test_leaked" not in caplog.text
