"""Sphinx extension: drop repeated <script> entries from a page's head.

Sphinx 7.4 (pinned by jupyter-book 1.0.4) adds the same inline script twice when two extensions
register it (Thebe's configuration, the toggle button's selector), so every page logs
"Identifier 'THEBE_JS_URL' has already been declared" in the browser. Fixed upstream in Sphinx 8
(sphinx-doc/sphinx#13402); tests/test_site.py checks pages load without console errors.
"""

from __future__ import annotations


def _dedupe(app, pagename, templatename, context, doctree) -> None:  # noqa: ANN001 - Sphinx API
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        key = (
            getattr(js, "filename", "") or "",
            tuple(sorted(getattr(js, "attributes", {}).items())),
        )
        if key not in seen:
            seen.add(key)
            kept.append(js)
    scripts[:] = kept  # in place: the template holds this list


def setup(app) -> dict:  # noqa: ANN001 - Sphinx API
    app.connect("html-page-context", _dedupe)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
