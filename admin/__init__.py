"""The admin and customer web app: Flask application factory."""

from __future__ import annotations

import datetime as dt

from flask import Flask, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

import config as config_module
from models import bind, db

from .mail import Mailer

csrf = CSRFProtect()


class TrustedProxies:
    """`X-Forwarded-For` and `-Proto` (the client's address, https) are taken only from the
    proxies the operator lists in TRUSTED_PROXIES; from anyone else they are dropped."""

    FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
                 "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX", "HTTP_FORWARDED")

    def __init__(self, app, trusted: frozenset[str]) -> None:
        self.app, self.trusted = app, trusted
        self.fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=0, x_port=0, x_prefix=0)

    def __call__(self, environ, start_response):
        if environ.get("REMOTE_ADDR") in self.trusted:
            return self.fixed(environ, start_response)
        for name in self.FORWARDED:
            environ.pop(name, None)
        return self.app(environ, start_response)


class SessionInterface(SecureCookieSessionInterface):
    """Secure cookies whenever the UI is served over https (directly or behind a proxy that
    the operator trusts to say so)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def create_app(cfg: config_module.Config | None = None, on_change=None, upstreams=None,
               test_config: dict | None = None, live=None) -> Flask:
    """What the gateway serving the app in-process gives it: `on_change`, called when keys,
    customers or plans change (it drops what it cached), `upstreams`, the providers as
    the operator's page shows them (a list of {provider, url, configured, credential_env}),
    and `live`, its provider keys' state (`live(key_id)`, `enable(key_id)`)."""
    cfg = cfg or config_module.get()
    if db.obj is None:
        bind(cfg.database_url)
    app = Flask(__name__)
    app.session_interface = SessionInterface()
    app.wsgi_app = TrustedProxies(app.wsgi_app, cfg.trusted_proxies)
    configure(app, cfg, test_config)
    app.extensions["on_change"] = on_change
    app.extensions["upstreams"] = upstreams or list
    app.extensions["upstream_keys"] = live
    app.extensions["mailer"] = Mailer(cfg.smtp_url, cfg.mail_from)
    csrf.init_app(app)
    if cfg.billing:
        register_billing(app, cfg)
    register_areas(app)
    register_errors(app)
    register_per_request(app)
    return app


def configure(app: Flask, cfg: config_module.Config, test_config: dict | None) -> None:
    app.config.update(
        SECRET_KEY=cfg.secret_key(),
        SESSION_COOKIE_SECURE=cfg.secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # tokens live as long as the session
        GATEWAY=cfg,
        SIGNUP_ENABLED=cfg.signup_enabled,
        SIGNUP_PLAN=cfg.signup_plan,
        PUBLIC_URL=cfg.public_url,
    )
    if test_config:
        app.config.update(test_config)


def register_billing(app: Flask, cfg: config_module.Config) -> None:
    from .payments import Payments

    app.extensions["payments"] = Payments(cfg, app.extensions["mailer"])
    if not cfg.stripe_webhook_secret:
        app.logger.warning("billing: STRIPE_WEBHOOK_SECRET is not set, so every webhook is "
                           "refused and no plan changes on Stripe's word")


def register_areas(app: Flask) -> None:
    """One blueprint per area, and the CLI's commands."""
    from . import (
        account,
        auth,
        billing,
        cli,
        credit,
        dashboard,
        keys,
        members,
        ops,
        ops_selling,
        overview,
        pricing,
        reset,
        usage,
    )

    auth.login_manager.init_app(app)
    app.jinja_env.globals["timedelta"] = dt.timedelta
    app.extensions["throttles"] = auth.new_throttles()
    for module in (auth, reset, account, members, dashboard, keys, usage, pricing, credit,
                   billing, ops, ops_selling, overview):
        app.register_blueprint(module.bp)
    cli.register(app)


def register_per_request(app: Flask) -> None:
    """A connection per request, as in peewee's Flask examples (a connection the database
    dropped, a restart, never outlives the request that found it), and the headers every
    page carries."""

    @app.before_request
    def open_db():
        db.connect(reuse_if_open=True)

    @app.teardown_request
    def close_db(exc):
        if not db.is_closed():
            db.close()

    @app.after_request
    def headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


def register_errors(app: Flask) -> None:
    messages = {
        400: ("Bad request", "The form was incomplete or malformed. Go back and try again."),
        403: ("Not allowed", "Your account cannot open this page."),
        404: ("Not found", "There is nothing here. Check the address or go back."),
        429: ("Slow down", "Too many attempts. Wait a few minutes and try again."),
    }

    def render(code: int, detail: str | None = None):
        title, text = messages[code]
        return render_template("error.html", title=title, text=detail or text), code

    for code in messages:
        app.register_error_handler(code, lambda e, code=code: render(code))
    app.register_error_handler(
        CSRFError, lambda e: render(400, "The form expired or did not come from this site. "
                                         "Reload the page and submit it again."))
