"""pix:e backend: the Django project (settings, urls) and its apps."""
