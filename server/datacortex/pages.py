"""The verification pages the twin serves in place of the real service's emailed link."""
from __future__ import annotations

from html import escape
from urllib.parse import quote

_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Data Cortex - {title}</title>
<style>body{{font-family:sans-serif;max-width:32rem;margin:3rem auto}}
.error{{color:#b00020}} input{{font-size:1.2rem}}</style></head>
<body>
<h1>{title}</h1>
{content}
</body>
</html>
"""


def _page(title: str, content: str) -> str:
    return _PAGE.format(title=escape(title), content=content)


def form(session_key: str, link_token: str, error: str | None = None) -> str:
    """The form that posts `manual_code` back to the same URL."""
    action = f"/api/1/verify?session_key={quote(session_key, safe='')}&token={quote(link_token, safe='')}"
    message = f'<p class="error" id="error">{escape(error)}</p>\n' if error else ""
    return _page("Verify your login", (
        f"{message}<p>Enter the manual code the login answered (<code>manual_code</code>).</p>\n"
        f'<form method="post" action="{escape(action)}">\n'
        '<label for="manual_code">Manual code</label>\n'
        '<input id="manual_code" name="manual_code" autocomplete="one-time-code" required autofocus>\n'
        '<button type="submit">Verify</button>\n</form>'
    ))


def verified(already: bool = False) -> str:
    text = "This login was already verified." if already else "Your login is verified."
    return _page("Login verified", f'<p id="verified">{text} You can close this page; '
                                   "the session key now works with the API.</p>")


def dead_link(message: str) -> str:
    return _page("Verification failed", f'<p class="error" id="error">{escape(message)}</p>')
