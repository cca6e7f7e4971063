"""Media processing kept free of models: type detection from bytes, image variants with Pillow."""
