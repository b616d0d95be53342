"""The conformance kit: check any deployment of the apitwin APIs against its contract.

`apitwin conform <api> --base-url URL ...` (see `cli.py` and README.md). One profile per
API in `profiles/<api>.py` says how to log in, which conventions every answer follows and
which behavioural scenarios to run; the generic part (Schemathesis phases, the table and
the reports) is shared.
"""
