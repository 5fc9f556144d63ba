"""Sans-IO codecs: bytes to core commands, core events to bytes, per wire format."""
