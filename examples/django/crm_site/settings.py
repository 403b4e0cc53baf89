"""Settings of the example CRM site: Django's own tables in SQLite, and the assistant's settings
(``CRM_AGENT_*``), each overridable from the environment."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# A development key: set DJANGO_SECRET_KEY anywhere else.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-insecure-crm-agent-example-only")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Django REST Framework's tokens (the Token model, its admin, `drf_create_token`): the
    # /api/gemini/ routes (crm.compat) authenticate with them.
    "rest_framework",
    "rest_framework.authtoken",
    # django-oauth-toolkit: the site is the OAuth authorization server MCP clients get tokens
    # from for `crm-agent serve --oauth-issuer http://…/o` (docs/mcp.md of crm-agent).
    "oauth2_provider",
    "crm",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "crm_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

ASGI_APPLICATION = "crm_site.asgi.application"
WSGI_APPLICATION = "crm_site.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_DB", str(BASE_DIR / "django.db")),
        "OPTIONS": {
            # The store's methods run on the assistant's worker threads, each with its own
            # connection: IMMEDIATE transactions take the write lock up front (so the issue
            # number counter is read and bumped by one writer at a time), and the timeout
            # makes the others wait for it instead of failing with "database is locked".
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL;",
        },
        # A file, not Django's default in-memory test database: an in-memory SQLite database
        # is private to one connection, and the store's threads must see the tests' rows.
        "TEST": {"NAME": os.path.join(tempfile.gettempdir(), f"crm-agent-django-test-{os.getpid()}.db")},
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "crm:assistant"
LOGOUT_REDIRECT_URL = "login"

# --- crm-agent ----------------------------------------------------------------------------------

# The SDK's own database: organizations, conversations, pending actions and the audit trail.
# The CRM records themselves stay in Django's tables (crm.store.DjangoStore).
CRM_AGENT_DATABASE = os.environ.get("CRM_AGENT_DATABASE", f"sqlite:///{BASE_DIR / 'crm_agent.db'}")
# None means the SDK's own defaults: GEMINI_API_KEY, GEMINI_BASE_URL and GEMINI_MODEL.
CRM_AGENT_GEMINI_API_KEY = os.environ.get("CRM_AGENT_GEMINI_API_KEY")
CRM_AGENT_GEMINI_BASE_URL = os.environ.get("CRM_AGENT_GEMINI_BASE_URL")
CRM_AGENT_MODEL = os.environ.get("CRM_AGENT_MODEL")
# This site is one crm-agent organization; a multi-tenant site would pick one per request.
CRM_AGENT_ORGANIZATION = os.environ.get("CRM_AGENT_ORGANIZATION", "acme")
CRM_AGENT_ORGANIZATION_NAME = os.environ.get("CRM_AGENT_ORGANIZATION_NAME", "Acme Inc")

# --- OAuth for MCP clients (django-oauth-toolkit) -------------------------------------------------

# MCP clients register themselves (RFC 7591: nobody hands them a client id), use the
# authorization code flow with PKCE, and name crm-agent's /mcp as the resource (RFC 8707), which
# the token's introspection answer then carries as its audience. crm-agent introspects tokens
# as a confidential client of its own (an Application with the client-credentials grant).
OAUTH2_PROVIDER = {
    "SCOPES": {
        "crm:read": "Read your CRM records through the assistant's tools",
        "crm:write": "Change your CRM records through the assistant's tools",
    },
    "DEFAULT_SCOPES": ["crm:read"],
    "PKCE_REQUIRED": True,
    "DCR_ENABLED": True,
    "DCR_REGISTRATION_PERMISSION_CLASSES": ("oauth2_provider.dcr.AllowAllDCRPermission",),
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
}
