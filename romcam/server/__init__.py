"""romcam's web server: one FastAPI app for the REST API and the dashboard (``romcam serve``)."""
