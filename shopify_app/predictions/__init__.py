"""Predicted customer lifetime value: the BG/NBD and Gamma-Gamma model, fitting and reading."""
