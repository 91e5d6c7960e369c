"""``python -m mlreg_frames`` runs the command-line interface."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="mlreg-frames")
