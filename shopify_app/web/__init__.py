"""The Flask edge: embedded pages, the /api blueprints, public pages and error handlers."""
