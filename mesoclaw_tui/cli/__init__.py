"""The click entry point. Imports nothing heavy at module level: headless commands start fast."""
