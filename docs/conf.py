"""Sphinx configuration for the documentation site (``python3 -m nox -s site``).

Sphinx with MyST renders the Markdown pages in this folder as they are (the
same files GitHub shows and the docs session runs as doctests); autodoc
builds the API reference from the docstrings and sphinx-click the command
line reference from the click group. Nothing here reaches a network.
"""

from __future__ import annotations

import sealdoc

project = "sealdoc"
author = "sealdoc developers"
copyright = "sealdoc developers"
release = sealdoc.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "sphinx_click",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
# docutils' smart quotes turn "--option" into an en dash, and a command pasted
# from the CLI reference then fails (scripts/check_site.py checks the build)
smartquotes = False
exclude_patterns = ["_build"]

myst_enable_extensions = ["colon_fence", "deflist"]
# "#section" links inside and between pages resolve to headings
myst_heading_anchors = 3

autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"

html_theme = "furo"
html_title = f"sealdoc {release}"
