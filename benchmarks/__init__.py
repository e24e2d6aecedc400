"""`make bench`: figures for the client, the sandbox and the property tests; never pass/fail."""
