"""Pure domain logic: NIK/KK decoding, field normalisation, rule sets, validation. No I/O."""
