"""The sandbox's configuration: keys, rate limit, accounts, templates, faults.

`SandboxConfig.default()` is the documented workspace (the accounts the Orshot docs use in their
examples). A config file overrides any top-level key; `rate_limit` and `faults` merge key by key
with the defaults, lists replace. Every mistake is one `UserError` naming the key at fault.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from orshot_gitops.errors import UserError
from orshot_gitops.sandbox.platforms import PLATFORM_NAMES


@dataclass(frozen=True)
class SandboxAccount:
    """A connected social account; `token_expired` makes every send to it fail (reconnect)."""

    id: int
    platform: str
    username: str
    name: str
    token_expired: bool = False
    # The platform keeps refusing for now: every send fails "Rate limited by platform".
    platform_rate_limited: bool = False
    # What `include_health` reports; None: whether the token expired. False with an expired
    # token: it expired after Orshot last checked it (sends fail, health says nothing yet).
    requires_reconnect: bool | None = None


@dataclass(frozen=True)
class SandboxTemplate:
    """A Studio template that can be rendered; more than one page makes it a carousel.
    `parameters`: the ids its modifications may name (GET /v1/studio/template/modifications);
    a multi-page template takes them per page too, as `pageN@id`."""

    id: int
    pages: int = 1
    parameters: tuple[str, ...] = ("title", "subtitle", "image", "price")


@dataclass(frozen=True)
class RateLimit:
    """A sliding window: at most `requests` API calls in any `per_seconds` seconds."""

    requests: int = 20
    per_seconds: float = 60.0


@dataclass(frozen=True)
class Faults:
    """Injected failures. Rates are probabilities in [0, 1]; `seed` makes them reproducible."""

    latency_ms: int = 0
    server_error_rate: float = 0.0
    drop_response_rate: float = 0.0
    seed: int | None = None


DEFAULT_ACCOUNTS = (
    SandboxAccount(1, "twitter", "acmehq", "Acme HQ"),
    SandboxAccount(2, "linkedin", "acme-inc", "Acme Inc"),
    SandboxAccount(3, "instagram", "acmeinsta", "Acme"),
    SandboxAccount(4, "facebook", "acmefb", "Acme"),
    SandboxAccount(5, "pinterest", "acmepins", "Acme"),
    SandboxAccount(6, "tiktok", "acmetok", "Acme"),
    SandboxAccount(7, "youtube", "acmetube", "Acme"),
    SandboxAccount(8, "googlebusiness", "acme-store", "Acme Store"),
)
DEFAULT_TEMPLATES = (
    SandboxTemplate(123, 1),
    SandboxTemplate(456, 3, ("slideTitle", "title", "subtitle", "image")),
)
_TOP_LEVEL_KEYS = (
    "api_keys",
    "rate_limit",
    "accounts",
    "templates",
    "faults",
    "processing_seconds",
    "revoked_keys",
    "auth_answers",
    "lenient",
    "answers",
    "render_job_seconds",
    "render_job_error",
)
# The per-account entries of `POST /social/publish` (and of a render's `publish` array):
# "with-ids" adds `account_id` to each, in the request's order; "documented" answers as the
# publish pages show them, without `account_id`, and in the reverse of the request's order,
# so a client that matched by position would get every account of a two-account post wrong.
ANSWER_SHAPES = ("with-ids", "documented")
# How a refused key is answered: the publish page's single 403, or the error reference's
# forms (400 "Access Forbidden: Invalid API Key", 400 "... do not exist" for a revoked key,
# 403 "Access Forbidden: Authorization header is missing").
AUTH_ANSWERS = ("publish-page", "error-reference")
# The default key is a placeholder the docs print; any other key is shown only as this marker.
PUBLIC_KEYS = ("sandbox",)
REDACTED_KEY = "<from --config, not shown>"


@dataclass(frozen=True)
class SandboxConfig:
    """Everything that shapes one sandbox workspace. Frozen: use `dataclasses.replace`."""

    api_keys: tuple[str, ...] = ("sandbox",)
    rate_limit: RateLimit = RateLimit()
    accounts: tuple[SandboxAccount, ...] = DEFAULT_ACCOUNTS
    templates: tuple[SandboxTemplate, ...] = DEFAULT_TEMPLATES
    faults: Faults = Faults()
    # How long an Instagram/TikTok post stays `processing` when nobody calls sync.
    processing_seconds: float = 2.0
    # Keys that once worked and were revoked: refused like any unknown key, but answered
    # "The API Key or User ID do not exist" under the error reference's forms.
    revoked_keys: tuple[str, ...] = ()
    auth_answers: str = "publish-page"
    # Accept request fields Orshot's pages do not list (as the sandbox once did), for SDKs and
    # integrations that send extras; off, an unknown field is a 400 naming it.
    lenient: bool = False
    answers: str = "with-ids"
    # How long an async render job (`response.mode: "async"`) runs before it reports its output.
    render_job_seconds: float = 2.0
    # Set: every render job finishes failed with this error (a template that cannot render).
    render_job_error: str | None = None

    def __post_init__(self) -> None:
        if not self.api_keys:
            raise UserError("sandbox config: api_keys must list at least one key")
        for kind, ids in (
            ("account", [a.id for a in self.accounts]),
            ("template", [t.id for t in self.templates]),
        ):
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            if duplicates:
                raise UserError(f"sandbox config: duplicate {kind} id {duplicates[0]}")

    @classmethod
    def default(cls) -> SandboxConfig:
        """The documented defaults: key `sandbox`, 20 requests/60 s, accounts 1-8, templates."""
        return cls()

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> SandboxConfig:
        """The defaults with the keys of `data` overriding them; UserError on anything invalid."""
        if not isinstance(data, Mapping):
            raise UserError("sandbox config: the top level must be a mapping")
        _no_unknown_keys("sandbox config", data, _TOP_LEVEL_KEYS)
        base = cls.default()
        return cls(
            api_keys=_api_keys(data["api_keys"]) if "api_keys" in data else base.api_keys,
            rate_limit=_rate_limit(data.get("rate_limit", {}), base.rate_limit),
            accounts=_accounts(data["accounts"]) if "accounts" in data else base.accounts,
            templates=_templates(data["templates"]) if "templates" in data else base.templates,
            faults=_faults(data.get("faults", {}), base.faults),
            processing_seconds=(
                _number("processing_seconds", data["processing_seconds"], minimum=0.0)
                if "processing_seconds" in data
                else base.processing_seconds
            ),
            revoked_keys=_revoked_keys(data["revoked_keys"])
            if "revoked_keys" in data
            else base.revoked_keys,
            auth_answers=_auth_answers(data.get("auth_answers", base.auth_answers)),
            lenient=_flag("lenient", data.get("lenient", base.lenient)),
            answers=_answers(data.get("answers", base.answers)),
            render_job_seconds=(
                _number("render_job_seconds", data["render_job_seconds"], minimum=0.0)
                if "render_job_seconds" in data
                else base.render_job_seconds
            ),
            render_job_error=(
                _string("render_job_error", data["render_job_error"])
                if data.get("render_job_error") is not None
                else base.render_job_error
            ),
        )

    @classmethod
    def load(cls, path: str | Path) -> SandboxConfig:
        """Read a YAML or JSON file (JSON by a .json extension; YAML otherwise)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UserError(
                f"cannot read sandbox config: {exc.strerror or exc}", path=str(path)
            ) from exc
        data: object
        if path.suffix.lower() == ".json":
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise UserError(f"sandbox config is not valid JSON: {exc}", path=str(path)) from exc
        else:
            import yaml  # only needed for files: the server itself stays stdlib-only

            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
                raise UserError(
                    f"sandbox config is not valid YAML: {first_line}", path=str(path)
                ) from exc
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise UserError("sandbox config: the top level must be a mapping", path=str(path))
        try:
            return cls.from_mapping(data)
        except UserError as exc:
            raise UserError(exc.message, path=str(path)) from exc

    def to_mapping(self, *, redact: bool = True) -> dict[str, object]:
        """Every key, as a config file would spell it: `from_mapping` reads it back to an equal
        config. With `redact`, keys other than the public default are replaced by a marker:
        a configured key is a secret, and this is what `sandbox --print-config` prints."""
        # Lists, not tuples: the mapping is what a JSON or YAML file holds.
        data: dict[str, object] = json.loads(json.dumps(dataclasses.asdict(self)))
        if redact:
            for name in ("api_keys", "revoked_keys"):
                keys = getattr(self, name)
                data[name] = [k if k in PUBLIC_KEYS else REDACTED_KEY for k in keys]
        return data

    def account(self, account_id: int) -> SandboxAccount | None:
        """The connected account with this id, if any."""
        return next((a for a in self.accounts if a.id == account_id), None)

    def template(self, template_id: int) -> SandboxTemplate | None:
        """The template with this id, if any."""
        return next((t for t in self.templates if t.id == template_id), None)


