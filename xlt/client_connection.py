"""Where the client verbs send their requests, and how a failed request reads.

The server URL and the API token come from, in this order: the flags `--server` / `--token`, the
variables `XLT_SERVER` / `XLT_TOKEN`, the config file (`XLT_CONFIG`, else
`$XDG_CONFIG_HOME/xlt/config.toml`, else `~/.config/xlt/config.toml`), and for the server last of all
this machine's own `xlt serve` address (`http://XLT_HOST:XLT_PORT`, 127.0.0.1:8000 by default).

The config file is TOML with two keys:

    server = "https://xlt.example.org"
    token = "xlt_…"

Every failure becomes a `ClientError` whose message names the server, the HTTP status and what the
server said (never a traceback): the verbs print it on one line and exit with its `exit_code`.
"""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

CONFIG_KEYS = ("server", "token")


class ClientError(Exception):
    def __init__(self, message: str, exit_code: int = 1, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.status = status  # the HTTP status; None when no answer came (or no request was made)


def config_path() -> Path:
    if explicit := os.environ.get("XLT_CONFIG"):
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "xlt" / "config.toml"


def read_config(path: Path) -> dict[str, str]:
    """The file's `server` and `token` ({} when there is no file, unless XLT_CONFIG names it)."""
    if not path.is_file():
        if os.environ.get("XLT_CONFIG"):
            raise ClientError(f"config file {path} (XLT_CONFIG) does not exist")
        return {}
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ClientError(f"config file {path}: {exc}") from None
    unknown = sorted(set(values) - set(CONFIG_KEYS))
    wrong = [k for k in CONFIG_KEYS if k in values and not isinstance(values[k], str)]
    if unknown or wrong:
        what = f"unknown key(s) {', '.join(unknown)}" if unknown else f"{', '.join(wrong)} must be a string"
        raise ClientError(f'config file {path}: {what}; it holds server = "URL" and token = "…"')
    if "token" in values and path.stat().st_mode & 0o077:
        warning = f"xlt: warning: {path} holds a token and others can read it (chmod 600 {path})"
        print(warning, file=sys.stderr)
    return {k: values[k] for k in CONFIG_KEYS if k in values}


def _local_server() -> str:
    from backend.settings import get_settings

    settings = get_settings()
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.port}"


@dataclass(frozen=True)
class Connection:
    server: str
    token: str | None
    token_from: str | None  # "--token", "XLT_TOKEN" or the config file's path: named when it is refused


def resolve_connection(server: str | None = None, token: str | None = None) -> Connection:
    """Flags, then XLT_SERVER / XLT_TOKEN, then the config file, then the local default server."""
    env_server, env_token = os.environ.get("XLT_SERVER"), os.environ.get("XLT_TOKEN")
    file: dict[str, str] = {}
    path = config_path()
    if not (server or env_server) or not (token or env_token):
        file = read_config(path)
    chosen_server = server or env_server or file.get("server") or _local_server()
    token_from = None
    if token:
        token_from = "--token"
    elif env_token:
        token, token_from = env_token, "XLT_TOKEN"
    elif "token" in file:
        token, token_from = file["token"], str(path)
    if not chosen_server.startswith(("http://", "https://")):
        chosen_server = f"http://{chosen_server}"
    return Connection(chosen_server.rstrip("/"), token or None, token_from)


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        text = " ".join(response.text.split())
        return text[:200] or response.reason_phrase
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return str(body)[:200]


class Api:
    """JSON over HTTP to one XLT Lab; raises ClientError with the server, the status and its message."""

    def __init__(self, connection: Connection, timeout: float = 30) -> None:
        import httpx  # not at import time: every `xlt` command imports this module

        self.connection = connection
        headers = {"Accept": "application/json", "User-Agent": "xlt-client"}
        if connection.token:
            headers["Authorization"] = f"Bearer {connection.token}"
        self._client = httpx.Client(base_url=connection.server, headers=headers, timeout=timeout)

    @property
    def server(self) -> str:
        return self.connection.server

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ClientError(f"cannot reach XLT Lab at {self.server}: {exc or type(exc).__name__}") from None
        if response.status_code >= 400:
            message = f"XLT Lab at {self.server}: HTTP {response.status_code}: {_server_message(response)}"
            if response.status_code == 401:
                if self.connection.token_from:
                    message += f" (the token from {self.connection.token_from} was refused)"
                else:
                    message += " (xlt sends the token of --token, XLT_TOKEN or the config file's token = …)"
            raise ClientError(message, 2 if response.status_code == 422 else 1, response.status_code)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ClientError(
                f"XLT Lab at {self.server}: {method} {path} answered HTTP {response.status_code} "
                f"with something that is not JSON: is this an XLT Lab server?"
            ) from None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any = None, **params: Any) -> Any:
        return self.request(
            "POST", path, json=body, params={k: v for k, v in params.items() if v is not None}
        )
