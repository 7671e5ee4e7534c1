"""Report writers: grade tables, human-vs-machine comparisons, agreement tables."""
