"""The v1 contract's size limits, apart so a command's options can name them without loading the
contract (start-up time)."""

#: Records per batch, and bytes of JSON per batch after decompression (5 MB, decimal).
MAX_RECORDS = 1000
MAX_BODY_BYTES = 5_000_000
