"""``python -m mlreg_frames.synth --sample DIR``: rewrite the bundled sample (or bench pages)."""

from .sample import main

raise SystemExit(main())
