"""The REST API at /api/v1/ for the systems around the portal: a face over the services."""
