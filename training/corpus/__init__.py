"""The corpus stage: inputs -> clean, English, deduplicated bios -> corpus file, manifest, split, stats."""
