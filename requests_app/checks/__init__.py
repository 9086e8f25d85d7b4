"""Domain checks: the initial review criteria and the DCB1596 secure email standard.

resolver.py is the only code that talks to DNS or SMTP; rules/ holds pure functions over the
records it returns; engine.py runs every check for many domains concurrently.
"""
