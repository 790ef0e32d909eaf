"""The lean chat runtime `llamune`. Importing it must not import pandas, duckdb, scipy or datasets."""
