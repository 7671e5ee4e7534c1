"""Readers and writers: transcripts, study folders, codings and atomic output."""
