"""The new hire's verification page: static files, message catalogs and response headers.

The page is plain HTML, CSS and JavaScript modules under `static/`, served as they are by
functions/verification_page (no build step). Its messages come from the same catalogs as
the e-mails and the API (`hireproof.i18n`), served as JSON by `assets.catalog_asset`.
"""
