"""The servers under test, one module each, and what they share: a process with a log."""
