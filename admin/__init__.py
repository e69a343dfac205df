"""The admin and customer web app: Flask application factory."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

import config as config_module
from models import bind, db

csrf = CSRFProtect()


def create_app(cfg: config_module.Config | None = None, services=None,
               test_config: dict | None = None) -> Flask:
    """`services` is the running gateway's (key cache, limiter...) when served in-process."""
    cfg = cfg or config_module.get()
    if db.obj is None:
        bind(cfg.database_url)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=cfg.secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        GATEWAY=cfg,
        SIGNUP_ENABLED=cfg.signup_enabled,
    )
    if test_config:
        app.config.update(test_config)
    app.extensions["gateway_services"] = services
    csrf.init_app(app)

    from . import auth, cli, dashboard

    auth.login_manager.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(dashboard.bp)
    cli.register(app)
    return app


def gateway_changed(app: Flask) -> None:
    """Keys, users or plans changed: make the in-process gateway see it at once."""
    services = app.extensions.get("gateway_services")
    if services is not None:
        services.keys.clear()
