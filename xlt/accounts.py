"""Operator verbs for accounts: `xlt users …` and `xlt tokens …`.

They work on the configured database directly (run them where XLT_DATABASE_URL points at it, as
`xlt db upgrade` does), migrating it first. Tokens are printed once and never again.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from backend.errors import DomainError
from backend.schemas import ROLES


def add_account_verbs(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = verbs.add_parser("users", help="accounts: create, list, disable (operators)")
    user_verbs = users.add_subparsers(dest="users_verb", required=True)
    create = user_verbs.add_parser("create", help="a new user (password from a prompt or stdin)")
    create.add_argument("name")
    create.add_argument("--role", choices=ROLES, default="member")
    create.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    user_verbs.add_parser("list", help="users with their role and state")
    disable = user_verbs.add_parser("disable", help="refuse the user's logins, sessions and tokens at once")
    disable.add_argument("name")
    enable = user_verbs.add_parser("enable", help="undo disable")
    enable.add_argument("name")
    password = user_verbs.add_parser("set-password", help="a new password (ends the user's sessions)")
    password.add_argument("name")
    password.add_argument("--password-stdin", action="store_true")

    tokens = verbs.add_parser("tokens", help="API tokens for scripts: create, list, revoke (operators)")
    token_verbs = tokens.add_subparsers(dest="tokens_verb", required=True)
    new = token_verbs.add_parser("create", help="a new token for USER, printed once")
    new.add_argument("user")
    new.add_argument("--label", default="", help="what the token is for, e.g. 'laptop' or 'ci'")
    listing = token_verbs.add_parser("list", help="tokens (prefix, label, last use), of USER or all")
    listing.add_argument("user", nargs="?")
    revoke = token_verbs.add_parser("revoke", help="revoke by the whole token or its prefix")
    revoke.add_argument("token_or_prefix")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        raise SystemExit("xlt users: the passwords differ; nothing changed")
    return first


def _when(value: object) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M}"


def accounts_command(args: argparse.Namespace) -> int:
    from backend.migrate import upgrade
    from backend.services import accounts

    upgrade()
    try:
        if args.verb == "users":
            if args.users_verb == "create":
                user = accounts.create_user(args.name, _read_password(args.password_stdin), args.role)
                print(f"created {user.role} '{user.name}'")
            elif args.users_verb == "list":
                for u in accounts.list_users():
                    state = "disabled" if u.disabled else "active"
                    print(f"{u.name:<24} {u.role:<7} {state:<8} created {_when(u.created_at)}")
            elif args.users_verb in ("disable", "enable"):
                user = accounts.set_disabled(args.name, args.users_verb == "disable")
                print(f"'{user.name}' is {'disabled' if user.disabled else 'enabled'}")
            elif args.users_verb == "set-password":
                accounts.set_password(args.name, _read_password(args.password_stdin))
                print(f"password of '{args.name}' changed; their browser sessions have ended")
        elif args.tokens_verb == "create":
            new = accounts.create_token(args.user, args.label)
            print(new.token)
            print(
                f"token {new.info.prefix}… for '{new.info.user}' created; it is shown only now. "
                "Send it as 'Authorization: Bearer <token>' (or XLT_TOKEN for the xlt client).",
                file=sys.stderr,
            )
        elif args.tokens_verb == "list":
            for t in accounts.list_tokens(args.user):
                state = f"revoked {_when(t.revoked_at)}" if t.revoked_at else "live"
                used = _when(t.last_used_at)
                print(f"{t.prefix}  {t.user:<16} {t.label[:24]:<24} last used {used:<16} {state}")
        elif args.tokens_verb == "revoke":
            token = accounts.revoke_token(args.token_or_prefix)
            print(f"revoked token {token.prefix}… of '{token.user}'")
    except DomainError as exc:
        print(f"xlt {args.verb}: {exc.message}", file=sys.stderr)
        return 1
    return 0
