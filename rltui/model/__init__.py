"""The instrument model: series store, statistics, instruments and failure patterns.

Pure numpy and the standard library; no terminal, no file I/O, no watching. A test checks that
importing it pulls in none of textual, rich, plotext or watchfiles.
"""
