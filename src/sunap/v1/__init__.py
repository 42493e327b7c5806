"""Generated from proto/sunap/v1 by `make proto`: do not edit."""
