"""Reports: the results document (results.py, the source of every table) and what renders it:
Markdown tables, the HTML page with its plots, JUnit XML, the console summary, coverage
tables and the baseline comparison (compare.py, the CI gate). Renderers read the document;
they never run an adapter or the reference (tests/architecture enforces it)."""
