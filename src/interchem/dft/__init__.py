"""DFT backends of the calculator registry (codes run through atomate2's own makers)."""
