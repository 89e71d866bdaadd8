"""The server-rendered web pages: one base template, one session and CSRF scheme, one way to render.

New pages use ``render`` (templates and security headers), ``VisitorDep`` (who the browser is logged in as)
and ``Visitor.check_csrf`` on every form they accept.
"""
