"""The web console: static pages that use the API with the signed-in user's token."""
