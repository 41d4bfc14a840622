"""`digest serve`: the small web app where readers subscribe, confirm, manage and
unsubscribe themselves, and where the archive and feeds are served."""

from digest.web.app import check_secret, create_app

__all__ = ["check_secret", "create_app"]
