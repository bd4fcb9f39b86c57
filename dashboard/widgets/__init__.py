"""Reusable page widgets: a paged spool table with filters and downloads, a job progress
block with Cancel. Pages stay thin; these hold no SQL (they read a core Spool)."""
