"""interchem: interface chemistry of Si anodes with solid electrolytes."""

__version__ = "0.1.0"
