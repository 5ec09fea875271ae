"""prakerja-cli: offline Kartu Prakerja registration for regional labour offices."""

__version__ = "0.1.0"
