"""Writes about the agreement and its evidence, one module per concept; each may take a
request transition, always through requests_app.services.locking.apply_transition."""
