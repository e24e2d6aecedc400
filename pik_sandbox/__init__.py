"""A local, stateful stand-in for PIK's payment-links sandbox."""
