"""The spec: the model's options (model.py), the case format (schema.py), the loader."""
