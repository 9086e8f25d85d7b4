"""Support requests: raised by named contacts, worked by the Feedback team."""
