"""Background-job writes: media uploads and variants, e-mail sends, orphaned media cleanup."""
