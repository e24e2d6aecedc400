"""A local, stateful stand-in for PIK's payment-links sandbox."""

import warnings

# Connexion imports starlette.testclient at start-up, which warns about httpx on every run; the
# sandbox never uses that client, so the warning says nothing to its users.
warnings.filterwarnings(
    "ignore", message=r"Using `httpx` with `starlette\.testclient` is deprecated"
)
