"""The Flask web app: app factory, blueprints per audience, problem+json errors."""
