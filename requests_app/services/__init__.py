"""Every write the business does, one function per action, in one module per concept.

A service locks the request (locking.lock_request), checks the actor may act, changes state
through locking.apply_transition, writes the audit event and queues side effects through the
outbox, all in one transaction.
"""
