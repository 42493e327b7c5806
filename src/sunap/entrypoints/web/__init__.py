"""Web pages served by Sunap itself: the hosted checkout and the operators' dashboard.

Server-rendered (Jinja2), every asset from Sunap's own origin under a strict Content-Security-Policy,
Korean first and English when the browser asks for it.
"""