def _no_unknown_keys(where: str, data: Mapping[str, object], allowed: tuple[str, ...]) -> None:
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise UserError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(allowed)})")


def _integer(where: str, value: object, *, minimum: int) -> int:
    # bool is an int subclass; `true` where a number belongs is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UserError(f"sandbox config: {where} must be an integer >= {minimum}, got {value!r}")
    return value


def _number(where: str, value: object, *, minimum: float, maximum: float | None = None) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= minimum
    if ok and maximum is not None:
        ok = float(value) <= maximum  # type: ignore[arg-type]
    if not ok:
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise UserError(f"sandbox config: {where} must be a number {bound}, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def _string(where: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise UserError(f"sandbox config: {where} must be a non-empty string")
    return value


def _mapping(where: str, value: object) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise UserError(f"sandbox config: {where} must be a mapping")
    return value


def _list(where: str, value: object) -> list[object]:
    if not isinstance(value, (list, tuple)) or not value:
        raise UserError(f"sandbox config: {where} must be a non-empty list")
    return list(value)


def _flag(where: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise UserError(f"sandbox config: {where} must be true or false")
    return value


def _auth_answers(value: object) -> str:
    answers = _string("auth_answers", value)
    if answers not in AUTH_ANSWERS:
        raise UserError(f"sandbox config: auth_answers must be one of {', '.join(AUTH_ANSWERS)}")
    return answers


def _revoked_keys(value: object) -> tuple[str, ...]:
    # `[]` is the default, and what --print-config prints for it: it must read back.
    if isinstance(value, (list, tuple)) and not value:
        return ()
    return _api_keys(value, "revoked_keys")


def _answers(value: object) -> str:
    answers = _string("answers", value)
    if answers not in ANSWER_SHAPES:
        raise UserError(f"sandbox config: answers must be one of {', '.join(ANSWER_SHAPES)}")
    return answers


def _api_keys(value: object, where: str = "api_keys") -> tuple[str, ...]:
    # Never put a key's value in a message: the message may end up in CI logs.
    return tuple(_string(f"{where}[{i}]", key) for i, key in enumerate(_list(where, value)))


def _rate_limit(value: object, base: RateLimit) -> RateLimit:
    data = _mapping("rate_limit", value)
    _no_unknown_keys("sandbox config: rate_limit", data, ("requests", "per_seconds"))
    return RateLimit(
        requests=_integer("rate_limit.requests", data.get("requests", base.requests), minimum=1),
        per_seconds=_number(
            "rate_limit.per_seconds", data.get("per_seconds", base.per_seconds), minimum=0.001
        ),
    )


def _accounts(value: object) -> tuple[SandboxAccount, ...]:
    accounts = []
    for i, item in enumerate(_list("accounts", value)):
        where = f"accounts[{i}]"
        data = _mapping(where, item)
        _no_unknown_keys(
            f"sandbox config: {where}",
            data,
            (
                "id",
                "platform",
                "username",
                "name",
                "token_expired",
                "platform_rate_limited",
                "requires_reconnect",
            ),
        )
        for key in ("id", "platform", "username"):
            if key not in data:
                raise UserError(f"sandbox config: {where} needs '{key}'")
        platform = _string(f"{where}.platform", data["platform"])
        if platform not in PLATFORM_NAMES:
            raise UserError(
                f"sandbox config: {where}.platform '{platform}' is not one of "
                + ", ".join(sorted(PLATFORM_NAMES))
            )
        expired = data.get("token_expired", False)
        limited = data.get("platform_rate_limited", False)
        reported = data.get("requires_reconnect")
        flags: list[tuple[str, object]] = [("token_expired", expired)]
        flags.append(("platform_rate_limited", limited))
        if reported is not None:
            flags.append(("requires_reconnect", reported))
        for key, flag in flags:
            if not isinstance(flag, bool):
                raise UserError(f"sandbox config: {where}.{key} must be true or false")
        username = _string(f"{where}.username", data["username"])
        accounts.append(
            SandboxAccount(
                id=_integer(f"{where}.id", data["id"], minimum=1),
                platform=platform,
                username=username,
                name=_string(f"{where}.name", data.get("name", username)),
                token_expired=bool(expired),
                platform_rate_limited=bool(limited),
                requires_reconnect=None if reported is None else bool(reported),
            )
        )
    return tuple(accounts)


def _templates(value: object) -> tuple[SandboxTemplate, ...]:
    templates = []
    for i, item in enumerate(_list("templates", value)):
        where = f"templates[{i}]"
        data = _mapping(where, item)
        _no_unknown_keys(f"sandbox config: {where}", data, ("id", "pages", "parameters"))
        if "id" not in data:
            raise UserError(f"sandbox config: {where} needs 'id'")
        templates.append(
            SandboxTemplate(
                id=_integer(f"{where}.id", data["id"], minimum=1),
                pages=_integer(f"{where}.pages", data.get("pages", 1), minimum=1),
                parameters=_parameters(f"{where}.parameters", data.get("parameters")),
            )
        )
    return tuple(templates)


def _parameters(where: str, value: object) -> tuple[str, ...]:
    if value is None:
        return SandboxTemplate(0).parameters
    names = _list(where, value)
    if not all(isinstance(name, str) and name for name in names):
        raise UserError(f"sandbox config: {where} must list parameter ids (strings)")
    return tuple(str(name) for name in names)


def _faults(value: object, base: Faults) -> Faults:
    data = _mapping("faults", value)
    keys = ("latency_ms", "server_error_rate", "drop_response_rate", "seed")
    _no_unknown_keys("sandbox config: faults", data, keys)
    seed = data.get("seed", base.seed)
    if seed is not None:
        seed = _integer("faults.seed", seed, minimum=0)
    return Faults(
        latency_ms=_integer(
            "faults.latency_ms", data.get("latency_ms", base.latency_ms), minimum=0
        ),
        server_error_rate=_number(
            "faults.server_error_rate",
            data.get("server_error_rate", base.server_error_rate),
            minimum=0.0,
            maximum=1.0,
        ),
        drop_response_rate=_number(
            "faults.drop_response_rate",
            data.get("drop_response_rate", base.drop_response_rate),
            minimum=0.0,
            maximum=1.0,
        ),
        seed=seed,
    )
