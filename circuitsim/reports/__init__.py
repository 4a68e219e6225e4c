"""Reports: tables, CSV/Markdown writers and plots (matplotlib imported lazily, Agg backend)."""
